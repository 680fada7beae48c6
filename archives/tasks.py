"""Celery tasks of the archive store. Each loads ids, calls one service, and
declares its retry policy; the task names are LANraragi's Minion job types."""

from __future__ import annotations

import threading
import time
from typing import Any

from celery import shared_task
from celery import signals

from archives.exceptions import ArchiveNotFound

# An archive deleted before its job ran: nothing to do, and running again cannot help.
GONE = (ArchiveNotFound,)


@shared_task(name="build_stat_hashes", bind=True)
def build_stat_hashes(self: Any) -> dict[str, Any]:
    """Rebuild the tag index from every archive's tag string (a repair job)."""
    from archives.services import tags_rebuild_index
    from jobs.progress import JobProgress

    with JobProgress.for_task(self) as progress:
        count = tags_rebuild_index(progress=progress)
    return {"success": 1, "archives": count}


@shared_task(name="restore_backup", bind=True)
def restore_backup(self: Any, pending_id: int) -> dict[str, Any]:
    """Apply a backup uploaded to POST /api/database/restore."""
    from archives.database import restore_run

    return restore_run(pending_id=pending_id)


@shared_task(name="extract_pages", bind=True, permanent_errors=GONE, soft_time_limit=1800, time_limit=1900)
def extract_pages(self: Any, arcid: str) -> dict[str, Any]:
    """Unpack a slow-to-read archive into the page cache (queued by the first page read)."""
    from archives.pagecache import pagecache_fill
    from jobs.progress import JobProgress

    with JobProgress.for_task(self) as progress:
        pages = pagecache_fill(arcid=arcid, progress=progress)
    return {"success": 1, "id": arcid, "pages": pages}


@shared_task(name="thumbnail_task", bind=True, permanent_errors=GONE, soft_time_limit=300, time_limit=360)
def thumbnail_task(self: Any, thumbdir: str, arcid: str, page: int = 0) -> dict[str, Any]:
    """One cover (page 0) or page thumbnail. `thumbdir` is kept for LANraragi's
    argument list and ignored: thumbnails live in the "thumbnails" storage."""
    from archives.thumbnails import thumbnail_make

    return {"success": 1, "id": arcid, "page": int(page), "path": thumbnail_make(arcid=arcid, page=int(page))}


@shared_task(name="page_thumbnails", bind=True, permanent_errors=GONE, soft_time_limit=3600, time_limit=3700)
def page_thumbnails(self: Any, arcid: str, force: bool = False) -> dict[str, Any]:
    from archives.thumbnails import page_thumbnails_make
    from jobs.progress import JobProgress

    with JobProgress.for_task(self) as progress:
        # A run that follows a lost or failed one resumes: pages it noted are done.
        done = {int(k) for k, v in progress.recorded().items() if k.isdigit() and v == "processed"}
        return page_thumbnails_make(arcid=arcid, force=bool(force), progress=progress, skip=done)


@shared_task(name="regen_all_thumbnails", bind=True, soft_time_limit=6 * 3600, time_limit=6 * 3600 + 300)
def regen_all_thumbnails(self: Any, thumbdir: str = "", force: bool = False) -> dict[str, Any]:
    from archives.thumbnails import thumbnails_regenerate
    from jobs.progress import JobProgress

    with JobProgress.for_task(self) as progress:
        return thumbnails_regenerate(force=bool(force), progress=progress)


@shared_task(name="tank_thumbnail_task", bind=True, soft_time_limit=300, time_limit=360)
def tank_thumbnail_task(self: Any, thumbdir: str, tank_id: str) -> dict[str, Any]:
    """A tankoubon's cover, from the first page of its first archive."""
    from archives.thumbnails import tank_thumbnail_make

    return {"success": 1, "id": tank_id, "path": tank_thumbnail_make(tank_id=tank_id)}


@shared_task(name="run_plugin", bind=True, soft_time_limit=600, time_limit=660)
def run_plugin(self: Any, plugin: str, arcid: Any = 0, arg: str | None = None) -> dict[str, Any]:
    """One plugin on one archive (POST /api/plugins/queue); reports, stores nothing."""
    from archives.plugins.runs import plugin_use

    return plugin_use(namespace=str(plugin or ""), arcid=str(arcid or ""), oneshot=arg or "").json()


@shared_task(name="auto_plugins", bind=True, permanent_errors=GONE, soft_time_limit=900, time_limit=960)
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


@shared_task(name="scan_library", bind=True, soft_time_limit=6 * 3600, time_limit=6 * 3600 + 300)
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


@shared_task(name="backup_json", bind=True, soft_time_limit=3600, time_limit=3700)
def backup_json(self: Any) -> dict[str, Any]:
    """The JSON backup as a file (POST /api/database/backup), fetched by job id later."""
    from archives.backups import backup_write
    from jobs.progress import job_id_for_task

    return backup_write(job_id=job_id_for_task(self) or 0)


@shared_task(name="download_url", bind=True, soft_time_limit=3 * 3600, time_limit=3 * 3600 + 300)
def download_url(self: Any, url: str, catid: str | None = None) -> dict[str, Any]:
    """Fetch a URL into the library (POST /api/download_url)."""
    from archives.downloads import url_download

    return url_download(url=url, catid=catid or "")


def _spool_sweeper() -> None:
    from archives.uploads import spool_sweep_now_and_then

    while True:
        spool_sweep_now_and_then()
        time.sleep(60)


_spool_sweeper_started = threading.Event()


@signals.worker_ready.connect
def on_worker_ready(**kwargs: Any) -> None:
    """Downloads spool through the upload folder too: each worker sweeps what
    interrupted ones left there, at start and every ten minutes."""
    if not _spool_sweeper_started.is_set():
        _spool_sweeper_started.set()
        threading.Thread(target=_spool_sweeper, daemon=True, name="hondana-spool-sweeper").start()
