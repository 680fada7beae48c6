"""An upload handler that spools to disk and hashes on the way.

The request body is never held in memory: each chunk goes to a temporary file in
FILE_UPLOAD_TEMP_DIR (next to the archives, so storing is a rename) and into two
SHA-1s, one of the whole file (the client's checksum) and one of its first
512,000 bytes (LANraragi's archive ID).
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler

ID_PREFIX_BYTES = 512_000


class HashedUpload(TemporaryUploadedFile):
    sha1: str
    arcid: str


class HashingUploadHandler(TemporaryFileUploadHandler):
    chunk_size = 1024 * 1024

    def new_file(self, *args: Any, **kwargs: Any) -> None:
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
        upload = super().file_complete(file_size)
        upload.__class__ = HashedUpload
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
