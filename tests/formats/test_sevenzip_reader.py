"""7z specifics: solid and non-solid blocks, odd names, size caps, encryption, damage."""

from __future__ import annotations

import io
import shutil
import subprocess
import time
import tracemalloc
from pathlib import Path

import py7zr
import pytest

from archives.formats import CorruptArchive
from archives.formats import MemberTooLarge
from archives.formats import open_archive

SEVEN_ZIP = shutil.which("7z")
needs_7z = pytest.mark.skipif(SEVEN_ZIP is None, reason="the 7z command makes these fixtures")
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 20


def py7zr_archive(path: Path, members: list[tuple[str, bytes]], **kwargs: object) -> Path:
    with py7zr.SevenZipFile(path, "w", **kwargs) as z:  # type: ignore[arg-type]
        for name, data in members:
            z.writestr(data, name)
    return path


def cli_archive(path: Path, members: list[tuple[str, bytes]]) -> Path:
    """Members added one by one from stdin, so names are stored exactly as given."""
    assert SEVEN_ZIP is not None
    for name, data in members:
        subprocess.run([SEVEN_ZIP, "a", f"-si{name}", str(path)], input=data, check=True, capture_output=True)
    return path


@needs_7z
@pytest.mark.parametrize(("switch", "blocks"), [("-ms=on", 1), ("-ms=off", 4)])
def test_pages_read_in_any_order_from_solid_and_non_solid_archives(tmp_path: Path, switch: str, blocks: int) -> None:
    members = [(f"{i}.jpg", JPEG + bytes([i]) * 1000) for i in (3, 1, 10, 2)]
    src = tmp_path / "src"
    src.mkdir()
    for name, data in members:
        (src / name).write_bytes(data)
    path = tmp_path / "book.cb7"
    assert SEVEN_ZIP is not None
    subprocess.run([SEVEN_ZIP, "a", switch, str(path), *[name for name, _ in members]], cwd=src, check=True,
                   capture_output=True)  # fmt: skip
    with py7zr.SevenZipFile(path) as z:
        assert z.archiveinfo().blocks == blocks
    with open_archive(path) as reader:
        assert reader.format == "7z"
        assert reader.page_names() == ["1.jpg", "2.jpg", "3.jpg", "10.jpg"]
        for name in ["10.jpg", "1.jpg", "3.jpg", "10.jpg"]:
            assert reader.read(name) == dict(members)[name]


@needs_7z
def test_traversal_and_absolute_names_are_only_names(tmp_path: Path) -> None:
    members = [("../../evil.jpg", b"up"), ("/tmp/abs.jpg", b"abs"), ("ok.jpg", b"ok")]
    path = cli_archive(tmp_path / "odd.cb7", members)
    before = sorted(p.name for p in tmp_path.iterdir())
    with open_archive(path) as reader:
        assert [m.name for m in reader.members()] == [name for name, _ in members]
        assert {n: reader.read(n) for n in reader.page_names()} == dict(members)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert not (tmp_path.parent / "evil.jpg").exists()


def test_appledouble_junk_is_dropped_by_its_bytes(tmp_path: Path) -> None:
    members = [("__MACOSX/._001.jpg", b"\x00\x05\x16\x07" + bytes(200)), ("__MACOSX/002.jpg", JPEG),
               ("001.jpg", JPEG), (".DS_Store", b"\x00\x00\x00\x01Bud1")]  # fmt: skip
    with open_archive(py7zr_archive(tmp_path / "mac.cb7", members)) as reader:
        assert reader.page_names() == ["001.jpg", "__MACOSX/002.jpg"]
        assert reader.read("__MACOSX/._001.jpg") == members[0][1]


def test_a_member_over_the_cap_is_refused_before_decoding(tmp_path: Path) -> None:
    path = py7zr_archive(tmp_path / "big.cb7", [("1.jpg", JPEG), ("2.jpg", bytes(8 << 20))])
    with open_archive(path) as reader:
        tracemalloc.start()
        started = time.monotonic()
        try:
            with pytest.raises(MemberTooLarge):
                reader.read("2.jpg", max_bytes=1 << 20)
            elapsed = time.monotonic() - started
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert elapsed < 0.5
        assert peak < 1 << 20
        assert reader.read("1.jpg") == JPEG  # the reader still works afterwards
        assert len(reader.read("2.jpg")) == 8 << 20


def test_open_member_is_an_in_memory_copy_of_read(tmp_path: Path) -> None:
    path = py7zr_archive(tmp_path / "a.cb7", [("1.jpg", JPEG)])
    with open_archive(path) as reader, reader.open_member("1.jpg") as stream:
        assert stream.read() == JPEG


def test_an_empty_archive_has_no_pages(tmp_path: Path) -> None:
    with open_archive(py7zr_archive(tmp_path / "empty.cb7", [])) as reader:
        assert reader.members() == []
        assert reader.page_names() == []


@pytest.mark.parametrize("header_encryption", [False, True])
def test_an_encrypted_archive_is_corrupt(tmp_path: Path, header_encryption: bool) -> None:
    path = tmp_path / "secret.cb7"
    with py7zr.SevenZipFile(path, "w", password="pw", header_encryption=header_encryption) as z:
        z.writestr(JPEG, "1.jpg")
    with pytest.raises(CorruptArchive):
        open_archive(path)


@pytest.mark.parametrize("cut", [40, 0.6])
def test_a_truncated_archive_is_corrupt(corpus: Path, cut: float) -> None:
    data = next(corpus.glob("*.cb7")).read_bytes()
    with pytest.raises(CorruptArchive):
        open_archive(io.BytesIO(data[: int(cut if cut > 1 else len(data) * cut)]))


def test_damaged_data_is_corrupt_on_read(tmp_path: Path) -> None:
    members = [("1.jpg", JPEG * 4), ("2.jpg", JPEG[::-1] * 4)]
    data = bytearray(py7zr_archive(tmp_path / "a.cb7", members).read_bytes())
    data[40] ^= 0xFF  # inside the packed stream, which starts right after the 32-byte signature header
    with open_archive(io.BytesIO(bytes(data))) as reader, pytest.raises(CorruptArchive):
        for name in reader.page_names():
            reader.read(name)
