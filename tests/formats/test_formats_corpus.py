"""Every archive of the shared corpus: sniffed right, pages in the manifest's order,
and the bytes read() returns equal the bytes each format's own library reads."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import py7zr
import rarfile
from PIL import Image
from py7zr.io import BytesIOFactory

from archives.formats import open_archive
from archives.formats import page_count
from archives.formats import sniff
from archives.formats.pdf import DPI

FORMAT_OF = {"cbz": "zip", "zip": "zip", "epub": "epub", "cbr": "rar", "cb7": "7z", "tar": "tar", "pdf": "pdf"}


def expected_pages(entry: dict[str, Any]) -> list[str]:
    if entry["format"] == "pdf":
        return [f"{k}.jpg" for k in range(1, entry["pages"] + 1)]
    return list(entry["page_order"])


def independent_bytes(path: Path, fmt: str, names: list[str]) -> dict[str, bytes]:
    """The members as the format's library reads them, without our code."""
    if fmt in ("zip", "epub"):
        with zipfile.ZipFile(path) as z:
            return {n: z.read(n) for n in names}
    if fmt == "tar":
        with tarfile.open(path) as t:
            return {n: t.extractfile(n).read() for n in names}  # type: ignore[union-attr]
    if fmt == "rar":
        with rarfile.RarFile(path) as r:
            return {n: r.read(n) for n in names}
    if fmt == "7z":
        factory = BytesIOFactory(64 * 1024 * 1024)
        with py7zr.SevenZipFile(path) as z:
            z.extract(targets=names, factory=factory)
        return {n: factory.get(n).read() for n in names}
    raise AssertionError(fmt)


def test_it_sniffs_the_format_from_the_bytes(corpus_entry: dict[str, Any]) -> None:
    head = corpus_entry["path"].read_bytes()[:1024]
    assert sniff(head) == FORMAT_OF[corpus_entry["format"]]


def test_it_opens_with_the_right_reader(corpus_entry: dict[str, Any]) -> None:
    with open_archive(corpus_entry["path"]) as reader:
        assert reader.format == FORMAT_OF[corpus_entry["format"]]


def test_pages_come_in_the_manifest_order(corpus_entry: dict[str, Any]) -> None:
    with open_archive(corpus_entry["path"]) as reader:
        pages = reader.page_names()
    if corpus_entry["format"] == "epub":
        assert all(p.startswith("OEBPS/") for p in pages)
        pages = [p.removeprefix("OEBPS/") for p in pages]
    assert pages == expected_pages(corpus_entry)
    assert page_count(corpus_entry["path"]) == corpus_entry["pages"]


def test_every_page_reads_as_the_library_reads_it(corpus_entry: dict[str, Any]) -> None:
    fmt = FORMAT_OF[corpus_entry["format"]]
    with open_archive(corpus_entry["path"]) as reader:
        pages = reader.page_names()
        got = {name: reader.read(name) for name in pages}
    if fmt == "pdf":
        for name, data in got.items():
            with Image.open(io.BytesIO(data)) as image:
                assert image.format == "JPEG", name
                # make_corpus draws 320x452 px pages at 150 DPI; we render them at 200 DPI.
                assert abs(image.width - 320 * DPI / 150) <= 2
                assert abs(image.height - 452 * DPI / 150) <= 2
        return
    assert got == independent_bytes(corpus_entry["path"], fmt, pages)


def test_a_file_object_works_like_a_path(corpus_entry: dict[str, Any]) -> None:
    with corpus_entry["path"].open("rb") as f:
        with open_archive(f) as reader:
            pages = reader.page_names()
            first = reader.read(pages[0])
        assert not f.closed  # the caller's file stays the caller's to close
    with open_archive(corpus_entry["path"]) as reader:
        assert reader.page_names() == pages
        if corpus_entry["format"] != "pdf":  # renders are equal images, not necessarily equal bytes
            assert reader.read(pages[0]) == first


def test_members_are_regular_files_in_archive_order_with_sizes(corpus_entry: dict[str, Any]) -> None:
    fmt = FORMAT_OF[corpus_entry["format"]]
    with open_archive(corpus_entry["path"]) as reader:
        members = reader.members()
        names = [m.name for m in members]
        assert set(reader.page_names()) <= set(names)
        if fmt == "pdf":
            return
        for member in members:
            assert member.size == len(reader.read(member.name)), member.name
    if fmt in ("zip", "epub"):
        with zipfile.ZipFile(corpus_entry["path"]) as z:
            assert names == [i.filename for i in z.infolist() if not i.is_dir()]
    elif fmt == "tar":
        with tarfile.open(corpus_entry["path"]) as t:
            assert names == [i.name for i in t.getmembers() if i.isreg()]
