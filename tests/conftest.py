"""Fixtures shared by the whole suite: isolated storages, API auth, the corpus."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from django.core.cache import cache

from archives.config import config_changed
from archives.config import forget_env_pins
from archives.reading import forget_readers
from tests.corpus import ensure_corpus

API_KEY = os.environ["HONDANA_API_KEY"]
ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"


def bearer(key: str = API_KEY) -> str:
    return "Bearer " + base64.b64encode(key.encode()).decode()


@pytest.fixture(autouse=True)
def _isolated_files(settings, tmp_path: Path):
    """Every test gets empty archive and thumbnail storages and its own upload spool."""
    storages = {name: dict(conf) for name, conf in settings.STORAGES.items()}
    storages["archives"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "archives")},
    }
    storages["thumbnails"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "thumbnails"), "allow_overwrite": True},
    }
    storages["pagecache"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "pagecache"), "allow_overwrite": True},
    }
    storages["backups"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "backups"), "allow_overwrite": True},
    }
    storages["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    settings.STORAGES = storages
    (tmp_path / "upload-tmp").mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "upload-tmp")
    # Real password hashing costs over a second per user; tests need no key stretching.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    config_changed()
    cache.clear()
    yield
    config_changed()
    forget_readers()


@pytest.fixture(autouse=True)
def _jobs_run_inline(request):
    """Jobs run inline in unit tests; integration tests start a real worker instead."""
    from config.celery import app

    eager = request.node.get_closest_marker("integration") is None
    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = eager
    # As with a real worker, a failing job is recorded on its Job row; it never
    # turns the request that queued it into an error.
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture
def auth_header() -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": bearer()}


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The standard corpus (all formats, small pages) plus the --evil files."""
    return ensure_corpus(CACHE / "corpus-small", evil=True)


@pytest.fixture
def pin_env(monkeypatch):
    """pin_env(HONDANA_NOFUNMODE="1") sets server setting pins for one test.

    The pins are parsed once per process, so this parses them again, before and after.
    """

    def pin(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        forget_env_pins()

    yield pin
    monkeypatch.undo()
    forget_env_pins()
