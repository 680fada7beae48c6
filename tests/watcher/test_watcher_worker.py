"""A real worker runs the watcher loop: files dropped into the content folder appear."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.core.files.storage import storages

from archives.models import Archive
from jobs.models import Job
from jobs.models import JobState
from tests.samples import cbz_bytes
from tests.samples import lrr_id
from tests.workers import celery_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
UNFINISHED = [JobState.INACTIVE, JobState.ACTIVE]


def wait_for(check, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_the_worker_watches_the_content_folder(client, auth_header, tmp_path):
    library = Path(storages["archives"].location)
    library.mkdir(parents=True, exist_ok=True)
    first = cbz_bytes(seed=1)
    (library / "first.cbz").write_bytes(first)

    with celery_worker(tmp_path, env={"HONDANA_WATCH_INTERVAL": "1"}) as worker:
        assert wait_for(lambda: Archive.objects.filter(pk=lrr_id(first)).exists()), worker.output()
        status = client.get("/api/shinobu", **auth_header).json()
        assert (status["is_alive"], status["pid"]) == (1, worker.proc.pid)

        # Stopped: a new file waits; restarted: it is found.
        client.post("/api/shinobu/stop", **auth_header)
        # A scan claimed just before the stop may still run; let it end first.
        assert wait_for(lambda: not Job.objects.filter(task="scan_library", state__in=UNFINISHED).exists())
        second = cbz_bytes(seed=2)
        (library / "second.cbz").write_bytes(second)
        time.sleep(2.5)  # two and a half ticks of the loop
        assert not Archive.objects.filter(pk=lrr_id(second)).exists()
        assert client.post("/api/shinobu/restart", **auth_header).json()["new_pid"] == worker.proc.pid
        assert wait_for(lambda: Archive.objects.filter(pk=lrr_id(second)).exists()), worker.output()
