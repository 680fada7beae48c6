"""A real Celery worker process (filesystem broker by default, Redis with REDIS_URL):
jobs queued over the API run to `finished`, and killing the worker mid-job ends
with the job failed or retried, never stuck `active`."""

from __future__ import annotations

import hashlib
import time

import pytest

from archives.models import Archive
from archives.models import ArchiveTag
from jobs.models import Job
from jobs.services import LOST_MESSAGE
from jobs.services import job_enqueue
from tests.workers import celery_worker
from tests.workers import purge_queue

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def make_archives(n: int) -> None:
    Archive.objects.bulk_create(
        [
            Archive(
                id=hashlib.sha1(f"synthetic {i}".encode()).hexdigest(), title=f"Book {i}", filename=f"Book {i}",
                extension="cbz", file=f"synthetic/{i}.cbz", format="zip", tags=f"artist:a{i % 50},tag{i % 7},x{i}",
            )
            for i in range(n)
        ]
    )  # fmt: skip


def poll(client, job_id: int, states: set[str], timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(f"/api/minion/{job_id}").json()
        if status["state"] in states or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


def test_worker_runs_jobs_queued_over_the_api(client, auth_header, tmp_path):
    make_archives(30)
    purge_queue()
    with celery_worker(tmp_path) as worker:
        r = client.post("/api/minion/build_stat_hashes/queue?args=[]", **auth_header)
        job_id = r.json()["job"]
        status = poll(client, job_id, {"finished", "failed"}, timeout=60)
        assert status["state"] == "finished", worker.output()
    assert status["notes"] == {"total": "30", "done": "30"}
    detail = client.get(f"/api/minion/{job_id}/detail", **auth_header).json()
    assert detail["result"] == {"success": 1, "archives": 30}
    assert detail["started"] and detail["finished"] and detail["worker"] > 0
    assert ArchiveTag.objects.filter(archive_id=Archive.objects.first().pk).count() == 3


def test_killed_worker_leaves_the_job_failed_not_active(client, auth_header, tmp_path, settings):
    settings.HONDANA_JOB_LOST_AFTER = 3
    make_archives(3000)
    purge_queue()
    with celery_worker(tmp_path) as worker:
        job_id = client.post("/api/minion/build_stat_hashes/queue?args=[]", **auth_header).json()["job"]
        assert poll(client, job_id, {"active", "finished"}, timeout=60)["state"] == "active", worker.output()
        worker.kill()
    status = poll(client, job_id, {"failed", "finished"}, timeout=30)
    assert status["state"] == "failed"
    assert client.get(f"/api/minion/{job_id}/detail", **auth_header).json()["result"] == {"errors": [LOST_MESSAGE]}


def test_job_of_a_killed_worker_is_retried_by_the_next_one(client, auth_header, tmp_path, settings):
    # The second worker's job runs for several seconds: on a loaded machine a
    # heartbeat can come late, and a 3-second limit then took the live job for lost.
    settings.HONDANA_JOB_LOST_AFTER = 6
    make_archives(2000)
    purge_queue()
    job = job_enqueue("build_stat_hashes", [], attempts=2)
    with celery_worker(tmp_path) as worker:
        assert poll(client, job.pk, {"active", "finished"}, timeout=60)["state"] == "active", worker.output()
        worker.kill()
    # The next status read notices the silent heartbeat and queues the job again.
    assert poll(client, job.pk, {"inactive"}, timeout=30)["state"] == "inactive"
    with celery_worker(tmp_path) as worker:
        status = poll(client, job.pk, {"finished", "failed"}, timeout=240)
        assert status["state"] == "finished", worker.output()
    job.refresh_from_db()
    assert job.retries == 1 and job.result == {"success": 1, "archives": 2000}
    assert Job.objects.count() == 1


def test_worker_makes_covers_and_page_thumbnails(client, auth_header, tmp_path, corpus):
    import json as _json

    from tests.samples import upload

    entry = next(e for e in _json.loads((corpus / "manifest.json").read_text())["archives"] if e["format"] == "cb7")
    purge_queue()
    with celery_worker(tmp_path) as worker:
        arcid = upload(client, entry["file"], (corpus / entry["file"]).read_bytes(), headers=auth_header).json()["id"]
        deadline = time.monotonic() + 60
        while client.get(f"/api/archives/{arcid}/thumbnail")["Content-Type"] != "image/jpeg":
            assert time.monotonic() < deadline, worker.output()
            time.sleep(0.1)
        job_id = client.post(f"/api/archives/{arcid}/files/thumbnails").json()["job"]
        status = poll(client, job_id, {"finished", "failed"}, timeout=120)
        assert status["state"] == "finished", worker.output()
    assert status["notes"]["total_pages"] == str(entry["pages"])
    assert sum(1 for k, v in status["notes"].items() if v == "processed") == entry["pages"]
    assert client.post(f"/api/archives/{arcid}/files/thumbnails").status_code == 200
