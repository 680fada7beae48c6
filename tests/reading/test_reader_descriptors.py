"""Open archive readers are kept for the next page request, but never keep a deleted
archive's space allocated: this process closes its readers when it deletes the
archive, and every process (gunicorn workers, Celery children) closes readers whose
file was unlinked or replaced within seconds, requests or not."""

from __future__ import annotations

import base64
import os
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.core.files.storage import storages

from archives import reading
from archives.models import Archive
from archives.services import archive_delete
from tests.conftest import API_KEY
from tests.samples import cbz_bytes
from tests.samples import jpeg_bytes
from tests.samples import upload
from tests.workers import celery_worker
from tests.workers import purge_queue
from tests.workers import web_server

PAGES = [f"{i:03d}.jpg" for i in range(1, 7)]


def open_files(pid: int) -> list[str]:
    """Where the descriptors of a process point ("... (deleted)" once unlinked)."""
    found = []
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:  # the process ended
        return []
    for fd in fds:
        try:
            found.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
    return found


def with_descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def holders(pids: list[int], path: str) -> dict[int, list[str]]:
    """The processes with a descriptor to `path`, deleted or not."""
    held = {pid: [t for t in open_files(pid) if t == path or t == f"{path} (deleted)"] for pid in pids}
    return {pid: targets for pid, targets in held.items() if targets}


def wait_until(test, timeout: float, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        result = test()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def add(client, auth_header, data: bytes | None = None) -> tuple[str, str]:
    r = upload(client, "book.cbz", data or cbz_bytes(PAGES), headers=auth_header)
    assert r.status_code == 200, r.content
    arcid = r.json()["id"]
    return arcid, storages["archives"].path(Archive.objects.get(pk=arcid).file)


def read_page(client, arcid: str, name: str) -> bytes:
    r = client.get(f"/api/archives/{arcid}/page?path={name}")
    assert r.status_code == 200
    # A page sent from the file holds a descriptor until its reply ends: read to the
    # end, the test client closes it (r.close() would also close the database).
    return b"".join(r.streaming_content) if r.streaming else r.content


# --- In this process -------------------------------------------------------------


@pytest.mark.django_db
def test_a_reader_is_reused_for_the_next_read(client, auth_header):
    arcid, path = add(client, auth_header)
    archive = Archive.objects.get(pk=arcid)
    with reading.open_reader(archive) as first:
        pass
    with reading.open_reader(archive) as second:
        pass
    assert first is second
    for name in PAGES:
        read_page(client, arcid, name)
    assert len(holders([os.getpid()], path)[os.getpid()]) == 1


@pytest.mark.django_db
def test_deleting_an_archive_closes_this_process_readers_at_once(client, auth_header):
    arcid, path = add(client, auth_header)
    read_page(client, arcid, "002.jpg")
    assert holders([os.getpid()], path)
    assert client.delete(f"/api/archives/{arcid}", **auth_header).status_code == 200
    assert holders([os.getpid()], path) == {}


@pytest.mark.django_db
def test_a_reader_in_use_during_the_delete_is_closed_when_put_back(client, auth_header):
    arcid, path = add(client, auth_header)
    archive = Archive.objects.get(pk=arcid)
    with reading.open_reader(archive) as reader:
        archive_delete(arcid=arcid)
        assert reader.read("001.jpg")  # the open file still reads
    assert holders([os.getpid()], path) == {}


@pytest.mark.django_db
def test_a_reader_of_a_file_removed_behind_our_back_is_closed_within_seconds(client, auth_header):
    arcid, path = add(client, auth_header)
    read_page(client, arcid, "001.jpg")
    os.remove(path)  # not through the app: no request, no delete in this process
    assert wait_until(lambda: not holders([os.getpid()], path), timeout=reading.READER_SWEEP * 3)


@pytest.mark.django_db
def test_idle_readers_are_closed(client, auth_header, monkeypatch):
    monkeypatch.setattr(reading, "READER_IDLE", 0.2)
    arcid, path = add(client, auth_header)
    read_page(client, arcid, "001.jpg")
    assert holders([os.getpid()], path)
    assert wait_until(lambda: not holders([os.getpid()], path), timeout=reading.READER_SWEEP * 3)


@pytest.mark.django_db
def test_a_file_replaced_in_place_gets_a_new_reader(client, auth_header):
    arcid, path = add(client, auth_header)
    assert read_page(client, arcid, "001.jpg") == jpeg_bytes(0)
    # The same names, other bytes at other offsets: an old reader's spans would be wrong.
    replacement = Path(path).with_suffix(".new")
    replacement.write_bytes(cbz_bytes(PAGES, seed=5, padding=1000))
    os.replace(replacement, path)
    assert read_page(client, arcid, "001.jpg") == jpeg_bytes(5000)
    assert holders([os.getpid()], path) == {os.getpid(): [path]}


# --- Other processes ---------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_gunicorn_workers_let_go_of_a_deleted_archive(client, auth_header, tmp_path):
    arcid, path = add(client, auth_header)
    headers = {"Authorization": "Bearer " + base64.b64encode(API_KEY.encode()).decode()}

    def get(url: str, method: str = "GET") -> int:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers, method=method), timeout=30) as r:
            r.read()
            return r.status

    with web_server(tmp_path) as url:
        server = with_descendants(os.getpid())
        server.remove(os.getpid())
        assert len(server) >= 4, server  # serve, the gunicorn master, its 2 workers
        # Many connections at once, so that both workers read the archive.
        urls = [f"{url}/api/archives/{arcid}/page?path={PAGES[i % len(PAGES)]}" for i in range(40)]
        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(get, urls)) == {200}
        assert holders(server, path), "no server process kept a reader open"
        assert get(f"{url}/api/archives/{arcid}", method="DELETE") == 200
        left = wait_until(lambda: not holders(server, path), timeout=5)
        assert left, holders(server, path)
        assert not Path(path).exists()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_celery_child_lets_go_of_a_deleted_archive(client, auth_header, tmp_path):
    purge_queue()
    with celery_worker(tmp_path) as worker:
        arcid, path = add(client, auth_header)  # queues the cover, made by a worker child
        seen = wait_until(lambda: holders(with_descendants(worker.proc.pid), path), timeout=60, interval=0.02)
        assert seen, worker.output()
        assert [pid for pid in seen if pid != worker.proc.pid], "the cover is made in a child"
        assert client.delete(f"/api/archives/{arcid}", **auth_header).status_code == 200
        left = wait_until(lambda: not holders(with_descendants(worker.proc.pid), path), timeout=5)
        assert left, holders(with_descendants(worker.proc.pid), path)
