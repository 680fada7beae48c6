"""Covers and page thumbnails: made in jobs, stored in the "thumbnails" storage.

A page that cannot be turned into a thumbnail (a pixel bomb, a truncated or fake
image) gets the placeholder stored in its place: the page fails, not the job,
and a client asking again is not sent into a loop of jobs that fail the same way.
"""

from __future__ import annotations

import hashlib
import logging
from collections import deque
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage

from archives import images
from archives import reading
from archives.config import get_config
from archives.exceptions import ArchiveNotFound
from archives.liveness import StillThere
from archives.models import Archive
from archives.storage import absolute_path
from archives.storage import save_atomic
from archives.storage import thumbnail_key
from archives.storage import thumbnails_storage

logger = logging.getLogger(__name__)

COVER_QUALITY = 80
PLACEHOLDER = "img/placeholder.png"


class PageOutOfRange(Exception):
    def __init__(self, arcid: str, page: int) -> None:
        super().__init__(f"Requested image not found: {arcid} page {page}")
        self.message = str(self)


@cache
def placeholder_png() -> bytes:
    """The 203x280 image served for a thumbnail that does not exist (yet)."""
    path = finders.find(PLACEHOLDER)
    if path:
        with open(path, "rb") as fh:
            return fh.read()
    with staticfiles_storage.open(PLACEHOLDER, "rb") as fh:
        return fh.read()


@cache
def placeholder_jpeg() -> bytes:
    return images.thumbnail_jpeg(placeholder_png(), quality=COVER_QUALITY, box=(203, 280))


def page_quality() -> int:
    return 80 if get_config().hqthumbpages else 50


def page_thumbnail_count(archive: Archive) -> int:
    """How many page thumbnails an archive gets: every page, or the configured cap."""
    config = get_config()
    if not config.pagethumbnails:
        return 0
    cap = config.pagethumb_max_pages
    return min(archive.pagecount, cap) if cap else archive.pagecount


def thumbnail_exists(arcid: str, page: int = 0) -> bool:
    return thumbnails_storage().exists(thumbnail_key(arcid, page))


def _render(data: bytes | None, *, quality: int, what: str) -> bytes:
    if data is None:
        logger.warning("%s could not be read; storing the placeholder", what)
        return placeholder_jpeg()
    try:
        return images.thumbnail_jpeg(data, quality=quality)
    except images.ImageError as exc:
        logger.warning("%s is not a usable image (%s); storing the placeholder", what, exc)
        return placeholder_jpeg()


def _archive(arcid: str) -> Archive:
    archive = Archive.objects.filter(pk=arcid, missing=False).first()
    if archive is None:
        raise ArchiveNotFound(arcid)
    return archive


def thumbnail_make(*, arcid: str, page: int = 0, source_page: int | None = None) -> str:
    """Make the cover (page 0) or the page-`page` thumbnail; return where it is stored.

    The cover comes from the first page unless `source_page` says otherwise, and
    records `thumbhash` (SHA-1 of the source image, for duplicate finding). An
    archive without pages gets the placeholder as its cover.
    """
    archive = _archive(arcid)
    names = reading.page_list(archive=archive)
    number = source_page if source_page is not None else max(page, 1)
    key = thumbnail_key(arcid, page)
    if not names and page == 0 and source_page is None:
        return _store(key, placeholder_jpeg())
    if not 1 <= number <= len(names):
        raise PageOutOfRange(arcid, number)
    try:
        data: bytes | None = reading.member_bytes(archive=archive, name=names[number - 1])
    except (reading.PageTooLarge, reading.ArchiveUnreadable, reading.PageNotFound):
        data = None
    quality = COVER_QUALITY if page == 0 else page_quality()
    location = _store(key, _render(data, quality=quality, what=f"Page {number} of {arcid}"))
    if page == 0 and data is not None:
        Archive.objects.filter(pk=arcid).update(thumbhash=hashlib.sha1(data).hexdigest())
    return location


def _store(key: str, jpeg: bytes) -> str:
    """Save a thumbnail; its location, as the API reports it."""
    save_atomic(thumbnails_storage(), key, jpeg)
    return absolute_path(thumbnails_storage(), key)


