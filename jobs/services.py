"""Queueing jobs, reading them for the Minion API, and recovering lost ones."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from jobs.models import Job
from jobs.models import JobState

logger = logging.getLogger(__name__)

LOST_MESSAGE = "The worker running this job stopped before it finished (killed, crashed or restarted)."


def _publish(job: Job) -> None:
    from config.celery import app

    task = app.tasks.get(job.task)
    if task is not None:
        # apply_async honours task_always_eager (tests, HONDANA_TASKS_EAGER).
        task.apply_async(args=list(job.args), task_id=job.celery_id, priority=job.priority)
    else:
        app.send_task(job.task, args=list(job.args), task_id=job.celery_id, priority=job.priority)


def job_enqueue(
    task: str,
    args: list[Any] | None = None,
    *,
    priority: int = 0,
    attempts: int = 1,
    dedupe_key: str = "",
) -> Job:
    """Record a job and publish it to the broker once the current transaction commits.

    With `dedupe_key`, an unfinished job with the same key is returned instead of
    queueing a second one (LANraragi reuses a running page-thumbnail job the same way).
    """
    with transaction.atomic():
        if dedupe_key:
            existing = (
                Job.objects.select_for_update()
                .filter(dedupe_key=dedupe_key, state__in=[JobState.INACTIVE, JobState.ACTIVE])
                .order_by("id")
                .first()
            )
            if existing is not None:
                return existing
        job = Job.objects.create(
            task=task,
            celery_id=str(uuid.uuid4()),
            args=list(args or []),
            # Minion takes any integer; the column (and the broker) only 32 bits.
            priority=max(-(2**31), min(priority, 2**31 - 1)),
            attempts=max(attempts, 1),
            dedupe_key=dedupe_key,
            delayed=timezone.now(),
        )
        transaction.on_commit(lambda: _publish(job))
    return job


def job_get(job_id: int) -> Job | None:
    job = Job.objects.filter(pk=job_id).first()
    if job is not None and job.state == JobState.ACTIVE and _is_lost(job, time.time()):
        jobs_recover_lost()
        job.refresh_from_db()
    return job


def _epoch(value: Any) -> str | None:
    # Minion's Redis backend sends its times as strings; both PyPI clients expect that.
    return None if value is None else str(int(value.timestamp()))


def job_status_json(job: Job) -> dict[str, Any]:
    """`GET /api/minion/{id}`: the failure detail lives in `result`, shown by /detail only."""
    return {"task": job.task, "state": job.state, "notes": job.notes or {}, "error": ""}


def job_detail_json(job: Job) -> dict[str, Any]:
    """`GET /api/minion/{id}/detail`: Minion's full record.

    Counts and times are numeric strings and `worker` a number, the types the
    Redis-backed reference sends and that aio-lanraragi and lanraragi-api parse.
    """
    return {
        "id": str(job.pk),
        "task": job.task,
        "state": job.state,
        "args": job.args,
        "result": job.result,
        "notes": job.notes or {},
        "priority": str(job.priority),
        "queue": job.queue,
        "attempts": str(job.attempts),
        "retries": str(job.retries),
        "retried": _epoch(job.retried),
        "created": _epoch(job.created),
        "delayed": _epoch(job.delayed or job.created),
        "started": _epoch(job.started),
        "finished": _epoch(job.finished),
        "time": str(int(time.time())),
        "expires": None,
        "lax": 0,
        "parents": [],
        "children": [],
        "worker": _worker_number(job.worker),
    }


def _worker_number(worker: str) -> int:
    """Minion numbers its workers; ours are `host:pid`, so send the pid."""
    _, _, pid = worker.rpartition(":")
    return int(pid) if pid.isdigit() else 0


def _is_lost(job: Job, now: float) -> bool:
    beat = job.heartbeat
    return beat is not None and now - beat > settings.HONDANA_JOB_LOST_AFTER


def jobs_recover_lost() -> int:
    """Requeue or fail the active jobs whose worker stopped sending heartbeats.

    A job that still has attempts left goes back to the queue (tasks are
    idempotent); the others are marked failed with the reason. Each job is claimed
    with a conditional UPDATE, so several workers can run this at once.
    """
    cutoff = time.time() - settings.HONDANA_JOB_LOST_AFTER
    recovered = 0
    for job in Job.objects.filter(state=JobState.ACTIVE, heartbeat__lt=cutoff):
        claim = Job.objects.filter(pk=job.pk, state=JobState.ACTIVE, heartbeat=job.heartbeat)
        if job.retries + 1 < job.attempts:
            if claim.update(state=JobState.INACTIVE, retries=job.retries + 1, retried=timezone.now(), heartbeat=None):
                logger.warning("Job %s (%s) lost its worker; queued again", job.pk, job.task)
                job.refresh_from_db()
                _publish(job)
                recovered += 1
        elif claim.update(
            state=JobState.FAILED, finished=timezone.now(), heartbeat=None, result={"errors": [LOST_MESSAGE]}
        ):
            logger.warning("Job %s (%s) lost its worker; marked failed", job.pk, job.task)
            recovered += 1
    return recovered


def job_merge_notes(job_id: int, notes: dict[str, str]) -> None:
    """Merge string notes into a job (JobProgress calls this, throttled)."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            return
        merged = dict(job.notes or {})
        merged.update({str(k): str(v) for k, v in notes.items()})
        Job.objects.filter(pk=job_id).update(notes=merged, heartbeat=time.time())
