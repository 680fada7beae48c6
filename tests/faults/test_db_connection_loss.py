"""Database connections killed under a running server (pg_terminate_backend): reads
are retried on a new connection, writes answer 503 with Retry-After, none is a 500.

Real gunicorn (`manage.py serve`, as users run it), real PostgreSQL backends
terminated by another connection while clients keep requesting.
"""

from __future__ import annotations

import base64
import collections
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
import requests
from django.db import connection

from tests.conftest import API_KEY
from tests.samples import cbz_bytes
from tests.samples import upload
from tests.workers import database_url
from tests.workers import web_server

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

AUTH = {"Authorization": "Bearer " + base64.b64encode(API_KEY.encode()).decode()}
READS_PER_PATH = 70


@pytest.fixture
def postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("terminates PostgreSQL backends; runs in the suite's PostgreSQL pass (DATABASE_URL set)")


class Terminator(threading.Thread):
    """Terminates every other backend on the test database, again and again."""

    def __init__(self, spare_pid: int) -> None:
        super().__init__(daemon=True)
        self.spare_pid = spare_pid
        self.halt = threading.Event()
        self.terminated = 0
        self.rounds = 0

    def run(self) -> None:
        rng = random.Random(0)
        with psycopg.connect(database_url(), autocommit=True) as conn:
            while not self.halt.is_set():
                rows = conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> %s",
                    [self.spare_pid],
                ).fetchall()
                self.terminated += sum(1 for (done,) in rows if done)
                self.rounds += 1
                time.sleep(rng.uniform(0.05, 0.25))


def test_terminated_backends_never_answer_500(client, auth_header, tmp_path: Path, postgresql):
    ids = []
    for seed, name in enumerate(["Summer Days.cbz", "Summer Nights.cbz", "Winter.cbz"]):
        r = upload(client, name, cbz_bytes(seed=seed), headers=auth_header, tags=f"season:{name.split()[0].lower()}")
        assert r.status_code == 200, r.content
        ids.append(r.json()["id"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        own_pid = cursor.fetchone()[0]

    reads = ["/api/archives", "/api/search?filter=summer", "/api/info", f"/api/archives/{ids[0]}/metadata"]
    statuses: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
    missing_retry_after = []
    with web_server(tmp_path) as url:
        session_local = threading.local()

        def call(method: str, path: str) -> None:
            if not hasattr(session_local, "session"):
                session_local.session = requests.Session()
            r = session_local.session.request(method, url + path, headers=AUTH, timeout=30)
            kind = "read" if method == "GET" else "write"
            statuses[kind][r.status_code] += 1
            if r.status_code == 503 and not r.headers.get("Retry-After"):
                missing_retry_after.append(path)
            if r.status_code == 200 and path == "/api/search?filter=summer":
                assert r.json()["recordsFiltered"] == 2

        terminator = Terminator(own_pid)
        terminator.start()
        started = time.monotonic()
        try:
            jobs = [("GET", path) for path in reads for _ in range(READS_PER_PATH)]
            jobs += [("PUT", f"/api/archives/{ids[2]}/metadata?title=Winter%20{n}") for n in range(40)]
            jobs += [("PUT", f"/api/archives/{ids[1]}/isnew") for _ in range(20)]
            random.Random(1).shuffle(jobs)
            with ThreadPoolExecutor(3) as pool:
                for future in [pool.submit(call, method, path) for method, path in jobs]:
                    future.result()
        finally:
            terminator.halt.set()
            terminator.join(10)
        elapsed = time.monotonic() - started
        log = "\n".join(p.read_text(errors="replace") for p in tmp_path.glob("*.log"))

    retried = log.count("retrying once")
    summary = (
        f"{dict(statuses)}; {terminator.terminated} backends terminated in {terminator.rounds} rounds,"
        f" {retried} reads retried, {elapsed:.1f} s"
    )
    print(summary)
    assert terminator.terminated >= 20, summary
    assert retried > 0, summary
    # A read is retried once; only one whose retry lost its connection too is a 503.
    assert set(statuses["read"]) <= {200, 503}, summary
    assert statuses["read"][503] <= len(reads) * READS_PER_PATH // 50, summary
    assert set(statuses["write"]) <= {200, 423, 503}, summary  # 423: another write holds the lock
    assert statuses["write"][200] > 0, summary
    assert not missing_retry_after
    assert '" 500 ' not in log, log[-4000:]  # gunicorn's access log
