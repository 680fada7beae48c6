"""Loaded with -p before pytest-django reads settings: keep tests out of ./data.

Each xdist worker gets its own data folder (database file, storages, broker).
"""

import os
from pathlib import Path

_root = Path(__file__).resolve().parent.parent
_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
os.environ["HONDANA_DATA_DIR"] = str(_root / ".test-data" / _worker)
os.environ.setdefault("HONDANA_API_KEY", "hondana-test-key")
os.environ.setdefault("HONDANA_ADMIN_PASSWORD", "hondana-test-password")
