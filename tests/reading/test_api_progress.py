"""PUT /api/archives/{id}/progress/{page}: every check of behavior.md §8, in order."""

from __future__ import annotations

import time

import pytest

from archives.config import config_changed
from archives.locks import write_lock
from archives.models import Archive
from archives.models import ServerConfig
from tests.conftest import bearer
from tests.samples import cbz_bytes
from tests.samples import upload

pytestmark = pytest.mark.django_db
UNKNOWN = "e" * 40


@pytest.fixture
def arcid(client, auth_header) -> str:
    return upload(client, "a.cbz", cbz_bytes(), headers=auth_header).json()["id"]


def configure(**fields) -> None:
    ServerConfig.objects.update_or_create(pk=1, defaults=fields)
    config_changed()


def test_progress_is_saved_with_lastreadtime_and_counted(client, arcid):
    before = int(time.time())
    r = client.put(f"/api/archives/{arcid}/progress/2")
    assert r.status_code == 200
    body = r.json()
    assert body["operation"] == "update_progress" and body["success"] == 1
    assert body["id"] == arcid and body["page"] == 2 and before <= body["lastreadtime"] <= time.time()
    meta = client.get(f"/api/archives/{arcid}/metadata").json()
    assert (meta["progress"], meta["lastreadtime"]) == (2, body["lastreadtime"])
    assert meta["isnew"] is True  # progress never clears the new flag
    client.put(f"/api/archives/{arcid}/progress/1")  # moving backwards is allowed
    assert client.get(f"/api/archives/{arcid}/metadata").json()["progress"] == 1
    assert client.get("/api/info").json()["total_pages_read"] == 2


@pytest.mark.parametrize("page", ["0", "4", "-3"])
def test_out_of_range_pages_are_refused(client, arcid, page):
    r = client.put(f"/api/archives/{arcid}/progress/{page}")
    assert r.status_code == 400
    assert r.json()["error"] == "Invalid progress value."


def test_non_integer_page_fails_validation_and_a_dot_does_not_route(client, arcid):
    r = client.put(f"/api/archives/{arcid}/progress/abc")
    assert r.json() == {"errors": [{"message": "Expected integer - got string.", "path": "/page"}], "status": 400}
    assert client.put(f"/api/archives/{arcid}/progress/007").status_code == 400
    assert client.put(f"/api/archives/{arcid}/progress/1.5").status_code == 404


def test_unknown_or_uncounted_archive_has_no_page_count(client, arcid):
    r = client.put(f"/api/archives/{UNKNOWN}/progress/1")
    assert r.status_code == 400
    assert r.json()["error"] == "Archive doesn&#39;t have a total page count recorded yet."
    Archive.objects.filter(pk=arcid).update(pagecount=0)
    assert client.put(f"/api/archives/{arcid}/progress/1").json()["success"] == 0


def test_force_skips_page_checks_but_not_unknown_ids(client, arcid):
    r = client.put(f"/api/archives/{arcid}/progress/99?force=1")
    assert r.status_code == 200 and r.json()["page"] == 99
    r = client.put(f"/api/archives/{UNKNOWN}/progress/1?force=true")
    assert r.status_code == 400 and r.json()["error"] == "This ID doesn&#39;t exist on the server."
    assert not Archive.objects.filter(pk=UNKNOWN).exists()
    assert client.put(f"/api/archives/{arcid}/progress/99?force=0").status_code == 400


def test_client_side_progress_setting(client, arcid):
    configure(localprogress=True)
    r = client.put(f"/api/archives/{arcid}/progress/1")
    assert r.status_code == 400
    assert r.json()["error"] == "Server-side Progress Tracking is disabled on this instance."


def test_authenticated_progress_needs_auth_and_forces_tracking_on(client, arcid):
    configure(authprogress=True, localprogress=True)
    r = client.put(f"/api/archives/{arcid}/progress/1")
    assert r.status_code == 401
    assert r.json() == {
        "operation": "update_progress",
        "error": "This operation requires authentication.",
        "success": 0,
    }
    assert client.put(f"/api/archives/{arcid}/progress/1", HTTP_AUTHORIZATION=bearer()).status_code == 200


def test_progress_does_not_wait_for_or_meet_the_archive_write_lock(client, arcid):
    # Reading state never takes `archive-write:<id>` (unlike LANraragi): a metadata edit
    # in progress neither refuses the reader nor is refused because of it.
    with write_lock(f"archive-write:{arcid}", resource=arcid):
        r = client.put(f"/api/archives/{arcid}/progress/1")
    assert r.status_code == 200
    assert r.json()["page"] == 1


def test_a_forced_page_past_32_bits_is_refused_not_a_500(client, arcid):
    r = client.put(f"/api/archives/{arcid}/progress/2147483648?force=1")
    assert r.status_code == 400
    assert r.json() == {"operation": "update_progress", "error": "Invalid progress value.", "success": 0,
                        "successMessage": ""}  # fmt: skip
    assert client.get(f"/api/archives/{arcid}/metadata").json()["progress"] == 0
    assert client.put(f"/api/archives/{arcid}/progress/9?force=1").json()["page"] == 9
