"""Background jobs as rows, shown to clients the way LANraragi's Minion shows its jobs."""

from __future__ import annotations

from django.db import models


class JobState(models.TextChoices):
    INACTIVE = "inactive"  # queued, or waiting for a retry
    ACTIVE = "active"
    FINISHED = "finished"
    FAILED = "failed"


class Job(models.Model):
    """One queued unit of work. Its integer primary key is the ID clients poll.

    The row is the outbox: it exists before any message does, and a message is
    only a delivery attempt (see jobs.services). Celery knows the job by
    `celery_id`; the lifecycle fields are written only by jobs.base.JobTask and
    jobs.services, never by task code, which reports through JobProgress (notes)
    and its return value (result).
    """

    task = models.CharField(max_length=100, db_index=True)
    celery_id = models.CharField(max_length=64, unique=True)
    args = models.JSONField(default=list, blank=True)
    state = models.CharField(max_length=10, choices=JobState.choices, default=JobState.INACTIVE)
    # Minion clients read notes as a string-to-string map (page thumbnails write
    # {"1": "processed", ..., "total_pages": "N"}); keep every value a string.
    notes = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    priority = models.IntegerField(default=0)
    queue = models.CharField(max_length=50, default="default")
    attempts = models.PositiveIntegerField(default=1, help_text="How many times it may run in all.")
    retries = models.PositiveIntegerField(default=0, help_text="How many times it was run again.")
    # Deduplication: an unfinished job with the same key is reused instead of queueing another.
    dedupe_key = models.CharField(max_length=200, blank=True, default="", db_index=True)
    worker = models.CharField(max_length=200, blank=True, default="")
    heartbeat = models.FloatField(null=True, blank=True, help_text="Last sign of life of the running job (epoch).")
    created = models.DateTimeField(auto_now_add=True)
    delayed = models.DateTimeField(null=True, blank=True, help_text="When it may run (later after a failed run).")
    published = models.DateTimeField(
        null=True, blank=True, help_text="When its message last reached the broker; empty if it never did."
    )
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    retried = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["state", "task"], name="job_state_task_idx"),
            models.Index(fields=["state", "heartbeat"], name="job_state_heartbeat_idx"),
            models.Index(fields=["state", "delayed"], name="job_state_delayed_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.task} ({self.state})"

    @property
    def unfinished(self) -> bool:
        return self.state in (JobState.INACTIVE, JobState.ACTIVE)
