"""The page cache: slow-to-read archives unpacked once, pages served from files.

Solid 7z and compressed tar decode from the start of a block to reach a page,
PDF renders every page, compressed RAR runs a tool, and remote storage needs a
download: reading pages of those one by one would redo that work per page. The
first read of such an archive queues one `extract_pages` job that unpacks every
page in a single pass into the "pagecache" storage; later reads come from there.
The total size is bounded by the `tempmaxsize` setting, least recently read
archives evicted first.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from django.core.files.storage import Storage
from django.db import IntegrityError
from django.db import transaction
from django.db.models import QuerySet
from django.db.models import Sum

from archives.config import get_config
from archives.fileslice import FileSlice
from archives.liveness import StillThere
from archives.models import Archive
from archives.models import PageCacheEntry
from archives.storage import pagecache_dir
from archives.storage import pagecache_key
from archives.storage import pagecache_storage
from archives.storage import save_atomic

logger = logging.getLogger(__name__)

TOUCH_EVERY = 60.0  # seconds between last-access updates of one entry
ALIVE_EVERY = 1.0  # seconds between a fill's checks that its entry and archive remain


def pagecache_read(arcid: str, index: int) -> bytes | None:
    storage = pagecache_storage()
    try:
        with storage.open(pagecache_key(arcid, index), "rb") as fh:
            data = fh.read()
    except (FileNotFoundError, OSError):
        return None
    _touch(arcid)
    return data


def pagecache_slice(arcid: str, index: int) -> FileSlice | None:
    """The cached page as an open file slice, where the page cache is on local disk."""
    storage = pagecache_storage()
    try:
        path = storage.path(pagecache_key(arcid, index))
    except NotImplementedError:
        return None
    try:
        sliced = FileSlice(path)
    except OSError:
        return None
    _touch(arcid)
    return sliced


_touched: dict[str, float] = {}


def _touch(arcid: str) -> None:
    """Record a read for eviction, at most once a minute per archive and process:
    a write per page served would cost more than the read (and lock SQLite)."""
    now = time.time()
    if now - _touched.get(arcid, 0.0) < TOUCH_EVERY:
        return
    _touched[arcid] = now
    PageCacheEntry.objects.filter(archive_id=arcid, last_access__lt=now - TOUCH_EVERY).update(last_access=now)


def pagecache_state(arcid: str) -> str | None:
    return PageCacheEntry.objects.filter(archive_id=arcid).values_list("state", flat=True).first()


def pagecache_fill(
    *, arcid: str, progress: Any = None, on_page: Callable[[int, bytes | None], None] | None = None
) -> int:
    """Unpack every page of an archive into the cache in one pass; return the page count.

    Idempotent: a complete entry is left alone (and `on_page` is not called).
    Pages are written as they are decoded, so readers waiting for one can use it
    before the pass ends; `on_page(index, data)` sees each one as it comes, so a
    caller (page thumbnails) can work on the same pass instead of a second one.

    A fill whose entry is dropped (its archive deleted, moved to a new ID, marked
    missing, or the cache cleared) stops within ALIVE_EVERY seconds, removes the
    files it wrote and returns 0: nothing is left outside the cache's accounting.
    """
    from archives import reading

    archive = Archive.objects.filter(pk=arcid, missing=False).first()
    if archive is None:
        return 0
    now = time.time()
    try:
        with transaction.atomic():
            entry, _ = PageCacheEntry.objects.get_or_create(archive=archive, defaults={"last_access": now})
    except IntegrityError:
        # Another fill made the entry first, or the archive was deleted meanwhile.
        entry = PageCacheEntry.objects.filter(archive_id=arcid).first()
        if entry is None:
            return 0
    if entry.state == PageCacheEntry.State.COMPLETE:
        return entry.pages
    live = _live_entry(arcid, archive.file)
    storage = pagecache_storage()
    names = reading.page_list(archive=archive)
    index = {name: i for i, name in enumerate(names)}
    stored = {"pages": 0, "bytes": 0}
    alive = StillThere(live, lambda: _FillAbandoned(arcid), every=ALIVE_EVERY)
    if progress is not None:
        progress.note(total_pages=len(names), id=arcid)

    def on_member(name: str, data: bytes | None) -> None:
        alive.check()
        if data is None:
            logger.warning("Page %r of %s could not be read; it stays uncached", name, arcid)
        else:
            _save_page(storage, pagecache_key(arcid, index[name]), data)
            stored["pages"] += 1
            stored["bytes"] += len(data)
            if progress is not None:
                progress.note(done=stored["pages"])
        if on_page is not None:
            on_page(index[name], data)

    try:
        with reading.open_reader(archive, cached=False) as reader:
            reader.extract_each(names, on_member, max_bytes=reading.max_page_bytes())
    except _FillAbandoned:
        committed = 0
    except FileNotFoundError:
        if live.exists():
            raise
        committed = 0  # the file went with its archive
    else:
        # Conditional: an entry dropped after the last check is not brought back.
        committed = live.update(
            state=PageCacheEntry.State.COMPLETE,
            pages=stored["pages"],
            bytes=stored["bytes"],
            last_access=time.time(),
        )
    if not committed:
        # Whoever dropped the entry may have listed the folder before the last
        # pages landed: those are this fill's to remove.
        logger.info("Page cache fill of %s abandoned: its entry was dropped", arcid)
        _drop_files(arcid)
        return 0
    pagecache_evict(keep=arcid)
    return stored["pages"]


class _FillAbandoned(Exception):
    """Raised from a fill's page callback to stop the pass."""


