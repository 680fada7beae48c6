"""Hostile and odd archives: the --evil corpus, member caps, byte caps, name lookup."""

from __future__ import annotations

import io
import tarfile
import time
import tracemalloc
import unicodedata
import zipfile
from pathlib import Path

import py7zr
import pytest
from PIL import Image

from archives.formats import ArchiveError
from archives.formats import CorruptArchive
from archives.formats import Limits
from archives.formats import MemberNotFound
from archives.formats import MemberTooLarge
from archives.formats import UnsupportedFormat
from archives.formats import open_archive
from archives.formats import sniff
from archives.formats.base import read_capped
from tests.corpus import shared_dir

from .rarbuild import write_rar4_stored

GIB = 1 << 30


def test_a_truncated_zip_is_corrupt(evil: Path) -> None:
    with pytest.raises(CorruptArchive):
        open_archive(evil / "truncated.cbz")


@pytest.mark.parametrize("name", ["notanarchive.cbz", "readme.txt"])
def test_text_is_not_an_archive_whatever_its_extension(evil: Path, name: str) -> None:
    assert sniff((evil / name).read_bytes()[:1024]) is None
    with pytest.raises(UnsupportedFormat):
        open_archive(evil / name)


def test_errors_share_one_base() -> None:
    for error in (UnsupportedFormat, CorruptArchive, MemberNotFound, MemberTooLarge):
        assert issubclass(error, ArchiveError)
    assert issubclass(MemberNotFound, KeyError)


def test_an_archive_without_images_has_no_pages(evil: Path) -> None:
    with open_archive(evil / "empty.cbz") as reader:
        assert reader.page_names() == []
        assert reader.read("notes.txt") == b"no images here"


def test_the_zip_bomb_member_is_refused_quickly_without_inflating(evil: Path) -> None:
    with open_archive(evil / "zipbomb.cbz") as reader:
        assert reader.page_names() == ["001.jpg", "002.jpg"]
        assert [m.size for m in reader.members()] == [len(reader.read("001.jpg")), GIB]
        tracemalloc.start()
        started = time.monotonic()
        try:
            with pytest.raises(MemberTooLarge):
                reader.read("002.jpg")
            elapsed = time.monotonic() - started
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert elapsed < 1
        assert peak < 16 * 1024 * 1024
        with Image.open(io.BytesIO(reader.read("001.jpg"))) as image:
            assert image.format == "JPEG"


def test_the_zip_bomb_member_can_be_streamed_in_bounded_pieces(evil: Path) -> None:
    with open_archive(evil / "zipbomb.cbz") as reader, reader.open_member("002.jpg") as stream:
        assert stream.read(1 << 20) == bytes(1 << 20)


def test_a_lower_byte_cap_refuses_a_normal_page(evil: Path) -> None:
    with open_archive(evil / "zipbomb.cbz") as reader:
        size = len(reader.read("001.jpg"))
        assert len(reader.read("001.jpg", max_bytes=size)) == size
        with pytest.raises(MemberTooLarge):
            reader.read("001.jpg", max_bytes=size - 1)
    limits = Limits(max_member_bytes=size - 1)
    with open_archive(evil / "zipbomb.cbz", limits=limits) as reader, pytest.raises(MemberTooLarge):
        reader.read("001.jpg")


def test_read_capped_trusts_the_bytes_not_the_declared_size() -> None:
    stream = io.BytesIO(b"x" * 10_000)
    with pytest.raises(MemberTooLarge):
        read_capped(stream, "liar.jpg", cap=100, declared=10)
    assert stream.tell() <= 101  # never buffered past the cap
    assert read_capped(io.BytesIO(b"y" * 100), "ok.jpg", cap=100, declared=10) == b"y" * 100
    with pytest.raises(MemberTooLarge):
        read_capped(io.BytesIO(b""), "big.jpg", cap=100, declared=101)


def test_traversal_names_are_only_names(evil: Path) -> None:
    escapes = [Path("/tmp/evil-escape.jpg"), Path("/tmp/evil-absolute.jpg")]
    existed = [p.exists() for p in escapes]
    with zipfile.ZipFile(evil / "traversal.cbz") as z:
        expected = {n: z.read(n) for n in z.namelist()}
    with open_archive(evil / "traversal.cbz") as reader:
        pages = reader.page_names()
        assert pages == ["../../../../tmp/evil-escape.jpg", "/tmp/evil-absolute.jpg", "001.jpg"]
        assert {n: reader.read(n) for n in pages} == expected
        with pytest.raises(MemberNotFound):
            reader.read("tmp/evil-escape.jpg")
        with pytest.raises(MemberNotFound):
            reader.read("tmp/evil-absolute.jpg")
    assert [p.exists() for p in escapes] == existed


