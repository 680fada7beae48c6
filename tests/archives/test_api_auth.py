"""Auth, No-Fun mode, CORS and the API's JSON error pages (behavior.md §1-2)."""

from __future__ import annotations

import base64

import pytest
from django.contrib.auth import get_user_model

from archives.config import config_changed
from archives.config import set_api_key
from archives.models import ServerConfig
from tests.conftest import API_KEY
from tests.conftest import bearer

pytestmark = pytest.mark.django_db

UNAUTHORIZED = {"errors": [{"message": "Unauthorized", "path": "/security/0/api_key"}], "status": 401}
NOFUN = {"error": "This API is protected and requires login or an API Key."}
PROTECTED = "/api/database/isnew"  # a DELETE that needs the key and has no side effects on an empty library


def configure(**fields) -> None:
    ServerConfig.objects.update_or_create(pk=1, defaults=fields)
    config_changed()


def test_bearer_header_with_base64_key_is_accepted(client):
    assert client.delete(PROTECTED, HTTP_AUTHORIZATION=bearer()).status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        "Bearer " + API_KEY,  # not base64
        "bearer " + base64.b64encode(API_KEY.encode()).decode(),  # case-sensitive scheme
        "Bearer " + base64.b64encode(API_KEY.encode()).decode().rstrip("="),  # padding dropped
        "Bearer " + base64.b64encode(b"wrong").decode(),
        "Basic " + base64.b64encode(API_KEY.encode()).decode(),
        "",
    ],
)
def test_other_headers_are_refused(client, header):
    r = client.delete(PROTECTED, HTTP_AUTHORIZATION=header)
    assert r.status_code == 401
    assert r.json() == UNAUTHORIZED


def test_key_query_parameter_is_accepted(client):
    assert client.delete(f"{PROTECTED}?key={API_KEY}").status_code == 200
    assert client.delete(f"{PROTECTED}?key=nope").status_code == 401


def test_logged_in_session_counts_as_auth_but_needs_csrf_for_writes(client):
    user = get_user_model().objects.create_user("reader", password="pw-12345678")
    csrf_client = type(client)(enforce_csrf_checks=True)
    csrf_client.force_login(user)
    assert csrf_client.delete(PROTECTED).status_code == 403
    token = "k" * 32  # a CSRF secret, as the csrftoken cookie a page would have set
    csrf_client.cookies["csrftoken"] = token
    assert csrf_client.delete(PROTECTED, HTTP_X_CSRFTOKEN=token).status_code == 200


def test_stored_key_is_used_when_no_environment_key(client, settings):
    settings.HONDANA_API_KEY = ""
    assert client.delete(PROTECTED, HTTP_AUTHORIZATION=bearer()).status_code == 401
    set_api_key("stored-key")
    assert client.delete(PROTECTED, HTTP_AUTHORIZATION=bearer("stored-key")).status_code == 200
    assert ServerConfig.objects.get().api_key_hash != "stored-key"  # only a hash is kept


def test_empty_key_never_matches(client, settings):
    settings.HONDANA_API_KEY = ""
    assert client.delete(PROTECTED, HTTP_AUTHORIZATION="Bearer ").status_code == 401
    assert client.delete(f"{PROTECTED}?key=").status_code == 401


def test_password_protection_off_opens_everything(client):
    configure(enablepass=False)
    assert client.delete(PROTECTED).status_code == 200


def test_nofun_mode_closes_public_routes_with_its_own_body(client):
    configure(nofunmode=True)
    for path in ("/api/info", "/api/archives", f"/api/archives/{'a' * 40}/metadata"):
        r = client.get(path)
        assert r.status_code == 401, path
        assert r.json() == NOFUN
    assert client.get("/api/info", HTTP_AUTHORIZATION=bearer()).status_code == 200
    assert client.options("/api/info").status_code == 200
    assert client.get("/api/info").status_code == 401


def test_environment_pins_a_setting(client, pin_env):
    pin_env(HONDANA_NOFUNMODE="1")
    assert client.get("/api/info").status_code == 401
    assert client.get("/api/info").json() == NOFUN


def test_cors_headers_when_enabled(client):
    assert "Access-Control-Allow-Origin" not in client.get("/api/info")
    configure(enablecors=True)
    for r in (client.get("/api/info"), client.delete(PROTECTED), client.options("/api/archives")):
        assert r["Access-Control-Allow-Origin"] == "*"
        assert r["Access-Control-Allow-Methods"] == "GET, OPTIONS, POST, DELETE, PUT"
        assert r["Access-Control-Allow-Headers"] == "Authorization"


def test_unknown_api_path_is_json_404(client):
    r = client.get("/api/nothing/here")
    assert r.status_code == 404
    assert r.json() == {"errors": [{"message": "Not Found.", "path": "/"}], "status": 404}


def test_accept_header_without_json_is_ignored(client):
    r = client.get("/api/info", HTTP_ACCEPT="text/html")
    assert r.status_code == 200 and r.json()["version"]


def test_info_is_public_and_reflects_settings(client):
    configure(localprogress=True, name="My <Shelf>", archives_per_page=50)
    info = client.get("/api/info").json()
    assert info["name"] == "My &lt;Shelf&gt;"
    assert info["server_tracks_progress"] is False
    assert info["archives_per_page"] == 50
    configure(localprogress=True, authprogress=True)
    info = client.get("/api/info").json()
    assert info["server_tracks_progress"] is True and info["authenticated_progress"] is True
    assert info["server_resizes_images"] is False
    configure(enableresize=True)
    assert client.get("/api/info").json()["server_resizes_images"] is True


def test_info_names_the_reference_release(client):
    info = client.get("/api/info").json()
    assert (info["version"], info["version_name"]) == ("0.9.81", "Atomica")
    assert info["version_desc"] == "I'm under Japanese influence and my honor's at stake!"
