"""/api/database: stats, backup → restore round trip, clean, drop."""

from __future__ import annotations

import json

import pytest
from django.core.files.storage import storages

from archives import categories
from archives import tankoubons
from archives.models import Archive
from archives.models import ServerConfig
from tests.library import make_archive
from tests.samples import cbz_bytes
from tests.samples import upload

pytestmark = pytest.mark.django_db


def test_stats_weights_namespaces_and_filters(client):
    make_archive("A", "artist:wada rco,artbook,date_added:1")
    make_archive("B", "Artist:Wada RCO,other:x:y")
    tank = tankoubons.tank_create(name="T")
    tankoubons.tank_update(tank_id=tank.pk, archives=None, metadata={"tags": "artbook"})
    stats = {(s["namespace"], s["text"]): s["weight"] for s in client.get("/api/database/stats").json()}
    assert stats == {("artist", "wada rco"): 2, ("", "artbook"): 2, ("date_added", "1"): 1, ("other", "x:y"): 1}
    heavy = client.get("/api/database/stats", {"minweight": 2}).json()
    assert {s["text"] for s in heavy} == {"wada rco", "artbook"}
    hidden = client.get("/api/database/stats", {"hide_excluded_namespaces": "true"}).json()
    assert "date_added" not in {s["namespace"] for s in hidden}
    shown = client.get("/api/database/stats", {"hide_excluded_namespaces": "1"}).json()
    assert "date_added" in {s["namespace"] for s in shown}  # only exactly `true` hides
    assert client.get("/api/database/stats", {"minweight": "x"}).status_code == 400


def _restore(client, auth_header, payload: bytes, captured):
    with captured(execute=True):
        return client.post("/api/database/restore", {"file": _named(payload)}, **auth_header)


def _named(payload: bytes):
    import io

    f = io.BytesIO(payload)
    f.name = "backup.json"
    return f


def test_backup_then_restore_round_trip(client, auth_header, django_capture_on_commit_callbacks):
    a = make_archive("Alpha", "artist:a,female:x")
    b = make_archive("Beta", "artist:b")
    Archive.objects.filter(pk=a).update(summary="Sum")
    cat = categories.category_create(name="Shelf")
    categories.category_add(catid=cat.pk, item_id=a)
    dyn = categories.category_create(name="Dyn", search="artist:b")
    tank = tankoubons.tank_create(name="Tank")
    tankoubons.tank_update(tank_id=tank.pk, archives=[b, a], metadata={"summary": "TS", "tags": "series:t"})

    r = client.get("/api/database/backup", **auth_header)
    assert r.status_code == 200
    backup = json.loads(b"".join(r.streaming_content))
    assert list(backup) == ["archives", "categories", "tankoubons"]
    by_id = {x["arcid"]: x for x in backup["archives"]}
    assert by_id[a] == {
        "arcid": a,
        "filename": "Alpha",
        "summary": "Sum",
        "tags": "artist:a,female:x",
        "thumbhash": None,
        "title": "Alpha",
    }
    cats = {c["catid"]: c for c in backup["categories"]}
    assert cats[cat.pk] == {"archives": [a], "catid": cat.pk, "name": "Shelf", "search": ""}
    assert cats[dyn.pk]["search"] == "artist:b"
    assert backup["tankoubons"] == [
        {"archives": [b, a], "name": "Tank", "summary": "TS", "tags": "series:t", "tankid": tank.pk}
    ]
    assert client.get("/api/database/backup").status_code == 401

    # Wipe the metadata, then restore it from the backup (plus an unknown archive).
    client.post("/api/database/drop", **auth_header)
    a2 = make_archive("new title", "", arcid=a)
    make_archive("other", "", arcid=b)
    backup["archives"].append({"arcid": "c" * 40, "title": "Ghost", "tags": "x", "summary": "", "filename": "g"})
    r = _restore(client, auth_header, json.dumps(backup).encode(), django_capture_on_commit_callbacks)
    assert r.status_code == 200, r.content
    assert r.json()["operation"] == "queue_restore" and r.json()["success"] == 1 and isinstance(r.json()["job"], int)
    meta = client.get(f"/api/archives/{a2}/metadata").json()
    assert (meta["title"], meta["tags"], meta["summary"]) == ("Alpha", "artist:a,female:x", "Sum")
    assert client.get(f"/api/categories/{cat.pk}").json()["archives"] == [a]
    assert client.get(f"/api/tankoubons/{tank.pk}").json()["archives"] == [b, a]
    assert not Archive.objects.filter(pk="c" * 40).exists()
    found = client.get("/api/search/ids", {"filter": "female:x", "groupby_tanks": "false"}).json()["data"]
    assert found == [a]


def test_restore_refuses_what_is_not_a_json_backup(client, auth_header, django_capture_on_commit_callbacks):
    r = _restore(client, auth_header, b"not json", django_capture_on_commit_callbacks)
    assert r.status_code == 400
    assert r.json() == {"operation": "queue_restore", "success": 0, "error": "File must be JSON"}
    r = client.post("/api/database/restore", {"other": "x"}, **auth_header)
    assert r.status_code == 400 and r.json()["error"] == "No file provided"


def test_clean_deletes_records_whose_file_has_gone(client, auth_header):
    kept = upload(client, "kept.cbz", cbz_bytes(seed=1), headers=auth_header).json()["id"]
    gone = upload(client, "gone.cbz", cbz_bytes(seed=2), headers=auth_header).json()["id"]
    synthetic = make_archive("Synthetic")
    storages["archives"].delete("gone.cbz")
    r = client.post("/api/database/clean", **auth_header)
    assert r.json() == {"operation": "clean_database", "deleted": 1, "unlinked": 0, "success": 1}
    assert set(Archive.objects.values_list("pk", flat=True)) == {kept, synthetic}
    assert gone not in client.get("/api/search/ids", {"start": -1}).json()["data"]


def test_drop_forgets_everything_but_settings(client, auth_header):
    make_archive("A", "x")
    categories.category_create(name="C")
    tankoubons.tank_create(name="T")
    ServerConfig.objects.get_or_create(pk=1)
    r = client.post("/api/database/drop", **auth_header)
    assert r.json() == {"operation": "drop_database", "error": "", "success": 1, "successMessage": ""}
    assert client.get("/api/search").json() == {"data": [], "recordsFiltered": 0, "recordsTotal": 0}
    assert client.get("/api/categories").json() == []
    assert client.get("/api/tankoubons").json()["total"] == 0
    assert client.get("/api/database/stats").json() == []
    assert client.post("/api/database/drop").status_code == 401
