"""Job types: each task declares its own, once, beside its definition.

A declaration (JobType) holds what Minion knows of a job type: its name, how many
times a job may run (`attempts`), its default priority, which unfinished job counts
as the same work (`dedupe`), and the arguments clients may pass to
`POST /api/minion/{name}/queue` (`queue_args`; None keeps the type off that route).
`JobType.task(...)` is `@shared_task` under the type's name and records the type
here, so the table of types clients can queue is built from the tasks themselves.
The apps import this module, never the other way round: the table fills as Celery
autodiscovers their tasks.py (jobs.apps does so in web processes too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any

from celery import shared_task

from jobs.services import job_enqueue

if TYPE_CHECKING:
    from jobs.models import Job

# LANraragi's job names: /api/minion/{name}/queue refuses anything else with its
# enum error, and answers "not available" for the ones no task here implements.
MINION_NAMES = (
    "thumbnail_task",
    "tank_thumbnail_task",
    "page_thumbnails",
    "regen_all_thumbnails",
    "find_duplicates",
    "build_stat_hashes",
    "handle_upload",
    "download_url",
    "run_plugin",
)

ArgTypes = type | tuple[type, ...]


class Args:
    """The positional arguments a job type accepts when queued by name.

    Each is `(label, types)`; the first `required` must be given (all by default).
    The error names the labels, in the words LANraragi's clients already see.
    """

    def __init__(self, *params: tuple[str, ArgTypes], required: int | None = None) -> None:
        self.labels = tuple(label for label, _ in params)
        self.types = tuple(types for _, types in params)
        self.required = len(params) if required is None else required

    def problem(self, name: str, args: list[Any]) -> str | None:
        """Why `args` cannot be queued as `name`, or None if they can."""
        fits = self.required <= len(args) <= len(self.types)
        if fits and all(isinstance(arg, types) for arg, types in zip(args, self.types, strict=False)):
            return None
        if not self.labels:
            return "This job takes no arguments: use []."
        return f"{name} takes [{', '.join(self.labels)}]."


@dataclass(frozen=True)
class JobType:
    """One job type, declared next to its task (see the module docstring).

    `dedupe` takes the job's arguments and returns the parts of its dedupe key after
    the name (an empty tuple: one unfinished job of the type at a time); without it,
    every enqueue records a new job.
    """

    name: str
    attempts: int = 1
    priority: int = 0
    dedupe: Callable[..., tuple[object, ...]] | None = None
    queue_args: Args | None = None

    def task(self, **options: Any) -> Callable[[Callable[..., Any]], Any]:
        """`@shared_task(name=<this type's name>, **options)`, recording the type."""

        def decorate(run: Callable[..., Any]) -> Any:
            _register(self)
            decorator: Callable[[Callable[..., Any]], Any] = shared_task(name=self.name, **options)
            return decorator(run)

        return decorate

    def dedupe_key(self, args: list[Any]) -> str:
        if self.dedupe is None:
            return ""
        return ":".join([self.name, *(str(part) for part in self.dedupe(*args))])

    def enqueue(self, args: list[Any], *, priority: int | None = None, dedupe: bool = True) -> Job:
        """Record a job of this type (jobs.services.job_enqueue) with its declared policy."""
        return job_enqueue(
            self.name,
            args,
            priority=self.priority if priority is None else priority,
            attempts=self.attempts,
            dedupe_key=self.dedupe_key(args) if dedupe else "",
        )

    def args_problem(self, args: list[Any]) -> str | None:
        """Why clients may not queue `args` as this type, or None if they may."""
        if self.queue_args is None:
            return f"Jobs of type {self.name} are not available on this server."
        return self.queue_args.problem(self.name, args)


_TYPES: dict[str, JobType] = {}


def _register(job_type: JobType) -> None:
    known = _TYPES.setdefault(job_type.name, job_type)
    if known is not job_type:
        raise ValueError(f"Job type {job_type.name} is declared twice")
    if job_type.queue_args is not None and job_type.name not in MINION_NAMES:
        raise ValueError(f"Job type {job_type.name} is queueable by name but not one of Minion's names")


def queueable(name: str) -> JobType | None:
    """The type clients may queue as `name` (POST /api/minion/{name}/queue), if any."""
    job_type = _TYPES.get(name)
    return job_type if job_type is not None and job_type.queue_args is not None else None


def job_types() -> dict[str, JobType]:
    """Every declared type by name."""
    return dict(_TYPES)