def _live_entry(arcid: str, file: str) -> QuerySet[PageCacheEntry]:
    """The entry of a fill, as long as it and its archive (present, same file) remain."""
    return PageCacheEntry.objects.filter(archive_id=arcid, archive__missing=False, archive__file=file)


def _save_page(storage: Storage, key: str, data: bytes) -> None:
    try:
        save_atomic(storage, key, data)
    except FileNotFoundError:
        save_atomic(storage, key, data)  # a drop removed the empty folder in between


def _drop_files(arcid: str) -> None:
    storage = pagecache_storage()
    folder = pagecache_dir(arcid)
    try:
        _, files = storage.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in files:
        storage.delete(f"{folder}/{name}")
    # Folders exist on disk only; an emptied one would be listed by every clear.
    try:
        path = storage.path(folder)
    except NotImplementedError:
        return
    with suppress(OSError):  # not empty: a fill still writing removes it itself
        os.rmdir(path)


def pagecache_drop(arcid: str) -> None:
    _drop_files(arcid)
    PageCacheEntry.objects.filter(archive_id=arcid).delete()


def pagecache_evict(*, keep: str | None = None) -> int:
    """Drop the least recently read entries until the cache fits `tempmaxsize` MB."""
    limit = get_config().tempmaxsize * 1024 * 1024
    total = PageCacheEntry.objects.aggregate(total=Sum("bytes"))["total"] or 0
    dropped = 0
    if total <= limit:
        return 0
    candidates = (
        PageCacheEntry.objects.filter(state=PageCacheEntry.State.COMPLETE)
        .exclude(archive_id=keep)
        .order_by("last_access")
        .values_list("archive_id", "bytes")
    )
    for arcid, size in list(candidates):
        if total <= limit:
            break
        pagecache_drop(arcid)
        total -= size
        dropped += 1
    return dropped


def pagecache_clear() -> None:
    """Empty the whole cache (DELETE /api/tempfolder)."""
    for arcid in list(PageCacheEntry.objects.values_list("archive_id", flat=True)):
        pagecache_drop(arcid)
    storage = pagecache_storage()
    try:
        shards, _ = storage.listdir("")
    except FileNotFoundError:
        return
    # Files of entries whose rows are gone (a crash mid-fill, a dropped database).
    for shard in shards:
        for arcid in storage.listdir(shard)[0]:
            _drop_files(arcid)
