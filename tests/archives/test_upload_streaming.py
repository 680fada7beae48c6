"""An upload is streamed to disk: the server's memory stays flat whatever the file's size."""

from __future__ import annotations

import hashlib
import random
import tracemalloc
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.core.files.storage import storages

from archives.models import Archive
from tests.conftest import bearer
from tests.samples import jpeg_bytes

pytestmark = pytest.mark.django_db(transaction=True)

FILE_BYTES = 150 * 1024 * 1024
CHUNK = 1024 * 1024
# Far below the file's size, well above what the server needs per request (a few
# 1 MB chunks in flight, the client's included: both run in this process).
PEAK_LIMIT = 20 * 1024 * 1024


def write_big_cbz(path: Path, size: int) -> None:
    """A valid stored zip: three JPEG pages, then an incompressible member of `size` bytes."""
    block = random.Random(0).randbytes(CHUNK)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for i in range(3):
            archive.writestr(f"{i + 1:03}.jpg", jpeg_bytes(i))
        with archive.open("extra/padding.bin", "w", force_zip64=True) as member:
            for _ in range(size // CHUNK):
                member.write(block)


class StreamedFile:
    """A multipart/form-data body of one file read from disk as it is sent.

    Iterable, with a length: requests then sends a Content-Length and the chunks
    as they come, instead of building the body in memory.
    """

    def __init__(self, path: Path, filename: str) -> None:
        self.path = path
        self.boundary = uuid.uuid4().hex
        self.head = (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self.head) + self.path.stat().st_size + len(self.tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        with self.path.open("rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk
        yield self.tail


def file_sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def test_a_large_upload_is_streamed_not_held_in_memory(live_server, tmp_path):
    source = tmp_path / "big.cbz"
    write_big_cbz(source, FILE_BYTES)
    with source.open("rb") as f:
        expected_id = hashlib.sha1(f.read(512_000)).hexdigest()
    body = StreamedFile(source, "Big One.cbz")

    # The live server runs in a thread of this process, so tracemalloc sees its
    # allocations; a body read into memory would show up as a peak of 150 MB.
    tracemalloc.start()
    try:
        response = requests.put(
            f"{live_server.url}/api/archives/upload",
            data=body,
            headers={"Authorization": bearer(), "Content-Type": body.content_type},
            timeout=60,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert response.status_code == 200, response.text
    assert response.request.headers["Content-Length"] == str(len(body))
    assert response.json() == {"operation": "upload", "success": 1, "id": expected_id}
    assert peak < PEAK_LIMIT, f"peak {peak / 2**20:.1f} MiB while uploading {len(body) / 2**20:.0f} MiB"
    archive = Archive.objects.get()
    assert (archive.pk, archive.pagecount, archive.size) == (expected_id, 3, source.stat().st_size)
    assert file_sha1(Path(storages["archives"].path("Big One.cbz"))) == file_sha1(source)
