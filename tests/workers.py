"""Start a real Celery worker process against the test database and broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextlib import suppress
from pathlib import Path

from django.conf import settings
from django.core.files.storage import storages
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def purge_queue() -> None:
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)


class WorkerProcess:
    def __init__(self, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.proc = proc
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and children), like a crash or power cut."""
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def process_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a process that shares this test's database and storages."""
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "HONDANA_CONTENT_DIR": storages["archives"].location,
        "HONDANA_THUMBNAIL_DIR": storages["thumbnails"].location,
        "HONDANA_PAGECACHE_DIR": storages["pagecache"].location,
        "HONDANA_JOB_HEARTBEAT": "1",
        "HONDANA_JOB_LOST_AFTER": str(settings.HONDANA_JOB_LOST_AFTER),
        "HONDANA_JOB_REAP_EVERY": "1",
        **(extra or {}),
    }


@contextmanager
def celery_worker(
    tmp_path: Path, *, concurrency: int = 1, env: dict[str, str] | None = None
) -> Iterator[WorkerProcess]:
    """A worker on this test's database, storages and queue; stopped on exit."""
    log = tmp_path / f"worker-{uuid.uuid4().hex[:6]}.log"
    worker_env = process_env(env)
    cmd = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO",
        "--concurrency", str(concurrency), "-Q", settings.CELERY_TASK_DEFAULT_QUEUE,
        "-n", f"test-{uuid.uuid4().hex[:8]}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=worker_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    worker = WorkerProcess(proc, log)
    deadline = time.monotonic() + 60
    while "ready." not in worker.output():
        if proc.poll() is not None or time.monotonic() > deadline:
            worker.stop()
            raise RuntimeError(f"Celery worker did not start:\n{worker.output()}")
        time.sleep(0.2)
    try:
        yield worker
    finally:
        worker.stop()


@contextmanager
def web_server(tmp_path: Path, *, env: dict[str, str] | None = None) -> Iterator[str]:
    """`manage.py serve --no-worker` (gunicorn, as users run it) on this test's
    database and storages; yields its base URL."""
    with served(tmp_path, worker=False, env=env) as (_, url):
        yield url


def process_tree(pid: int) -> dict[int, str]:
    """The live descendants of `pid` (pid -> command line), read from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rpartition(")")[2].split()
            if fields[0] not in "ZX":
                parents[int(stat.parent.name)] = int(fields[1])
    tree: dict[int, str] = {}
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in tree:
                with suppress(OSError):
                    tree[child] = (Path("/proc") / str(child) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                    frontier.append(child)
    return tree


def process_alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie does not)."""
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state not in "ZX"


@contextmanager
def served(
    tmp_path: Path, *, worker: bool = True, env: dict[str, str] | None = None
) -> Iterator[tuple[WorkerProcess, str]]:
    """`manage.py serve`, with its Celery worker unless `worker=False`, on this test's
    database, storages and queue; yields the serve process and its base URL."""
    import socket
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = tmp_path / f"serve-{uuid.uuid4().hex[:6]}.log"
    cmd = [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)]
    if not worker:
        cmd.append("--no-worker")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=process_env(env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = WorkerProcess(proc, log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/info", timeout=2):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"manage.py serve did not start:\n{server.output()}") from None
            time.sleep(0.2)
    try:
        yield server, url
    finally:
        server.stop()
