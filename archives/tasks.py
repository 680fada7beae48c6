"""Celery tasks of the archive store. Each loads ids, calls one service, and
declares its job type (jobs.registry.JobType: name, attempts, priority, dedupe key,
arguments clients may queue it with); the names are LANraragi's Minion job types.
Beside each task is the one function that queues it."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING
from typing import Any

from celery import signals

from archives.exceptions import ArchiveNotFound
from jobs.registry import Args
from jobs.registry import JobType

if TYPE_CHECKING:
    from jobs.models import Job

# An archive deleted before its job ran: nothing to do, and running again cannot help.
GONE = (ArchiveNotFound,)


BUILD_STAT_HASHES = JobType("build_stat_hashes", queue_args=Args())


@BUILD_STAT_HASHES.task(bind=True)
def build_stat_hashes(self: Any) -> dict[str, Any]:
    """Rebuild the tag index from every archive's tag string (a repair job)."""
    from archives.services import tags_rebuild_index
    from jobs.progress import JobProgress

    with JobProgress.for_task(self) as progress:
        count = tags_rebuild_index(progress=progress)
    return {"success": 1, "archives": count}


def build_stat_hashes_enqueue() -> Job:
    return BUILD_STAT_HASHES.enqueue([])


RESTORE = JobType("restore_backup")


@RESTORE.task(bind=True)
def restore_backup(self: Any, pending_id: int) -> dict[str, Any]:
    """Apply a backup uploaded to POST /api/database/restore."""
    from archives.database import restore_run

    return restore_run(pending_id=pending_id)


def restore_enqueue(*, pending_id: int) -> Job:
    return RESTORE.enqueue([pending_id])


EXTRACT_PAGES = JobType("extract_pages", attempts=2, dedupe=lambda arcid: (arcid,))


@EXTRACT_PAGES.task(bind=True, permanent_errors=GONE, soft_time_limit=1800, time_limit=1900)
def extract_pages(self: Any, arcid: str) -> dict[str, Any]:
    """Unpack a slow-to-read archive into the page cache (queued by the first page read)."""
    from archives.pagecache import pagecache_fill
    from jobs.progress import JobProgress

    with JobProgress.for_task(self) as progress:
        pages = pagecache_fill(arcid=arcid, progress=progress)
    return {"success": 1, "id": arcid, "pages": pages}


def extract_pages_enqueue(*, arcid: str) -> Job:
    """Queue the unpack of an archive, or return the one queued or running already."""
    return EXTRACT_PAGES.enqueue([arcid])


THUMBNAIL = JobType(
    "thumbnail_task",
    attempts=3,
    dedupe=lambda thumbdir, arcid, page=0: (arcid, page),
    queue_args=Args(("thumbdir", object), ("archive id", str), ("page", int), required=2),
)


@THUMBNAIL.task(bind=True, permanent_errors=GONE, soft_time_limit=300, time_limit=360)
def thumbnail_task(self: Any, thumbdir: str, arcid: str, page: int = 0) -> dict[str, Any]:
    """One cover (page 0) or page thumbnail. `thumbdir` is kept for LANraragi's
    argument list and ignored: thumbnails live in the "thumbnails" storage."""
    from archives.thumbnails import thumbnail_make

    return {"success": 1, "id": arcid, "page": int(page), "path": thumbnail_make(arcid=arcid, page=int(page))}


def thumbnail_enqueue(*, arcid: str, page: int = 0) -> Job:
    """Queue an archive's cover (page 0) or a page thumbnail, or return the job
    queued or running for it already."""
    return THUMBNAIL.enqueue(["", arcid, page])


PAGE_THUMBNAILS = JobType(
    "page_thumbnails",
    attempts=3,
    dedupe=lambda arcid, force=False: (arcid,),
    queue_args=Args(("archive id", str), ("force", object), required=1),
)


@PAGE_THUMBNAILS.task(bind=True, permanent_errors=GONE, soft_time_limit=3600, time_limit=3700)
def page_thumbnails(self: Any, arcid: str, force: bool = False) -> dict[str, Any]:
    from archives.thumbnails import page_thumbnails_make
    from jobs.progress import JobProgress

    with JobProgress.for_task(self) as progress:
        # A run that follows a lost or failed one resumes: pages it noted are done.
        done = {int(k) for k, v in progress.recorded().items() if k.isdigit() and v == "processed"}
        return page_thumbnails_make(arcid=arcid, force=bool(force), progress=progress, skip=done)


def page_thumbnails_enqueue(*, arcid: str, force: bool) -> Job:
    """Queue the page thumbnails of an archive; a job still queued or running for
    the archive is returned instead of a second one."""
    return PAGE_THUMBNAILS.enqueue([arcid, force])


REGEN_THUMBNAILS = JobType(
    "regen_all_thumbnails",
    dedupe=lambda thumbdir="", force=False: (),
    queue_args=Args(("thumbdir", object), ("force", object), required=0),
)


@REGEN_THUMBNAILS.task(bind=True, soft_time_limit=6 * 3600, time_limit=6 * 3600 + 300)
def regen_all_thumbnails(self: Any, thumbdir: str = "", force: bool = False) -> dict[str, Any]:
    from archives.thumbnails import thumbnails_regenerate
    from jobs.progress import JobProgress

    with JobProgress.for_task(self) as progress:
        return thumbnails_regenerate(force=bool(force), progress=progress)


def regen_thumbnails_enqueue(*, force: bool) -> Job:
    """Queue the regeneration of the library's thumbnails, one such job at a time."""
    return REGEN_THUMBNAILS.enqueue(["", force])


TANK_THUMBNAIL = JobType(
    "tank_thumbnail_task",
    attempts=3,
    dedupe=lambda thumbdir, tank_id: (tank_id,),
    queue_args=Args(("thumbdir", object), ("tankoubon id", str)),
)


