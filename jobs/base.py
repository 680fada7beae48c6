"""The Celery task class of every Hondana job: claim the row, run, record the outcome.

A message is only a delivery attempt; the Job row is the truth. Before a task body
runs, its worker claims the row with a conditional UPDATE (inactive -> active), so
a message delivered twice (a re-publish after a broker outage, a sweep that found
the job waiting too long) runs the job once. The outcome is written with the same
kind of condition, so a worker that was given up for lost cannot overwrite the run
that replaced it.

Failures follow Minion's rules: a job runs at most `attempts` times, with a growing
delay between runs; an error listed in the task's `permanent_errors` (the archive
was deleted before the job ran) ends the job as finished with a note, since running
it again cannot help.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError
from django.db import connection

from jobs import services
from jobs.models import Job
from jobs.models import JobState

logger = logging.getLogger(__name__)


def _heartbeat(job_id: int, stop: threading.Event) -> None:
    interval = settings.HONDANA_JOB_HEARTBEAT
    try:
        while not stop.wait(interval):
            try:
                Job.objects.filter(pk=job_id, state=JobState.ACTIVE).update(heartbeat=time.time())
            except DatabaseError:
                # The database is away for a moment; the next beat reconnects.
                logger.warning("Heartbeat of job %s could not be written", job_id)
                connection.close()
    finally:
        connection.close()


class JobTask(Task[..., Any]):
    """Base class of Hondana's tasks (config.celery sets it as the app's Task)."""

    # Errors after which running again cannot help: the job ends `finished` with a note.
    permanent_errors: tuple[type[BaseException], ...] = ()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        task_id = self.request.id
        if not task_id:
            return self.run(*args, **kwargs)
        claim = services.job_claim(task_id, task=self.name, args=list(args))
        if claim is None:
            logger.info("Job message %s (%s) was delivered again; its job already ran or runs", task_id, self.name)
            return None
        eager = bool(getattr(self.request, "is_eager", False))
        stop = threading.Event()
        if not eager:
            threading.Thread(
                target=_heartbeat, args=(claim.pk, stop), daemon=True, name=f"heartbeat-{claim.pk}"
            ).start()
        try:
            retval = self.run(*args, **kwargs)
        except self.permanent_errors as exc:
            logger.info("Job %s (%s) has nothing to do: %s", claim.pk, self.name, exc)
            services.job_record_finished(claim, {"success": 0, "note": str(exc) or type(exc).__name__})
            return None
        except Exception as exc:
            if isinstance(exc, DatabaseError):
                connection.close()  # the run's connection may be dead; recording opens a new one
            retryable = not eager and not isinstance(exc, SoftTimeLimitExceeded)
            if retryable and services.job_record_retry(claim, reason=f"{type(exc).__name__}: {exc}"):
                logger.warning(
                    "Job %s (%s) failed (%s: %s); it will run again", claim.pk, self.name, type(exc).__name__, exc
                )
                return None
            services.job_record_failed(claim, f"{type(exc).__name__}: {exc}")
            raise
        finally:
            stop.set()
        result = retval if isinstance(retval, dict) or retval is None else {"value": retval}
        services.job_record_finished(claim, result)
        return retval
