"""The format contract: errors, limits, members and the reader base class.

Every format module subclasses `ArchiveReader`. Readers treat the archive as
hostile: member names are only dictionary keys (never filesystem paths), member
counts and sizes are capped, and nothing is extracted to disk.

A reader is not thread-safe; open one per thread (or guard it).
"""

from __future__ import annotations

import abc
import io
import logging
import unicodedata
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import BinaryIO
from typing import ClassVar
from typing import Protocol
from typing import Self

from .pages import is_appledouble_junk
from .pages import is_page_name
from .pages import looks_like_appledouble
from .pages import order_pages

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024


class ArchiveError(Exception):
    """Base of all format errors."""


class UnsupportedFormat(ArchiveError):
    """The magic bytes match no known format."""


class CorruptArchive(ArchiveError):
    """A recognised format that cannot be read: truncated, broken, encrypted or too big."""


class MemberNotFound(ArchiveError, KeyError):
    """No member has the requested name (nor its NFC form)."""

    def __str__(self) -> str:
        # KeyError's __str__ would repr() the name; keep a readable message.
        return f"member not found: {self.args[0]!r}" if self.args else "member not found"


class MemberTooLarge(ArchiveError):
    """The member is bigger than the byte cap."""


@dataclass(frozen=True)
class Limits:
    """Caps that bound what a hostile archive can make us do."""

    max_members: int = 100_000  # more entries -> CorruptArchive at open
    max_member_bytes: int = 256 * 1024 * 1024  # default cap of read()
    max_pdf_pixels: int = 40_000_000  # bound on a rendered PDF page


@dataclass(frozen=True)
class Member:
    """A regular file in an archive."""

    name: str  # exact member name as stored (UTF-8 decoded)
    size: int  # uncompressed size in bytes, -1 if unknown


@dataclass(frozen=True)
class Span:
    """Where a member's bytes lie, exactly as they are served, in the archive file."""

    offset: int
    length: int


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def refuse_oversize(name: str, declared: int, cap: int) -> None:
    """MemberTooLarge if the declared size is over the cap; call it before decoding."""
    if declared > cap:
        raise MemberTooLarge(f"{name!r} is {declared} bytes, over the {cap}-byte cap")


def read_capped(stream: _Readable, name: str, cap: int, declared: int = -1) -> bytes:
    """Read `stream` to its end, refusing more than `cap` bytes.

    The declared size is checked first, then the bytes actually read, since a
    header can lie. At most `cap` + 1 bytes are ever buffered.
    """
    refuse_oversize(name, declared, cap)
    buf = io.BytesIO()  # getvalue() hands over its buffer without a second copy
    total = 0
    while True:
        chunk = stream.read(min(CHUNK, cap + 1 - total))
        if not chunk:
            return buf.getvalue()
        total += len(chunk)
        if total > cap:
            raise MemberTooLarge(f"{name!r} is over the {cap}-byte cap")
        buf.write(chunk)


def check_count(count: int, limits: Limits) -> None:
    """Refuse an archive with more entries than limits.max_members."""
    if count > limits.max_members:
        raise CorruptArchive(f"{count} entries, over the {limits.max_members}-entry cap")


