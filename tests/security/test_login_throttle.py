"""Wrong passwords on /login and /admin/login/ are throttled per user name and per address.

Real requests through the test client and real password checks; the only stand-ins
are a password hasher that counts its calls and, for the window's end, the clock.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.utils import timezone

pytestmark = pytest.mark.django_db

RIGHT = "the-right-password"
HASHER = f"{__name__}.CountingHasher"


class CountingHasher(MD5PasswordHasher):
    """MD5 (fast) that counts every hash it computes: a refused login must compute none."""

    calls = 0

    def encode(self, password, salt, *args, **kwargs):
        type(self).calls += 1
        return super().encode(password, salt, *args, **kwargs)


@pytest.fixture
def hasher(settings):
    settings.PASSWORD_HASHERS = [HASHER]
    CountingHasher.calls = 0
    return CountingHasher


@pytest.fixture
def admin_user(django_user_model, hasher):
    user = django_user_model.objects.create_superuser(username="admin", password=RIGHT)
    hasher.calls = 0
    return user


def login(client, username="admin", password="wrong", address="10.0.0.1", path="/login", **headers):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address, **headers)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_sixty_wrong_passwords_lock_the_account_and_the_right_one_too(client, admin_user, hasher):
    statuses = [login(client).status_code for _ in range(60)]
    assert statuses[:5] == [200] * 5  # "do not match"
    assert set(statuses[5:]) == {429}
    # Only the five counted attempts were hashed; the 55 refused ones cost nothing.
    assert hasher.calls == 5

    refused = login(client, password=RIGHT)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 800  # the 15-minute window that opened with the first failure
    assert b"Too many wrong passwords" in refused.content and b"15 minutes" in refused.content
    assert b"do not match" not in refused.content
    assert not logged_in(client)
    assert hasher.calls == 5


def test_the_user_name_is_locked_from_every_address(client, admin_user):
    for n in range(5):
        login(client, address=f"10.0.1.{n}")
    assert login(client, password=RIGHT, address="10.0.2.1").status_code == 429
    assert not logged_in(client)


def test_a_right_password_clears_the_user_names_count(client, admin_user):
    for _ in range(4):
        assert login(client).status_code == 200
    assert login(client, password=RIGHT).status_code == 302
    client.logout()
    for _ in range(4):
        assert login(client).status_code == 200
    assert login(client, password=RIGHT).status_code == 302


def test_one_address_is_locked_across_user_names(client, admin_user, hasher):
    for n in range(20):  # one wrong password each for 20 names: no name reaches its limit
        assert login(client, username=f"guess{n}").status_code == 200
    calls = hasher.calls
    assert login(client, password=RIGHT).status_code == 429
    assert login(client, username="guess99").status_code == 429
    assert hasher.calls == calls
    # The account itself is not locked: from elsewhere, it logs in.
    assert login(client, password=RIGHT, address="10.0.0.2").status_code == 302


def test_x_forwarded_for_is_ignored_by_default(client, admin_user):
    for n in range(20):
        login(client, username=f"guess{n}", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    assert login(client, password=RIGHT, HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429


def test_x_forwarded_for_is_honoured_behind_a_trusted_proxy(client, admin_user, settings):
    settings.HONDANA_TRUSTED_PROXIES = 1
    proxy = "127.0.0.1"
    for n in range(20):
        # The attacker writes its own X-Forwarded-For; the proxy appends the real address.
        login(client, username=f"guess{n}", address=proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.9")
    assert login(client, password=RIGHT, address=proxy, HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 429
    # Another client behind the same proxy is not the attacker.
    assert login(client, password=RIGHT, address=proxy, HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 302


def test_the_admin_login_is_throttled_too(client, admin_user, hasher):
    for _ in range(3):
        login(client, path="/login")
    for _ in range(2):
        response = login(client, path="/admin/login/")
        assert response.status_code == 200 and b"correct username and password" in response.content
    assert hasher.calls == 5  # /login and /admin/login/ count against the same name

    refused = login(client, password=RIGHT, path="/admin/login/")
    assert b"Too many wrong passwords" in refused.content
    assert not logged_in(client)
    assert hasher.calls == 5
    assert client.get("/admin/").status_code == 302


def test_the_lockout_ends_with_its_window(client, admin_user, settings, monkeypatch):
    settings.HONDANA_LOGIN_WINDOW = 60
    now = timezone.now()
    monkeypatch.setattr("archives.throttle._now", lambda: now)
    for _ in range(5):
        login(client)
    refused = login(client, password=RIGHT)
    assert refused.status_code == 429 and refused["Retry-After"] == "60"
    assert b"1 minute" in refused.content

    now += timedelta(seconds=59)
    assert login(client, password=RIGHT)["Retry-After"] == "1"
    now += timedelta(seconds=1)
    assert login(client, password=RIGHT).status_code == 302
    assert logged_in(client)


def test_an_empty_password_is_not_counted(client, admin_user, hasher):
    for _ in range(10):
        assert login(client, password="").status_code == 200
    assert hasher.calls == 0
    assert login(client, password=RIGHT).status_code == 302


def test_the_owner_lifts_a_lockout_with_hondana_unlock(client, admin_user):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    for _ in range(5):
        login(client)
    assert login(client, password=RIGHT).status_code == 429
    with pytest.raises(CommandError):
        call_command("hondana_unlock")
    call_command("hondana_unlock", "someone-else")
    assert login(client, password=RIGHT, address="10.0.0.9").status_code == 429
    call_command("hondana_unlock", "admin")
    assert login(client, password=RIGHT, address="10.0.0.9").status_code == 302
