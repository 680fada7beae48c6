"""7z/CB7 through py7zr (1.1).

py7zr can only extract, not stream, so read() decodes one member into a capped
in-memory sink. A member whose declared size is over the cap is refused before
any decoding. In a *solid* archive members share one compressed block, and
reaching a member means decoding every member before it in that block: reading
pages out of order costs time proportional to the block (a page cache can hide
that later). Non-solid archives decode only the requested member.

open_member() returns an in-memory stream of read(), so it is capped by
limits.max_member_bytes like read().

The public SevenZipFile.extract() sanitises member names as output *paths* and
refuses names such as "../x.jpg" outright; here names are only keys, so the
decode goes through py7zr's extraction worker with an in-memory writer and no
path at all. That worker is py7zr's internal API: it is pinned in
requirements.txt, and tests cover this use.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Callable
from collections.abc import Iterable
from typing import BinaryIO

import py7zr
from py7zr.io import MemIO
from py7zr.io import Py7zIO
from py7zr.io import WriterFactory
from py7zr.py7zr import ArchiveFile

from .base import ArchiveError
from .base import ArchiveReader
from .base import CorruptArchive
from .base import Limits
from .base import Member
from .base import MemberNotFound
from .base import MemberTooLarge
from .base import check_count
from .base import refuse_oversize

logger = logging.getLogger(__name__)


class SevenZipReader(ArchiveReader):
    format = "7z"

    def __init__(self, fileobj: BinaryIO, *, limits: Limits) -> None:
        super().__init__(fileobj, limits=limits)
        try:
            self._z = py7zr.SevenZipFile(fileobj, mode="r")
            files: list[ArchiveFile] = list(self._z.files)
            encrypted = self._z.needs_password()
        except Exception as exc:  # py7zr's header parser fails in many ways on hostile bytes
            logger.debug("unreadable 7z", exc_info=True)
            raise CorruptArchive(f"unreadable 7z: {exc!r}") from exc
        try:
            if encrypted:
                raise CorruptArchive("encrypted 7z")
            check_count(len(files), limits)
        except CorruptArchive:
            self._z.close()
            raise
        self._index: dict[str, ArchiveFile] = {}
        self._members: list[Member] = []
        for f in files:
            # Not f.is_file: some writers store Unix permissions without the file-type bits.
            if f.is_directory or f.is_symlink or f.is_socket or f.is_junction:
                continue
            self._members.append(Member(f.filename, f.uncompressed or 0))
            self._index.setdefault(f.filename, f)

    def members(self) -> list[Member]:
        return list(self._members)

    def _contains(self, name: str) -> bool:
        return name in self._index

    def _read_resolved(self, name: str, cap: int) -> bytes:
        member = self._index[name]
        refuse_oversize(name, member.uncompressed or 0, cap)
        sink = _Sink(name, cap)
        self._decode(member, sink)
        return sink.getvalue()

    def _open_resolved(self, name: str) -> BinaryIO:
        return io.BytesIO(self._read_resolved(name, self.limits.max_member_bytes))

    def _read_head(self, name: str, size: int) -> bytes:
        sink = _Sink(name, size, truncate=True)
        with contextlib.suppress(_Full):
            self._decode(self._index[name], sink)
        return sink.getvalue()

    @property
    def random_access(self) -> bool:
        try:
            return not self._z.archiveinfo().solid
        except Exception:  # header oddities: assume the slow case
            return False

    def extract_each(
        self,
        names: Iterable[str],
        on_member: Callable[[str, bytes | None], None],
        *,
        max_bytes: int | None = None,
    ) -> None:
        """One decoding pass over the archive, handing each wanted member over as it completes."""
        cap = self.limits.max_member_bytes if max_bytes is None else max_bytes
        pending: dict[str, ArchiveFile] = {}
        for name in names:
            try:
                resolved = self._resolve(name)
            except MemberNotFound:
                continue
            member = self._index[resolved]
            if (member.uncompressed or 0) > cap:
                on_member(resolved, None)
                continue
            pending[resolved] = member
        if not pending:
            return
        z = self._z
        z.reset()
        delivered: set[str] = set()

        def deliver(name: str, data: bytes | None) -> None:
            delivered.add(name)
            on_member(name, data)

        for name, member in pending.items():
            sink = _Sink(name, cap, on_close=deliver)
            z.worker.register_filelike(member.id, MemIO(member.filename, _SinkFactory(sink)))
        try:
            z.worker.extract(z.fp, None, parallel=False)
        except Exception:  # a broken block: what was decoded before it has been delivered
            logger.debug("7z pass stopped early", exc_info=True)
        for name in pending:
            if name not in delivered:
                on_member(name, None)

    def _close(self) -> None:
        self._z.close()

    def _decode(self, member: ArchiveFile, sink: _Sink) -> None:
        z = self._z
        z.reset()  # a fresh worker and decoders: an earlier read may have stopped mid-block
        z.worker.register_filelike(member.id, MemIO(member.filename, _SinkFactory(sink)))
        try:
            z.worker.extract(z.fp, None, parallel=False)
        except (ArchiveError, _Full):
            raise
        except Exception as exc:  # CRC, truncation, unsupported or broken coders...
            logger.debug("cannot decode %r", member.filename, exc_info=True)
            raise CorruptArchive(f"cannot read {member.filename!r}: {exc!r}") from exc


class _Full(Exception):
    """A truncating sink has all the bytes it wants; stops the decoder early."""


class _Sink(Py7zIO):
    """Collects one member's bytes, refusing (or, truncating, stopping at) `cap` bytes."""

    def __init__(
        self,
        name: str,
        cap: int,
        *,
        truncate: bool = False,
        on_close: Callable[[str, bytes | None], None] | None = None,
    ) -> None:
        self._name = name
        self._cap = cap
        self._truncate = truncate
        self._on_close = on_close
        self._over = False
        self._buf = io.BytesIO()

    def write(self, s: bytes | bytearray) -> int:
        if self._over:
            return len(s)
        room = self._cap - self._buf.tell()
        if len(s) > room:
            if self._on_close is not None:
                # In a whole-archive pass, an oversized member is dropped, not fatal.
                self._over = True
                self._buf = io.BytesIO()
                return len(s)
            if not self._truncate:
                raise MemberTooLarge(f"{self._name!r} is over the {self._cap}-byte cap")
            self._buf.write(s[:room])
            raise _Full
        return self._buf.write(s)

    def read(self, size: int | None = None) -> bytes:
        return b""  # py7zr only writes into the sink

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._buf.tell()  # py7zr rewinds the sink when done; keep writing position

    def flush(self) -> None:
        pass

    def size(self) -> int:
        return self._buf.tell()

    def getvalue(self) -> bytes:
        return self._buf.getvalue()

    def close(self) -> None:
        # py7zr closes a member's writer once the member is complete and checked.
        if self._on_close is not None:
            callback, self._on_close = self._on_close, None
            callback(self._name, None if self._over else self._buf.getvalue())
            self._buf = io.BytesIO()


class _SinkFactory(WriterFactory):
    def __init__(self, sink: _Sink) -> None:
        self._sink = sink

    def create(self, filename: str) -> Py7zIO:
        return self._sink
