"""The Minion API over Job rows, with jobs run inline (see test_worker.py for a real worker)."""

from __future__ import annotations

import time

import pytest

from archives.models import Archive
from archives.models import ArchiveTag
from jobs.models import Job
from jobs.models import JobState
from jobs.services import LOST_MESSAGE
from jobs.services import job_enqueue
from jobs.services import jobs_recover_lost
from tests.samples import cbz_bytes
from tests.samples import upload

pytestmark = pytest.mark.django_db


def queue(client, auth_header, name: str, args: str = "[]", **extra):
    return client.post(f"/api/minion/{name}/queue?args={args}", **auth_header, **extra)


def test_queue_runs_the_job_and_status_shows_it_finished(client, auth_header, django_capture_on_commit_callbacks):
    upload(client, "a.cbz", cbz_bytes(), headers=auth_header, tags="artist:x,y")
    ArchiveTag.objects.all().delete()  # a damaged index for the job to repair
    with django_capture_on_commit_callbacks(execute=True):
        r = queue(client, auth_header, "build_stat_hashes")
    assert r.status_code == 200
    body = r.json()
    assert body["operation"] == "queue_minion_job" and body["success"] == 1 and isinstance(body["job"], int)
    status = client.get(f"/api/minion/{body['job']}").json()
    assert status == {
        "task": "build_stat_hashes",
        "state": "finished",
        "notes": {"total": "1", "done": "1"},
        "error": "",
    }
    assert ArchiveTag.objects.count() == 3


def test_job_ids_are_sequential_integers(client, auth_header):
    first = queue(client, auth_header, "build_stat_hashes").json()["job"]
    second = queue(client, auth_header, "build_stat_hashes").json()["job"]
    assert second == first + 1


def test_detail_is_protected_and_has_minion_fields(client, auth_header):
    job = job_enqueue("build_stat_hashes", [])
    assert client.get(f"/api/minion/{job.pk}/detail").status_code == 401
    detail = client.get(f"/api/minion/{job.pk}/detail", **auth_header).json()
    assert set(detail) == {
        "id",
        "task",
        "state",
        "args",
        "result",
        "notes",
        "priority",
        "queue",
        "attempts",
        "retries",
        "retried",
        "created",
        "delayed",
        "started",
        "finished",
        "time",
        "expires",
        "lax",
        "parents",
        "children",
        "worker",
    }
    assert detail["id"] == str(job.pk) and detail["state"] == "inactive" and detail["queue"] == "default"
    assert detail["created"].isdigit() and detail["started"] is None


def test_unknown_job_is_a_400_envelope_not_a_500(client, auth_header):
    r = client.get("/api/minion/999999")
    assert r.status_code == 400
    assert r.json() == {
        "operation": "minion_job_status",
        "error": "No job with this ID.",
        "success": 0,
        "successMessage": "",
    }
    assert client.get("/api/minion/999999/detail", **auth_header).status_code == 400
    r = client.get("/api/minion/abc")
    assert r.json() == {"errors": [{"message": "Expected integer - got string.", "path": "/jobid"}], "status": 400}


def test_queue_checks_name_args_and_key(client, auth_header):
    assert queue(client, {}, "build_stat_hashes").status_code == 401
    r = queue(client, auth_header, "make_coffee")
    assert r.status_code == 400 and r.json()["errors"][0]["path"] == "/jobname"
    r = client.post("/api/minion/build_stat_hashes/queue", **auth_header)
    assert r.json() == {"errors": [{"message": "Missing property.", "path": "/args"}], "status": 400}
    assert queue(client, auth_header, "build_stat_hashes", args="not-json").json()["success"] == 0
    assert queue(client, auth_header, "build_stat_hashes", args='["x"]').json()["success"] == 0
    r = queue(client, auth_header, "find_duplicates", args='["x"]')
    assert r.status_code == 400 and "not available" in r.json()["error"]
    assert not Job.objects.exists()


def test_dedupe_key_reuses_an_unfinished_job():
    one = job_enqueue("build_stat_hashes", [], dedupe_key="k")
    assert job_enqueue("build_stat_hashes", [], dedupe_key="k").pk == one.pk
    Job.objects.filter(pk=one.pk).update(state=JobState.FINISHED)
    assert job_enqueue("build_stat_hashes", [], dedupe_key="k").pk != one.pk


def test_a_job_whose_heartbeat_stopped_is_retried_or_failed(settings):
    settings.HONDANA_JOB_LOST_AFTER = 5
    stale = time.time() - 60
    retry = job_enqueue("build_stat_hashes", [], attempts=2)
    fail = job_enqueue("build_stat_hashes", [])
    alive = job_enqueue("build_stat_hashes", [])
    Job.objects.filter(pk__in=[retry.pk, fail.pk]).update(state=JobState.ACTIVE, heartbeat=stale)
    Job.objects.filter(pk=alive.pk).update(state=JobState.ACTIVE, heartbeat=time.time())
    assert jobs_recover_lost() == 2
    retry.refresh_from_db(), fail.refresh_from_db(), alive.refresh_from_db()
    # Requeued, and (jobs run inline here) run again to the end.
    assert (retry.state, retry.retries) == (JobState.FINISHED, 1)
    assert fail.state == JobState.FAILED and fail.result == {"errors": [LOST_MESSAGE]}
    assert alive.state == JobState.ACTIVE
    assert jobs_recover_lost() == 0  # idempotent


def test_status_read_recovers_a_lost_job(client, settings):
    settings.HONDANA_JOB_LOST_AFTER = 5
    job = job_enqueue("build_stat_hashes", [])
    Job.objects.filter(pk=job.pk).update(state=JobState.ACTIVE, heartbeat=time.time() - 60)
    assert client.get(f"/api/minion/{job.pk}").json()["state"] == "failed"


def test_rebuild_is_idempotent(client, auth_header, django_capture_on_commit_callbacks):
    upload(client, "a.cbz", cbz_bytes(), headers=auth_header, tags="a,b")
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            queue(client, auth_header, "build_stat_hashes")
    assert ArchiveTag.objects.count() == 3
    assert Archive.objects.get().tags.startswith("a,b,date_added:")


def test_a_huge_priority_is_kept_within_the_column(client, auth_header):
    arcid = upload(client, "a.cbz", cbz_bytes(), headers=auth_header).json()["id"]
    r = client.post(f'/api/minion/page_thumbnails/queue?args=["{arcid}",0]&priority=9223372036854775807', **auth_header)
    assert r.status_code == 200, r.content
    assert Job.objects.get(pk=r.json()["job"]).priority == 2**31 - 1
