"""`manage.py serve` supervises gunicorn and the Celery worker: a child killed with
`kill -9` comes back without taking the other down, and Ctrl-C stops everything."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest

from archives.supervise import Backoff
from archives.supervise import ChildSpec
from archives.supervise import Supervisor
from tests.conftest import bearer
from tests.workers import process_alive
from tests.workers import process_tree
from tests.workers import purge_queue
from tests.workers import served


def wait_for[T](what: Callable[[], T], timeout: float, tick: Callable[[], None] = lambda: None) -> T:
    deadline = time.monotonic() + timeout
    while not (result := what()):
        assert time.monotonic() < deadline, "timed out"
        tick()
        time.sleep(0.2)
    return result


def child(serve_pid: int, word: str) -> int | None:
    """The direct child of serve whose command line has `word` (celery, gunicorn)."""
    grandchildren = {p for pid in process_tree(serve_pid) for p in process_tree(pid)}
    for pid, cmdline in process_tree(serve_pid).items():
        if word in cmdline and pid not in grandchildren:
            return pid
    return None


def get(url: str, headers: dict[str, str] | None = None, data: bytes | None = None) -> dict:
    request = urllib.request.Request(url, data=data, headers=headers or {}, method="GET" if data is None else "POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"{exc.code} from {url}: {exc.read()[:500]!r}") from exc


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_serve_restarts_killed_children_and_stops_cleanly(tmp_path):
    purge_queue()
    with served(tmp_path) as (serve, url):
        wait_for(lambda: serve.output().count(" ready.") >= 1, 60)
        pid = serve.proc.pid
        old_worker = child(pid, "celery")
        assert old_worker, process_tree(pid)
        pool = set(process_tree(old_worker))
        assert pool, "celery's prefork pool"

        # The worker dies; the web answers all along and a new worker takes jobs.
        outages: list[str] = []

        def web_answers() -> bool:
            try:
                get(f"{url}/api/info")
            except OSError as exc:
                outages.append(repr(exc))
                return False
            return True

        os.kill(old_worker, signal.SIGKILL)
        wait_for(lambda: serve.output().count(" ready.") >= 2, 60, tick=web_answers)
        assert not outages, outages
        new_worker = child(pid, "celery")
        assert new_worker and new_worker != old_worker
        log = serve.output()
        assert f"serve: worker (pid {old_worker}) killed by SIGKILL" in log
        assert "restarting in 1s" in log and f"serve: worker restarted (pid {new_worker})" in log
        assert not [p for p in pool if process_alive(p)], "the old pool was not killed"

        auth = {"Authorization": bearer()}
        job = get(f"{url}/api/minion/build_stat_hashes/queue?args=[]", auth, data=b"")["job"]
        status = wait_for(lambda: (s := get(f"{url}/api/minion/{job}"))["state"] in {"finished", "failed"} and s, 60)
        assert status["state"] == "finished", serve.output()

        # The web dies; it comes back on the same port, the worker untouched.
        old_web = child(pid, "gunicorn")
        assert old_web
        web_workers = set(process_tree(old_web))
        assert web_workers, "gunicorn's workers"
        os.kill(old_web, signal.SIGKILL)
        wait_for(lambda: f"serve: web (pid {old_web}) killed by SIGKILL" in serve.output(), 10)
        wait_for(web_answers, 30)
        new_web = child(pid, "gunicorn")
        assert new_web and new_web != old_web
        assert child(pid, "celery") == new_worker
        assert not [p for p in web_workers if process_alive(p)], "the old web workers were not killed"

        # Ctrl-C stops both and serve exits 0, leaving no process behind.
        everyone = process_tree(pid)
        os.kill(pid, signal.SIGINT)
        assert serve.proc.wait(timeout=30) == 0, serve.output()
        left = {p: cmd for p, cmd in everyone.items() if process_alive(p)}
        assert not left, left
        assert "SIGINT received; stopping" in serve.output()
        assert "restarted" not in serve.output().partition("SIGINT received")[2]


def test_a_child_failing_fast_is_given_up_with_a_clear_message():
    lines: list[str] = []
    specs = [
        ChildSpec("web", [sys.executable, "-c", "raise SystemExit(3)"], give_up_after=3, hint="Port in use?"),
        ChildSpec("worker", [sys.executable, "-c", "import time; time.sleep(60)"]),
    ]
    supervisor = Supervisor(specs, log=lines.append, backoff=lambda: Backoff(first=0.1, ceiling=0.2))
    started = time.monotonic()
    assert supervisor.run() == 1
    assert time.monotonic() - started < 15
    assert len(lines) == 5, lines
    assert lines[0].startswith("serve: web (pid ") and lines[0].endswith("s; restarting in 0.1s.")
    assert "exited with code 3 after " in lines[0]
    assert lines[1].startswith("serve: web restarted (pid ")
    assert lines[2].endswith("s; restarting in 0.2s.")
    assert "failed 3 times in a row" in lines[-1] and "Giving up. Port in use?" in lines[-1]
    assert not any("worker" in line for line in lines)
    sleeper = supervisor.children[1]
    assert sleeper.proc is None and sleeper.returncode == -signal.SIGTERM


def test_backoff_doubles_to_a_ceiling_and_resets_after_a_long_run():
    backoff = Backoff()
    assert [backoff.delay(ran_for=0.5) for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay(ran_for=61) == 1
    assert backoff.delay(ran_for=5) == 2
