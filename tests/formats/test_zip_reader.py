"""ZIP/CBZ and EPUB specifics: EPUB detection, encryption, names, streaming, sources."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from archives.formats import CorruptArchive
from archives.formats import open_archive
from archives.formats import page_count
from archives.formats import sniff

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8


def zip_bytes(members: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in members:
            z.writestr(name, data)
    return buf.getvalue()


def test_an_epub_with_its_mimetype_first_sniffs_and_opens_as_epub(corpus: Path) -> None:
    path = next(corpus.glob("*.epub"))
    assert sniff(path.read_bytes()[:1024]) == "epub"
    with open_archive(path) as reader:
        assert reader.format == "epub"
        assert all(p.startswith("OEBPS/") for p in reader.page_names())
        assert b"<package" in reader.read("OEBPS/content.opf")


def test_a_zip_holding_the_epub_mimetype_anywhere_is_an_epub() -> None:
    data = zip_bytes([("OEBPS/2.jpg", JPEG), ("mimetype", b"application/epub+zip"), ("OEBPS/1.jpg", JPEG)])
    assert sniff(data[:1024]) == "zip"
    with open_archive(io.BytesIO(data)) as reader:
        assert reader.format == "epub"
        assert reader.page_names() == ["OEBPS/1.jpg", "OEBPS/2.jpg"]


def test_another_mimetype_is_a_plain_zip() -> None:
    data = zip_bytes([("mimetype", b"application/vnd.comicbook+zip"), ("1.jpg", JPEG)], zipfile.ZIP_STORED)
    assert sniff(data[:1024]) == "zip"
    with open_archive(io.BytesIO(data)) as reader:
        assert reader.format == "zip"


def test_directories_are_not_members_and_any_member_is_readable() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.mkdir("ch1")
        z.writestr("ch1/1.jpg", JPEG)
        z.writestr("ComicInfo.xml", b"<ComicInfo/>")
        z.mkdir("empty.jpg")  # a directory with an image-like name
    with open_archive(io.BytesIO(buf.getvalue())) as reader:
        assert [m.name for m in reader.members()] == ["ch1/1.jpg", "ComicInfo.xml"]
        assert reader.page_names() == ["ch1/1.jpg"]
        assert reader.read("ComicInfo.xml") == b"<ComicInfo/>"


def test_macos_junk_is_dropped_by_its_bytes_not_its_name() -> None:
    data = zip_bytes(
        [
            ("__MACOSX/._001.jpg", b"\x00\x05\x16\x07junk"),
            ("__MACOSX/ch1/._002.jpg", b"\x00\x05\x16\x00" + bytes(60)),
            ("__MACOSX/x.jpg", JPEG),
            ("._003.jpg", JPEG),
            ("001.jpg", JPEG),
            (".DS_Store", b"\x00\x00\x00\x01Bud1"),
        ]
    )
    with open_archive(io.BytesIO(data)) as reader:
        assert reader.page_names() == ["._003.jpg", "001.jpg", "__MACOSX/x.jpg"]
        assert reader.read("__MACOSX/._001.jpg") == b"\x00\x05\x16\x07junk"  # still a readable member


def test_an_empty_zip_is_a_zip_with_no_pages() -> None:
    data = zip_bytes([])
    assert data.startswith(b"PK\x05\x06")
    assert sniff(data) == "zip"
    assert page_count(io.BytesIO(data)) == 0


def test_a_duplicated_name_reads_its_first_copy() -> None:
    buf = io.BytesIO()
    with pytest.warns(UserWarning), zipfile.ZipFile(buf, "w") as z:
        z.writestr("1.jpg", b"first")
        z.writestr("1.jpg", b"second")
    with open_archive(io.BytesIO(buf.getvalue())) as reader:
        assert [m.name for m in reader.members()] == ["1.jpg", "1.jpg"]
        assert reader.read("1.jpg") == b"first"


def _clear_utf8_flags(data: bytes) -> bytes:
    """Rewrite a zip as if its writer stored UTF-8 names without saying so."""
    out = bytearray(data)
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = out.find(signature)
        while at >= 0:
            flags = int.from_bytes(out[at + flag_at : at + flag_at + 2], "little") & ~0x800
            out[at + flag_at : at + flag_at + 2] = flags.to_bytes(2, "little")
            at = out.find(signature, at + 4)
    return bytes(out)


def test_utf8_names_without_the_utf8_flag_are_decoded_as_utf8() -> None:
    data = _clear_utf8_flags(zip_bytes([("ページ/1.jpg", JPEG)]))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.namelist() != ["ページ/1.jpg"]  # zipfile alone reads them as cp437
    with open_archive(io.BytesIO(data)) as reader:
        assert reader.page_names() == ["ページ/1.jpg"]
        assert reader.read("ページ/1.jpg") == JPEG


def test_names_that_are_not_utf8_keep_their_cp437_reading() -> None:
    sjis = "ページ.jpg".encode("shift_jis")
    data = zip_bytes([("x" * len(sjis), JPEG)])
    data = data.replace(b"x" * len(sjis), sjis)  # same length, so offsets stay valid
    with open_archive(io.BytesIO(data)) as reader:
        (name,) = reader.page_names()
        assert name == sjis.decode("cp437")
        assert reader.read(name) == JPEG


@pytest.mark.skipif(shutil.which("7z") is None, reason="the 7z command makes the encrypted zip")
def test_encrypted_members_are_listed_but_refused(tmp_path: Path) -> None:
    (tmp_path / "1.jpg").write_bytes(JPEG)
    subprocess.run(["7z", "a", "-tzip", "-ppassword", "secret.cbz", "1.jpg"], cwd=tmp_path, check=True,
                   capture_output=True)  # fmt: skip
    with open_archive(tmp_path / "secret.cbz") as reader:
        assert reader.page_names() == ["1.jpg"]
        with pytest.raises(CorruptArchive):
            reader.read("1.jpg")
        with pytest.raises(CorruptArchive):
            reader.open_member("1.jpg")


def test_a_damaged_member_fails_its_crc() -> None:
    data = bytearray(zip_bytes([("1.jpg", JPEG)], zipfile.ZIP_STORED))
    data[40 + len(JPEG) // 2] ^= 0xFF
    with open_archive(io.BytesIO(bytes(data))) as reader, pytest.raises(CorruptArchive):
        reader.read("1.jpg")


def test_open_member_streams_in_pieces() -> None:
    big = bytes(range(256)) * 4096
    with open_archive(io.BytesIO(zip_bytes([("big.png", big)]))) as reader, reader.open_member("big.png") as f:
        assert f.read(1000) == big[:1000]
        assert f.read() == big[1000:]


def test_a_reader_closes_the_file_it_opened_but_not_one_it_was_given(tmp_path: Path) -> None:
    path = tmp_path / "a.cbz"
    path.write_bytes(zip_bytes([("1.jpg", JPEG)]))
    reader = open_archive(path)
    opened = reader._fileobj
    reader.close()
    assert opened.closed
    with path.open("rb") as f:
        open_archive(f).close()
        assert not f.closed


def test_a_non_seekable_source_is_refused(tmp_path: Path) -> None:
    class Pipe(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

    with pytest.raises(ValueError):
        open_archive(Pipe())  # type: ignore[arg-type]
