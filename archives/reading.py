"""Reading archives: page lists, page bytes, and the reader's progress.

Pages of in-place formats (zip/cbz/epub, plain tar, stored rar on local disk) are
cut straight out of the archive through a small per-process pool of open readers.
Everything else is read through the page cache (archives.pagecache).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import closing
from contextlib import contextmanager
from contextlib import suppress
from dataclasses import dataclass
from typing import Any
from typing import BinaryIO
from typing import overload

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError
from django.db import transaction

from archives import formats
from archives.config import get_config
from archives.exceptions import ArchiveNotFound
from archives.fileslice import FileSlice
from archives.models import Archive
from archives.models import ReadingState
from archives.models import ServerCounters
from archives.search.cache import invalidate_search_cache
from archives.storage import archives_storage
from archives.storage import local_copy

logger = logging.getLogger(__name__)

WAIT_QUEUED = 3.0  # seconds a page read waits for a queued unpack job to start
WAIT_RUNNING = 15.0  # ... and for a running one to reach its page
RESIZE_WIDTH = 1064


class PageNotFound(Exception):
    pass


class PageTooLarge(Exception):
    pass


class ArchiveUnreadable(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class PageList:
    names: list[str]
    random_access: bool


@dataclass(frozen=True)
class Page:
    data: bytes
    content_type: str
    # Set instead of `data` when the page is a stretch of a local file (a stored
    # member, a page cache file): the server sends it without reading it in Python.
    # Whoever takes the page closes it.
    file: FileSlice | None = None

    @property
    def size(self) -> int:
        return self.file.length if self.file is not None else len(self.data)


def max_page_bytes() -> int:
    return int(settings.HONDANA_MAX_MEMBER_BYTES)


def _limits() -> formats.Limits:
    return formats.Limits(
        max_members=settings.HONDANA_MAX_MEMBERS,
        max_member_bytes=max_page_bytes(),
        max_pdf_pixels=settings.HONDANA_MAX_IMAGE_PIXELS,
    )


def _is_local(storage: Any, key: str) -> bool:
    try:
        storage.path(key)
    except NotImplementedError:
        return False
    return True


# --- Open readers ------------------------------------------------------------------
#
# Parsing a zip's directory costs more than cutting a page out of it (a few ms for
# 300 pages), so readers of local files stay open between page requests, in one
# pool per process shared by its threads. A reader is taken out of the pool while
# it is used and put back after, so only idle readers are ever closed by another
# thread. An open descriptor keeps a deleted file's space allocated, so an idle
# reader is closed once its file is unlinked, replaced or changed: at once when this
# process deletes the archive, at its next use, and otherwise by a reaper thread
# within READER_SWEEP seconds, even in a process that gets no more requests (other
# gunicorn workers, Celery children). Readers unused for READER_IDLE seconds close too.

READERS_PER_PROCESS = 16  # idle readers kept open
READER_IDLE = 30.0  # seconds an idle reader stays open
READER_SWEEP = 1.0  # seconds between the reaper's rounds


@dataclass(eq=False)
class _Held:
    """An open reader of a local file, and the file it was opened on."""

    arcid: str
    path: str
    reader: formats.ArchiveReader
    file: BinaryIO
    identity: tuple[int, int, int, int]  # st_dev, st_ino, st_size, st_mtime_ns
    idle_since: float = 0.0

    def unlinked(self) -> bool:
        """Whether the file has no name left (deleted, or replaced by a rename)."""
        try:
            return os.fstat(self.file.fileno()).st_nlink == 0
        except (OSError, ValueError):
            return True

    def moved(self) -> bool:
        """Whether its path names another file now, or none: also seen where an
        unlinked open file keeps a link (NFS renames it to .nfsXXXX)."""
        try:
            return _identity(os.stat(self.path)) != self.identity
        except OSError:
            return True

    def close(self) -> None:
        try:
            self.reader.close()
        except Exception:  # a broken reader must not keep the file open
            logger.debug("closing a reader of %s failed", self.path, exc_info=True)
        finally:
            self.file.close()


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class _ReaderPool:
    def __init__(self) -> None:
        self._idle: list[_Held] = []  # least recently used first
        self._lock = threading.Lock()
        self._reaper: threading.Thread | None = None

    def take(self, arcid: str, path: str) -> _Held | None:
        """An idle reader of the file now at `path`, out of the pool; None if there is
        none (one of a file since deleted or replaced is closed on the way)."""
        with self._lock:
            for i in range(len(self._idle) - 1, -1, -1):
                held = self._idle[i]
                if held.arcid == arcid and held.path == path:
                    del self._idle[i]
                    break
            else:
                return None
        if held.moved():
            held.close()
            return None
        return held

    def give_back(self, held: _Held) -> None:
        if held.unlinked():
            held.close()
            return
        held.idle_since = time.monotonic()
        with self._lock:
            self._idle.append(held)
            surplus = self._idle[:-READERS_PER_PROCESS]
            del self._idle[:-READERS_PER_PROCESS]
            if self._reaper is None:
                self._reaper = threading.Thread(target=self._reap, name="hondana-reader-reaper", daemon=True)
                self._reaper.start()
        for old in surplus:
            old.close()

    def close_where(self, test: Callable[[_Held], bool]) -> int:
        """Close the idle readers that pass `test` (run outside the lock: it may stat
        files on a slow mount)."""
        with self._lock:
            candidates = list(self._idle)
        doomed = [held for held in candidates if test(held)]
        with self._lock:
            doomed = [held for held in doomed if held in self._idle]  # not taken meanwhile
            self._idle = [held for held in self._idle if held not in doomed]
        for held in doomed:
            held.close()
        return len(doomed)

    def _reap(self) -> None:
        """Close stale idle readers every READER_SWEEP seconds; end when none is left."""
        while True:
            time.sleep(READER_SWEEP)
            self.close_where(_stale_at(time.monotonic() - READER_IDLE))
            with self._lock:
                if not self._idle:
                    self._reaper = None
                    return

    def after_fork(self) -> None:
        """In a forked child (gunicorn and Celery workers): the parent's readers and
        reaper are not this process's; their descriptors are closed here only."""
        inherited, self._idle = self._idle, []
        self._lock = threading.Lock()
        self._reaper = None
        for held in inherited:
            with suppress(OSError):
                held.file.close()


