"""RAR/CBR (RAR4 and RAR5) through rarfile.

rarfile parses the headers itself and reads *stored* members in pure Python,
with random access. Compressed members need an external decoder: we point
rarfile at `unar`, or at p7zip's `7z` when it has the RAR codec, and never at
Debian's unrar-free (cannot read RAR5) nor 7zz. For each compressed read rarfile
copies that member's packed bytes into an anonymous temp file (mkstemp, never the
member's name), pipes the tool's output back, and deletes the file on close.
Members of a *solid* archive cannot be cut out like that, so rarfile copies the
whole archive to a temp file and asks the tool for the member by name.

Without a tool, compressed members raise CorruptArchive; `rar_tool()` lets a
system check warn about it.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import threading
from typing import BinaryIO

import rarfile

from .base import ArchiveReader
from .base import CorruptArchive
from .base import Limits
from .base import Member
from .base import Span
from .base import check_count
from .base import read_capped
from .base import refuse_oversize

logger = logging.getLogger(__name__)

_TOOL_LOCK = threading.Lock()
_tool: str | None = None
_tool_probed = False
# Header parsing on hostile bytes can fail in many ways; all mean "not readable".
_PARSE_ERRORS = (rarfile.Error, OSError, EOFError, ValueError, IndexError, KeyError, OverflowError)


def rar_tool() -> str | None:
    """The external tool rarfile uses for compressed members: "unar", "7z", or None.

    Probed once per process; rarfile's global tool choice is set as a side effect.
    """
    global _tool, _tool_probed
    with _TOOL_LOCK:
        if not _tool_probed:
            _tool = _configure_tool()
            _tool_probed = True
        return _tool


def _configure_tool() -> str | None:
    for name in ("unar", "7z"):
        if name == "7z" and not _sevenzip_has_rar():
            continue
        try:
            rarfile.tool_setup(
                unrar=False, unar=name == "unar", sevenzip=name == "7z", sevenzip2=False, bsdtar=False, force=True
            )
        except rarfile.RarCannotExec:
            continue
        logger.debug("compressed RAR members are read with %s", name)
        return name
    logger.warning("no unar or RAR-capable 7z found: compressed RAR members cannot be read")
    return None


def _sevenzip_has_rar() -> bool:
    """p7zip builds without the non-free RAR codec list the format but cannot decode it."""
    exe = shutil.which(rarfile.SEVENZIP_TOOL)
    if exe is None:
        return False
    try:
        out = subprocess.run([exe, "i"], capture_output=True, timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    codecs = out.decode("utf-8", "replace").partition("Codecs:")[2]
    return re.search(r"\bRar[35]\b", codecs) is not None


class RarReader(ArchiveReader):
    format = "rar"

    def __init__(self, fileobj: BinaryIO, *, limits: Limits) -> None:
        super().__init__(fileobj, limits=limits)
        try:
            # errors="strict": a truncated header block is an error, not a shorter archive.
            self._rf = rarfile.RarFile(fileobj, errors="strict")
            infos = self._rf.infolist()
            encrypted = self._rf.needs_password()
        except _PARSE_ERRORS as exc:
            raise CorruptArchive(f"unreadable rar: {exc}") from exc
        try:
            if encrypted:
                raise CorruptArchive("encrypted rar")
            check_count(len(infos), limits)
        except CorruptArchive:
            self._rf.close()
            raise
        self._index: dict[str, rarfile.RarInfo] = {}
        self._members: list[Member] = []
        for info in infos:
            if info.is_dir() or info.is_symlink():
                continue
            name: str = info.filename
            self._members.append(Member(name, info.file_size))
            self._index.setdefault(name, info)

    def members(self) -> list[Member]:
        return list(self._members)

    def _contains(self, name: str) -> bool:
        return name in self._index

    def _read_resolved(self, name: str, cap: int) -> bytes:
        info = self._index[name]
        declared: int = info.file_size
        refuse_oversize(name, declared, cap)  # before starting an external tool
        with self._open_info(info) as stream:
            try:
                return read_capped(stream, name, cap, declared)
            except _PARSE_ERRORS as exc:
                raise CorruptArchive(f"cannot read {name!r}: {exc}") from exc

    def _open_resolved(self, name: str) -> BinaryIO:
        return self._open_info(self._index[name])

    def _span_resolved(self, name: str) -> Span | None:
        info = self._index[name]
        if info.compress_type != rarfile.RAR_M0 or info.needs_password() or getattr(info, "file_redir", None):
            return None
        if info.flags & (rarfile.RAR_FILE_SPLIT_BEFORE | rarfile.RAR_FILE_SPLIT_AFTER):
            return None  # continued in another volume
        # rarfile records where each block's data starts, right after its header.
        offset, stored = getattr(info, "data_offset", None), getattr(info, "add_size", None)
        if offset is None or stored != info.file_size:
            return None
        return Span(offset, info.file_size)

    @property
    def random_access(self) -> bool:
        # Stored members are cut straight out of the file; anything else runs a tool.
        return not self._rf.is_solid() and all(i.compress_type == rarfile.RAR_M0 for i in self._index.values())

    def _close(self) -> None:
        self._rf.close()

    def _open_info(self, info: rarfile.RarInfo) -> BinaryIO:
        if info.compress_type != rarfile.RAR_M0 and rar_tool() is None:
            # Without this, rarfile would fall back to any `unrar` on PATH, unrar-free included.
            raise CorruptArchive(f"{info.filename!r} is compressed and no RAR tool (unar, 7z) is installed")
        try:
            stream: BinaryIO = self._rf.open(info)
        except _PARSE_ERRORS as exc:
            raise CorruptArchive(f"cannot open {info.filename!r}: {exc}") from exc
        return stream
