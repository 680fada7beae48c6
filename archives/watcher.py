"""The content-folder watcher: LANraragi's Shinobu, as a periodic scan.

Each Celery worker's main process runs a small loop thread (started on
`worker_ready`, like the job reaper). Every few seconds it stamps its heartbeat on
the WatcherState row and, when a scan is due, claims it with a conditional UPDATE
of `next_scan_at` and queues a `scan_library` job. Several workers may run the
loop; only one of them wins each claim. The scan itself is archives.scanning's,
which skips files whose size and mtime are unchanged.

`/api/shinobu/stop` and `/restart` only flip `enabled` in the database, so every
web and worker process agrees on the state.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from celery import signals
from django.conf import settings
from django.db import connection

from archives.models import WatcherState
from archives.scanning import ScanProgress
from archives.scanning import ScanReport
from archives.scanning import library_fingerprint
from archives.scanning import library_scan
from archives.tasks import scan_enqueue
from jobs.models import Job

logger = logging.getLogger(__name__)

MAX_TICK = 5.0
# A watcher whose heartbeat is older than this is taken for dead.
ALIVE_WINDOW = 30.0


@dataclass(frozen=True)
class WatcherStatus:
    alive: bool
    pid: int


def _state() -> WatcherState:
    state, _ = WatcherState.objects.get_or_create(pk=1)
    return state


def _update(**fields: Any) -> None:
    """Change the watcher's row, creating it first on a fresh database."""
    _state()
    WatcherState.objects.filter(pk=1).update(**fields)


def _pid(worker: str) -> int:
    _, _, pid = worker.rpartition(":")
    return int(pid) if pid.isdigit() else 0


def watcher_status(*, now: float | None = None) -> WatcherStatus:
    """Alive when enabled and a worker's loop beat recently; pid is that worker's."""
    state = _state()
    now = time.time() if now is None else now
    beating = state.heartbeat is not None and now - state.heartbeat <= ALIVE_WINDOW
    return WatcherStatus(alive=state.enabled and beating, pid=_pid(state.watcher))


def watcher_stop() -> None:
    """Stop the periodic scans (a scan already running finishes)."""
    _update(enabled=False)


def watcher_restart() -> WatcherStatus:
    """Start the periodic scans again; the first one is due at once."""
    _update(enabled=True, next_scan_at=0)
    return watcher_status()


def watcher_rescan() -> Job:
    """Queue a full scan now and (re)start the periodic ones after it."""
    _update(enabled=True, next_scan_at=time.time() + max(settings.HONDANA_WATCH_INTERVAL, 0))
    return scan_enqueue(full=True)


def watcher_scan(*, full: bool = False, progress: ScanProgress | None = None) -> ScanReport:
    """The scan_library job: scan, then remember what the content folder looked like."""
    report = library_scan(full=full, progress=progress)
    # A file skipped because an upload held it must be looked at again next time.
    fingerprint = "" if report.busy else report.fingerprint
    _update(fingerprint=fingerprint)
    return report


def watcher_tick(*, worker: str, now: float | None = None) -> Job | None:
    """One beat of the loop: stamp the heartbeat, and queue a scan if one is due and
    the content folder changed since the last scan (a listing and a stat per file;
    no job at all when nothing changed, so idle libraries leave no trail of jobs)."""
    now = time.time() if now is None else now
    state = _state()
    WatcherState.objects.filter(pk=1).update(watcher=worker, heartbeat=now)
    interval = settings.HONDANA_WATCH_INTERVAL
    if interval <= 0:
        return None
    claimed = WatcherState.objects.filter(pk=1, enabled=True, next_scan_at__lte=now).update(next_scan_at=now + interval)
    if not claimed:
        return None
    if state.fingerprint and library_fingerprint() == state.fingerprint:
        return None
    return scan_enqueue()


def _loop(worker: str, tick: float) -> None:
    while True:
        try:
            watcher_tick(worker=worker)
        except Exception:
            logger.exception("File watcher tick failed")
        finally:
            connection.close()
        time.sleep(tick)


_started = threading.Event()


@signals.worker_ready.connect
def on_worker_ready(**kwargs: Any) -> None:
    """Run the watcher loop in this worker's main process (HONDANA_WATCH_INTERVAL=0: off)."""
    interval = settings.HONDANA_WATCH_INTERVAL
    if interval <= 0 or _started.is_set():
        return
    _started.set()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    tick = max(1.0, min(MAX_TICK, float(interval)))
    threading.Thread(target=_loop, args=(worker, tick), daemon=True, name="hondana-watcher").start()
    logger.info("File watcher: scanning the content folder every %s s", interval)