def _stale_at(cutoff: float) -> Callable[[_Held], bool]:
    return lambda held: held.idle_since < cutoff or held.unlinked() or held.moved()


_pool = _ReaderPool()
os.register_at_fork(after_in_child=_pool.after_fork)


@contextmanager
def open_reader(archive: Archive, *, cached: bool = True) -> Iterator[formats.ArchiveReader]:
    """An open reader for an archive's file.

    Local files are opened in place and, with `cached`, kept open a few seconds
    for the next page request (see the pool above). Remote files are copied to a
    temporary file first.
    """
    storage = archives_storage()
    if not _is_local(storage, archive.file):
        with local_copy(storage, archive.file) as copy, closing(_open(copy)) as reader:
            yield reader
        return
    path = storage.path(archive.file)
    if not cached:
        with closing(_open(path)) as reader:
            yield reader
        return
    held = _pool.take(archive.pk, path) or _hold(archive.pk, path)
    try:
        yield held.reader
    except BaseException:
        # A reader that failed mid-read may be in a bad state; do not reuse it.
        held.close()
        raise
    _pool.give_back(held)


def _hold(arcid: str, path: str) -> _Held:
    try:
        file = open(path, "rb")  # noqa: SIM115 -- closed with the _Held
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ArchiveUnreadable(str(exc)) from exc
    try:
        identity = _identity(os.fstat(file.fileno()))
        reader = _open(file)
    except BaseException:
        file.close()
        raise
    return _Held(arcid, path, reader, file, identity)


def _open(source: str | os.PathLike[str] | BinaryIO) -> formats.ArchiveReader:
    try:
        return formats.open_archive(source, limits=_limits())
    except FileNotFoundError:
        raise
    except (formats.ArchiveError, OSError) as exc:
        raise ArchiveUnreadable(str(exc)) from exc


def close_readers(arcid: str) -> int:
    """Close this process's idle readers of an archive (its file is being deleted);
    return how many. Readers in use are closed when put back, as their file is gone."""
    return _pool.close_where(lambda held: held.arcid == arcid)


def forget_readers() -> None:
    """Close this process's idle readers and drop its reading caches (tests; after
    deleting files)."""
    _pool.close_where(lambda held: True)
    _page_lists.clear()
    _archives.clear()


def _mark_missing(archive: Archive) -> None:
    """The file has gone: hide the record until a scan finds it again. Synthetic
    records (generate_library, benchmarks) never had a file."""
    if not archive.synthetic:
        Archive.objects.filter(pk=archive.pk).update(missing=True)
        _archives.drop(archive.pk)
        invalidate_search_cache()


def _list_key(arcid: str) -> str:
    return f"hondana:pages:{arcid}"


