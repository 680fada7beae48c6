"""An upload handler that spools to disk and hashes on the way.

The request body is never held in memory: each chunk goes to a temporary file in
FILE_UPLOAD_TEMP_DIR (next to the archives, so storing is a rename) and into two
SHA-1s, one of the whole file (the client's checksum) and one of its first
512,000 bytes (LANraragi's archive ID).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path
from typing import Any
from typing import cast

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler

logger = logging.getLogger(__name__)

ID_PREFIX_BYTES = 512_000


class HashedUpload(TemporaryUploadedFile):
    sha1: str
    arcid: str


class HashingUploadHandler(TemporaryFileUploadHandler):
    chunk_size = 1024 * 1024

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        spool_sweep_now_and_then()
        super().new_file(*args, **kwargs)
        self._whole = hashlib.sha1()
        self._head = hashlib.sha1()
        self._head_left = ID_PREFIX_BYTES

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self._whole.update(raw_data)
        if self._head_left > 0:
            piece = raw_data[: self._head_left]
            self._head.update(piece)
            self._head_left -= len(piece)
        self.file.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> TemporaryUploadedFile:
        super().file_complete(file_size)  # rewinds self.file and sets its size
        self.file.__class__ = HashedUpload
        upload = cast(HashedUpload, self.file)
        upload.sha1 = self._whole.hexdigest()
        upload.arcid = self._head.hexdigest()
        return upload


def compute_id(fileobj: Any) -> str:
    """LANraragi's archive ID of an open binary file: SHA-1 of its first 512,000 bytes."""
    digest = hashlib.sha1()
    left = ID_PREFIX_BYTES
    while left > 0:
        chunk = fileobj.read(min(left, 64 * 1024))
        if not chunk:
            break
        digest.update(chunk)
        left -= len(chunk)
    return digest.hexdigest()


EMPTY_ID = hashlib.sha1(b"").hexdigest()


# An upload or download writes its spool file continuously; one untouched this long
# belongs to a request or job that was killed (its file is never deleted otherwise).
SPOOL_MAX_AGE = 3600.0
SPOOL_SWEEP_EVERY = 600.0  # seconds between one process's sweeps
_last_sweep = 0.0


def spool_sweep(*, max_age: float = SPOOL_MAX_AGE) -> int:
    """Delete spool files left by interrupted uploads and downloads; return how many."""
    if not settings.FILE_UPLOAD_TEMP_DIR:
        return 0  # the system's temp folder is not ours to sweep
    folder = Path(settings.FILE_UPLOAD_TEMP_DIR)
    cutoff = time.time() - max_age
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return 0
    for entry in entries:
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
        except FileNotFoundError:
            continue  # its upload finished meanwhile
    if removed:
        logger.info("Removed %d spool file(s) of interrupted uploads from %s", removed, folder)
    return removed


def spool_sweep_now_and_then() -> None:
    """Sweep the spool at most once per SPOOL_SWEEP_EVERY seconds in this process (web
    processes call it as uploads start, since they may run on machines without a worker)."""
    global _last_sweep
    now = time.monotonic()
    if now - _last_sweep < SPOOL_SWEEP_EVERY:
        return
    _last_sweep = now
    try:
        spool_sweep()
    except OSError:
        logger.warning("Sweeping the upload spool failed", exc_info=True)
