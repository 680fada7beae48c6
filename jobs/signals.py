"""Celery signal hooks that keep Job rows in step with what the worker does.

Task code never writes lifecycle fields; these handlers do, keyed by the Celery
task id (Job.celery_id). While a job runs, a heartbeat thread stamps its row so
that a job whose worker died can be told apart from a slow one.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any

from celery import signals
from django.conf import settings
from django.db import connection
from django.utils import timezone

from jobs.models import Job
from jobs.models import JobState

logger = logging.getLogger(__name__)

_beats: dict[str, threading.Event] = {}
_beats_lock = threading.Lock()


def _heartbeat(task_id: str, stop: threading.Event) -> None:
    interval = settings.HONDANA_JOB_HEARTBEAT
    try:
        while not stop.wait(interval):
            Job.objects.filter(celery_id=task_id, state=JobState.ACTIVE).update(heartbeat=time.time())
    except Exception:
        logger.exception("Heartbeat of job %s stopped", task_id)
    finally:
        connection.close()


@signals.task_prerun.connect
def on_prerun(task_id: str | None = None, task: Any = None, args: Any = None, **kwargs: Any) -> None:
    if not task_id:
        return
    worker = f"{socket.gethostname()}:{os.getpid()}"
    updated = Job.objects.filter(celery_id=task_id).update(
        state=JobState.ACTIVE, started=timezone.now(), worker=worker, heartbeat=time.time(), finished=None
    )
    if not updated:
        # Published without job_enqueue (celery call, beat): give it a row anyway.
        Job.objects.create(
            task=getattr(task, "name", "unknown"), celery_id=task_id, args=list(args or []),
            state=JobState.ACTIVE, started=timezone.now(), worker=worker, heartbeat=time.time(),
        )  # fmt: skip
    if getattr(getattr(task, "request", None), "is_eager", False):
        return  # inline runs (tests, HONDANA_TASKS_EAGER) need no heartbeat
    stop = threading.Event()
    with _beats_lock:
        _beats[task_id] = stop
    threading.Thread(target=_heartbeat, args=(task_id, stop), daemon=True, name=f"heartbeat-{task_id}").start()


def _stop_heartbeat(task_id: str) -> None:
    with _beats_lock:
        stop = _beats.pop(task_id, None)
    if stop is not None:
        stop.set()


@signals.task_postrun.connect
def on_postrun(task_id: str | None = None, retval: Any = None, state: str | None = None, **kwargs: Any) -> None:
    if not task_id:
        return
    _stop_heartbeat(task_id)
    if state == "SUCCESS":
        result = retval if isinstance(retval, dict) or retval is None else {"value": retval}
        Job.objects.filter(celery_id=task_id).update(
            state=JobState.FINISHED, finished=timezone.now(), result=result, heartbeat=None
        )


@signals.task_failure.connect
def on_failure(task_id: str | None = None, exception: BaseException | None = None, **kwargs: Any) -> None:
    if not task_id:
        return
    _stop_heartbeat(task_id)
    Job.objects.filter(celery_id=task_id).update(
        state=JobState.FAILED, finished=timezone.now(), heartbeat=None,
        result={"errors": [f"{type(exception).__name__}: {exception}"]},
    )  # fmt: skip


@signals.task_retry.connect
def on_retry(request: Any = None, reason: Any = None, **kwargs: Any) -> None:
    task_id = getattr(request, "id", None)
    if not task_id:
        return
    _stop_heartbeat(task_id)
    job = Job.objects.filter(celery_id=task_id).first()
    if job is not None:
        Job.objects.filter(pk=job.pk).update(
            state=JobState.INACTIVE, retries=job.retries + 1, retried=timezone.now(), heartbeat=None,
            notes={**(job.notes or {}), "retry_reason": str(reason)[:500]},
        )  # fmt: skip


_reaper_started = threading.Event()


def _reaper() -> None:
    from jobs.services import jobs_recover_lost

    while True:
        try:
            jobs_recover_lost()
        except Exception:
            logger.exception("Recovering lost jobs failed")
        finally:
            connection.close()
        time.sleep(settings.HONDANA_JOB_REAP_EVERY)


@signals.worker_ready.connect
def on_worker_ready(**kwargs: Any) -> None:
    """Each worker looks for jobs abandoned by dead workers, at start and then periodically."""
    if not _reaper_started.is_set():
        _reaper_started.set()
        threading.Thread(target=_reaper, daemon=True, name="hondana-job-reaper").start()
