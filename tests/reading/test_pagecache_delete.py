"""Deleting an archive, or clearing the page cache, while its pages are being unpacked
leaves no page files behind: the fill notices its entry went and removes what it wrote,
whether it notices mid-pass or only when it comes to commit."""

from __future__ import annotations

import io
import random
import time
from pathlib import Path
from urllib.parse import quote

import py7zr
import pytest
from django.core.files.storage import storages

from archives import pagecache
from archives.models import Archive
from archives.models import PageCacheEntry
from archives.pagecache import pagecache_fill
from archives.services import archive_delete
from archives.storage import pagecache_dir
from jobs.models import Job
from tests.samples import jpeg_bytes
from tests.samples import upload
from tests.workers import celery_worker
from tests.workers import purge_queue


def solid_7z(pages: int, *, noise: int = 0) -> bytes:
    """A solid bzip2 7z of `pages` JPEGs: read through the page cache, and slow to
    decode when each page carries `noise` incompressible bytes."""
    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w", filters=[{"id": py7zr.FILTER_BZIP2}]) as z:
        for i in range(pages):
            z.writestr(jpeg_bytes(i, size=(200, 300)) + random.Random(i).randbytes(noise), f"{i + 1:03d}.jpg")
    return buf.getvalue()


def files_of(arcid: str) -> list[Path]:
    folder = Path(storages["pagecache"].location) / pagecache_dir(arcid)
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def add(client, auth_header, pages: int, django_capture_on_commit_callbacks) -> str:
    with django_capture_on_commit_callbacks(execute=True):
        r = upload(client, "book.cb7", solid_7z(pages), headers=auth_header)
    assert r.status_code == 200, r.content
    return r.json()["id"]


@pytest.mark.django_db
@pytest.mark.parametrize("check_every", [0.0, 3600.0], ids=["noticed mid-pass", "noticed at commit"])
def test_archive_deleted_during_a_fill_leaves_no_pages(
    client, auth_header, django_capture_on_commit_callbacks, monkeypatch, check_every
):
    # 0: the fill checks before every page; 3600: never mid-pass, so only the
    # conditional commit sees the delete, made after the pass listed the folder.
    monkeypatch.setattr(pagecache, "ALIVE_EVERY", check_every)
    arcid = add(client, auth_header, 12, django_capture_on_commit_callbacks)
    seen: list[int] = []

    def on_page(index: int, data: bytes | None) -> None:
        seen.append(index)
        if len(seen) == 4:
            assert files_of(arcid)
            assert archive_delete(arcid=arcid) is not None

    assert pagecache_fill(arcid=arcid, on_page=on_page) == 0
    assert len(seen) == (4 if check_every == 0.0 else 12)
    assert files_of(arcid) == []
    assert not (Path(storages["pagecache"].location) / pagecache_dir(arcid)).exists()
    assert not PageCacheEntry.objects.filter(archive_id=arcid).exists()
    assert not Archive.objects.filter(pk=arcid).exists()


@pytest.mark.django_db
def test_cache_cleared_during_a_fill_leaves_no_pages(client, auth_header, django_capture_on_commit_callbacks):
    arcid = add(client, auth_header, 6, django_capture_on_commit_callbacks)

    def on_page(index: int, data: bytes | None) -> None:
        if index == 2:
            assert client.delete("/api/tempfolder", **auth_header).status_code == 200

    assert pagecache_fill(arcid=arcid, on_page=on_page) == 0
    assert files_of(arcid) == []
    assert not PageCacheEntry.objects.exists()
    # The archive itself is untouched: a later read fills the cache again.
    assert pagecache_fill(arcid=arcid) == 6
    assert len(files_of(arcid)) == 6
    assert PageCacheEntry.objects.get(archive_id=arcid).state == "complete"


@pytest.mark.django_db
def test_a_fill_of_an_archive_already_deleted_writes_nothing(client, auth_header, django_capture_on_commit_callbacks):
    arcid = add(client, auth_header, 3, django_capture_on_commit_callbacks)
    archive_delete(arcid=arcid)
    assert pagecache_fill(arcid=arcid) == 0
    assert files_of(arcid) == [] and not PageCacheEntry.objects.exists()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_deleting_an_archive_while_a_worker_unpacks_it_frees_its_pages(client, auth_header, tmp_path):
    pages = 300
    data = solid_7z(pages, noise=40_000)  # ~12 MB; several seconds to unpack
    purge_queue()
    with celery_worker(tmp_path) as worker:
        r = upload(client, "big.cb7", data, headers=auth_header)
        assert r.status_code == 200, r.content
        arcid = r.json()["id"]
        # The first read queues the unpack and waits for its page.
        page = client.get(f"/api/archives/{arcid}/page?path={quote('001.jpg')}")
        assert page.status_code == 200
        assert b"".join(page.streaming_content) if page.streaming else page.content
        deadline = time.monotonic() + 120
        while len(files_of(arcid)) < 5:
            assert time.monotonic() < deadline, worker.output()
            time.sleep(0.02)
        assert PageCacheEntry.objects.get(archive_id=arcid).state == "filling"
        assert len(files_of(arcid)) < pages, "the unpack ended before the delete: make it slower"
        assert client.delete(f"/api/archives/{arcid}", **auth_header).status_code == 200
        job = Job.objects.get(task="extract_pages")
        deadline = time.monotonic() + 15
        while files_of(arcid) or Job.objects.get(pk=job.pk).state not in ("finished", "failed"):
            assert time.monotonic() < deadline, (files_of(arcid)[:3], worker.output())
            time.sleep(0.1)
        job.refresh_from_db()
        assert job.state == "finished", worker.output()
        assert job.result == {"success": 1, "id": arcid, "pages": 0}
        time.sleep(1.5)  # nothing comes back after the job ended
    assert files_of(arcid) == []
    assert not (Path(storages["pagecache"].location) / pagecache_dir(arcid)).exists()
    assert not PageCacheEntry.objects.exists()
    assert not Archive.objects.filter(pk=arcid).exists()
