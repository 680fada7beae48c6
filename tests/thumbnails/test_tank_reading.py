"""Tankoubon progress and covers (behavior.md §7-8, §11), on real uploaded archives."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.storage import storages
from PIL import Image

from archives.config import config_changed
from archives.models import ServerConfig
from archives.models import Tankoubon
from archives.storage import thumbnail_key
from tests.conftest import bearer
from tests.samples import cbz_bytes
from tests.samples import upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def tank(client, auth_header, django_capture_on_commit_callbacks) -> tuple[str, list[str]]:
    """A tank of two uploaded archives with 2 and 3 pages, its cover job run."""
    ids = [
        upload(client, "a.cbz", cbz_bytes(["1.jpg", "2.jpg"], seed=1), headers=auth_header).json()["id"],
        upload(client, "b.cbz", cbz_bytes(["1.jpg", "2.jpg", "3.jpg"], seed=2), headers=auth_header).json()["id"],
    ]
    r = client.put("/api/tankoubons", "name=Saga", content_type="application/x-www-form-urlencoded", **auth_header)
    tank_id = r.json()["tankoubon_id"]
    with django_capture_on_commit_callbacks(execute=True):
        client.put(
            f"/api/tankoubons/{tank_id}", json.dumps({"archives": ids}), content_type="application/json", **auth_header
        )
    return tank_id, ids


def test_tank_progress_is_saved_with_lastreadtime(client, tank):
    tank_id, _ = tank
    r = client.put(f"/api/tankoubons/{tank_id}/progress/4")
    assert r.status_code == 200
    body = r.json()
    assert body["operation"] == "update_tank_progress" and body["success"] == 1 and body["page"] == 4
    stored = Tankoubon.objects.get(pk=tank_id)
    assert (stored.progress, stored.lastreadtime) == (4, body["lastreadtime"])
    assert client.get(f"/api/tankoubons/{tank_id}").json()["progress"] == 4


def test_tank_progress_checks(client, tank):
    tank_id, _ = tank
    r = client.put(f"/api/tankoubons/{tank_id}/progress/0")
    assert r.json() == {"errors": [{"message": "0 < minimum(1)", "path": "/page"}], "status": 400}
    assert (
        client.put("/api/tankoubons/TANK_1/progress/1").json()["errors"][0]["message"] == "String is too short: 6/15."
    )
    r = client.put("/api/tankoubons/TANK_0000000009/progress/1")
    assert r.status_code == 400 and r.json()["error"] == "TANK_0000000009 doesn&#39;t exist in the database!"
    assert client.put(f"/api/tankoubons/{tank_id}/progress/1.5").status_code == 404
    ServerConfig.objects.update_or_create(pk=1, defaults={"authprogress": True})
    config_changed()
    r = client.put(f"/api/tankoubons/{tank_id}/progress/1")
    assert r.status_code == 401 and r.json()["operation"] == "update_tank_progress"
    assert client.put(f"/api/tankoubons/{tank_id}/progress/1", HTTP_AUTHORIZATION=bearer()).status_code == 200
    ServerConfig.objects.update_or_create(pk=1, defaults={"authprogress": False, "localprogress": True})
    config_changed()
    r = client.put(f"/api/tankoubons/{tank_id}/progress/1")
    assert r.json()["error"] == "Server-side Progress Tracking is disabled on this instance."


def test_tank_cover_is_made_from_its_first_archive_when_members_are_set(client, auth_header, tank):
    tank_id, ids = tank
    r = client.get(f"/api/tankoubons/{tank_id}/thumbnail")
    assert r.status_code == 200 and r["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(r.content)).size[0] <= 500
    client.put(f"/api/archives/{ids[0]}/thumbnail?page=1", **auth_header)
    assert client.get(f"/api/archives/{ids[0]}/thumbnail").content == r.content


def test_tank_thumbnail_placeholder_no_fallback_and_put(client, auth_header, tank, django_capture_on_commit_callbacks):
    tank_id, _ = tank
    storages["thumbnails"].delete(thumbnail_key(tank_id))
    assert client.get(f"/api/tankoubons/{tank_id}/thumbnail")["Content-Type"] == "image/png"
    with django_capture_on_commit_callbacks(execute=True):
        r = client.get(f"/api/tankoubons/{tank_id}/thumbnail?no_fallback=true")
    assert r.status_code == 202 and r.json()["operation"] == "serve_tankoubon_thumbnail"
    assert client.get(f"/api/minion/{r.json()['job']}").json()["state"] == "finished"
    made_from_page_1 = client.get(f"/api/tankoubons/{tank_id}/thumbnail").content
    assert client.put(f"/api/tankoubons/{tank_id}/thumbnail?page=4").status_code == 401
    r = client.put(f"/api/tankoubons/{tank_id}/thumbnail?page=4", **auth_header)  # page 2 of the second archive
    assert r.status_code == 200 and r.json()["operation"] == "update_tankoubon_thumbnail" and r.json()["new_thumbnail"]
    assert client.get(f"/api/tankoubons/{tank_id}/thumbnail").content != made_from_page_1
    r = client.put(f"/api/tankoubons/{tank_id}/thumbnail?page=6", **auth_header)
    assert r.status_code == 400 and r.json()["error"] == f"Requested image not found: {tank_id} page 6"
    r = client.get("/api/tankoubons/TANK_0000000009/thumbnail?no_fallback=true")
    assert r.status_code == 400


def test_deleting_a_tank_removes_its_cover(client, auth_header, tank):
    tank_id, _ = tank
    assert storages["thumbnails"].exists(thumbnail_key(tank_id))
    client.delete(f"/api/tankoubons/{tank_id}", **auth_header)
    assert not storages["thumbnails"].exists(thumbnail_key(tank_id))


def test_regenerate_includes_tank_covers(client, auth_header, tank, django_capture_on_commit_callbacks):
    tank_id, _ = tank
    storages["thumbnails"].delete(thumbnail_key(tank_id))
    with django_capture_on_commit_callbacks(execute=True):
        job = client.post("/api/regen_thumbs", **auth_header).json()["job"]
    assert client.get(f"/api/minion/{job}").json()["notes"] == {"total": "3", "done": "3"}
    assert storages["thumbnails"].exists(thumbnail_key(tank_id))