class _Recent:
    """A small per-process LRU with an optional age limit, for what every page
    request would otherwise ask the database or the shared cache again."""

    def __init__(self, size: int, ttl: float | None = None) -> None:
        self.size = size
        self.ttl = ttl
        self._items: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            item = self._items.get(key)
            if item is None or (self.ttl is not None and time.monotonic() - item[0] > self.ttl):
                return None
            self._items.move_to_end(key)
            return item[1]

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._items[key] = (time.monotonic(), value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def drop(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


# Page lists never change for an ID; archive rows are re-read every few seconds so
# that a deleted archive stops being served soon in every process.
_page_lists = _Recent(512)
_archives = _Recent(512, ttl=5.0)
READING_FIELDS = ("id", "file", "format", "missing", "synthetic", "pagecount", "created_at")


def archive_for_reading(arcid: str) -> Archive | None:
    """The archive behind a page request, or None if unknown or missing (cached briefly)."""
    archive = _archives.get(arcid)
    if archive is None:
        archive = Archive.objects.filter(pk=arcid, missing=False).only(*READING_FIELDS).first()
        if archive is None:
            return None
        _archives.put(arcid, archive)
    return archive


def page_info(*, archive: Archive) -> PageList:
    """The ordered page names of an archive, cached: an ID's content never changes."""
    local = _page_lists.get(archive.pk)
    if local is not None:
        return local
    cached = cache.get(_list_key(archive.pk))
    if cached is not None:
        info = PageList(names=cached["names"], random_access=cached["random_access"])
        _page_lists.put(archive.pk, info)
        return info
    try:
        with open_reader(archive) as reader:
            names = reader.page_names()
            random_access = reader.random_access and _is_local(archives_storage(), archive.file)
    except FileNotFoundError:
        _mark_missing(archive)
        raise ArchiveNotFound(archive.pk) from None
    cache.set(_list_key(archive.pk), {"names": names, "random_access": random_access}, timeout=None)
    info = PageList(names=names, random_access=random_access)
    _page_lists.put(archive.pk, info)
    if archive.pagecount != len(names):
        Archive.objects.filter(pk=archive.pk).update(pagecount=len(names))
        archive.pagecount = len(names)
    return info


def page_list(*, archive: Archive) -> list[str]:
    return page_info(archive=archive).names


def forget_page_list(arcid: str) -> None:
    cache.delete(_list_key(arcid))
    _page_lists.drop(arcid)
    _archives.drop(arcid)


def _resolve_page(names: list[str], path: str) -> int | None:
    for candidate in (path, unicodedata.normalize("NFC", path)):
        try:
            return names.index(candidate)
        except ValueError:
            continue
    return None


def page_get(*, archive: Archive, path: str) -> Page:
    """The bytes of one member (a page, or any other file such as ComicInfo.xml).

    `path` is an exact member name (then its NFC form), never a filesystem path.
    A member stored unencoded in a local archive, and a page already in the page
    cache, come back as a FileSlice (unless they are to be resized).
    """
    from archives import pagecache

    if not path:
        raise PageNotFound(path)
    info = page_info(archive=archive)
    content_type = formats.content_type_for(path)
    config = get_config()
    resize = config.enableresize and content_type.startswith("image/")
    threshold = config.sizethreshold * 1024
    index = None if info.random_access else _resolve_page(info.names, path)
    found: bytes | FileSlice | None = None
    if info.random_access:
        found = _read_member(archive, path, as_slice=True)
    elif index is not None:
        found = pagecache.pagecache_slice(archive.pk, index)
    if isinstance(found, FileSlice):
        if not (resize and found.length > threshold):
            return Page(b"", content_type, file=found)
        found.close()
        found = None
    data = found
    if data is None and index is not None:
        data = _cached_page(archive, index)
    if data is None:
        data = _read_member(archive, path)
    if resize and len(data) > threshold:
        resized = _resize(data, config.readerquality)
        if resized is not None:
            return Page(resized, "image/jpeg")
    return Page(data, content_type)


def _cached_page(archive: Archive, index: int) -> bytes | None:
    """A page from the page cache, queueing the unpack on a miss and waiting for it.

    A queued unpack usually starts within moments and writes pages in archive
    order: waiting for it (rather than decoding here too) is what keeps a solid
    archive from being decoded twice. Only a job stuck in a busy queue, or one
    still running after WAIT_RUNNING, lets the caller decode the page itself.
    """
    from archives import pagecache
    from archives.tasks import extract_pages_enqueue
    from config.celery import app
    from jobs.models import Job
    from jobs.models import JobState

    data = pagecache.pagecache_read(archive.pk, index)
    if data is not None:
        return data
    job = extract_pages_enqueue(arcid=archive.pk)
    if app.conf.task_always_eager:
        return pagecache.pagecache_read(archive.pk, index)  # the job ran inline, or runs at commit
    start = time.monotonic()
    while True:
        time.sleep(0.05)
        data = pagecache.pagecache_read(archive.pk, index)
        if data is not None:
            return data
        state = Job.objects.filter(pk=job.pk).values_list("state", flat=True).first()
        waited = time.monotonic() - start
        if state == JobState.ACTIVE and waited < WAIT_RUNNING:
            continue
        if state == JobState.INACTIVE and waited < WAIT_QUEUED:
            continue
        return pagecache.pagecache_read(archive.pk, index)


def member_bytes(*, archive: Archive, name: str) -> bytes:
    """One member read straight from the archive, bypassing the page cache."""
    return _read_member(archive, name)


@overload
def _read_member(archive: Archive, path: str) -> bytes: ...
@overload
def _read_member(archive: Archive, path: str, *, as_slice: bool) -> bytes | FileSlice: ...
def _read_member(archive: Archive, path: str, *, as_slice: bool = False) -> bytes | FileSlice:
    """A member's bytes; with `as_slice`, a member stored unencoded in the local
    archive file comes back as a FileSlice of it instead of being read."""
    with _reading(archive, path), open_reader(archive) as reader:
        if as_slice:
            span = reader.span(path, max_bytes=max_page_bytes())
            if span is not None:
                return FileSlice(archives_storage().path(archive.file), span.offset, span.length)
        return reader.read(path, max_bytes=max_page_bytes())


@contextmanager
def _reading(archive: Archive, path: str) -> Iterator[None]:
    """Format and file errors of a member read, as reading's own."""
    try:
        yield
    except formats.MemberNotFound:
        raise PageNotFound(path) from None
    except formats.MemberTooLarge:
        raise PageTooLarge(path) from None
    except FileNotFoundError:
        _mark_missing(archive)
        raise ArchiveNotFound(archive.pk) from None
    except formats.ArchiveError as exc:
        raise ArchiveUnreadable(str(exc)) from exc


def _resize(data: bytes, quality: int) -> bytes | None:
    """The page scaled down to RESIZE_WIDTH as JPEG, or None to serve it as it is:
    not wider, not an image, or over the pixel budget (the reader still gets it)."""
    from archives import images

    try:
        return images.resize_jpeg(data, width=RESIZE_WIDTH, quality=quality)
    except images.ImageError as exc:
        logger.info("Page served unresized: %s", exc)
        return None


# --- Progress ----------------------------------------------------------------------
#
# Reading state (progress, last read time, the new flag, the pages-read counter) is
# written with single UPDATEs and never takes `archive-write:<id>`: LANraragi takes
# that lock for progress too, but then any anonymous reader turning pages can make a
# key holder's metadata edit fail with 423. Nothing here reads a value to write it
# back, so there is nothing for a lock to protect.


class ProgressRefused(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


# Progress is a 32-bit column; a forced or tank page past it could not be stored.
MAX_PAGE = 2**31 - 1


def reading_state_update(*, arcid: str, **fields: Any) -> None:
    """Set fields of an archive's shared reading state in one UPDATE, without a lock.

    An archive without a state row (every added archive gets one) gets it here; when
    two requests both find it missing, the loser of the insert updates the winner's.
    """
    shared = ReadingState.objects.filter(archive_id=arcid, user__isnull=True)
    if shared.update(**fields):
        return
    try:
        with transaction.atomic():
            ReadingState.objects.create(archive_id=arcid, **{"isnew": True, **fields})
    except IntegrityError:
        # Created meanwhile (or the archive was deleted meanwhile: then nothing matches).
        shared.update(**fields)


def archive_set_progress(*, arcid: str, page: int, force: bool = False) -> tuple[int, int]:
    """Record the page a reader is on (1-based); returns (page, lastreadtime).

    The checks and their order are LANraragi's; `force` (its web reader migrating
    local progress) skips the page-count checks, but never allows unknown IDs.
    """
    archive = Archive.objects.filter(pk=arcid, missing=False).only("pk", "pagecount").first()
    if not 0 <= page <= MAX_PAGE:
        raise ProgressRefused("Invalid progress value.")
    if not force:
        if archive is None or archive.pagecount == 0:
            raise ProgressRefused("Archive doesn't have a total page count recorded yet.")
        if not 1 <= page <= archive.pagecount:
            raise ProgressRefused("Invalid progress value.")
    elif archive is None:
        raise ArchiveNotFound(arcid)
    now = int(time.time())
    reading_state_update(arcid=arcid, progress=page, lastreadtime=now)
    ServerCounters.bump(total_pages_read=1)
    # read: filters and hidecompleted depend on progress.
    invalidate_search_cache()
    return page, now


def tank_set_progress(*, tank_id: str, page: int) -> tuple[int, int]:
    """A tankoubon's reading progress: a page counted across its members in order.

    The same checks as an archive's, except the page count (LANraragi's rule)."""
    from archives.models import Tankoubon

    if not 1 <= page <= MAX_PAGE:
        raise ProgressRefused("Invalid progress value.")
    now = int(time.time())
    # One UPDATE, without `tankoubon-write:<id>` (see above).
    if not Tankoubon.objects.filter(pk=tank_id).update(progress=page, lastreadtime=now):
        raise ProgressRefused(f"{tank_id} doesn't exist in the database!")
    invalidate_search_cache()
    return page, now
