"""Accepted file extensions, LANraragi's filename/extension fields, and page MIME types."""

from __future__ import annotations

import pytest

from archives.formats import ACCEPTED_EXTENSIONS
from archives.formats import content_type_for
from archives.formats import is_accepted_filename
from archives.formats import split_name


def test_accepted_extensions_are_lanraragis() -> None:
    assert {
        "zip", "rar", "7z", "tar", "tar.gz", "lzma", "xz", "cbz", "cbr", "cb7", "cbt", "cbw", "pdf", "epub",
        "tar.zst", "zst",
    } == ACCEPTED_EXTENSIONS  # fmt: skip


@pytest.mark.parametrize(
    "filename",
    ["a.zip", "a.rar", "a.7z", "a.tar", "a.tar.gz", "a.lzma", "a.xz", "a.tar.xz", "a.cbz", "a.cbr", "a.cb7",
     "a.cbt", "a.cbw", "a.pdf", "a.epub", "a.tar.zst", "a.zst", "My Comic.CBZ", "A.TAR.GZ", "x.Tar.Zst",
     "vol.1.cbz", "ページ.cbz", ".x.cbz"],
)  # fmt: skip
def test_archive_extensions_are_accepted_in_any_case(filename: str) -> None:
    assert is_accepted_filename(filename)


@pytest.mark.parametrize(
    "filename",
    ["a.gz", "a.tgz", "a.TGZ", "a.tar.bz2", "a.bz2", "a.txt", "a.jpg", "cbz", ".cbz", "a.cbz.", "a.", "noext", "",
     "a.cbz.txt", "a.zip.part"],
)  # fmt: skip
def test_other_names_are_refused(filename: str) -> None:
    assert not is_accepted_filename(filename)


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("My Comic.cbz", ("My Comic", "cbz")),
        ("a.tar.gz", ("a.tar", "gz")),
        ("Vol.1.CBZ", ("Vol.1", "cbz")),
        ("noext", ("noext", "")),
        ("trailing.", ("trailing", "")),
        (".hidden", ("", "hidden")),
        ("dir.v2/file.Zip", ("file", "zip")),
        ("dir.v2/noext", ("noext", "")),
        ("ページ 名前.cbz", ("ページ 名前", "cbz")),
    ],
)
def test_split_name_gives_lanraragis_filename_and_extension(filename: str, expected: tuple[str, str]) -> None:
    assert split_name(filename) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.jpg", "image/jpeg"),
        ("a.JPEG", "image/jpeg"),
        ("a.jfif", "image/jpeg"),
        ("ch1/a.png", "image/png"),
        ("a.gif", "image/gif"),
        ("a.webp", "image/webp"),
        ("a.avif", "image/avif"),
        ("a.jxl", "image/jxl"),
        ("a.bmp", "image/bmp"),
        ("a.heic", "image/heic"),
        ("a.heif", "image/heif"),
        ("ComicInfo.xml", "application/octet-stream"),
        ("jpg", "application/octet-stream"),
        ("a.", "application/octet-stream"),
        ("dir.jpg/file", "application/octet-stream"),
    ],
)
def test_content_type_follows_the_extension(name: str, expected: str) -> None:
    assert content_type_for(name) == expected
