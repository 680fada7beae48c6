"""Celery signal hooks: a lost pool child, and the sweep each worker runs.

A task's own lifecycle (claim, heartbeat, outcome) is written by jobs.base.JobTask
around its body. What it cannot see is its own death: when a pool child is killed
(SIGKILL, the OOM killer), the worker's main process reports WorkerLostError
through `task_failure`, and the job runs again if it has attempts left.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from billiard.exceptions import WorkerLostError
from celery import signals
from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)


@signals.task_failure.connect
def on_failure(task_id: str | None = None, exception: BaseException | None = None, **kwargs: Any) -> None:
    if task_id and isinstance(exception, WorkerLostError):
        from jobs.services import job_worker_lost

        try:
            job_worker_lost(task_id)
        finally:
            connection.close()


_sweeper_started = threading.Event()


def _sweeper() -> None:
    from jobs.services import jobs_sweep

    while True:
        try:
            jobs_sweep()
        except Exception:
            logger.exception("The job sweep failed; it runs again in %s s", settings.HONDANA_JOB_REAP_EVERY)
        finally:
            connection.close()
        time.sleep(settings.HONDANA_JOB_REAP_EVERY)


@signals.worker_ready.connect
def on_worker_ready(**kwargs: Any) -> None:
    """Each worker sends waiting jobs again and recovers lost ones, at start and then periodically."""
    if not _sweeper_started.is_set():
        _sweeper_started.set()
        threading.Thread(target=_sweeper, daemon=True, name="hondana-job-sweeper").start()