def tank_thumbnail_make(*, tank_id: str, page: int = 1) -> str:
    """A tankoubon's cover from a page counted across its members in order
    (page 26 of a tank of 20- and 25-page archives is page 6 of the second)."""
    from archives.models import Tankoubon
    from archives.models import TankoubonArchive

    if not Tankoubon.objects.filter(pk=tank_id).exists():
        raise PageOutOfRange(tank_id, page)
    members = (
        TankoubonArchive.objects.filter(tank_id=tank_id, archive__missing=False)
        .order_by("position")
        .values_list("archive_id", "archive__pagecount")
    )
    key = thumbnail_key(tank_id)
    remaining = page
    for arcid, pagecount in members:
        if remaining <= pagecount:
            try:
                archive = _archive(arcid)
                name = reading.page_list(archive=archive)[remaining - 1]
                data: bytes | None = reading.member_bytes(archive=archive, name=name)
            except (ArchiveNotFound, reading.PageTooLarge, reading.ArchiveUnreadable, reading.PageNotFound, IndexError):
                data = None
            return _store(key, _render(data, quality=COVER_QUALITY, what=f"Page {page} of {tank_id}"))
        remaining -= pagecount
    if page == 1:  # an empty tank, or members without pages: the placeholder
        return _store(key, placeholder_jpeg())
    raise PageOutOfRange(tank_id, page)


def page_thumbnails_missing(archive: Archive) -> bool:
    count = page_thumbnail_count(archive)
    if count == 0:
        return False
    storage = thumbnails_storage()
    try:
        _, files = storage.listdir(f"{archive.pk[:2]}/{archive.pk}")
    except (FileNotFoundError, NotADirectoryError):
        return True
    present = {name for name in files if name.endswith(".jpg")}
    return any(f"{page}.jpg" not in present for page in range(1, count + 1))


class _RenderPipeline:
    """Renders thumbnails on a small thread pool while the caller keeps reading.

    Pillow releases the GIL while it decodes, resizes and encodes, so two threads
    use both cores of a small server. Results are saved and reported from the
    calling thread, in page order, so storage writes and the job's notes (a
    database row) stay on one thread and one connection.
    """

    def __init__(self, arcid: str, *, progress: Any, workers: int = 2) -> None:
        self.arcid = arcid
        self.progress = progress
        self.quality = page_quality()
        self.storage = thumbnails_storage()
        self.errors: list[str] = []
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="thumbs")
        self._pending: deque[tuple[int, bool, Future[bytes]]] = deque()
        self._since_trim = 0
        self.saved: list[str] = []

    def submit(self, number: int, data: bytes | None) -> None:
        what = f"Page {number} of {self.arcid}"
        self._pending.append((number, data is None, self._pool.submit(_render, data, quality=self.quality, what=what)))
        # Bound the bytes waiting in memory: at most a few pages ahead of the savers.
        self.drain(block=len(self._pending) > 8)

    def drain(self, *, block: bool = False) -> None:
        while self._pending and (block or self._pending[0][2].done()):
            number, unreadable, future = self._pending.popleft()
            jpeg = future.result()
            if unreadable:
                self.errors.append(f"Page {number} of {self.arcid} could not be read")
            key = thumbnail_key(self.arcid, number)
            save_atomic(self.storage, key, jpeg)
            self.saved.append(key)
            if self.progress is not None:
                self.progress.note(**{str(number): "processed"})
            block = False
            self._since_trim += 1
            if self._since_trim >= 50:
                self._since_trim = 0
                images.release_memory()

    def close(self) -> None:
        while self._pending:
            self.drain(block=True)
        self._pool.shutdown()

    def abandon(self) -> None:
        """The archive went away: drop what is queued and remove what was saved."""
        for _, _, future in self._pending:
            future.cancel()
        self._pending.clear()
        self._pool.shutdown(wait=True)
        for key in self.saved:
            self.storage.delete(key)