def test_three_thousand_pages_come_in_natural_order(evil: Path) -> None:
    with open_archive(evil / "manypages.cbz") as reader:
        pages = reader.page_names()
    # LANraragi's "starts with 999" credit rule would send 999.jpg last; a bare number
    # stays in place here (see pages.py).
    assert pages == [f"{i}.jpg" for i in range(1, 3001)]


def test_unicode_names_round_trip_and_nfd_requests_find_nfc_members(evil: Path) -> None:
    with open_archive(evil / "unicode ページ 名前.cbz") as reader:
        pages = reader.page_names()
        assert pages == ["ページ1.jpg", "ページ2.jpg", "ページ3.jpg"]
        nfd = unicodedata.normalize("NFD", pages[0])
        assert nfd != pages[0]
        assert reader.read(nfd) == reader.read(pages[0])


def test_nfd_members_are_found_by_their_exact_name(tmp_path: Path) -> None:
    nfd = unicodedata.normalize("NFD", "ページ.jpg")
    path = tmp_path / "nfd.cbz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(nfd, b"decomposed")
    with open_archive(path) as reader:
        assert reader.page_names() == [nfd]
        assert reader.read(nfd) == b"decomposed"
        # Only the request is normalised, as in LANraragi: NFC does not find an NFD member.
        with pytest.raises(MemberNotFound):
            reader.read(unicodedata.normalize("NFC", nfd))


def test_unknown_members_are_not_found(evil: Path) -> None:
    with open_archive(evil / "empty.cbz") as reader:
        for name in ("missing.jpg", "", "NOTES.TXT", "./notes.txt", "/notes.txt"):
            with pytest.raises(MemberNotFound):
                reader.read(name)
            with pytest.raises(KeyError):
                reader.open_member(name)


@pytest.mark.parametrize("name", ["pixelbomb.cbz", "corruptpage.cbz"])
def test_broken_or_huge_images_are_served_as_stored_bytes(evil: Path, name: str) -> None:
    with zipfile.ZipFile(evil / name) as z:
        expected = {n: z.read(n) for n in z.namelist()}
    with open_archive(evil / name) as reader:
        assert {n: reader.read(n) for n in reader.page_names()} == expected


def test_a_name_near_the_length_limit_opens(evil: Path) -> None:
    (path,) = [p for p in evil.iterdir() if p.name.startswith("xxxx")]
    with open_archive(path) as reader:
        assert reader.page_names() == ["001.jpg"]


def _many(fmt: str, path: Path, count: int) -> Path:
    members = [(f"{i}.jpg", b"x") for i in range(count)]
    if fmt == "zip":
        with zipfile.ZipFile(path, "w") as z:
            for name, data in members:
                z.writestr(name, data)
    elif fmt == "tar":
        with tarfile.open(path, "w") as t:
            for name, data in members:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
    elif fmt == "7z":
        with py7zr.SevenZipFile(path, "w") as z:
            for name, data in members:
                z.writestr(data, name)
    elif fmt == "rar":
        write_rar4_stored(path, members)
    return path


@pytest.mark.parametrize("fmt", ["zip", "tar", "7z", "rar"])
def test_more_members_than_the_cap_is_refused(tmp_path: Path, fmt: str) -> None:
    limits = Limits(max_members=10)
    with open_archive(_many(fmt, tmp_path / "ten", 10), limits=limits) as reader:
        assert len(reader.page_names()) == 10
    with pytest.raises(CorruptArchive):
        open_archive(_many(fmt, tmp_path / "eleven", 11), limits=limits)


def test_a_zip_lying_about_its_entry_count_is_still_capped(tmp_path: Path) -> None:
    data = bytearray(_many("zip", tmp_path / "x.zip", 20).read_bytes())
    end = data.rfind(b"PK\x05\x06")
    data[end + 8 : end + 12] = (1).to_bytes(2, "little") * 2  # entries on this disk, entries in total
    liar = tmp_path / "liar.zip"
    liar.write_bytes(bytes(data))
    with open_archive(liar) as reader:
        assert len(reader.page_names()) == 20
    with pytest.raises(CorruptArchive):
        open_archive(liar, limits=Limits(max_members=10))


def test_a_zip64_entry_count_is_refused_before_the_directory_is_parsed() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i in range(70_000):  # past 65535: the count lives in the zip64 end record
            z.writestr(str(i), b"")
    tracemalloc.start()
    try:
        with pytest.raises(CorruptArchive):
            open_archive(buf, limits=Limits(max_members=66_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20  # parsing 70000 entries would take tens of MiB
    with open_archive(buf) as reader:
        assert len(reader.members()) == 70_000


def test_corpus_helper_finds_the_shared_folder() -> None:
    assert (shared_dir() / "corpus" / "make_corpus.py").is_file()
