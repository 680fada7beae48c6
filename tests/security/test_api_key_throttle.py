"""Wrong API keys: 429 for the address that keeps sending them, nobody else."""

from __future__ import annotations

import base64

import pytest
from django.contrib.auth import get_user_model

from archives.config import config_changed
from archives.models import ServerConfig
from tests.conftest import API_KEY
from tests.conftest import bearer

pytestmark = pytest.mark.django_db

PROTECTED = "/api/database/isnew"  # a DELETE that needs the key and has no side effects on an empty library
WRONG = bearer("not-the-key")
ATTACKER = "192.0.2.1"


def configure(**fields) -> None:
    ServerConfig.objects.update_or_create(pk=1, defaults=fields)
    config_changed()


def wrong_keys(client, count: int, address: str = ATTACKER) -> list[int]:
    return [client.delete(PROTECTED, HTTP_AUTHORIZATION=WRONG, REMOTE_ADDR=address).status_code for _ in range(count)]


def test_wrong_keys_get_429_after_the_limit_and_the_right_key_elsewhere_still_works(client):
    assert wrong_keys(client, 20) == [401] * 20
    refused = client.delete(PROTECTED, HTTP_AUTHORIZATION=WRONG, REMOTE_ADDR=ATTACKER)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 300
    body = refused.json()
    assert body["status"] == 429 and body["errors"][0]["path"] == "/security/0/api_key"
    assert "Too many wrong API keys" in body["errors"][0]["message"]

    # The right key from the locked address is refused unchecked too...
    assert client.delete(PROTECTED, HTTP_AUTHORIZATION=bearer(), REMOTE_ADDR=ATTACKER).status_code == 429
    assert client.delete(f"{PROTECTED}?key={API_KEY}", REMOTE_ADDR=ATTACKER).status_code == 429
    # ...but from anywhere else it is not slowed at all.
    assert client.delete(PROTECTED, HTTP_AUTHORIZATION=bearer(), REMOTE_ADDR="198.51.100.7").status_code == 200


def test_requests_without_a_key_are_not_counted_nor_refused(client):
    for _ in range(30):
        assert client.delete(PROTECTED, REMOTE_ADDR=ATTACKER).status_code == 401
    assert client.delete(PROTECTED, HTTP_AUTHORIZATION=bearer(), REMOTE_ADDR=ATTACKER).status_code == 200
    wrong_keys(client, 21)
    # Anonymous reads stay open to the locked address while No-Fun mode is off.
    assert client.get("/api/info", REMOTE_ADDR=ATTACKER).status_code == 200


@pytest.mark.parametrize("where", ["query", "form"])
def test_keys_in_the_query_or_a_form_body_count(client, where):
    for _ in range(20):
        if where == "query":
            response = client.delete(f"{PROTECTED}?key=nope", REMOTE_ADDR=ATTACKER)
        else:
            response = client.post("/api/database/backup", {"key": "nope"}, REMOTE_ADDR=ATTACKER)
        assert response.status_code == 401
    assert client.delete(f"{PROTECTED}?key=nope", REMOTE_ADDR=ATTACKER).status_code == 429


def test_no_fun_mode_answers_429_in_its_own_shape(client):
    configure(nofunmode=True)
    assert client.get("/api/info", HTTP_AUTHORIZATION=WRONG, REMOTE_ADDR=ATTACKER).status_code == 401
    wrong_keys(client, 19)
    refused = client.get("/api/info", HTTP_AUTHORIZATION=bearer(), REMOTE_ADDR=ATTACKER)
    assert refused.status_code == 429 and "Retry-After" in refused
    assert set(refused.json()) == {"error"}
    assert client.get("/api/info", HTTP_AUTHORIZATION=bearer(), REMOTE_ADDR="198.51.100.7").status_code == 200


def test_a_wrong_key_counts_once_per_request(client, settings):
    """No-Fun mode judges the key in the middleware and again in the view."""
    settings.HONDANA_API_KEY_FAILURES_PER_ADDRESS = 2
    configure(nofunmode=True)
    client.force_login(get_user_model().objects.create_user("reader", password=None))
    # The session authenticates; the wrong key beside it still counts, once.
    assert client.delete(PROTECTED, HTTP_AUTHORIZATION=WRONG, REMOTE_ADDR=ATTACKER).status_code == 200
    assert client.delete(PROTECTED, HTTP_AUTHORIZATION=WRONG, REMOTE_ADDR=ATTACKER).status_code == 200
    assert client.delete(PROTECTED, HTTP_AUTHORIZATION=WRONG, REMOTE_ADDR=ATTACKER).status_code == 429


def test_malformed_headers_are_no_key(client):
    """A header that cannot carry a key is refused as before, not counted."""
    raw = "Bearer " + API_KEY  # not base64
    for _ in range(25):
        assert client.delete(PROTECTED, HTTP_AUTHORIZATION=raw, REMOTE_ADDR=ATTACKER).status_code == 401
    token = base64.b64encode(API_KEY.encode()).decode()
    assert client.delete(PROTECTED, HTTP_AUTHORIZATION=f"Bearer {token}", REMOTE_ADDR=ATTACKER).status_code == 200
