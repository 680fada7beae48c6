"""Backups as files: the backup_json job (POST /api/database/backup) writes LANraragi's
backup JSON to the "backups" storage, and GET /api/database/backup/{jobid} fetches it."""

from __future__ import annotations

import tempfile
from typing import IO
from typing import Any

from django.core.files import File

from archives.database import BackupError
from archives.database import backup_chunks
from archives.storage import absolute_path
from archives.storage import backup_key
from archives.storage import backups_storage
from archives.storage import modified_time
from archives.tasks import BACKUP
from jobs.models import Job
from jobs.models import JobState

KEEP_BACKUPS = 5


def backup_write(*, job_id: int) -> dict[str, Any]:
    """The backup_json job: write the backup under the job's name, keep the few newest,
    and return LANraragi's result (`path` is where the file is, `filename` its name)."""
    storage = backups_storage()
    key = backup_key(job_id)
    with tempfile.TemporaryFile() as tmp:
        for chunk in backup_chunks():
            tmp.write(chunk.encode("utf-8"))
        tmp.seek(0)
        if storage.exists(key):
            storage.delete(key)
        storage.save(key, File(tmp, name=key))
    _, names = storage.listdir("")
    backups = sorted((n for n in names if n.startswith("backup_")), key=lambda n: modified_time(storage, n))
    for old in backups[:-KEEP_BACKUPS]:
        storage.delete(old)
    return {"success": 1, "filename": key, "path": absolute_path(storage, key)}


def backup_open(*, job_id: int) -> IO[bytes]:
    """The file a finished backup_json job wrote; BackupError with LANraragi's text if none."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        raise BackupError("Job not found")
    if job.state != JobState.FINISHED:
        raise BackupError(f"Job not completed yet (state: {job.state})")
    result = job.result if isinstance(job.result, dict) else {}
    if job.task != BACKUP.name or not result.get("success") or not result.get("filename"):
        raise BackupError("Backup file not available")
    storage, key = backups_storage(), backup_key(job_id)
    if not storage.exists(key):
        raise BackupError("Backup file not found on disk")
    return storage.open(key, "rb")