class ArchiveReader(abc.ABC):
    """One open archive. Use it as a context manager, or call close().

    Subclasses implement `members`, `_contains`, `_read_resolved`, `_open_resolved`
    and `_close`; name lookup, page listing and closing are shared.
    """

    format: ClassVar[str]  # "zip", "epub", "rar", "7z", "tar", "pdf"

    def __init__(self, fileobj: BinaryIO, *, limits: Limits) -> None:
        self.limits = limits
        self._fileobj = fileobj
        self._owned: BinaryIO | None = None
        self._pages: list[str] | None = None
        self._closed = False

    @classmethod
    def open(cls, fileobj: BinaryIO, *, limits: Limits) -> ArchiveReader:
        """Open `fileobj` (seekable, positioned anywhere); a format may pick a subclass."""
        return cls(fileobj, limits=limits)

    # -- the contract -----------------------------------------------------------------

    @abc.abstractmethod
    def members(self) -> list[Member]:
        """Regular files only (no directories, no links), in archive order."""

    def page_names(self) -> list[str]:
        """Image pages in LANraragi order, AppleDouble junk dropped (see pages.py)."""
        if self._pages is None:
            names = [m.name for m in self.members() if is_page_name(m.name)]
            self._pages = order_pages(n for n in names if not self._is_junk(n))
        return list(self._pages)

    def read(self, name: str, *, max_bytes: int | None = None) -> bytes:
        """The bytes of any member, looked up by exact name, then by its NFC form.

        Raises MemberNotFound if absent, MemberTooLarge if its declared size or the
        bytes actually decoded exceed `max_bytes` (default limits.max_member_bytes),
        CorruptArchive if it cannot be decoded (bad data, encryption).
        """
        cap = self.limits.max_member_bytes if max_bytes is None else max_bytes
        return self._read_resolved(self._resolve(name), cap)

    @property
    def random_access(self) -> bool:
        """Whether reading one member costs about that member alone.

        False where a read decodes from the start of a block or of the archive
        (solid 7z, compressed tar), renders (PDF) or runs an external tool
        (compressed RAR): callers should read those through a page cache, filled
        with one extract_each() pass.
        """
        return True

    def extract_each(
        self,
        names: Iterable[str],
        on_member: Callable[[str, bytes | None], None],
        *,
        max_bytes: int | None = None,
    ) -> None:
        """Read several members in one pass where the format allows it.

        Calls on_member(name, data) as each is ready, in whatever order is cheapest
        for the format (archive order for streams), with data None for a member
        that could not be read (too large, corrupt), so that one bad page does not
        stop the rest. Names are looked up as in read(); unknown names are skipped.
        """
        for name in names:
            try:
                data: bytes | None = self.read(name, max_bytes=max_bytes)
            except MemberNotFound:
                continue
            except ArchiveError:
                logger.debug("cannot read %r", name, exc_info=True)
                data = None
            on_member(name, data)

    def span(self, name: str, *, max_bytes: int | None = None) -> Span | None:
        """Where the member's bytes lie unencoded in the archive file (a stored zip
        member, a plain tar's member), so that a server can send them straight from
        the file; None where they must be decoded. Same lookup and size cap as read().

        A zip member's CRC is not checked on this path: the bytes sent are the ones
        stored, as a download of the archive would send them.
        """
        cap = self.limits.max_member_bytes if max_bytes is None else max_bytes
        found = self._span_resolved(self._resolve(name))
        if found is not None:
            refuse_oversize(name, found.length, cap)
            if found.offset < 0 or found.offset + found.length > self._file_size():
                return None  # truncated: let read() report it
        return found

    def open_member(self, name: str) -> BinaryIO:
        """A stream of one member's bytes; same lookup and errors as read().

        The caller closes it and bounds what it reads: zip, rar and tar stream
        without a size cap. 7z and PDF cannot stream, so they return an in-memory
        copy of read(), capped by limits.max_member_bytes.
        """
        return self._open_resolved(self._resolve(name))

    def close(self) -> None:
        """Release the archive; closes the file only if open_archive opened it. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self._close()
        finally:
            if self._owned is not None:
                self._owned.close()
                self._owned = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {getattr(self._fileobj, 'name', '?')!r}>"

    # -- for subclasses ---------------------------------------------------------------

    @abc.abstractmethod
    def _contains(self, name: str) -> bool:
        """Whether a regular member has exactly this name."""

    @abc.abstractmethod
    def _read_resolved(self, name: str, cap: int) -> bytes:
        """read() for a name known to exist."""

    @abc.abstractmethod
    def _open_resolved(self, name: str) -> BinaryIO:
        """open_member() for a name known to exist."""

    @abc.abstractmethod
    def _close(self) -> None:
        """Release library handles; the base class closes an owned file afterwards."""

    def _span_resolved(self, name: str) -> Span | None:
        """Formats whose members can lie unencoded in the file override it."""
        return None

    def _file_size(self) -> int:
        self._fileobj.seek(0, io.SEEK_END)
        return self._fileobj.tell()

    def _read_head(self, name: str, size: int) -> bytes:
        """The first `size` bytes of a member; formats that cannot stream override it."""
        with self._open_resolved(name) as stream:
            return stream.read(size)

    def _resolve(self, name: str) -> str:
        if self._contains(name):
            return name
        nfc = unicodedata.normalize("NFC", name)
        if nfc != name and self._contains(nfc):
            return nfc
        raise MemberNotFound(name)

    def _is_junk(self, name: str) -> bool:
        if not looks_like_appledouble(name):
            return False
        try:
            head = self._read_head(name, 8)
        except ArchiveError:
            logger.debug("cannot read %r to test for AppleDouble; keeping it", name, exc_info=True)
            return False
        return is_appledouble_junk(name, head)
