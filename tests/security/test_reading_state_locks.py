"""Reading state (progress, last read time, the new flag, the pages-read counter) is
written without the `archive-write:<id>` lock, so anonymous readers can never turn
a key holder's metadata edit into a 423."""

from __future__ import annotations

import http.client
import threading
import time
import urllib.parse
from collections import Counter

import pytest

from archives.config import config_changed
from archives.locks import write_lock
from archives.models import Archive
from archives.models import ReadingState
from archives.models import ServerConfig
from archives.models import ServerCounters
from archives.models import Tankoubon
from tests.conftest import bearer
from tests.samples import cbz_bytes
from tests.samples import upload
from tests.workers import web_server

READERS = 8
EDITS = 50


class _Client:
    """One keep-alive connection to the live server, as a reader's app holds one."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)

    def send(self, method: str, path: str, headers: dict[str, str] | None = None) -> int:
        self.conn.request(method, path, headers=headers or {})
        response = self.conn.getresponse()
        response.read()
        return response.status

    def close(self) -> None:
        self.conn.close()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_anonymous_readers_never_lock_out_a_key_holder(client, auth_header, tmp_path):
    arcid = upload(client, "a.cbz", cbz_bytes(), headers=auth_header).json()["id"]
    stop = threading.Event()
    reader_statuses: list[list[tuple[str, int]]] = [[] for _ in range(READERS)]
    errors: list[BaseException] = []

    def read(n: int, url: str) -> None:
        conn = _Client(url)
        try:
            i = 0
            while not stop.is_set():
                i += 1
                if i % 5 == 0:  # the web reader clears the new flag when it opens an archive
                    reader_statuses[n].append(("isnew", conn.send("DELETE", f"/api/archives/{arcid}/isnew")))
                else:
                    page = (n + i) % 3 + 1
                    reader_statuses[n].append(("progress", conn.send("PUT", f"/api/archives/{arcid}/progress/{page}")))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            conn.close()

    with web_server(tmp_path) as url:
        threads = [threading.Thread(target=read, args=(n, url)) for n in range(READERS)]
        for thread in threads:
            thread.start()
        # Every reader is writing before the first edit.
        deadline = time.monotonic() + 30
        while not all(reader_statuses) and time.monotonic() < deadline and not errors:
            time.sleep(0.01)
        editor = _Client(url)
        edit_statuses = []
        try:
            for i in range(EDITS):
                title = urllib.parse.quote(f"Edit {i}")
                edit_statuses.append(
                    editor.send("PUT", f"/api/archives/{arcid}/metadata?title={title}", {"Authorization": bearer()})
                )
        finally:
            editor.close()
            stop.set()
            for thread in threads:
                thread.join(timeout=60)

    assert not errors, errors
    locked = edit_statuses.count(423)
    reads = [item for statuses in reader_statuses for item in statuses]
    summary = f"{locked} of {EDITS} edits were 423; reader writes by status: {Counter(s for _, s in reads)}"
    print(summary)  # shown with -rP: the numbers behind the assertions
    assert locked == 0, summary
    assert edit_statuses == [200] * EDITS, summary
    assert {status for _, status in reads} == {200}, summary
    progress_writes = sum(1 for kind, _ in reads if kind == "progress")
    assert progress_writes >= EDITS, summary  # the readers really ran alongside the edits
    assert Archive.objects.get(pk=arcid).title == f"Edit {EDITS - 1}"
    # The counter is bumped in one UPDATE each time: none is lost to a race.
    assert ServerCounters.objects.get(pk=1).total_pages_read == progress_writes
    state = ReadingState.objects.get(archive_id=arcid, user__isnull=True)
    assert 1 <= state.progress <= 3 and state.lastreadtime > 0 and state.isnew is False


# --- The same rules without a server -----------------------------------------------


@pytest.mark.django_db
def test_progress_and_clear_new_succeed_while_a_metadata_write_holds_the_lock(client, auth_header):
    arcid = upload(client, "a.cbz", cbz_bytes(), headers=auth_header).json()["id"]
    with write_lock(f"archive-write:{arcid}", resource=arcid):
        progress = client.put(f"/api/archives/{arcid}/progress/2")
        cleared = client.delete(f"/api/archives/{arcid}/isnew")
        # The metadata write itself still meets the lock (LANraragi's 423).
        edit = client.put(f"/api/archives/{arcid}/metadata?title=x", **auth_header)
    assert progress.status_code == 200 and progress.json()["page"] == 2
    assert cleared.status_code == 200 and cleared.json() == {"operation": "clear_new", "id": arcid, "success": 1}
    assert edit.status_code == 423
    state = ReadingState.objects.get(archive_id=arcid)
    assert (state.progress, state.isnew) == (2, False)


@pytest.mark.django_db
def test_marking_new_is_reading_state_too(client, auth_header):
    arcid = upload(client, "a.cbz", cbz_bytes(), headers=auth_header).json()["id"]
    client.delete(f"/api/archives/{arcid}/isnew")
    with write_lock(f"archive-write:{arcid}", resource=arcid):
        r = client.put(f"/api/archives/{arcid}/isnew", **auth_header)
    assert r.status_code == 200 and r.json()["success"] == 1
    assert ReadingState.objects.get(archive_id=arcid).isnew is True


@pytest.mark.django_db
def test_reading_state_of_an_archive_without_a_state_row_is_created_once(client, auth_header):
    arcid = upload(client, "a.cbz", cbz_bytes(), headers=auth_header).json()["id"]
    ReadingState.objects.all().delete()
    assert client.delete(f"/api/archives/{arcid}/isnew").status_code == 200
    assert client.put(f"/api/archives/{arcid}/progress/3").status_code == 200
    state = ReadingState.objects.get(archive_id=arcid, user__isnull=True)
    assert (state.progress, state.isnew) == (3, False)


@pytest.mark.django_db
def test_tank_progress_succeeds_while_a_tank_edit_holds_the_lock(client):
    Tankoubon.objects.create(id="TANK_1700000000", name="T")
    with write_lock("tankoubon-write:TANK_1700000000", resource="TANK_1700000000"):
        r = client.put("/api/tankoubons/TANK_1700000000/progress/2")
    assert r.status_code == 200 and r.json()["page"] == 2
    assert Tankoubon.objects.get(pk="TANK_1700000000").progress == 2


@pytest.mark.django_db
def test_refused_anonymous_progress_still_takes_no_lock(client, auth_header):
    """authprogress: an anonymous progress write is a 401 even while the archive is locked."""
    arcid = upload(client, "a.cbz", cbz_bytes(), headers=auth_header).json()["id"]
    ServerConfig.objects.update_or_create(pk=1, defaults={"authprogress": True})
    config_changed()
    with write_lock(f"archive-write:{arcid}", resource=arcid):
        assert client.put(f"/api/archives/{arcid}/progress/1").status_code == 401
        assert client.put(f"/api/archives/{arcid}/progress/1", **auth_header).status_code == 200