@TANK_THUMBNAIL.task(bind=True, soft_time_limit=300, time_limit=360)
def tank_thumbnail_task(self: Any, thumbdir: str, tank_id: str) -> dict[str, Any]:
    """A tankoubon's cover, from the first page of its first archive."""
    from archives.thumbnails import tank_thumbnail_make

    return {"success": 1, "id": tank_id, "path": tank_thumbnail_make(tank_id=tank_id)}


def tank_thumbnail_enqueue(*, tank_id: str) -> Job:
    """Queue a tankoubon's cover, or return the job queued or running for it already."""
    return TANK_THUMBNAIL.enqueue(["", tank_id])


RUN_PLUGIN = JobType(
    "run_plugin",
    queue_args=Args(("plugin namespace", str), ("archive id", (str, int)), ("argument", (str, type(None))), required=1),
)


@RUN_PLUGIN.task(bind=True, soft_time_limit=600, time_limit=660)
def run_plugin(self: Any, plugin: str, arcid: Any = 0, arg: str | None = None) -> dict[str, Any]:
    """One plugin on one archive (POST /api/plugins/queue); reports, stores nothing."""
    from archives.plugins.runs import plugin_use

    return plugin_use(namespace=str(plugin or ""), arcid=str(arcid or ""), oneshot=arg or "").json()


def run_plugin_enqueue(*, namespace: str, arcid: str, oneshot: str | None, priority: int | None = None) -> Job:
    """Queue one plugin run: `[plugin, id, arg]`, with 0 for no id as LANraragi."""
    return RUN_PLUGIN.enqueue([namespace, arcid or 0, oneshot], priority=priority)


AUTO_PLUGINS = JobType("auto_plugins", dedupe=lambda arcid: (arcid,))


@AUTO_PLUGINS.task(bind=True, permanent_errors=GONE, soft_time_limit=900, time_limit=960)
def auto_plugins(self: Any, arcid: str) -> dict[str, Any]:
    """The enabled metadata plugins on a new archive (upload, scan); stores their tags."""
    from archives.plugins.runs import plugins_run_enabled

    report = plugins_run_enabled(arcid=arcid)
    return {
        "success": 1,
        "id": arcid,
        "successes": report.successes,
        "failures": report.failures,
        "added": report.added,
        "title": report.title,
        "message": report.message(),
    }


def auto_plugins_enqueue(*, arcid: str) -> Job:
    """Queue the enabled metadata plugins on an archive, unless they are queued already."""
    return AUTO_PLUGINS.enqueue([arcid])


# A full scan is deduplicated apart from the periodic kind.
SCAN = JobType("scan_library", dedupe=lambda full=False: ("full",) if full else ())


@SCAN.task(bind=True, soft_time_limit=6 * 3600, time_limit=6 * 3600 + 300)
def scan_library(self: Any, full: bool = False) -> dict[str, Any]:
    """A content-folder scan (the file watcher's, or /api/shinobu/rescan with `full`)."""
    from archives.watcher import watcher_scan
    from jobs.progress import JobProgress

    with JobProgress.for_task(self) as progress:
        report = watcher_scan(full=bool(full), progress=progress)
    return {
        "success": 1,
        "files": report.files,
        "added": len(report.added),
        "moved": len(report.moved),
        "relocated": len(report.relocated),
        "restored": len(report.restored),
        "marked_missing": len(report.marked_missing),
        "unreadable": len(report.unreadable),
        "duplicates": len(report.duplicates),
    }


def scan_enqueue(*, full: bool = False) -> Job:
    """Queue a library scan, or return the one already queued or running.

    A full scan re-reads every file (LANraragi's rescan drops its file map for the
    same effect).
    """
    return SCAN.enqueue([full])


BACKUP = JobType("backup_json")


@BACKUP.task(bind=True, soft_time_limit=3600, time_limit=3700)
def backup_json(self: Any) -> dict[str, Any]:
    """The JSON backup as a file (POST /api/database/backup), fetched by job id later."""
    from archives.backups import backup_write
    from jobs.progress import job_id_for_task

    return backup_write(job_id=job_id_for_task(self) or 0)


def backup_enqueue() -> Job:
    return BACKUP.enqueue([])


# LANraragi's priority and attempts for downloads.
DOWNLOAD = JobType(
    "download_url",
    attempts=5,
    priority=1,
    queue_args=Args(("url", str), ("category id", (str, type(None))), required=1),
)


@DOWNLOAD.task(bind=True, soft_time_limit=3 * 3600, time_limit=3 * 3600 + 300)
def download_url(self: Any, url: str, catid: str | None = None) -> dict[str, Any]:
    """Fetch a URL into the library (POST /api/download_url)."""
    from archives.downloads import url_download

    return url_download(url=url, catid=catid or "")


def download_enqueue(*, url: str, catid: str | None) -> Job:
    return DOWNLOAD.enqueue([url, catid])


def _spool_sweeper() -> None:
    from archives.uploads import SPOOL_SWEEP_EVERY
    from archives.uploads import spool_sweep_now_and_then

    while True:
        spool_sweep_now_and_then()
        time.sleep(SPOOL_SWEEP_EVERY)


_spool_sweeper_started = threading.Event()


@signals.worker_ready.connect
def on_worker_ready(**kwargs: Any) -> None:
    """Downloads spool through the upload folder too: each worker sweeps what
    interrupted ones left there, at start and every ten minutes."""
    if not _spool_sweeper_started.is_set():
        _spool_sweeper_started.set()
        threading.Thread(target=_spool_sweeper, daemon=True, name="hondana-spool-sweeper").start()
