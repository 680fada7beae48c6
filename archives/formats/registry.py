"""Pick a reader by the file's magic bytes (never its extension) and open it."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import BinaryIO

from .base import ArchiveReader
from .base import Limits
from .base import UnsupportedFormat
from .pdf import PdfReader
from .rar import RarReader
from .sevenzip import SevenZipReader
from .streams import compression_of
from .tar import TarReader
from .tar import is_tar_header
from .zip import EPUB_MIMETYPE
from .zip import EpubReader
from .zip import ZipReader

logger = logging.getLogger(__name__)

READERS: Mapping[str, type[ArchiveReader]] = {
    "zip": ZipReader,
    "epub": EpubReader,
    "rar": RarReader,
    "7z": SevenZipReader,
    "tar": TarReader,
    "pdf": PdfReader,
}
SNIFF_BYTES = 1024
DEFAULT_LIMITS = Limits()


def sniff(head: bytes) -> str | None:
    """The format name for a file starting with `head` (pass at least 512 bytes), or None.

    "tar" also stands for a gzip, bzip2, xz, lzma or zstd stream, which may hold a
    tar; TarReader checks that it really does. "epub" needs the EPUB convention of a
    stored `mimetype` member first; a zip with the member elsewhere sniffs as "zip"
    and still opens as an EPUB.
    """
    if head.startswith(b"PK\x03\x04"):
        return "epub" if _starts_with_epub_mimetype(head) else "zip"
    if head.startswith(b"PK\x05\x06"):  # an empty zip is only its end record
        return "zip"
    if head.startswith((b"Rar!\x1a\x07\x00", b"Rar!\x1a\x07\x01\x00")):
        return "rar"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if is_tar_header(head) or compression_of(head) is not None:
        return "tar"
    return None


def open_archive(source: str | os.PathLike[str] | BinaryIO, *, limits: Limits = DEFAULT_LIMITS) -> ArchiveReader:
    """Open an archive from a path or a seekable binary file object.

    Raises UnsupportedFormat when the bytes match no format, CorruptArchive when
    they do but the archive cannot be read (truncated, broken, encrypted, too many
    entries). A file opened here is closed with the reader; a file object passed
    in stays the caller's to close, and must stay open while the reader is used.
    """
    if isinstance(source, (str, os.PathLike)):
        fileobj: BinaryIO = open(source, "rb")  # noqa: SIM115 -- the reader owns it
        owned = True
    else:
        fileobj, owned = source, False
        if not fileobj.seekable():
            raise ValueError("open_archive needs a seekable file object")
    try:
        fileobj.seek(0)
        head = fileobj.read(SNIFF_BYTES)
        fileobj.seek(0)
        fmt = sniff(head)
        if fmt is None:
            raise UnsupportedFormat("not a known archive format")
        reader = READERS[fmt].open(fileobj, limits=limits)
    except BaseException:
        if owned:
            fileobj.close()
        raise
    if owned:
        reader._owned = fileobj
    logger.debug("opened %r as %s", source, reader.format)
    return reader


def page_count(source: str | os.PathLike[str] | BinaryIO, *, limits: Limits = DEFAULT_LIMITS) -> int:
    """The number of pages of an archive (opens and closes it)."""
    with open_archive(source, limits=limits) as reader:
        return len(reader.page_names())


def _starts_with_epub_mimetype(head: bytes) -> bool:
    """A first local header for a stored `mimetype` member holding the EPUB type."""
    if len(head) < 30 or int.from_bytes(head[8:10], "little") != 0:  # compression: stored
        return False
    name_len = int.from_bytes(head[26:28], "little")
    extra_len = int.from_bytes(head[28:30], "little")
    data = 30 + name_len + extra_len
    return head[30 : 30 + name_len] == b"mimetype" and head[data : data + len(EPUB_MIMETYPE)] == EPUB_MIMETYPE
