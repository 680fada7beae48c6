"""Tag normalisation (behavior.md §12) and stored names for uploads (§6)."""

from __future__ import annotations

import pytest

from archives.storage import thumbnail_key
from archives.storage import upload_key
from archives.tags import normalize_tags
from archives.tags import split_namespace


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a, b ,c", ["a", "b", "c"]),
        ("Foo,foo,Foo", ["Foo", "foo"]),  # duplicates are exact, case-sensitive
        ("a,,b,", ["a", "b"]),  # empty items dropped (LANraragi keeps them)
        ("artist:x\r\n, line\nbreak", ["artist:x", "linebreak"]),
        ("", []),
        ("  ,  ", []),
        ("date_added:1733000000,source:example.org/g/1", ["date_added:1733000000", "source:example.org/g/1"]),
    ],
)
def test_normalize_tags(raw, expected):
    assert normalize_tags(raw) == expected


def test_split_namespace_at_first_colon():
    assert split_namespace("artist:wada rco") == ("artist", "wada rco")
    assert split_namespace("source:http://x") == ("source", "http://x")
    assert split_namespace("bare tag") == ("", "bare tag")


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("My Comic.cbz", "My Comic.cbz"),
        ("../x.zip", "x.zip"),
        ("C:\\Users\\me\\y.cbr", "y.cbr"),
        ("bad\x00name\x07.cbz", "badname.cbz"),
        ("..", "upload"),
    ],
)
def test_upload_key_keeps_the_base_name(given, stored):
    assert upload_key(given) == stored


def test_upload_key_cuts_long_names_keeping_the_extension():
    key = upload_key("é" * 200 + ".tar.gz")
    assert key.endswith(".tar.gz")
    assert len((key + ".upload").encode()) <= 255
    assert key.startswith("é")


def test_thumbnail_keys_are_sharded_by_id():
    arcid = "ab" + "0" * 38
    assert thumbnail_key(arcid) == f"ab/{arcid}.jpg"
    assert thumbnail_key(arcid, 7) == f"ab/{arcid}/7.jpg"
