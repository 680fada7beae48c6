"""Compressed tars (.tar.gz, .tar.bz2, .tar.xz, .lzma, .tar.zst) built from corpus pages."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from archives.formats import CorruptArchive
from archives.formats import UnsupportedFormat
from archives.formats import is_accepted_filename
from archives.formats import open_archive
from archives.formats import sniff
from archives.formats.streams import LZMA_MEMLIMIT
from archives.formats.streams import zstd

COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "tar.gz": gzip.compress,
    "tar.bz2": bz2.compress,
    "tar.xz": lambda data: lzma.compress(data, format=lzma.FORMAT_XZ),
    "lzma": lambda data: lzma.compress(data, format=lzma.FORMAT_ALONE),
    "tar.zst": zstd.compress,
}


@pytest.fixture(scope="module")
def pages(corpus: Path) -> dict[str, bytes]:
    """Real JPEG pages taken from the corpus's first tar, renamed so order matters."""
    with tarfile.open(next(corpus.glob("*.tar"))) as t:
        datas = [t.extractfile(m).read() for m in t.getmembers() if m.isreg()]  # type: ignore[union-attr]
    names = ["10.jpg", "cover.jpg", "2.jpg", "ch1/1.jpg", "credits.png", "ComicInfo.xml"]
    return {name: datas[i % len(datas)] for i, name in enumerate(names)}


def tar_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        folder = tarfile.TarInfo("ch1")
        folder.type = tarfile.DIRTYPE
        t.addfile(folder)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("link.jpg")
        link.type = tarfile.SYMTYPE
        link.linkname = "2.jpg"
        t.addfile(link)
    return buf.getvalue()


@pytest.mark.parametrize("kind", list(COMPRESSORS))
def test_a_compressed_tar_lists_and_reads_its_pages(tmp_path: Path, pages: dict[str, bytes], kind: str) -> None:
    path = tmp_path / f"book.{kind}"
    path.write_bytes(COMPRESSORS[kind](tar_bytes(pages)))
    assert sniff(path.read_bytes()[:1024]) == "tar"
    with open_archive(path) as reader:
        assert reader.format == "tar"
        assert [m.name for m in reader.members()] == list(pages)  # no folder, no symlink
        assert reader.page_names() == ["cover.jpg", "2.jpg", "10.jpg", "ch1/1.jpg", "credits.png"]
        # Backwards and forwards through the stream, and a non-page member.
        for name in [*reversed(reader.page_names()), "ComicInfo.xml", "cover.jpg"]:
            assert reader.read(name) == pages[name]
        with reader.open_member("2.jpg") as stream:
            assert stream.read() == pages["2.jpg"]


@pytest.mark.parametrize("kind", list(COMPRESSORS))
def test_a_compressed_file_that_is_not_a_tar_is_unsupported(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"notes.{kind}"
    path.write_bytes(COMPRESSORS[kind](b"just some text, not a tar archive\n" * 50))
    with pytest.raises(UnsupportedFormat):
        open_archive(path)


def test_a_gzipped_text_file_is_not_even_an_accepted_name() -> None:
    assert not is_accepted_filename("notes.gz")
    assert is_accepted_filename("book.tar.gz")


@pytest.mark.parametrize("kind", list(COMPRESSORS))
def test_a_truncated_compressed_tar_is_corrupt(tmp_path: Path, pages: dict[str, bytes], kind: str) -> None:
    data = COMPRESSORS[kind](tar_bytes(pages))
    path = tmp_path / f"cut.{kind}"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptArchive), open_archive(path) as reader:
        for name in reader.page_names():
            reader.read(name)


def test_a_truncated_plain_tar_is_corrupt(tmp_path: Path, pages: dict[str, bytes]) -> None:
    data = tar_bytes(pages)
    path = tmp_path / "cut.tar"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptArchive), open_archive(path) as reader:
        for name in reader.page_names():
            reader.read(name)


def test_an_lzma_stream_asking_for_a_huge_dictionary_is_refused(tmp_path: Path, pages: dict[str, bytes]) -> None:
    data = bytearray(lzma.compress(tar_bytes(pages), format=lzma.FORMAT_ALONE))
    # The .lzma header declares the dictionary the decoder must allocate; the data
    # itself decodes with any dictionary at least as large as the one it was made with.
    data[1:5] = (LZMA_MEMLIMIT * 2).to_bytes(4, "little")
    path = tmp_path / "greedy.lzma"
    path.write_bytes(bytes(data))
    assert sniff(bytes(data[:1024])) == "tar"
    with pytest.raises(CorruptArchive):
        open_archive(path)


def test_an_old_style_tar_header_is_recognised(tmp_path: Path, pages: dict[str, bytes]) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        info = tarfile.TarInfo("1.jpg")
        info.size = len(pages["2.jpg"])
        t.addfile(info, io.BytesIO(pages["2.jpg"]))
    data = bytearray(buf.getvalue())
    data[257:265] = bytes(8)  # no "ustar" magic: a v7 header, found by its checksum
    data[148:156] = b"%06o\0 " % (sum(data[:148]) + 8 * 32 + sum(data[156:512]))
    path = tmp_path / "v7.tar"
    path.write_bytes(bytes(data))
    assert sniff(bytes(data[:1024])) == "tar"
    with open_archive(path) as reader:
        assert reader.read("1.jpg") == pages["2.jpg"]
