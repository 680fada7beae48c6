"""Seekable views of compressed streams, for tar archives inside gzip, bzip2, xz, lzma or zstd.

Seeking forward decodes and discards; seeking backward starts decoding again from
the beginning. That is what makes random access into a compressed tar slow.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import sys
from collections.abc import Callable
from typing import BinaryIO
from typing import Protocol

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

CHUNK = 64 * 1024
# liblzma allocates the dictionary the stream declares (up to 4 GiB) and fills it as
# it decodes; xz -9 needs 65 MiB, so this leaves room while bounding a hostile header.
LZMA_MEMLIMIT = 256 * 1024 * 1024

# What a decompressing stream raises on damaged input.
STREAM_ERRORS: tuple[type[Exception], ...] = (OSError, EOFError, lzma.LZMAError, zstd.ZstdError)


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...
    @property
    def needs_input(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...
    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


def compression_of(head: bytes) -> str | None:
    """The compression of a stream from its first bytes: gz, bz2, xz, zst, lzma or None."""
    if head.startswith(b"\x1f\x8b"):
        return "gz"
    # "BZh", the block size, then a block or the end-of-stream marker.
    if head.startswith(b"BZh") and head[3:4].isdigit() and head[4:10] in (b"1AY&SY", b"\x17rE8P\x90"):
        return "bz2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return "zst"
    if _looks_like_lzma_alone(head):
        return "lzma"
    return None


def _looks_like_lzma_alone(head: bytes) -> bool:
    """The .lzma ("alone") header has no magic; check its fields like libarchive does."""
    if len(head) < 13 or head[0] > (4 * 5 + 4) * 9 + 8:  # lc/lp/pb properties byte
        return False
    dict_size = int.from_bytes(head[1:5], "little")
    # xz and lzma-utils write 2^n or 2^n + 2^(n-1) dictionaries.
    power = dict_size.bit_length() - 1
    if not 1 << 12 <= dict_size <= 1 << 30 or dict_size not in (1 << power, 3 << (power - 1)):
        return False
    size = int.from_bytes(head[5:13], "little")
    return size == 2**64 - 1 or size < 1 << 48  # unknown, or plausible


def open_decompressed(raw: BinaryIO, kind: str) -> BinaryIO:
    """A seekable, readable stream of the decompressed bytes of `raw` (positioned at 0)."""
    raw.seek(0)
    if kind == "gz":
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if kind == "bz2":
        return bz2.BZ2File(raw)  # type: ignore[return-value]
    if kind == "zst":
        return zstd.ZstdFile(raw)  # type: ignore[return-value]
    if kind in ("xz", "lzma"):
        # Not lzma.LZMAFile: it offers no memory limit.
        fmt = lzma.FORMAT_XZ if kind == "xz" else lzma.FORMAT_ALONE
        new = lambda: lzma.LZMADecompressor(format=fmt, memlimit=LZMA_MEMLIMIT)  # noqa: E731
        return io.BufferedReader(DecompressingReader(raw, new, lzma.LZMAError), CHUNK)
    raise ValueError(f"unknown compression {kind!r}")


class DecompressingReader(io.RawIOBase):
    """A read-only, seekable view of a stream of one or more concatenated compressed streams."""

    def __init__(self, raw: BinaryIO, new_decompressor: Callable[[], _Decompressor], error: type[Exception]) -> None:
        self._raw = raw
        self._new = new_decompressor
        self._error = error
        self._rewind()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        with memoryview(buffer) as view:
            data = self._read(len(view))
            view[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset += self._pos
        elif whence == io.SEEK_END:
            while self._read(CHUNK):
                pass
            offset += self._pos
        if offset < self._pos:
            self._rewind()
        while self._pos < offset and self._read(min(CHUNK, offset - self._pos)):
            pass
        return self._pos

    def _rewind(self) -> None:
        self._raw.seek(0)
        self._dec = self._new()
        self._pos = 0
        self._eof = False

    def _read(self, size: int) -> bytes:
        while size > 0 and not self._eof:
            if self._dec.eof:
                rest = self._dec.unused_data or self._raw.read(CHUNK)
                if not rest:
                    self._eof = True
                    break
                self._dec = self._new()
                try:
                    out = self._dec.decompress(rest, size)
                except self._error:
                    self._eof = True  # junk after the last stream is ignored, as xz does
                    break
            elif self._dec.needs_input:
                chunk = self._raw.read(CHUNK)
                if not chunk:
                    raise EOFError("compressed stream ends before its end marker")
                out = self._dec.decompress(chunk, size)
            else:
                out = self._dec.decompress(b"", size)
            if out:
                self._pos += len(out)
                return out
        return b""
