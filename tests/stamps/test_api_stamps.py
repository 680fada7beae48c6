"""Stamps: notes on pages, over /api/archives/{id}/stamps[/{index}] and /api/stamps/{id}."""

from __future__ import annotations

import pytest

from archives.locks import write_lock
from archives.models import Stamp
from tests.samples import cbz_bytes
from tests.samples import upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def arcid(client, auth_header) -> str:
    return upload(client, "s.cbz", cbz_bytes(["1.jpg", "2.jpg", "3.jpg"]), headers=auth_header).json()["id"]


def add(client, auth_header, arcid: str, page: int | str, **query):
    from urllib.parse import urlencode

    return client.put(f"/api/archives/{arcid}/stamps/{page}?{urlencode(query)}", **auth_header)


def test_add_list_read_update_and_delete(client, auth_header, arcid):
    assert client.get(f"/api/archives/{arcid}/stamps").json() == {"result": []}
    r = add(client, auth_header, arcid, 2, content="Nice panel", position="12,34")
    assert r.status_code == 200
    body = r.json()
    assert body["operation"] == "add_stamp" and body["success"] == 1
    first = body["stamp_id"]
    assert first.startswith("STAMPS_2_")
    second = add(client, auth_header, arcid, 2, content="Again", position="50,50").json()["stamp_id"]
    third = add(client, auth_header, arcid, 3, content="Last", position="1,1").json()["stamp_id"]
    assert len({first, second, third}) == 3

    assert client.get(f"/api/archives/{arcid}/stamps").json() == {"result": ["2", "3"]}
    assert client.get(f"/api/archives/{arcid}/stamps/2").json() == {
        "result": [
            {"id": first, "content": "Nice panel", "position": "12,34"},
            {"id": second, "content": "Again", "position": "50,50"},
        ]
    }
    assert client.get(f"/api/archives/{arcid}/stamps/1").json() == {"result": []}
    assert client.get(f"/api/stamps/{third}").json() == {"id": third, "content": "Last", "position": "1,1"}

    r = client.put(f"/api/stamps/{first}?content=Edited", **auth_header)
    assert r.json() == {
        "operation": "update_stamp",
        "error": "",
        "success": 1,
        "successMessage": f"Updated stamp &quot;{first}&quot;!",
    }
    # An empty or missing value keeps the old one.
    client.put(f"/api/stamps/{first}?content=&position=9,9", **auth_header)
    assert client.get(f"/api/stamps/{first}").json() == {"id": first, "content": "Edited", "position": "9,9"}

    r = client.delete(f"/api/stamps/{first}", **auth_header)
    assert (r.status_code, r.json()["success"]) == (200, 1)
    assert client.get(f"/api/archives/{arcid}/stamps/2").json()["result"][0]["id"] == second


def test_errors_have_lanraragis_messages(client, auth_header, arcid):
    unknown = "f" * 40
    cases = [
        (add(client, auth_header, arcid, 4, content="x"), "add_stamp", "Page 4 out of range."),
        (add(client, auth_header, arcid, 0), "add_stamp", "Page 0 out of range."),
        (add(client, auth_header, unknown, 1), "add_stamp", f"{unknown} does not exist in the database."),
        (
            client.get(f"/api/archives/{unknown}/stamps"),
            "get_stamped_pages",
            f"{unknown} does not exist in the database.",
        ),
        (client.get("/api/stamps/STAMPS_1_1"), "get_stamp", "The given stamp does not exist."),
        (client.delete("/api/stamps/STAMPS_1_1", **auth_header), "delete_stamp", "The given stamp does not exist."),
        (
            client.put("/api/stamps/STAMPS_1_1?content=x", **auth_header),
            "update_stamp",
            "STAMPS_1_1 doesn&#39;t exist in the database!",
        ),
    ]
    for response, operation, error in cases:
        assert response.status_code == 400
        body = response.json()
        assert (body["operation"], body["success"], body["error"]) == (operation, 0, error)
    r = client.get(f"/api/archives/{arcid}/stamps/two")
    assert r.json() == {"errors": [{"message": "Expected integer - got string.", "path": "/index"}], "status": 400}


def test_writes_need_the_key_and_a_held_stamp_is_locked(client, auth_header, arcid):
    assert add(client, {}, arcid, 1).status_code == 401
    stamp_id = add(client, auth_header, arcid, 1, content="x").json()["stamp_id"]
    assert client.put(f"/api/stamps/{stamp_id}").status_code == 401
    assert client.delete(f"/api/stamps/{stamp_id}").status_code == 401
    with write_lock(f"stamp-write:{stamp_id}"):
        r = client.delete(f"/api/stamps/{stamp_id}", **auth_header)
    assert r.status_code == 423
    assert r.json() == {"operation": "delete_stamp", "success": 0, "error": f"Locked resource: {stamp_id}."}


def test_stamps_go_with_their_archive(client, auth_header, arcid):
    add(client, auth_header, arcid, 1, content="x")
    client.delete(f"/api/archives/{arcid}", **auth_header)
    assert not Stamp.objects.exists()
