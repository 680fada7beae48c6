"""RAR4 and RAR5, stored (pure Python) and compressed (through the external tool)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import rarfile

from archives.formats import CorruptArchive
from archives.formats import MemberTooLarge
from archives.formats import open_archive
from archives.formats import rar_tool
from archives.formats import sniff

from .rarbuild import rar5
from .rarbuild import write_rar4_compressed
from .rarbuild import write_rar4_stored
from .rarbuild import write_rar5_compressed

ROOT = Path(__file__).resolve().parents[2]
needs_tool = pytest.mark.skipif(rar_tool() is None, reason="no unar or RAR-capable 7z installed")


@pytest.fixture(scope="module")
def members(corpus: Path) -> list[tuple[str, bytes]]:
    jpeg = next(corpus.glob("*.cbz")).read_bytes()[:50_000]  # real, incompressible-ish bytes
    return [
        ("10.jpg", jpeg),
        ("ch1/2.jpg", jpeg[::-1]),
        ("ページ.png", bytes(range(256)) * 40),
        ("ComicInfo.xml", b"<ComicInfo><Title>x</Title></ComicInfo>"),
        ("__MACOSX/._10.jpg", b"\x00\x05\x16\x07junk"),
        ("empty.jpg", b""),
        ("../../escape.jpg", b"not a path"),
    ]


WRITERS = {
    "rar5-stored": lambda path, members: rar5.write_rar5(str(path), members),
    "rar4-stored": write_rar4_stored,
    "rar5-compressed": write_rar5_compressed,
    "rar4-compressed": write_rar4_compressed,
}


def params() -> list[object]:
    return [
        pytest.param(kind, marks=needs_tool if "compressed" in kind else ())  # type: ignore[arg-type]
        for kind in WRITERS
    ]


@pytest.mark.parametrize("kind", params())
def test_it_lists_and_reads_every_member(tmp_path: Path, members: list[tuple[str, bytes]], kind: str) -> None:
    path = tmp_path / "book.cbr"
    WRITERS[kind](path, members)
    assert sniff(path.read_bytes()[:1024]) == "rar"
    with open_archive(path) as reader:
        assert reader.format == "rar"
        assert [m.name for m in reader.members()] == [name for name, _ in members]
        assert [m.size for m in reader.members()] == [len(data) for _, data in members]
        assert reader.page_names() == ["../../escape.jpg", "10.jpg", "ch1/2.jpg", "empty.jpg", "ページ.png"]
        for name, data in [*reversed(members), members[0]]:
            assert reader.read(name) == data
        with reader.open_member("10.jpg") as stream:
            assert stream.read() == members[0][1]


@needs_tool
def test_compressed_members_need_the_tool_and_leave_no_temp_files(
    tmp_path: Path, members: list[tuple[str, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(rarfile, "HACK_TMP_DIR", str(spool))  # where rarfile puts the tool's input
    path = tmp_path / "book.cbr"
    write_rar5_compressed(path, members)
    with rarfile.RarFile(path) as rf:
        assert all(info.compress_type != rarfile.RAR_M0 for info in rf.infolist() if info.file_size)
    with open_archive(path) as reader:
        for name, data in members:
            assert reader.read(name) == data
        assert list(spool.iterdir()) == []


def test_the_tool_is_unar_or_a_rar_capable_7z() -> None:
    tool = rar_tool()
    assert tool in ("unar", "7z", None)
    if shutil.which("unar"):
        assert tool == "unar"
    if tool is not None:
        assert rarfile.tool_setup().get_cmdline("open_cmd", None)[0] == tool


def test_without_a_tool_compressed_members_are_refused_and_stored_ones_read(tmp_path: Path) -> None:
    compressed, stored = tmp_path / "c.cbr", tmp_path / "s.cbr"
    write_rar5_compressed(compressed, [("1.jpg", b"abc" * 100)])
    write_rar4_stored(stored, [("1.jpg", b"abc" * 100)])
    script = (
        "import sys\n"
        "from archives.formats import CorruptArchive, open_archive, rar_tool\n"
        "assert rar_tool() is None\n"
        "assert open_archive(sys.argv[2]).read('1.jpg') == b'abc' * 100\n"
        "try:\n"
        "    open_archive(sys.argv[1]).read('1.jpg')\n"
        "except CorruptArchive as exc:\n"
        "    print(exc)\n"
    )
    env = {**os.environ, "PATH": str(tmp_path), "PYTHONPATH": str(ROOT)}  # a PATH with no tools
    out = subprocess.run(
        [sys.executable, "-c", script, str(compressed), str(stored)],
        env=env, capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    assert "no RAR tool" in out.stdout


def test_a_member_over_the_cap_is_refused_before_starting_the_tool(tmp_path: Path) -> None:
    path = tmp_path / "big.cbr"
    write_rar5_compressed(path, [("1.jpg", bytes(100_000))])
    with open_archive(path) as reader, pytest.raises(MemberTooLarge):
        reader.read("1.jpg", max_bytes=99_999)


@pytest.mark.parametrize("cut", [30, 0.5])
def test_a_truncated_rar_is_corrupt(corpus: Path, cut: float) -> None:
    data = next(corpus.glob("*.cbr")).read_bytes()
    with pytest.raises(CorruptArchive):
        open_archive(io.BytesIO(data[: int(cut if cut > 1 else len(data) * cut)]))


def test_a_damaged_member_fails_its_crc(corpus: Path) -> None:
    data = bytearray(next(corpus.glob("*.cbr")).read_bytes())
    data[len(data) // 2] ^= 0xFF
    with open_archive(io.BytesIO(bytes(data))) as reader, pytest.raises(CorruptArchive):
        for name in reader.page_names():
            reader.read(name)
