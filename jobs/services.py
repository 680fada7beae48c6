"""Queueing jobs, reading them for the Minion API, and keeping them moving.

The Job row is the outbox: a job exists once its row is committed, and handing its
message to the broker is only a delivery attempt. `job_publish` never raises; a
message that could not be sent, or that was lost with the broker, is sent again by
`jobs_sweep`, which every worker runs at start and then periodically. Workers claim
rows atomically (jobs.base.JobTask), so a message delivered twice runs once.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.outage import Breaker
from jobs.models import Job
from jobs.models import JobState

logger = logging.getLogger(__name__)

LOST_MESSAGE = "The worker running this job stopped before it finished (killed, crashed or restarted)."
# A row committed this long ago that was never published (the broker was down, or
# the process died between commit and publish) is published by the sweep.
UNPUBLISHED_GRACE = timedelta(seconds=5)


# Publishing skips a broker that just failed for a few seconds instead of paying a
# failed connection per job; the skipped jobs wait in the database for the sweep.
_broker = Breaker(
    "The job broker",
    5.0,
    log=logger,
    while_down="keeping jobs in the database",
    when_back="publishing jobs again",
)


def _send(job: Job, *, countdown: float | None = None) -> None:
    from config.celery import app

    options: dict[str, Any] = {"task_id": job.celery_id, "priority": job.priority}
    if countdown:
        options["countdown"] = countdown
    task = app.tasks.get(job.task)
    if task is not None:
        # apply_async honours task_always_eager (tests, HONDANA_TASKS_EAGER).
        # celery-types asks for a tuple; Celery takes any sequence, and JSON makes it a list anyway.
        task.apply_async(args=list(job.args), **options)  # type: ignore[arg-type]
    else:
        app.send_task(job.task, args=list(job.args), **options)


def job_publish(job: Job, *, countdown: float | None = None) -> bool:
    """Hand a job's message to the broker; False (logged once per outage) if it could not be."""
    from config.celery import app

    if app.conf.task_always_eager:
        _send(job)
        return True
    if not _broker.allow():
        return False
    try:
        _send(job, countdown=countdown)
    except Exception as exc:  # any broker or network failure: the row waits for the sweep
        _broker.failed(exc)
        return False
    _broker.succeeded()
    Job.objects.filter(pk=job.pk, state=JobState.INACTIVE).update(published=timezone.now())
    return True


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
    queueing a second one (LANraragi reuses a running page-thumbnail job the same way);
    if that job's message never reached the broker, it is sent now. One that reached
    it and went missing is left to the sweep, which first checks the queue is empty:
    clients poll such jobs, and a message per poll would swell a long backlog.
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
                if existing.state == JobState.INACTIVE and _never_sent(existing, timezone.now()):
                    transaction.on_commit(lambda: job_publish(existing), robust=True)
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
        # robust: an exception here must never reach the caller, whose data is committed.
        transaction.on_commit(lambda: job_publish(job), robust=True)
    return job


def _never_sent(job: Job, now: datetime) -> bool:
    """A waiting job whose message never reached the broker (jobs_republish_waiting's
    first rule, for one row already loaded)."""
    due = job.delayed is None or job.delayed <= now
    return due and job.published is None and job.created < now - UNPUBLISHED_GRACE


def _republish_after() -> timedelta:
    """A job whose message reached the broker this long ago and that no worker took,
    while the queue is empty, was lost with the broker (a restart without
    persistence) or with a worker that had prefetched it."""
    return timedelta(seconds=settings.HONDANA_JOB_REPUBLISH_AFTER)


def job_get(job_id: int) -> Job | None:
    job = Job.objects.filter(pk=job_id).first()
    if job is not None and job.state == JobState.ACTIVE and _is_lost(job, time.time()):
        jobs_recover_lost()
        job.refresh_from_db()
    return job


# --- Running: claim, then record the outcome (jobs.base.JobTask) ---------------------


@dataclass(frozen=True)
class Claim:
    """A worker's hold on a job row for one run; `retries` tells the runs apart."""

    pk: int
    retries: int
    attempts: int

    def row(self) -> Any:
        return Job.objects.filter(pk=self.pk, state=JobState.ACTIVE, retries=self.retries)


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def job_claim(celery_id: str, *, task: str, args: list[Any]) -> Claim | None:
    """Take a waiting job for this run, or None if it ran or runs elsewhere already."""
    now = timezone.now()
    fields = {
        "state": JobState.ACTIVE,
        "started": now,
        "worker": _worker_name(),
        "heartbeat": time.time(),
        "finished": None,
    }
    if Job.objects.filter(celery_id=celery_id, state=JobState.INACTIVE).update(**fields):
        claimed = Job.objects.values("pk", "retries", "attempts").get(celery_id=celery_id)
        return Claim(claimed["pk"], claimed["retries"], claimed["attempts"])
    if Job.objects.filter(celery_id=celery_id).exists():
        return None
    # Published without job_enqueue (`celery call`, beat): give it a row anyway.
    job = Job.objects.create(task=task, celery_id=celery_id, args=args, delayed=now, published=now, **fields)
    return Claim(job.pk, 0, job.attempts)


def job_record_finished(claim: Claim, result: dict[str, Any] | None) -> None:
    claim.row().update(state=JobState.FINISHED, finished=timezone.now(), result=result, heartbeat=None)


def job_record_failed(claim: Claim, error: str) -> None:
    claim.row().update(state=JobState.FAILED, finished=timezone.now(), heartbeat=None, result={"errors": [error]})


