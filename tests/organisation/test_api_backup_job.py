"""POST /api/database/backup queues a backup_json job; GET /api/database/backup/{jobid} fetches it."""

from __future__ import annotations

import json

import pytest
from django.core.files.storage import storages

from jobs.models import Job
from jobs.services import job_enqueue
from tests.library import make_archive

pytestmark = pytest.mark.django_db


def test_queue_then_download_the_backup(client, auth_header, django_capture_on_commit_callbacks):
    arcid = make_archive("Alpha", "artist:x")
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/api/database/backup", **auth_header)
    assert r.status_code == 200
    body = r.json()
    assert (body["operation"], body["success"]) == ("queue_backup", 1)
    job = Job.objects.get(pk=body["job"])
    assert (job.task, job.state) == ("backup_json", "finished")
    assert job.result["filename"] == f"backup_{job.pk}.json" and job.result["path"].endswith(job.result["filename"])

    as_file = client.get(f"/api/database/backup/{job.pk}", **auth_header)
    assert as_file.status_code == 200
    assert as_file["Content-Disposition"] == f'attachment; filename="backup_{job.pk}.json"'
    backup = json.loads(b"".join(as_file.streaming_content))
    assert [a["arcid"] for a in backup["archives"]] == [arcid]
    as_json = client.get(f"/api/database/backup/{job.pk}?format=json", **auth_header)
    assert as_json["Content-Type"].startswith("application/json") and "Content-Disposition" not in as_json
    assert json.loads(b"".join(as_json.streaming_content)) == backup


def test_only_the_newest_backups_are_kept(client, auth_header, django_capture_on_commit_callbacks):
    ids = []
    for _ in range(7):
        with django_capture_on_commit_callbacks(execute=True):
            ids.append(client.post("/api/database/backup", **auth_header).json()["job"])
    assert sorted(storages["backups"].listdir("")[1]) == sorted(f"backup_{i}.json" for i in ids[-5:])
    r = client.get(f"/api/database/backup/{ids[0]}", **auth_header)
    assert r.json()["error"] == "Backup file not found on disk"


def test_download_errors(client, auth_header):
    def error(url: str) -> str:
        r = client.get(url, **auth_header)
        assert r.status_code == 400
        return r.json()["error"] if "error" in r.json() else r.json()["errors"][0]["message"]

    assert error("/api/database/backup/999") == "Job not found"
    pending = job_enqueue("backup_json", [])
    assert error(f"/api/database/backup/{pending.pk}") == "Job not completed yet (state: inactive)"
    other = job_enqueue("build_stat_hashes", [])
    Job.objects.filter(pk=other.pk).update(state="finished", result={"success": 1})
    assert error(f"/api/database/backup/{other.pk}") == "Backup file not available"
    assert error("/api/database/backup/abc") == "Expected integer - got string."
    assert error(f"/api/database/backup/{pending.pk}?format=xml") == "Not in enum list: json, file."
    assert client.get("/api/database/backup/1").status_code == 401
    assert client.post("/api/database/backup").status_code == 401
