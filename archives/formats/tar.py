"""TAR/CBT, plain or compressed (.tar.gz, .tar.bz2, .tar.xz, .lzma, .tar.zst), via tarfile.

The member list is built once at open by walking every header. In a plain tar a
read seeks straight to its member. In a compressed tar there is no index into the
compressed bytes: reading forward decodes and discards up to the member, and
reading a member that lies *before* the previous one decodes again from the start.
Pages read in archive order are cheap; random access costs up to one pass over
the archive per read. That is accepted for now.

A compressed stream that does not hold a tar (a gzipped text file) is
UnsupportedFormat: it is not an archive.
"""

from __future__ import annotations

import logging
import tarfile
from collections.abc import Callable
from collections.abc import Iterable
from typing import BinaryIO

from .base import ArchiveReader
from .base import CorruptArchive
from .base import Limits
from .base import Member
from .base import MemberNotFound
from .base import Span
from .base import UnsupportedFormat
from .base import check_count
from .base import read_capped
from .streams import STREAM_ERRORS
from .streams import compression_of
from .streams import open_decompressed

logger = logging.getLogger(__name__)

_ERRORS: tuple[type[Exception], ...] = (tarfile.TarError, *STREAM_ERRORS, ValueError)


def is_tar_header(block: bytes) -> bool:
    """A valid first tar header: ustar, GNU or old-style v7, checked by its checksum."""
    try:
        tarfile.TarInfo.frombuf(block[: tarfile.BLOCKSIZE], "utf-8", "surrogateescape")
    except tarfile.HeaderError:
        return False
    return True


class TarReader(ArchiveReader):
    format = "tar"

    def __init__(self, fileobj: BinaryIO, *, limits: Limits) -> None:
        super().__init__(fileobj, limits=limits)
        fileobj.seek(0)
        kind = compression_of(fileobj.read(16))
        fileobj.seek(0)
        self._compression = kind  # None for a plain tar
        self._stream = open_decompressed(fileobj, kind) if kind else fileobj
        try:
            self._tf, infos = self._open_tar(limits)
        except BaseException:
            if self._stream is not fileobj:
                self._stream.close()
            raise
        self._index: dict[str, tarfile.TarInfo] = {}
        self._members: list[Member] = []
        for info in infos:
            if not info.isreg():  # directories, links, devices
                continue
            self._members.append(Member(info.name, info.size))
            self._index.setdefault(info.name, info)

    def members(self) -> list[Member]:
        return list(self._members)

    def _contains(self, name: str) -> bool:
        return name in self._index

    def _read_resolved(self, name: str, cap: int) -> bytes:
        info = self._index[name]
        with self._open_info(info) as stream:
            try:
                return read_capped(stream, name, cap, info.size)
            except _ERRORS as exc:
                raise CorruptArchive(f"cannot read {name!r}: {exc}") from exc

    def _open_resolved(self, name: str) -> BinaryIO:
        return self._open_info(self._index[name])

    def _span_resolved(self, name: str) -> Span | None:
        info = self._index[name]
        if self._compression is not None or info.issparse():
            return None
        return Span(info.offset_data, info.size)

    @property
    def random_access(self) -> bool:
        return self._compression is None

    def extract_each(
        self,
        names: Iterable[str],
        on_member: Callable[[str, bytes | None], None],
        *,
        max_bytes: int | None = None,
    ) -> None:
        # Reading in archive order keeps a compressed stream moving forward: one pass.
        wanted = []
        for name in names:
            try:
                wanted.append(self._resolve(name))
            except MemberNotFound:
                continue
        wanted.sort(key=lambda n: self._index[n].offset)
        super().extract_each(wanted, on_member, max_bytes=max_bytes)

    def _close(self) -> None:
        self._tf.close()
        if self._stream is not self._fileobj:
            self._stream.close()

    def _open_tar(self, limits: Limits) -> tuple[tarfile.TarFile, list[tarfile.TarInfo]]:
        try:
            first = self._stream.read(tarfile.BLOCKSIZE)
            self._stream.seek(0)
        except _ERRORS as exc:
            raise CorruptArchive(f"unreadable {self._compression} stream: {exc}") from exc
        if not is_tar_header(first):
            raise UnsupportedFormat(f"a {self._compression or 'tar'} stream that holds no tar archive")
        try:
            tf = tarfile.open(fileobj=self._stream, mode="r:")  # noqa: SIM115 -- lives as long as the reader
        except _ERRORS as exc:
            raise CorruptArchive(f"unreadable tar: {exc}") from exc
        infos: list[tarfile.TarInfo] = []
        try:
            # Count while walking, so a tar of a million empty files stops early.
            for info in tf:
                infos.append(info)
                check_count(len(infos), limits)
        except CorruptArchive:
            tf.close()
            raise
        except _ERRORS as exc:
            tf.close()
            raise CorruptArchive(f"unreadable tar: {exc}") from exc
        return tf, infos

    def _open_info(self, info: tarfile.TarInfo) -> BinaryIO:
        try:
            stream = self._tf.extractfile(info)
        except _ERRORS as exc:
            raise CorruptArchive(f"cannot open {info.name!r}: {exc}") from exc
        if stream is None:  # only for non-regular members, which are never indexed
            raise CorruptArchive(f"{info.name!r} is not a regular file")
        return stream  # type: ignore[return-value]
