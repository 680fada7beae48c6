"""PUT and DELETE /api/archives/{id}/toc."""

from __future__ import annotations

import pytest

from archives.locks import write_lock
from tests.library import make_archive

pytestmark = pytest.mark.django_db


def test_add_replace_and_remove_entries(client, auth_header):
    arcid = make_archive("Book")
    r = client.put(f"/api/archives/{arcid}/toc?page=5&title=Two", **auth_header)
    assert r.json() == {
        "operation": "add_toc",
        "error": "",
        "success": 1,
        "successMessage": "Added ToC entry for page 5.",
    }
    client.put(f"/api/archives/{arcid}/toc?page=1&title=One", **auth_header)
    client.put(f"/api/archives/{arcid}/toc?page=5&title=Second", **auth_header)
    toc = client.get(f"/api/archives/{arcid}/metadata").json()["toc"]
    assert toc == [{"page": 1, "name": "One"}, {"page": 5, "name": "Second"}]
    r = client.delete(f"/api/archives/{arcid}/toc?page=1", **auth_header)
    assert r.json()["successMessage"] == "Removed ToC entry for page 1."
    assert client.delete(f"/api/archives/{arcid}/toc?page=99", **auth_header).json()["success"] == 1
    assert client.get(f"/api/archives/{arcid}/metadata").json()["toc"] == [{"page": 5, "name": "Second"}]


def test_validation_unknown_ids_auth_and_locks(client, auth_header):
    arcid = make_archive("Book")
    r = client.put(f"/api/archives/{arcid}/toc?page=1", **auth_header)
    assert r.json() == {"errors": [{"message": "Missing property.", "path": "/title"}], "status": 400}
    r = client.put(f"/api/archives/{arcid}/toc?page=x&title=t", **auth_header)
    assert r.json()["errors"][0] == {"message": "Expected integer - got string.", "path": "/page"}
    r = client.put(f"/api/archives/{'f' * 40}/toc?page=1&title=t", **auth_header)
    assert r.status_code == 400 and r.json() == {
        "operation": "add_toc",
        "error": "This ID doesn&#39;t exist on the server.",
        "success": 0,
        "successMessage": "",
    }
    r = client.delete(f"/api/archives/{'f' * 40}/toc?page=1", **auth_header)
    assert r.json()["operation"] == "remove_toc" and r.json()["success"] == 0
    assert client.put(f"/api/archives/{arcid}/toc?page=1&title=t").status_code == 401
    with write_lock(f"archive-write:{arcid}"):
        r = client.put(f"/api/archives/{arcid}/toc?page=1&title=t", **auth_header)
    assert r.status_code == 423 and r.json() == {
        "operation": "add_toc",
        "success": 0,
        "error": f"Locked resource: {arcid}.",
    }
