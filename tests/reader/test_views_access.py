"""Who sees which page: the API's rules (No-Fun, password protection) applied to HTML."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from tests.library import make_archive

pytestmark = pytest.mark.django_db

MEMBER_PAGES = ["/upload", "/categories", "/jobs", "/batch"]


def test_library_and_reader_are_public(client):
    arcid = make_archive("Public", "artist:a")
    assert client.get("/").status_code == 200
    assert client.get(f"/reader?id={arcid}").status_code == 200
    assert client.get("/random").status_code == 302


@pytest.mark.parametrize("path", ["/", "/reader?id=" + "a" * 40, "/random", *MEMBER_PAGES, "/settings"])
def test_no_fun_mode_sends_every_page_to_the_login(client, server_config, path):
    server_config(nofunmode=True)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=")


def test_no_fun_mode_lets_a_logged_in_user_read(member_client, server_config):
    server_config(nofunmode=True)
    arcid = make_archive("Private")
    assert member_client.get("/").status_code == 200
    assert member_client.get(f"/reader?id={arcid}").status_code == 200


def test_the_login_page_stays_reachable_in_no_fun_mode(client, server_config):
    server_config(nofunmode=True)
    assert client.get("/login").status_code == 200


@pytest.mark.parametrize("path", MEMBER_PAGES)
def test_managing_needs_a_login(client, member_client, path):
    anonymous = client.get(path)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login?next=")
    assert member_client.get(path).status_code == 200


def test_the_edit_page_needs_a_login(client, member_client):
    arcid = make_archive("Editable")
    assert client.get(f"/edit?id={arcid}").status_code == 302
    assert member_client.get(f"/edit?id={arcid}").status_code == 200


def test_without_password_protection_managing_is_open_but_settings_are_not(client, server_config):
    server_config(enablepass=False)
    for path in MEMBER_PAGES:
        assert client.get(path).status_code == 200, path
    assert client.get("/settings").status_code == 302


def test_settings_are_for_staff(client, member_client, admin_client):
    assert client.get("/settings").status_code == 302
    assert member_client.get("/settings").status_code == 403
    assert admin_client.get("/settings").status_code == 200


def test_settings_save_the_server_config(admin_client):
    from archives.config import get_config

    page = admin_client.get("/settings")
    form = page.context["form"]
    data = {name: value for name, value in form.initial.items() if name in form.fields and value is not False}
    data.update({"nofunmode": "on", "archives_per_page": "50", "name": "My shelf"})
    response = admin_client.post("/settings", data)
    assert response.status_code == 302, response.context["form"].errors if response.context else ""
    config = get_config()
    assert config.nofunmode is True and config.archives_per_page == 50 and config.name == "My shelf"


def test_settings_refuse_a_bad_page_size(admin_client):
    page = admin_client.get("/settings")
    form = page.context["form"]
    data = {name: value for name, value in form.initial.items() if name in form.fields and value is not False}
    data["archives_per_page"] = "0"
    response = admin_client.post("/settings", data)
    assert response.status_code == 200 and "archives_per_page" in response.context["form"].errors


def test_a_setting_pinned_by_the_environment_is_shown_fixed(admin_client, pin_env):
    pin_env(HONDANA_ENABLECORS="1")
    form = admin_client.get("/settings").context["form"]
    assert form.fields["enablecors"].disabled
    assert "HONDANA_ENABLECORS" in form.fields["enablecors"].help_text
    assert not form.fields["nofunmode"].disabled


def test_the_first_run_admin_logs_in_and_out(client, settings):
    call_command("hondana_init", stdout=open("/dev/null", "w"))  # noqa: SIM115
    login = client.get("/login")
    assert login.context["form"].initial["username"] == settings.HONDANA_ADMIN_USER
    response = client.post(
        "/login?next=/upload", {"username": settings.HONDANA_ADMIN_USER, "password": settings.HONDANA_ADMIN_PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == "/upload"
    assert client.get("/upload").status_code == 200
    # The session is API auth too.
    assert client.get("/api/database/backup").status_code == 200
    assert client.get("/logout").status_code == 302
    assert client.get("/upload").status_code == 302


def test_a_wrong_password_shows_the_form_again(client):
    call_command("hondana_init", stdout=open("/dev/null", "w"))  # noqa: SIM115
    response = client.post("/login", {"username": "admin", "password": "nope"})
    assert response.status_code == 200 and b"do not match" in response.content


def test_logout_by_post(admin_client):
    assert admin_client.post("/logout").status_code == 302
    assert admin_client.get("/jobs").status_code == 302


def test_the_nav_shows_management_links_to_members_only(client, member_client):
    anonymous = client.get("/").content.decode()
    assert 'href="/upload"' not in anonymous and "Log in" in anonymous
    member = member_client.get("/").content.decode()
    assert 'href="/upload"' in member and 'href="/settings"' not in member
