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
# Parallel test processes must not share a queue or a cache: each gets its own
# queue name, and on Redis its own database (the given one plus the worker number).
os.environ["HONDANA_QUEUE"] = f"hondana-test-{_worker}"
os.environ["HONDANA_CACHE_PREFIX"] = f"hondana-test-{_worker}"
if os.environ.get("REDIS_URL"):
    _base, _, _db = os.environ["REDIS_URL"].rpartition("/")
    _offset = int(_worker[2:]) if _worker.startswith("gw") else 0
    os.environ["REDIS_URL"] = f"{_base}/{(int(_db or 0) + _offset) % 16}"

# A worker killed by a test can leave the SQLite test database's -wal/-shm files
# behind; pytest-django recreates only the main file, and SQLite must never meet a
# stale write-ahead log from a previous run.
for _stale in (_root / ".test-data" / _worker).glob("test-hondana.sqlite3*"):
    _stale.unlink()
