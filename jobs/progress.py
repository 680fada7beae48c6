"""JobProgress: how a running task reports progress into its Job's notes."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any
from typing import Self

from jobs.models import Job


def job_id_for_task(task: Any) -> int | None:
    """The Job row of a running (bound) Celery task, by its Celery id."""
    task_id = getattr(getattr(task, "request", None), "id", None)
    return Job.objects.filter(celery_id=task_id).values_list("pk", flat=True).first() if task_id else None


class JobProgress:
    """Throttled writes of string notes to the current job (at most one a second).

        with JobProgress.for_task(self) as progress:
            progress.note(total_pages=str(n))
            for i in ...:
                progress.note(**{str(i): "processed"})

    Outside a job (a service called from a command or a test) it does nothing.
    """

    def __init__(self, job_id: int | None, *, every: float = 1.0) -> None:
        self.job_id = job_id
        self.every = every
        self._pending: dict[str, str] = {}
        self._last = 0.0

    @classmethod
    def for_task(cls, task: Any, *, every: float = 1.0) -> JobProgress:
        return cls(job_id_for_task(task), every=every)

    def recorded(self) -> dict[str, str]:
        """The notes already on the job (those of an earlier, interrupted run included)."""
        if self.job_id is None:
            return {}
        return dict(Job.objects.filter(pk=self.job_id).values_list("notes", flat=True).first() or {})

    def note(self, **notes: Any) -> None:
        if self.job_id is None:
            return
        self._pending.update({k: str(v) for k, v in notes.items()})
        if time.monotonic() - self._last >= self.every:
            self.flush()

    def flush(self) -> None:
        if self.job_id is None or not self._pending:
            return
        from jobs.services import job_merge_notes

        job_merge_notes(self.job_id, self._pending)
        self._pending = {}
        self._last = time.monotonic()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.flush()
