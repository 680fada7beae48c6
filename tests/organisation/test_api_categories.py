"""Categories over the API: CRUD, membership, bookmark link, archive categories."""

from __future__ import annotations

import importlib
from urllib.parse import urlencode

import pytest
from django.apps import apps

from archives.models import Category
from tests.library import make_archive
from tests.samples import cbz_bytes
from tests.samples import upload

pytestmark = pytest.mark.django_db


def create(client, auth_header, **form) -> str:
    r = put_form(client, "/api/categories", auth_header, **form)
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["operation"] == "create_category" and body["success"] == 1
    return body["category_id"]


def put_form(client, url, auth_header, **form):
    return client.put(url, urlencode(form), content_type="application/x-www-form-urlencoded", **auth_header)


def test_a_fresh_install_has_favorites_linked_to_the_bookmark():
    Category.objects.all().delete()
    migration = importlib.import_module("archives.migrations.0004_favorites_category")
    migration.create_favorites(apps, None)
    favorites = Category.objects.get()
    assert favorites.name == "🔖 Favorites" and favorites.search == "" and favorites.pk.startswith("SET_")
    from archives.categories import bookmark_get

    assert bookmark_get() == favorites.pk


def test_create_get_list_update_delete(client, auth_header):
    static = create(client, auth_header, name="Mine", pinned="1")
    dynamic = create(client, auth_header, name="English", search="language:english")
    assert static != dynamic and len(static) == 14
    got = client.get(f"/api/categories/{static}").json()
    assert got == {"id": static, "name": "Mine", "search": "", "pinned": 1, "archives": []}
    listed = {c["id"]: c for c in client.get("/api/categories").json()}
    assert listed[dynamic]["search"] == "language:english" and listed[dynamic]["pinned"] == 0

    r = put_form(client, f"/api/categories/{static}", auth_header, name="", search="")
    assert r.json() == {"operation": "update_category", "category_id": static, "success": 1}
    got = client.get(f"/api/categories/{static}").json()
    assert got["name"] == "Mine" and got["pinned"] == 0  # empty name kept; no `pinned` unpins
    put_form(client, f"/api/categories/{dynamic}", auth_header, search="", name="Renamed", pinned="true")
    got = client.get(f"/api/categories/{dynamic}").json()
    assert (got["name"], got["search"], got["pinned"]) == ("Renamed", "language:english", 1)

    r = client.delete(f"/api/categories/{static}", **auth_header)
    assert r.json()["success"] == 1
    r = client.get(f"/api/categories/{static}")
    assert r.status_code == 400
    assert r.json() == {
        "operation": "get_category",
        "error": "The given category does not exist.",
        "success": 0,
        "successMessage": "",
    }
    assert client.delete("/api/categories/SET_0000000009", **auth_header).json()["success"] == 1
    r = client.delete("/api/categories/short", **auth_header)
    assert r.status_code == 400 and r.json()["error"] == "The given category does not exist."


def test_create_needs_a_name_and_the_key(client, auth_header):
    r = client.put("/api/categories", "", content_type="application/x-www-form-urlencoded", **auth_header)
    assert r.status_code == 400 and r.json()["error"] == "Category name not specified."
    assert client.put("/api/categories", "name=x", content_type="application/x-www-form-urlencoded").status_code == 401
    r = put_form(client, "/api/categories/SET_0000000009", auth_header, name="x")
    assert r.status_code == 400 and r.json()["error"] == "The given category does not exist."


def test_membership(client, auth_header):
    arcid = make_archive("My Book")
    catid = create(client, auth_header, name="Shelf")
    r = client.put(f"/api/categories/{catid}/{arcid}", **auth_header)
    assert r.json() == {
        "operation": "add_to_category",
        "error": "",
        "success": 1,
        "successMessage": "Added &quot;My Book&quot; to category &quot;Shelf&quot;!",
    }
    assert client.put(f"/api/categories/{catid}/{arcid}", **auth_header).json()["success"] == 1  # duplicate
    assert client.get(f"/api/categories/{catid}").json()["archives"] == [arcid]
    cats = client.get(f"/api/archives/{arcid}/categories").json()
    assert cats["operation"] == "find_arc_categories" and [c["id"] for c in cats["categories"]] == [catid]

    r = client.delete(f"/api/categories/{catid}/{arcid}", **auth_header)
    assert r.json()["successMessage"] == "Removed &quot;My Book&quot; from category &quot;Shelf&quot;!"
    assert client.delete(f"/api/categories/{catid}/{arcid}", **auth_header).json()["success"] == 1
    assert client.get(f"/api/archives/{'f' * 40}/categories").json()["categories"] == []