def retry_delay(retries: int) -> int:
    """Seconds before run `retries + 1`: Minion's backoff, retries**4 + 15 by default."""
    return min(retries**4 + settings.HONDANA_JOB_RETRY_DELAY, 3600)


def job_record_retry(claim: Claim, *, reason: str) -> bool:
    """Put a failed run back in the queue if attempts remain (after a delay); False if none do."""
    if claim.retries + 1 >= claim.attempts:
        return False
    notes = Job.objects.filter(pk=claim.pk).values_list("notes", flat=True).first() or {}
    # If the row is no longer this run's (taken for lost meanwhile), the sweep queued it.
    _back_to_queue(
        claim.pk, claim.row(), retries=claim.retries, delay=retry_delay(claim.retries),
        notes={**notes, "retry_reason": reason[:500]},
    )  # fmt: skip
    return True


def _back_to_queue(pk: int, rows: Any, *, retries: int, delay: int = 0, **fields: Any) -> bool:
    """Move job `pk`, whose run ended, back to waiting for run `retries + 1` in `delay`
    seconds, and send it. `rows` is its row as long as that run holds it; False if
    the run no longer did."""
    now = timezone.now()
    if not rows.update(
        state=JobState.INACTIVE, retries=retries + 1, retried=now, delayed=now + timedelta(seconds=delay),
        heartbeat=None, published=None, **fields,
    ):  # fmt: skip
        return False
    job_publish(Job.objects.get(pk=pk), countdown=delay or None)
    return True


# --- Minion views ----------------------------------------------------------------------


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


# --- Recovery ------------------------------------------------------------------------


def _is_lost(job: Job, now: float) -> bool:
    beat = job.heartbeat
    return beat is not None and now - beat > settings.HONDANA_JOB_LOST_AFTER


def _requeue_lost(job: Job, *, why: str) -> bool:
    """Send a job whose run was lost back to the queue, or fail it if no attempts remain."""
    claim = Job.objects.filter(pk=job.pk, state=JobState.ACTIVE, retries=job.retries, heartbeat=job.heartbeat)
    if job.retries + 1 < job.attempts:
        if _back_to_queue(job.pk, claim, retries=job.retries):
            logger.warning("Job %s (%s) %s; queued again", job.pk, job.task, why)
            return True
    elif claim.update(
        state=JobState.FAILED, finished=timezone.now(), heartbeat=None, result={"errors": [LOST_MESSAGE]}
    ):
        logger.warning("Job %s (%s) %s; marked failed", job.pk, job.task, why)
        return True
    return False


def jobs_recover_lost() -> int:
    """Requeue or fail the active jobs whose worker stopped sending heartbeats.

    Each job is claimed with a conditional UPDATE, so several workers can run this
    at once.
    """
    cutoff = time.time() - settings.HONDANA_JOB_LOST_AFTER
    return sum(
        _requeue_lost(job, why="lost its worker")
        for job in Job.objects.filter(state=JobState.ACTIVE, heartbeat__lt=cutoff)
    )


def job_worker_lost(celery_id: str) -> None:
    """The worker's pool child died running this job (SIGKILL, OOM): run it again if it may."""
    job = Job.objects.filter(celery_id=celery_id, state=JobState.ACTIVE).first()
    if job is not None:
        _requeue_lost(job, why="lost its worker process")


def _queue_is_empty() -> bool | None:
    """Whether the default queue holds no message; None if the broker cannot tell."""
    from kombu.exceptions import ChannelError

    from config.celery import app

    try:
        with app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1)
            try:
                # kombu-stubs type default_channel as the abstract StdChannel; every
                # transport's channel has queue_declare.
                declared = conn.default_channel.queue_declare(settings.CELERY_TASK_DEFAULT_QUEUE, passive=True)  # type: ignore[attr-defined]
            except ChannelError:
                return True  # Redis drops a queue's key when it empties: no such queue, no message
            return int(declared.message_count) == 0
    except Exception:
        return None


def jobs_republish_waiting(*, limit: int = 500) -> int:
    """Send again the waiting jobs whose message never reached a worker.

    Jobs that were never published go out at once; jobs published long ago only
    when the queue is empty (otherwise they may simply be waiting their turn, and a
    second message for each would double a long backlog).
    """
    now = timezone.now()
    waiting = Job.objects.filter(state=JobState.INACTIVE, delayed__lte=now)
    sent = 0
    for job in waiting.filter(published__isnull=True, created__lt=now - UNPUBLISHED_GRACE).order_by("id")[:limit]:
        if not job_publish(job):
            return sent  # the broker is down: the next sweep tries again
        sent += 1
    stale = waiting.filter(published__lt=now - _republish_after()).order_by("id")
    if stale.exists() and _queue_is_empty():
        for job in stale[:limit]:
            if not job_publish(job):
                break
            logger.warning("Job %s (%s) was not picked up; sent again", job.pk, job.task)
            sent += 1
    return sent


def jobs_sweep() -> None:
    """What each worker does at start and then every HONDANA_JOB_REAP_EVERY seconds."""
    jobs_recover_lost()
    jobs_republish_waiting()


def job_merge_notes(job_id: int, notes: dict[str, str]) -> None:
    """Merge string notes into a job (JobProgress calls this, throttled)."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            return
        merged = dict(job.notes or {})
        merged.update({str(k): str(v) for k, v in notes.items()})
        Job.objects.filter(pk=job_id).update(notes=merged, heartbeat=time.time())
