"""Server settings: the ServerConfig model is their one description; the runtime view
(archives.config), the settings page, the admin and the environment pins follow it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from dataclasses import fields
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from archives.config import Config
from archives.config import env_pin_errors
from archives.config import get_config
from archives.config import setting_fields
from archives.models import ServerConfig
from archives.models import ServerCounters
from reader.forms import SettingsForm

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_in_exactly_one_group():
    grouped = Counter(name for names in ServerConfig.GROUPS.values() for name in names)
    settings = {f.name for f in setting_fields()}
    assert settings - set(grouped) == set(), "add these fields to ServerConfig.GROUPS"
    assert set(grouped) - settings == set(), "ServerConfig.GROUPS names fields that are not settings"
    assert [name for name, count in grouped.items() if count > 1] == []


def test_the_runtime_view_is_the_settings_row():
    columns = [f for f in ServerConfig._meta.concrete_fields if not f.primary_key]
    assert [f.name for f in fields(Config)] == [f.name for f in columns]
    assert "api_key_hash" not in {f.name for f in setting_fields()}


@pytest.mark.django_db
def test_a_fresh_server_has_the_models_defaults(settings):
    settings.HONDANA_API_KEY = ""
    config = get_config()
    for field in setting_fields():
        assert getattr(config, field.name) == field.get_default(), field.name
    assert config.excluded_namespace_list == ["source", "date_added"]
    assert config.server_tracks_progress is True


def test_the_settings_form_shows_every_setting_as_the_model_describes_it():
    form = SettingsForm()
    assert set(form.fields) == {f.name for f in setting_fields()}
    for field in setting_fields():
        assert form.fields[field.name].label.lower() == str(field.verbose_name).lower(), field.name
        assert form.fields[field.name].help_text == field.help_text, field.name
    assert [(title, [b.name for b in bound]) for title, bound in form.groups()] == [
        (title, list(names)) for title, names in ServerConfig.GROUPS.items()
    ]
    per_page = form.fields["archives_per_page"].widget.attrs
    assert (per_page["min"], per_page["max"]) == (1, 1000)


@pytest.mark.django_db
def test_a_pin_wins_over_the_row_and_is_parsed_once(pin_env, monkeypatch):
    ServerConfig.objects.update_or_create(pk=1, defaults={"archives_per_page": 20, "nofunmode": False})
    pin_env(HONDANA_ARCHIVES_PER_PAGE="7", HONDANA_NOFUNMODE="yes", HONDANA_NAME="Pinned")
    config = get_config()
    assert (config.archives_per_page, config.nofunmode, config.name) == (7, True, "Pinned")
    # A reload (a saved row, the cache's TTL) reads the row again, not the environment.
    monkeypatch.setenv("HONDANA_ARCHIVES_PER_PAGE", "9")
    ServerConfig.objects.get(pk=1).save()
    assert get_config().archives_per_page == 7


@pytest.mark.django_db
def test_an_empty_number_pins_nothing(pin_env):
    pin_env(HONDANA_TEMPMAXSIZE="")
    assert get_config().tempmaxsize == 500
    assert not SettingsForm().fields["tempmaxsize"].disabled


@pytest.mark.django_db
def test_a_bad_pin_is_named_and_never_read_as_a_default(pin_env):
    pin_env(HONDANA_NOFUNMODE="maybe", HONDANA_ARCHIVES_PER_PAGE="0")
    nofun, per_page = env_pin_errors()  # in the model's field order
    assert nofun == "HONDANA_NOFUNMODE must be a boolean (1/0, true/false), got 'maybe'"
    assert per_page == "HONDANA_ARCHIVES_PER_PAGE: Ensure this value is greater than or equal to 1. Got '0'."
    with pytest.raises(ImproperlyConfigured, match="HONDANA_NOFUNMODE"):
        get_config()


def _manage_check(**env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in {"HONDANA_NOFUNMODE", "HONDANA_ARCHIVES_PER_PAGE"}}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_manage_py_check_refuses_a_bad_pin():
    run = _manage_check(HONDANA_NOFUNMODE="maybe", HONDANA_ARCHIVES_PER_PAGE="abc")
    assert run.returncode != 0
    assert "(hondana.E001) HONDANA_NOFUNMODE must be a boolean (1/0, true/false), got 'maybe'" in run.stderr
    assert "(hondana.E001) HONDANA_ARCHIVES_PER_PAGE must be an integer, got 'abc'" in run.stderr


def test_manage_py_check_accepts_good_pins():
    run = _manage_check(HONDANA_NOFUNMODE="yes", HONDANA_ARCHIVES_PER_PAGE="50")
    assert run.returncode == 0, run.stderr
    assert "hondana.E001" not in run.stdout + run.stderr


@pytest.mark.django_db
def test_saving_the_settings_never_writes_an_old_count_back(client, auth_header):
    stale = ServerConfig.objects.get_or_create(pk=1)[0]
    ServerCounters.bump(total_pages_read=5)
    form = SettingsForm(
        {**{f.name: getattr(stale, f.name) for f in setting_fields()}, "name": "Renamed"}, instance=stale
    )
    assert form.is_valid(), form.errors
    form.save()
    assert ServerCounters.current().total_pages_read == 5
    info = client.get("/api/info", **auth_header).json()
    assert (info["name"], info["total_pages_read"]) == ("Renamed", 5)


@pytest.mark.django_db(transaction=True)
def test_the_counter_row_is_made_by_its_first_bump():
    ServerCounters.objects.all().delete()
    assert ServerCounters.current().total_pages_read == 0
    ServerCounters.bump(total_pages_read=1)
    ServerCounters.bump(total_pages_read=2)
    assert list(ServerCounters.objects.values_list("pk", "total_pages_read")) == [(1, 3)]


@pytest.mark.django_db
def test_the_admin_never_writes_an_old_count_back_and_shows_pins_fixed(client, django_user_model, pin_env):
    client.force_login(django_user_model.objects.create_superuser(username="boss", password=None))
    pin_env(HONDANA_ENABLECORS="1")
    stale = ServerConfig.objects.get_or_create(pk=1)[0]
    page = client.get("/admin/archives/serverconfig/1/change/")
    assert "enablecors" not in page.context["adminform"].form.fields
    ServerCounters.bump(total_pages_read=3)
    data = {f.name: getattr(stale, f.name) for f in setting_fields() if f.name != "enablecors"}
    data = {name: value for name, value in data.items() if value is not False} | {"motd": "Hello"}
    response = client.post("/admin/archives/serverconfig/1/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assert ServerConfig.objects.get(pk=1).motd == "Hello"
    assert ServerCounters.current().total_pages_read == 3