def test_membership_errors(client, auth_header):
    arcid = make_archive("Book")
    dynamic = create(client, auth_header, name="D", search="x")
    r = client.put(f"/api/categories/{dynamic}/{arcid}", **auth_header)
    assert r.status_code == 400
    assert r.json()["error"] == f"{dynamic} is a favorite search/dynamic category, can&#39;t add archives to it."
    static = create(client, auth_header, name="S")
    r = client.put(f"/api/categories/{static}/{'e' * 40}", **auth_header)
    assert r.json()["error"] == f"{'e' * 40} does not exist in the database."
    r = client.put(f"/api/categories/SET_0000000009/{arcid}", **auth_header)
    assert r.status_code == 400 and r.json()["error"] == "SET_0000000009 doesn&#39;t exist in the database!"
    r = client.put(f"/api/categories/SET_1/{arcid}", **auth_header)
    assert r.json() == {"errors": [{"message": "String is too short: 5/14.", "path": "/id"}], "status": 400}
    r = client.put(f"/api/categories/{static}/abc", **auth_header)
    assert r.json()["errors"] == [{"message": "String is too short: 3/15.", "path": "/archive"}]


def test_bookmark_link(client, auth_header):
    static = create(client, auth_header, name="S")
    dynamic = create(client, auth_header, name="D", search="x")
    r = client.put(f"/api/categories/bookmark_link/{static}", **auth_header)
    assert r.json() == {"operation": "update_bookmark_link", "category_id": static, "success": 1}
    assert client.get("/api/categories/bookmark_link").json() == {
        "operation": "get_bookmark_link",
        "success": 1,
        "category_id": static,
    }
    r = client.put(f"/api/categories/bookmark_link/{dynamic}", **auth_header)
    assert r.status_code == 400 and r.json() == {
        "operation": "update_bookmark_link",
        "success": 0,
        "category_id": dynamic,
        "error": "Cannot link bookmark to a dynamic category.",
    }
    r = client.put("/api/categories/bookmark_link/SET_0000000009", **auth_header)
    assert r.status_code == 404 and r.json()["error"] == "Category does not exist!"
    r = client.put("/api/categories/bookmark_link/XXX_0000000009", **auth_header)
    assert r.status_code == 400 and r.json()["error"] == "Input category ID is invalid."
    client.delete(f"/api/categories/{static}", **auth_header)  # deleting drops the link
    assert client.get("/api/categories/bookmark_link").json()["category_id"] == ""
    client.put(f"/api/categories/bookmark_link/{create(client, auth_header, name='T')}", **auth_header)
    previous = client.delete("/api/categories/bookmark_link", **auth_header).json()
    assert previous["operation"] == "remove_bookmark_link" and previous["category_id"].startswith("SET_")
    assert client.delete("/api/categories/bookmark_link", **auth_header).json()["category_id"] == ""


def test_upload_joins_an_existing_static_category_only(client, auth_header):
    static = create(client, auth_header, name="S")
    dynamic = create(client, auth_header, name="D", search="x")
    r = upload(client, "a.cbz", cbz_bytes(seed=1), headers=auth_header, category_id=static)
    assert r.status_code == 200
    assert client.get(f"/api/categories/{static}").json()["archives"] == [r.json()["id"]]
    for catid in (dynamic, "SET_0000000009", "nonsense"):
        r = upload(client, f"{catid}.cbz", cbz_bytes(seed=hash(catid) % 1000), headers=auth_header, category_id=catid)
        assert r.status_code == 200 and r.json()["success"] == 1


def test_deleting_an_archive_drops_it_from_categories(client, auth_header):
    arcid = make_archive("Gone")
    catid = create(client, auth_header, name="S")
    client.put(f"/api/categories/{catid}/{arcid}", **auth_header)
    client.delete(f"/api/archives/{arcid}", **auth_header)
    assert client.get(f"/api/categories/{catid}").json()["archives"] == []
