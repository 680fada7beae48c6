"""Tankoubons over the API (progress and thumbnail are tested with reading and thumbnails)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from archives.models import Archive
from archives.models import ServerConfig
from tests.library import make_archive

pytestmark = pytest.mark.django_db


def create(client, auth_header, **form) -> str:
    r = client.put("/api/tankoubons", urlencode(form), content_type="application/x-www-form-urlencoded", **auth_header)
    assert r.status_code == 200, r.content
    assert r.json()["operation"] == "create_tankoubon" and r.json()["success"] == 1
    return r.json()["tankoubon_id"]


def update(client, auth_header, tank_id, body):
    return client.put(f"/api/tankoubons/{tank_id}", json.dumps(body), content_type="application/json", **auth_header)


def test_create_rename_get_and_list(client, auth_header):
    tank = create(client, auth_header, name="First")
    assert tank.startswith("TANK_") and len(tank) == 15
    assert create(client, auth_header, name="Renamed", tankid=tank) == tank
    assert client.get(f"/api/tankoubons/{tank}").json() == {
        "id": tank,
        "name": "Renamed",
        "summary": "",
        "tags": "",
        "archives": [],
        "progress": 0,
    }
    listing = client.get("/api/tankoubons").json()
    assert listing["total"] == 1 and [t["id"] for t in listing["result"]] == [tank]
    r = client.put("/api/tankoubons", "", content_type="application/x-www-form-urlencoded", **auth_header)
    assert r.status_code == 400 and r.json()["error"] == "Tankoubon name not specified."
    r = client.get("/api/tankoubons/TANK_0000000001")
    assert r.status_code == 400 and r.json()["error"] == "The given tankoubon does not exist."


def test_list_pages(client, auth_header):
    row, _ = ServerConfig.objects.get_or_create(pk=1)
    row.archives_per_page = 2
    row.save()
    made = [create(client, auth_header, name=f"T{i}", tankid=f"TANK_000000000{i}") for i in range(3)]
    assert [t["id"] for t in client.get("/api/tankoubons", {"page": 1}).json()["result"]] == made[2:]
    assert client.get("/api/tankoubons", {"page": "x"}).json()["errors"][0]["path"] == "/page"


def test_update_members_in_order_and_metadata(client, auth_header):
    a, b, c = make_archive("A"), make_archive("B"), make_archive("C")
    tank = create(client, auth_header, name="T")
    r = update(
        client,
        auth_header,
        tank,
        {"archives": [c, a], "metadata": {"name": "Series", "summary": "S", "tags": "series:x,series:x"}},
    )
    assert r.json() == {
        "operation": "update_tankoubon",
        "error": "",
        "success": 1,
        "successMessage": "Updated tankoubon &quot;Series&quot;!",
    }
    got = client.get(f"/api/tankoubons/{tank}").json()
    assert (got["archives"], got["name"], got["summary"], got["tags"]) == ([c, a], "Series", "S", "series:x")
    update(client, auth_header, tank, {"metadata": {"tags": "other:y", "append": True}})
    assert client.get(f"/api/tankoubons/{tank}").json()["tags"] == "series:x,other:y"
    assert Archive.objects.get(pk=c).in_tank and not Archive.objects.get(pk=b).in_tank
    update(client, auth_header, tank, {"archives": [b]})
    assert not Archive.objects.get(pk=c).in_tank and Archive.objects.get(pk=b).in_tank
    r = update(client, auth_header, tank, {"archives": ["d" * 40]})
    assert r.status_code == 400 and r.json()["error"] == f"{'d' * 40} does not exist in the database."
    r = update(client, auth_header, "TANK_0000000001", {"archives": []})
    assert r.json()["error"] == "TANK_0000000001 doesn&#39;t exist in the database!"


def test_add_and_remove_members(client, auth_header):
    a, b = make_archive("Alpha"), make_archive("Beta")
    tank = create(client, auth_header, name="T")
    r = client.put(f"/api/tankoubons/{tank}/{a}", **auth_header)
    assert r.json()["successMessage"] == "Added &quot;Alpha&quot; to tankoubon &quot;T&quot;!"
    client.put(f"/api/tankoubons/{tank}/{b}", **auth_header)
    client.put(f"/api/tankoubons/{tank}/{a}", **auth_header)  # already there: no change
    assert client.get(f"/api/tankoubons/{tank}").json()["archives"] == [a, b]
    assert client.get(f"/api/archives/{a}/tankoubons").json() == {
        "operation": "find_arc_tankoubons",
        "tankoubons": [tank],
        "success": 1,
    }
    r = client.delete(f"/api/tankoubons/{tank}/{a}", **auth_header)
    assert r.json()["successMessage"] == "Removed &quot;Alpha&quot; from tankoubon &quot;T&quot;!"
    assert client.get(f"/api/tankoubons/{tank}").json()["archives"] == [b]
    r = client.put(f"/api/tankoubons/{tank}/{'e' * 40}", **auth_header)
    assert r.status_code == 400 and r.json()["error"] == f"{'e' * 40} does not exist in the database."
    r = client.put(f"/api/tankoubons/{tank}/abc", **auth_header)
    assert r.json()["errors"] == [{"message": "String is too short: 3/40.", "path": "/archive"}]
    assert client.put(f"/api/tankoubons/{tank}/{a}").status_code == 401


def test_full_pages_member_json(client, auth_header):
    row, _ = ServerConfig.objects.get_or_create(pk=1)
    row.archives_per_page = 1
    row.save()
    a, b = make_archive("A", "x:y"), make_archive("B")
    tank = create(client, auth_header, name="T")
    update(client, auth_header, tank, {"archives": [a, b]})
    full = client.get(f"/api/tankoubons/{tank}/full").json()
    assert full["total"] == 2 and full["filtered"] == 2
    assert [d["arcid"] for d in full["result"]["full_data"]] == [a, b]
    assert full["result"]["full_data"][0]["tags"] == "x:y"
    page = client.get(f"/api/tankoubons/{tank}/full", {"page": 1}).json()
    assert page["result"]["archives"] == [b] and page["filtered"] == 1 and page["total"] == 2


def test_delete(client, auth_header):
    a = make_archive("A")
    tank = create(client, auth_header, name="T")
    client.put(f"/api/tankoubons/{tank}/{a}", **auth_header)
    r = client.delete(f"/api/tankoubons/{tank}", **auth_header)
    assert r.json() == {"operation": "delete_tankoubon", "error": "", "success": 1, "successMessage": ""}
    assert not Archive.objects.get(pk=a).in_tank
    assert client.delete("/api/tankoubons/TANK_0000000001", **auth_header).json()["success"] == 1
    r = client.delete("/api/tankoubons/nope", **auth_header)
    assert r.status_code == 400 and r.json()["error"] == "The given tankoubon does not exist."


def test_huge_list_pages_and_progress_pages_are_not_a_500(client, auth_header):
    tank = create(client, auth_header, name="T")
    r = client.get("/api/tankoubons", {"page": "9223372036854775807"})
    assert r.status_code == 200
    assert r.json() == {"result": [], "total": 1, "filtered": 1}
    assert [t["id"] for t in client.get("/api/tankoubons", {"page": "-1"}).json()["result"]] == [tank]
    r = client.put(f"/api/tankoubons/{tank}/progress/2147483648")
    assert r.status_code == 400 and r.json()["error"] == "Invalid progress value."
    assert client.put(f"/api/tankoubons/{tank}/progress/2147483647").status_code == 200


@pytest.mark.parametrize(
    ("body", "content_type", "message", "path"),
    [
        ("", "application/json", "Missing property.", "/body"),
        ("[1]", "application/json", "Expected object - got array.", "/body"),
        ('{"archives": "x"}', "application/json", "Expected array - got string.", "/body/archives"),
        ('{"archives": [1]}', "application/json", "Expected string - got number.", "/body/archives/0"),
        ('{"archives": ["abc"]}', "application/json", "String is too short: 3/40.", "/body/archives/0"),
        ('{"metadata": []}', "application/json", "Expected object - got array.", "/body/metadata"),
        ('{"metadata": {"name": 5}}', "application/json", "Expected string - got number.", "/body/metadata/name"),
        ('{"metadata": {"tags": null}}', "application/json", "Expected string - got null.", "/body/metadata/tags"),
        ('{"metadata": {"append": "yes"}}', "application/json", "Expected boolean - got string.", "/body/metadata/append"),
        ("name=x", "application/x-www-form-urlencoded", "Expected application/json - got application/x-www-form-urlencoded.", "/body"),
    ],
)  # fmt: skip
def test_update_body_is_checked_against_the_spec_schema(client, auth_header, body, content_type, message, path):
    arcid = make_archive("A", "x")
    tank = create(client, auth_header, name="Kept")
    assert update(client, auth_header, tank, {"archives": [arcid], "metadata": {"tags": "t:1"}}).status_code == 200
    r = client.put(f"/api/tankoubons/{tank}", body, content_type=content_type, **auth_header)
    assert r.status_code == 400, r.content
    assert r.json() == {"errors": [{"message": message, "path": path}], "status": 400}
    kept = client.get(f"/api/tankoubons/{tank}").json()
    assert kept["name"] == "Kept" and kept["archives"] == [arcid] and kept["tags"] == "t:1"