def page_thumbnails_make(
    *, arcid: str, force: bool = False, progress: Any = None, skip: set[int] | frozenset[int] = frozenset()
) -> dict[str, Any]:
    """Thumbnails of every page (or the configured cap), reported page by page.

    Notes follow LANraragi: `"<n>": "processed"` once page n is done, plus
    `total_pages` and `id`, which Ichaival and LANreader poll. Slow formats are
    unpacked into the page cache in the same single pass that feeds the
    thumbnails, so pages show up from the first seconds, never decoded twice.
    Pages in `skip` (done by an interrupted earlier run of the job) are not made again.
    """
    from archives import pagecache

    archive = _archive(arcid)
    info = reading.page_info(archive=archive)
    count = min(page_thumbnail_count(archive), len(info.names))
    if progress is not None:
        progress.note(total_pages=count, id=arcid)
    storage = thumbnails_storage()
    todo = [n for n in range(1, count + 1) if n not in skip and (force or not storage.exists(thumbnail_key(arcid, n)))]
    pending = set(todo)
    done_already = [n for n in range(1, count + 1) if n not in pending]
    if progress is not None and done_already:
        progress.note(**{str(n): "processed" for n in done_already})
    if not todo:
        return {"success": 1, "errors": []}
    pipeline = _RenderPipeline(arcid, progress=progress)
    # Deleted while its thumbnails are being made: stop, and leave nothing of it.
    still_there = StillThere(
        Archive.objects.filter(pk=arcid, missing=False, file=archive.file), lambda: ArchiveNotFound(arcid)
    )
    try:
        if info.random_access:
            with reading.open_reader(archive, cached=False) as reader:
                for number in todo:
                    still_there.check()
                    try:
                        data: bytes | None = reader.read(info.names[number - 1], max_bytes=reading.max_page_bytes())
                    except Exception as exc:  # one bad member fails its page only
                        logger.warning("Page %s of %s: %s", number, arcid, exc)
                        data = None
                    pipeline.submit(number, data)
        else:

            def on_page(index: int, data: bytes | None) -> None:
                if index + 1 in pending:
                    pending.discard(index + 1)
                    pipeline.submit(index + 1, data)

            pagecache.pagecache_fill(arcid=arcid, on_page=on_page)
            # Pages the pass did not hand over: the cache was already complete, or
            # they could not be decoded in it.
            for number in sorted(pending):
                still_there.check()
                data = pagecache.pagecache_read(arcid, number - 1)
                if data is None:
                    try:
                        data = reading.member_bytes(archive=archive, name=info.names[number - 1])
                    except (reading.PageTooLarge, reading.ArchiveUnreadable, reading.PageNotFound):
                        data = None
                pipeline.submit(number, data)
    except ArchiveNotFound:
        # Deleted while its thumbnails were being made (the page cache's fill stops the
        # same way for slow formats): leave nothing of it behind.
        pipeline.abandon()
        raise
    finally:
        pipeline.close()
    return {"success": 1, "errors": pipeline.errors}


def thumbnails_regenerate(*, force: bool = False, progress: Any = None) -> dict[str, Any]:
    """Make every missing cover of archives and tankoubons (every one with `force`),
    reporting done/total."""
    from archives.models import Tankoubon

    pks = list(Archive.objects.present().order_by("pk").values_list("pk", flat=True))
    tanks = list(Tankoubon.objects.order_by("pk").values_list("pk", flat=True))
    if progress is not None:
        progress.note(total=len(pks) + len(tanks), done=0)
    errors: list[str] = []
    for done, item in enumerate([*pks, *tanks], start=1):
        if force or not thumbnail_exists(item):
            try:
                if item.startswith("TANK_"):
                    tank_thumbnail_make(tank_id=item)
                else:
                    thumbnail_make(arcid=item)
            except Exception as exc:  # one archive must not stop the library-wide run
                logger.exception("Cover of %s failed", item)
                errors.append(f"{item}: {exc}")
        if progress is not None:
            progress.note(done=done)
    return {"success": 1, "errors": errors}


def thumbnail_bytes(arcid: str, page: int) -> tuple[bytes, str] | None:
    """The stored thumbnail and an ETag for it, or None."""
    storage = thumbnails_storage()
    key = thumbnail_key(arcid, page)
    try:
        with storage.open(key, "rb") as fh:
            data = fh.read()
    except (FileNotFoundError, OSError):
        return None
    return data, '"' + hashlib.sha1(data).hexdigest()[:24] + '"'
