"""The file watcher (LANraragi's Shinobu): periodic scans, the cheap skip of unchanged
files, and /api/shinobu*."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from django.core.files.storage import storages

from archives.models import Archive
from archives.models import PluginSetting
from archives.models import WatcherState
from archives.scanning import library_fingerprint
from archives.scanning import library_scan
from archives.watcher import watcher_tick
from jobs.models import Job
from tests.samples import cbz_bytes
from tests.samples import lrr_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def library() -> Path:
    root = Path(storages["archives"].location)
    root.mkdir(parents=True, exist_ok=True)
    return root


def test_unchanged_files_are_not_read_again(library):
    old = cbz_bytes(seed=1)
    path = library / "a.cbz"
    path.write_bytes(old)
    library_scan()
    archive = Archive.objects.get()
    assert archive.file_mtime == pytest.approx(path.stat().st_mtime)

    # New content of the same size, with the old mtime put back: the scan trusts the
    # record without reading the file, which is what keeps a periodic scan cheap...
    new = cbz_bytes(["001.jpg", "002.jpg", "004.jpg"], seed=1)
    assert len(new) == len(old) and lrr_id(new) != lrr_id(old)
    stat = path.stat()
    path.write_bytes(new)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert library_scan().moved == []
    assert Archive.objects.get().pk == lrr_id(old)

    # ...a full scan reads every file, and a changed mtime is enough to read it.
    assert [m[1:] for m in library_scan(full=True).moved] == [(lrr_id(old), lrr_id(new))]
    # One copy of the bytes: a zip records when its members were written, so two calls
    # on either side of a (two-second) DOS time step differ.
    newer = cbz_bytes(seed=3)
    path.write_bytes(newer)
    os.utime(path, (time.time() + 5, time.time() + 5))
    assert [m[2] for m in library_scan().moved] == [lrr_id(newer)]


def test_an_uploaded_file_is_recorded_with_its_mtime(client, auth_header, library):
    from tests.samples import upload

    arcid = upload(client, "u.cbz", cbz_bytes(seed=4), headers=auth_header).json()["id"]
    archive = Archive.objects.get(pk=arcid)
    assert archive.file_mtime == pytest.approx((library / "u.cbz").stat().st_mtime)
    assert library_scan().known == 1


def test_a_tick_queues_a_scan_when_due_and_beats(settings, library, django_capture_on_commit_callbacks):
    settings.HONDANA_WATCH_INTERVAL = 60
    (library / "new.cbz").write_bytes(cbz_bytes(seed=5))

    with django_capture_on_commit_callbacks(execute=True):
        job = watcher_tick(worker="host:4242", now=1000.0)
    assert job is not None and job.task == "scan_library"
    job.refresh_from_db()
    assert job.state == "finished" and job.result["added"] == 1
    assert (job.notes["stage"], job.notes["done"], job.notes["total"]) == ("registering", "1", "1")
    assert Archive.objects.get().file == "new.cbz"

    # Not due again before the interval; when due, only if the folder changed.
    assert watcher_tick(worker="host:4242", now=1059.0) is None
    assert WatcherState.objects.get().fingerprint == library_fingerprint()
    assert watcher_tick(worker="host:4242", now=1060.0) is None
    (library / "newer.cbz").write_bytes(cbz_bytes(seed=8))
    with django_capture_on_commit_callbacks(execute=True):
        assert watcher_tick(worker="host:4242", now=1120.0) is not None
    assert Archive.objects.count() == 2
    # Nor while stopped, or turned off; the heartbeat moves anyway.
    WatcherState.objects.update(enabled=False)
    assert watcher_tick(worker="host:4243", now=2000.0) is None
    state = WatcherState.objects.get()
    assert (state.watcher, state.heartbeat) == ("host:4243", 2000.0)
    settings.HONDANA_WATCH_INTERVAL = 0
    WatcherState.objects.update(enabled=True)
    assert watcher_tick(worker="host:4243", now=3000.0) is None


def test_scans_run_the_enabled_plugins_on_new_files(settings, library, django_capture_on_commit_callbacks):
    PluginSetting.objects.create(namespace="regexplugin", enabled=True)
    (library / "(C1) [Circle (Pen)] Found Title [English].cbz").write_bytes(cbz_bytes(seed=6))
    with django_capture_on_commit_callbacks(execute=True):
        library_scan()
    archive = Archive.objects.get()
    assert archive.title == "Found Title"
    assert archive.tags.split(",")[1:] == ["artist:Pen", "event:C1", "group:Circle", "language:English"]


def test_shinobu_endpoints(client, auth_header, settings, library, django_capture_on_commit_callbacks):
    assert client.get("/api/shinobu").status_code == 401
    assert client.get("/api/shinobu", **auth_header).json() == {
        "operation": "shinobu_status",
        "success": 1,
        "is_alive": 0,
        "pid": 0,
    }
    watcher_tick(worker="somehost:1608")
    assert client.get("/api/shinobu", **auth_header).json()["is_alive"] == 1
    assert client.get("/api/shinobu", **auth_header).json()["pid"] == 1608

    r = client.post("/api/shinobu/stop", **auth_header)
    assert r.json() == {"operation": "shinobu_stop", "error": "", "success": 1, "successMessage": ""}
    assert client.get("/api/shinobu", **auth_header).json()["is_alive"] == 0
    assert WatcherState.objects.get().enabled is False

    r = client.post("/api/shinobu/restart", **auth_header)
    assert r.json() == {"operation": "shinobu_restart", "success": 1, "new_pid": 1608}
    assert WatcherState.objects.get().enabled is True

    (library / "r.cbz").write_bytes(cbz_bytes(seed=7))
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/api/shinobu/rescan", **auth_header)
    body = r.json()
    assert {k: body[k] for k in ("operation", "success", "new_pid")} == {
        "operation": "shinobu_rescan",
        "success": 1,
        "new_pid": 1608,
    }
    job = Job.objects.get(pk=body["job"])
    assert (job.task, job.args, job.state) == ("scan_library", [True], "finished")
    assert Archive.objects.get().file == "r.cbz"
