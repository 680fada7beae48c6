"""Loaded with -p before pytest-django reads settings: keep tests out of ./data.

Every test run, and every xdist worker in it, gets its own data folder (database
file, broker, spool), so that two runs in the same checkout never share one.
"""

import os
import shutil
import time
from pathlib import Path

_root = Path(__file__).resolve().parent.parent
_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
_run = os.environ.get("PYTEST_XDIST_TESTRUNUID", "")[:8] or str(os.getpid())
_data = _root / ".test-data" / f"{_run}-{_worker}"

# Folders of earlier runs that ended without cleaning up (killed, crashed).
for _old in (_root / ".test-data").glob("*"):
    if _old.is_dir() and time.time() - _old.stat().st_mtime > 6 * 3600:
        shutil.rmtree(_old, ignore_errors=True)

os.environ["HONDANA_DATA_DIR"] = str(_data)
os.environ["HONDANA_TEST_RUN"] = _run
os.environ.setdefault("HONDANA_API_KEY", "hondana-test-key")
os.environ.setdefault("HONDANA_ADMIN_PASSWORD", "hondana-test-password")
# Real workers started by tests scan the content folder only when a test asks.
os.environ.setdefault("HONDANA_WATCH_INTERVAL", "0")
# Parallel test processes must not share a queue or a cache: each gets its own
# queue name, and on Redis its own database (the given one plus the worker number).
os.environ["HONDANA_QUEUE"] = f"hondana-test-{_run}-{_worker}"
os.environ["HONDANA_CACHE_PREFIX"] = f"hondana-test-{_run}-{_worker}"
if os.environ.get("REDIS_URL"):
    _base, _, _db = os.environ["REDIS_URL"].rpartition("/")
    _offset = int(_worker[2:]) if _worker.startswith("gw") else 0
    os.environ["REDIS_URL"] = f"{_base}/{(int(_db or 0) + _offset) % 16}"


def pytest_unconfigure(config: object) -> None:
    shutil.rmtree(_data, ignore_errors=True)
