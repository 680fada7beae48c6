"""ZIP/CBZ and EPUB, through the standard library's zipfile.

Random access is cheap: the central directory is read once at open, and each
read seeks straight to its member. An EPUB is a zip whose `mimetype` member says
application/epub+zip; its image members are its pages and its text is ignored.
"""

from __future__ import annotations

import logging
import struct
import zipfile
import zlib
from typing import IO
from typing import BinaryIO

from .base import ArchiveReader
from .base import CorruptArchive
from .base import Limits
from .base import Member
from .base import Span
from .base import check_count
from .base import read_capped

logger = logging.getLogger(__name__)

EPUB_MIMETYPE = b"application/epub+zip"
_FLAG_ENCRYPTED = 0x1
_FLAG_UTF8 = 0x800
_EOCD = struct.Struct("<4s4H2LH")
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
# What opening or reading a member can raise besides our own errors.
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError)


class ZipReader(ArchiveReader):
    format = "zip"

    def __init__(self, fileobj: BinaryIO, *, limits: Limits, zf: zipfile.ZipFile | None = None) -> None:
        super().__init__(fileobj, limits=limits)
        self._zf = zf if zf is not None else _open_zipfile(fileobj, limits)
        self._index: dict[str, zipfile.ZipInfo] = {}
        self._members: list[Member] = []
        for info in self._zf.infolist():
            if info.is_dir():
                continue
            name = _member_name(info)
            self._members.append(Member(name, info.file_size))
            self._index.setdefault(name, info)  # a duplicated name reads its first copy

    @classmethod
    def open(cls, fileobj: BinaryIO, *, limits: Limits) -> ArchiveReader:
        """A ZipReader, or an EpubReader when the `mimetype` member says EPUB."""
        zf = _open_zipfile(fileobj, limits)
        kind = EpubReader if _is_epub(zf) else ZipReader
        return kind(fileobj, limits=limits, zf=zf)

    def members(self) -> list[Member]:
        return list(self._members)

    def _contains(self, name: str) -> bool:
        return name in self._index

    def _read_resolved(self, name: str, cap: int) -> bytes:
        info = self._index[name]
        with _open_info(self._zf, info) as stream:
            try:
                return read_capped(stream, name, cap, info.file_size)
            except _READ_ERRORS as exc:
                raise CorruptArchive(f"cannot read {name!r}: {exc}") from exc

    def _open_resolved(self, name: str) -> BinaryIO:
        return _open_info(self._zf, self._index[name])  # type: ignore[return-value]

    def _span_resolved(self, name: str) -> Span | None:
        info = self._index[name]
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & _FLAG_ENCRYPTED:
            return None
        if info.compress_size != info.file_size:
            return None
        # The data follows the member's local header, whose name and extra field
        # lengths may differ from the central directory's.
        self._fileobj.seek(info.header_offset)
        header = self._fileobj.read(_LOCAL_HEADER.size)
        if len(header) != _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
            return None
        name_length, extra_length = _LOCAL_HEADER.unpack(header)[-2:]
        return Span(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length, info.file_size)

    def _close(self) -> None:
        self._zf.close()


class EpubReader(ZipReader):
    """An EPUB: a zip whose image members are the pages."""

    format = "epub"


def _open_zipfile(fileobj: BinaryIO, limits: Limits) -> zipfile.ZipFile:
    declared = _declared_entries(fileobj)
    if declared is not None:
        check_count(declared, limits)  # before zipfile builds an object per entry
    try:
        zf = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
        raise CorruptArchive(f"unreadable zip: {exc}") from exc
    try:
        # The declared count can lie: zipfile reads entries until the directory's end.
        check_count(len(zf.infolist()), limits)
    except CorruptArchive:
        zf.close()
        raise
    return zf


def _open_info(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> IO[bytes]:
    if info.flag_bits & _FLAG_ENCRYPTED:
        raise CorruptArchive(f"{info.filename!r} is encrypted")
    try:
        return zf.open(info)
    except _READ_ERRORS as exc:
        raise CorruptArchive(f"cannot open {info.filename!r}: {exc}") from exc


def _is_epub(zf: zipfile.ZipFile) -> bool:
    try:
        info = zf.getinfo("mimetype")
        with _open_info(zf, info) as stream:
            return stream.read(len(EPUB_MIMETYPE) + 8).strip() == EPUB_MIMETYPE
    except (KeyError, CorruptArchive, *_READ_ERRORS):
        return False


def _member_name(info: zipfile.ZipInfo) -> str:
    """The stored name, decoded as UTF-8 when the bytes allow it.

    Many zip writers (macOS, 7-Zip on Linux) store UTF-8 names without setting the
    UTF-8 flag, and zipfile then decodes them as cp437. cp437 maps all 256 bytes,
    so the original bytes can be recovered and tried as UTF-8 first.
    """
    if info.flag_bits & _FLAG_UTF8:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except UnicodeError:
        return info.filename


def _declared_entries(fp: BinaryIO) -> int | None:
    """The entry count in the end-of-central-directory record, or None if not found."""
    try:
        end = fp.seek(0, 2)
        fp.seek(max(0, end - (_EOCD.size + 0xFFFF)))  # the record plus the longest comment
        tail = fp.read()
    except OSError:
        return None
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _EOCD.size:
        return None
    count: int = _EOCD.unpack_from(tail, at)[4]
    locator_at = at - _EOCD64_LOCATOR.size
    if count == 0xFFFF and locator_at >= 0 and tail[locator_at : locator_at + 4] == b"PK\x06\x07":
        offset = _EOCD64_LOCATOR.unpack_from(tail, locator_at)[2]
        try:
            fp.seek(offset)
            record = fp.read(_EOCD64.size)
        except (OSError, ValueError, OverflowError):
            return None
        if len(record) == _EOCD64.size and record[:4] == b"PK\x06\x06":
            count = _EOCD64.unpack(record)[7]
    return count
