"""The two offline metadata plugins on their own: file names and ComicInfo.xml."""

from __future__ import annotations

import pytest

from archives.plugins.base import PluginError
from archives.plugins.comicinfo import comicinfo_tags
from archives.plugins.comicinfo import parse_comicinfo
from archives.plugins.regexparse import parse_filename

COMICINFO = b"""<?xml version="1.0" encoding="utf-8"?>
<ComicInfo xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <Title>Night &amp; Day</Title>
  <Series>Moon Series</Series>
  <Writer>Circle One, Circle Two</Writer>
  <Penciller>Some Artist</Penciller>
  <Publisher>Pub House</Publisher>
  <Genre>Romance, Comedy</Genre>
  <Tags>female:glasses,  ,full color</Tags>
  <Characters>Alice, Bob</Characters>
  <Web>https://example.com/g/1</Web>
  <LanguageISO>en</LanguageISO>
</ComicInfo>"""


@pytest.mark.parametrize(
    ("name", "tags", "title"),
    [
        (
            "(C99) [Circle (Artist Name)] My Title (Touhou Project) [English]",
            ["artist:Artist Name", "event:C99", "group:Circle", "language:English", "series:Touhou Project"],
            "My Title",
        ),
        ("[Artist] Plain_Title_With_Underscores", ["artist:Artist"], "Plain Title With Underscores"),
        ("Just a title", [], "Just a title"),
        # Numbers and release words are not languages or series.
        ("[Group] Title (Uncensored) [2]", ["artist:Group"], "Title"),
        ("Title (Series A, Series B)", ["series:Series A", "series:Series B"], "Title"),
    ],
)
def test_file_names_give_lanraragi_tags_and_title(name, tags, title):
    assert parse_filename(name) == (tags, title)


def test_trailing_tags_and_kept_captures_are_options():
    name = "[A] T [English] (Decensored) {tag one, tag two}"
    assert parse_filename(name) == (["artist:A", "language:English"], "T")
    tags, _ = parse_filename(name, trailing_tags=True, keep_all=True)
    assert tags == ["artist:A", "language:English", "parsed:Decensored", "tag one", "tag two"]


def test_a_custom_regex_uses_perl_style_named_groups():
    # A number is never a tag of its own, whatever the group.
    assert parse_filename("Vol 3 - Kaiju", pattern=r"Vol (?<volume>\d+) - (?<title>.*)") == ([], "Kaiju")
    tags, title = parse_filename("Kaiju by Ann", pattern=r"(?<title>.*) by (?<artist>.*)")
    assert (tags, title) == (["artist:Ann"], "Kaiju")
    with pytest.raises(PluginError):
        parse_filename("x", pattern="(?<broken")


def test_comicinfo_maps_every_field():
    values = parse_comicinfo(COMICINFO)
    assert values["Title"] == "Night & Day"
    assert comicinfo_tags(values) == [
        "group:Circle One",
        "group:Circle Two",
        "artist:Some Artist",
        "source:https://example.com/g/1",
        "series:Moon Series",
        "character:Alice",
        "character:Bob",
        "publisher:Pub House",
        "language:en",
        "Romance",
        "Comedy",
        "female:glasses",
        "full color",
    ]


def test_comicinfo_in_a_namespace_and_utf16_is_read():
    namespaced = b'<ComicInfo xmlns="http://example.com/ci"><Penciller>X</Penciller></ComicInfo>'
    assert comicinfo_tags(parse_comicinfo(namespaced)) == ["artist:X"]
    utf16 = '<?xml version="1.0" encoding="UTF-16"?><ComicInfo><Genre>G</Genre></ComicInfo>'.encode("utf-16")
    assert comicinfo_tags(parse_comicinfo(utf16)) == ["G"]


@pytest.mark.parametrize(
    "document",
    [
        # Billion laughs: refused before any entity is expanded.
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        b"<ComicInfo><Title>&lol2;</Title></ComicInfo>",
        # An external entity.
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><ComicInfo><Title>&e;</Title></ComicInfo>',
        "<!doctype x><ComicInfo/>".encode("utf-16"),
        b"<ComicInfo><Title>unclosed</ComicInfo>",
    ],
)
def test_hostile_or_broken_xml_is_refused(document):
    with pytest.raises(PluginError):
        parse_comicinfo(document)
