"""Fixtures shared by the whole suite: isolated storages, API auth, the corpus."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from archives.config import config_changed
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
    storages["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    settings.STORAGES = storages
    (tmp_path / "upload-tmp").mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "upload-tmp")
    config_changed()
    yield
    config_changed()


@pytest.fixture
def auth_header() -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": bearer()}


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The standard corpus (all formats, small pages) plus the --evil files."""
    return ensure_corpus(CACHE / "corpus-small", evil=True)
