"""Jobs under real faults: a broker killed during uploads, a pool child killed
mid-job, a message delivered twice, database connections terminated mid-job.

Nothing is mocked: the broker is a private redis-server killed by its pid, the web
is gunicorn (`manage.py serve --no-worker`), the worker a real Celery process.
"""

from __future__ import annotations

import io
import json
import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core.files.storage import storages
from django.db import connection
from PIL import Image

from archives.models import Archive
from archives.storage import thumbnail_key
from jobs.models import Job
from jobs.services import job_enqueue
from jobs.services import job_publish
from tests.conftest import bearer
from tests.redisproc import private_redis
from tests.samples import cbz_bytes
from tests.samples import multipart
from tests.samples import upload
from tests.workers import celery_worker
from tests.workers import purge_queue
from tests.workers import web_server

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def http(method: str, url: str, *, body: bytes | None = None, headers: dict[str, str] | None = None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def http_upload(base: str, filename: str, data: bytes) -> tuple[int, dict]:
    body, content_type = multipart({"file": (filename, data)})
    status, _, raw = http(
        "PUT", f"{base}/api/archives/upload", body=body,
        headers={"Content-Type": content_type, "Authorization": bearer()},
    )  # fmt: skip
    return status, json.loads(raw)


def cover_ready(base: str, arcid: str) -> bool:
    status, headers, _ = http("GET", f"{base}/api/archives/{arcid}/thumbnail?no_fallback=true")
    return status == 200 and headers.get("Content-Type") == "image/jpeg"


def wait_for(predicate, timeout: float, what: str, log=None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout} s\n{log() if log else ''}")
        time.sleep(0.2)


def test_uploads_and_reads_survive_a_broker_outage_and_jobs_run_when_it_is_back(tmp_path):
    with private_redis(tmp_path / "redis") as redis:
        env = {"REDIS_URL": redis.url, "HONDANA_JOB_REPUBLISH_AFTER": "3"}
        with web_server(tmp_path, env=env) as base, celery_worker(tmp_path, env=env) as worker:
            status, body = http_upload(base, "before.cbz", cbz_bytes(seed=1))
            assert status == 200, body
            wait_for(lambda: cover_ready(base, body["id"]), 60, "the first cover", worker.output)

            redis.kill()
            ids = []
            for i in range(8):
                status, body = http_upload(base, f"during-{i}.cbz", cbz_bytes(seed=100 + i))
                assert status == 200, body
                ids.append(body["id"])
                # Reads keep working while the broker (and cache) is away.
                assert http("GET", f"{base}/api/archives/{body['id']}/metadata")[0] == 200
                assert http("GET", f"{base}/api/search?filter=during")[0] == 200
                # Asking for the cover again hands out the same waiting job, never a 500.
                status, _, raw = http("GET", f"{base}/api/archives/{body['id']}/thumbnail?no_fallback=true")
                assert status == 202 and "job" in json.loads(raw)
            # Every row has its file, and every cover job waits in the database.
            archives = storages["archives"]
            for arcid in ids:
                assert archives.exists(Archive.objects.get(pk=arcid).file)
            waiting = Job.objects.filter(task="thumbnail_task", args__1__in=ids)
            assert waiting.count() == len(ids)
            assert set(waiting.values_list("state", flat=True)) == {"inactive"}

            redis.start()  # empty: whatever it held before the kill is gone
            for arcid in ids:
                wait_for(lambda a=arcid: cover_ready(base, a), 90, f"the cover of {arcid}", worker.output)
    assert set(Job.objects.filter(task="thumbnail_task").values_list("state", flat=True)) == {"finished"}


def page_png(i: int) -> bytes:
    img = Image.new("RGB", (1200, 1700), (i % 256, (i * 7) % 256, (i * 13) % 256))
    for x in range(0, 1200, 40):
        img.paste((255 - i % 256, x % 256, 0), (x, 0, x + 20, 1700))
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def long_cbz(pages: int = 200) -> bytes:
    """Pages slow enough to thumbnail that a test can act while the job runs."""
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for i in range(pages):
            z.writestr(f"{i:03}.png", page_png(i))
    return buf.getvalue()


def pool_children(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    return children


def test_a_pool_child_killed_mid_job_runs_the_job_again_and_it_resumes(client, auth_header, tmp_path):
    purge_queue()
    arcid = upload(client, "long.cbz", long_cbz(), headers=auth_header).json()["id"]
    thumbs = storages["thumbnails"]
    with celery_worker(tmp_path, env={"HONDANA_JOB_RETRY_DELAY": "1"}) as worker:
        job = job_enqueue("page_thumbnails", [arcid, True], attempts=3)

        def some_done() -> bool:
            job.refresh_from_db()
            return sum(v == "processed" for v in job.notes.values()) >= 10

        wait_for(some_done, 120, "ten page thumbnails", worker.output)
        before = {k for k, v in job.notes.items() if v == "processed"}
        stamps = {n: os.stat(thumbs.path(thumbnail_key(arcid, int(n)))).st_mtime_ns for n in before}
        (child,) = pool_children(worker.proc.pid)
        os.kill(child, signal.SIGKILL)

        def finished() -> bool:
            job.refresh_from_db()
            return job.state in ("finished", "failed")

        wait_for(finished, 180, "the job to finish after the kill", worker.output)
        assert job.state == "finished", (job.result, worker.output())
    assert job.retries == 1
    assert sum(v == "processed" for v in job.notes.values()) == 200
    # The second run skipped the pages the first one had finished.
    for n, stamp in stamps.items():
        assert os.stat(thumbs.path(thumbnail_key(arcid, int(n)))).st_mtime_ns == stamp


def test_a_message_delivered_twice_runs_its_job_once(client, auth_header, tmp_path):
    purge_queue()
    job = job_enqueue("build_stat_hashes", [])
    job_publish(job)  # a second delivery, as after a re-publish
    job_publish(job)
    with celery_worker(tmp_path) as worker:
        wait_for(lambda: Job.objects.get(pk=job.pk).state == "finished", 60, "the job", worker.output)
        wait_for(lambda: worker.output().count("was delivered again") == 2, 30, "both extra deliveries", worker.output)
    job.refresh_from_db()
    assert job.retries == 0 and job.result == {"success": 1, "archives": 0}
    assert Job.objects.count() == 1


def test_a_job_whose_database_connection_is_terminated_runs_again(client, auth_header, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("terminating backends needs PostgreSQL (CI's second run)")
    import hashlib

    Archive.objects.bulk_create(
        [
            Archive(
                id=hashlib.sha1(f"t{i}".encode()).hexdigest(), title=f"B{i}", filename=f"B{i}",
                extension="cbz", file=f"synthetic/{i}.cbz", format="zip", tags=f"tag{i % 7},x{i}",
            )
            for i in range(3000)
        ]
    )  # fmt: skip
    purge_queue()
    job = job_enqueue("build_stat_hashes", [], attempts=3)
    with celery_worker(tmp_path, env={"HONDANA_JOB_RETRY_DELAY": "1"}) as worker:
        wait_for(lambda: Job.objects.get(pk=job.pk).state == "active", 60, "the job to start", worker.output)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        wait_for(
            lambda: Job.objects.get(pk=job.pk).state in ("finished", "failed"), 240, "the job to end", worker.output
        )
    job.refresh_from_db()
    assert job.state == "finished", (job.result, job.notes)
    assert job.retries >= 1 and "retry_reason" in job.notes


def test_a_killed_upload_leaves_a_spool_file_that_start_up_removes(tmp_path):
    import socket
    import subprocess
    import sys

    from tests.workers import ROOT
    from tests.workers import process_env

    data = tmp_path / "webdata"
    env = {"HONDANA_DATA_DIR": str(data)}
    with web_server(tmp_path, env=env) as base:
        host, port = base.removeprefix("http://").split(":")
        body, content_type = multipart({"file": ("big.cbz", b"x" * (8 << 20))})
        head = (
            f"PUT /api/archives/upload HTTP/1.1\r\nHost: {host}\r\nAuthorization: {bearer()}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(head + body[: 4 << 20])
            spool = data / "tmp"
            wait_for(lambda: any(spool.iterdir()), 30, "the spool file")
            master = int(subprocess.check_output(["pgrep", "-f", f"gunicorn.*{port}", "-o"]).split()[0])
            for pid in pool_children(master):
                os.kill(pid, signal.SIGKILL)
            time.sleep(1)
    leftovers = list((data / "tmp").iterdir())
    assert leftovers, "the killed upload left no spool file: nothing to test"
    fresh = data / "tmp" / "in-flight.upload"
    fresh.write_bytes(b"still being written")
    for path in leftovers:
        os.utime(path, (time.time() - 7200, time.time() - 7200))
    subprocess.run(
        [sys.executable, "manage.py", "hondana_init"], cwd=ROOT, env=process_env(env), check=True, capture_output=True
    )
    assert list((data / "tmp").iterdir()) == [fresh]


def test_a_message_lost_by_the_broker_is_sent_again(client, auth_header, tmp_path):
    purge_queue()
    job = job_enqueue("build_stat_hashes", [])
    assert Job.objects.get(pk=job.pk).published is not None
    purge_queue()  # the broker lost it (a Redis restart without persistence does this)
    with celery_worker(tmp_path, env={"HONDANA_JOB_REPUBLISH_AFTER": "2"}) as worker:
        wait_for(lambda: Job.objects.get(pk=job.pk).state == "finished", 60, "the lost job to run", worker.output)
        assert "was not picked up; sent again" in worker.output()


def test_page_thumbnails_of_an_archive_deleted_mid_job_stop_and_leave_nothing(client, auth_header, tmp_path):
    purge_queue()
    arcid = upload(client, "doomed.cbz", long_cbz(), headers=auth_header).json()["id"]
    thumbs = Path(storages["thumbnails"].location) / arcid[:2] / arcid
    with celery_worker(tmp_path) as worker:
        job = job_enqueue("page_thumbnails", [arcid, True], attempts=3)
        wait_for(lambda: thumbs.is_dir() and len(list(thumbs.iterdir())) >= 5, 120, "some thumbnails", worker.output)
        assert client.delete(f"/api/archives/{arcid}", **auth_header).status_code == 200

        def ended() -> bool:
            job.refresh_from_db()
            return job.state in ("finished", "failed")

        wait_for(ended, 60, "the job to stop", worker.output)
    assert job.state == "finished" and job.result["note"].startswith("No archive"), job.result
    assert job.retries == 0
    assert not thumbs.exists() or not list(thumbs.iterdir())
