"""Fixtures for the archive-format tests: real archives, no Django.

These tests run with or without pytest-django (`-p no:django`), so nothing here
may need Django settings or a database.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.corpus import ensure_corpus

CORPUS_DIR = Path(__file__).resolve().parents[2] / ".cache" / "corpus-small"


@pytest.fixture(autouse=True)
def _isolated_files() -> None:
    """Shadows the suite-wide autouse fixture of the same name, which needs Django
    settings; format modules never touch Django storages."""


def load_corpus() -> tuple[Path, dict[str, Any]]:
    """The small corpus with its evil files, built once and cached under .cache/."""
    root = ensure_corpus(CORPUS_DIR, evil=True)
    return root, json.loads((root / "manifest.json").read_text())


@pytest.fixture(scope="session")
def corpus() -> Path:
    return load_corpus()[0]


@pytest.fixture(scope="session")
def evil(corpus: Path) -> Path:
    return corpus / "evil"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # One test per corpus archive, named after its file; the corpus is built at
    # collection time (once, then cached).
    if "corpus_entry" in metafunc.fixturenames:
        root, manifest = load_corpus()
        entries = [dict(entry, path=root / entry["file"]) for entry in manifest["archives"]]
        metafunc.parametrize("corpus_entry", entries, ids=[e["file"] for e in entries])
