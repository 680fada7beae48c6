"""Redis going away (killed, or hung) costs the cache, never an answer.

A private redis-server per test, killed and stopped for real; the API is driven
through Django's test client with the project's cache backend pointed at it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest
import redis

from archives.reading import forget_readers
from tests.samples import cbz_bytes
from tests.samples import upload

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs the redis-server binary"),
]

PREFIX = "hondana-faults"
ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A throw-away redis-server on a fixed port that can be killed and started again."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(
            [*cmd, "--dir", str(self.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGCONT)
            self.kill()

    def keys(self, pattern: str) -> list[bytes]:
        return redis.Redis.from_url(self.url, socket_timeout=1).keys(f"{PREFIX}:*{pattern}*")


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def use_cache(settings, server: RedisServer, *, pause: float) -> None:
    """The project's cache settings (config/settings.py) pointed at `server`.

    Assigning CACHES makes Django drop its cache objects, so the next use builds one.
    """
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.FallbackRedisCache",
            "LOCATION": server.url,
            "KEY_PREFIX": PREFIX,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1, "outage_pause": pause},
        }
    }


@pytest.fixture
def redis_cache(settings, redis_server: RedisServer) -> RedisServer:
    # A shorter pause than production's 5 s, so that recovery is seen within the test.
    use_cache(settings, redis_server, pause=1)
    return redis_server


def cache_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "config.cache" and r.levelno >= logging.WARNING]


def test_settings_use_the_fallback_backend_with_short_timeouts():
    """What production gets when REDIS_URL is set."""
    code = "import json, config.settings as s; print(json.dumps(s.CACHES['default']))"
    env = {**os.environ, "REDIS_URL": "redis://127.0.0.1:1/0"}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, check=True, text=True)
    default = json.loads(out.stdout.strip().splitlines()[-1])
    assert default["BACKEND"] == "config.cache.FallbackRedisCache"
    assert default["OPTIONS"]["socket_connect_timeout"] <= 2
    assert default["OPTIONS"]["socket_timeout"] <= 2
    assert default["OPTIONS"]["outage_pause"] >= 1


def library(client, auth_header) -> dict[str, str]:
    ids = {}
    for name, seed in (("Summer Days.cbz", 1), ("Winter Nights.cbz", 2), ("Autumn Leaves.cbz", 3)):
        r = upload(client, name, cbz_bytes(seed=seed), headers=auth_header, tags="season:" + name.split()[0].lower())
        assert r.status_code == 200, r.content
        ids[name.split()[0].lower()] = r.json()["id"]
    return ids


def snapshot(client, ids: dict[str, str]) -> dict[str, object]:
    """The answers every phase of the outage must reproduce (status and body)."""
    answers: dict[str, object] = {}
    for path in (
        "/api/search?filter=season:summer",
        "/api/search?filter=nights",
        "/api/search",
        "/api/archives",
        f"/api/archives/{ids['autumn']}/files",
    ):
        r = client.get(path)
        assert r.status_code == 200, (path, r.content)
        answers[path] = r.json()
    return answers


def read_first_page(client, arcid: str) -> bytes:
    forget_readers()  # the page list comes from the cache, not from this process's memory
    files = client.get(f"/api/archives/{arcid}/files")
    assert files.status_code == 200, files.content
    page = client.get(files.json()["pages"][0])
    assert page.status_code == 200
    return page.getvalue()


def edit_title(client, auth_header, arcid: str, title: str) -> None:
    r = client.put(f"/api/archives/{arcid}/metadata?title={title}", **auth_header)
    assert r.status_code == 200, r.content
    assert r.json()["success"] == 1


def test_killed_redis_is_one_warning_and_no_failed_request(client, auth_header, redis_cache, caplog):
    caplog.set_level(logging.INFO, logger="config.cache")
    server = redis_cache
    ids = library(client, auth_header)
    before = snapshot(client, ids)
    first_page = read_first_page(client, ids["summer"])
    assert server.keys("hondana:search:"), "searches are cached in Redis while it is up"
    assert server.keys("hondana:pages:")

    server.kill()

    # Several rounds, longer than the pause: the breaker lets a probe through now and then.
    deadline = time.monotonic() + 2.5
    rounds = 0
    while time.monotonic() < deadline or rounds < 3:
        assert snapshot(client, ids) == before
        assert read_first_page(client, ids["summer"]) == first_page
        rounds += 1
    edit_title(client, auth_header, ids["winter"], "Frozen Nights")
    during = client.get("/api/search?filter=frozen")
    assert during.status_code == 200
    assert [a["arcid"] for a in during.json()["data"]] == [ids["winter"]]
    assert client.get("/api/search?filter=nights").json()["recordsFiltered"] == 1  # tags still match
    warnings = cache_warnings(caplog)
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "unreachable" in warnings[0].getMessage()
    assert f"127.0.0.1:{server.port}" in warnings[0].getMessage()

    server.start()  # same port, empty
    time.sleep(1.1)  # the pause, after which one request probes Redis again
    after = client.get("/api/search?filter=season:summer")
    assert after.status_code == 200
    assert after.json() == before["/api/search?filter=season:summer"]
    assert server.keys("hondana:search:"), "the cache is used again once Redis is back"
    assert read_first_page(client, ids["summer"]) == first_page
    assert server.keys("hondana:pages:")
    assert len(cache_warnings(caplog)) == 1
    back = [r for r in caplog.records if r.name == "config.cache" and r.levelno == logging.INFO]
    assert len(back) == 1 and "back" in back[0].getMessage()


def test_hung_redis_costs_at_most_one_timeout_per_pause(client, auth_header, settings, redis_server, caplog):
    """A Redis that accepts connections and never answers (SIGSTOP): every request
    answers in bounded time, and only a probe per pause waits for the socket timeout."""
    server = redis_server
    use_cache(settings, server, pause=5)  # production's pause
    ids = library(client, auth_header)
    before = snapshot(client, ids)
    assert server.proc is not None
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        timings = []
        for _ in range(4):
            for path, body in before.items():
                started = time.monotonic()
                r = client.get(path)
                timings.append(time.monotonic() - started)
                assert r.status_code == 200, (path, r.content)
                assert r.json() == body
        assert max(timings) < 3, timings
        # 20 requests within one pause: the first waited for the timeout, the rest skipped Redis.
        assert sum(t > 0.5 for t in timings) <= 2, timings
        assert len(cache_warnings(caplog)) == 1
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)


def test_outage_answers_like_an_empty_cache(redis_cache):
    """The whole cache API during an outage: misses, dropped writes, no exception."""
    from django.core.cache import cache

    cache.set("k", 1)
    assert cache.get("k") == 1
    redis_cache.kill()
    assert cache.get("k", "default") == "default"
    assert cache.get_many(["k", "j"]) == {}
    assert cache.set("k", 2) is None
    assert cache.add("j", 1) is False
    assert cache.has_key("k") is False
    assert cache.touch("k") is False
    assert cache.delete("k") is False
    assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]
    assert cache.delete_many(["a", "b"]) is None
    assert cache.get_or_set("g", 5) == 5
    with pytest.raises(ValueError):
        cache.incr("k")
    with pytest.raises(ValueError):
        cache.decr("k")
    assert cache.clear() is False
