"""Helpers shared by the benchmarks: servers, streamed request bodies, RSS sampling, output.

Benchmarks start Hondana the way a user does (`manage.py serve`, which runs
gunicorn) in a temporary data folder, so they never touch ./data or a configured
database. This module does not import Django: the server runs in its own processes.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from contextlib import contextmanager
from contextlib import suppress
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
CACHE_DIR = ROOT / ".cache"
CHUNK = 1024 * 1024
MiB = 1024 * 1024
GiB = 1024 * MiB

# Settings that would point the server at the user's real database, broker or files.
_SCRUBBED_ENV = ("DATABASE_URL", "REDIS_URL", "HONDANA_STORAGE", "HONDANA_CONTENT_DIR", "WEB_CONCURRENCY")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bearer(key: str) -> str:
    return "Bearer " + base64.b64encode(key.encode()).decode()


def server_env(data_dir: Path, api_key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env.update(HONDANA_DATA_DIR=str(data_dir), HONDANA_API_KEY=api_key, PYTHONUNBUFFERED="1")
    return env


def migrate(data_dir: Path, api_key: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=server_env(data_dir, api_key),
        check=True,
    )


@dataclass
class Server:
    """A running web server: its URL and the gunicorn master whose workers serve it."""

    url: str
    host: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    api_key: str = ""

    def gunicorn(self) -> list[psutil.Process]:
        """The gunicorn master and its workers (not `manage.py serve`, which only waits)."""
        root = psutil.Process(self.process.pid)
        procs = [root, *root.children(recursive=True)]
        return [p for p in procs if _is_gunicorn(p)]

    def connection(self, timeout: float = 600) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)


def _is_gunicorn(proc: psutil.Process) -> bool:
    try:
        return any("gunicorn" in part for part in proc.cmdline()[:3])
    except psutil.Error:
        return False


@contextmanager
def hondana_server(data_dir: Path, *, api_key: str, workers: int) -> Iterator[Server]:
    """`manage.py serve --no-worker` on a free port, stopped (with its gunicorn) on exit."""
    port = free_port()
    cmd = [
        sys.executable,
        "manage.py",
        "serve",
        "--no-worker",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    with _running(cmd, data_dir, api_key, port, name="hondana", ready_path="/api/info") as server:
        yield server


@contextmanager
def sink_server(data_dir: Path, *, workers: int) -> Iterator[Server]:
    """The baseline: gunicorn with `manage.py serve`'s worker settings, serving sink_app."""
    port = free_port()
    sink_dir = data_dir / "sink"
    sink_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "bench.common:sink_app",
        "--bind",
        f"127.0.0.1:{port}",
        # The same worker model as manage.py serve, so only the application differs.
        "--worker-class",
        "gthread",
        "--workers",
        str(workers),
        "--threads",
        "8",
        "--timeout",
        "120",
    ]
    with _running(
        cmd, data_dir, "", port, name="sink", ready_path="/", extra_env={"BENCH_SINK_DIR": str(sink_dir)}
    ) as s:
        yield s


@contextmanager
def _running(
    cmd: list[str],
    data_dir: Path,
    api_key: str,
    port: int,
    *,
    name: str,
    ready_path: str,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Server]:
    log = data_dir / f"{name}-{port}.log"
    env = {**server_env(data_dir, api_key), **(extra_env or {})}
    with log.open("wb") as out:
        # A session of its own: Ctrl-C reaches only the benchmark, which then stops it.
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", "127.0.0.1", port, process, log, api_key)
    try:
        _wait_ready(server, ready_path)
        yield server
    finally:
        _stop(process)


def _wait_ready(server: Server, path: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    headers = {"Authorization": bearer(server.api_key)} if server.api_key else {}
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            conn = server.connection(timeout=2)
            conn.request("GET", path, headers=headers)
            if conn.getresponse().status == 200:
                conn.close()
                if server.gunicorn():
                    return
        except OSError:
            pass
        time.sleep(0.2)
    tail = server.log.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"{server.url} did not start; its log ends with:\n{tail}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
    # Its own session holds only what it started (gunicorn and workers).
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def sink_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """A trivial WSGI app: read the body in 1 MB chunks, SHA-1 it, write it to a new file.

    The floor for an upload on this machine: the same HTTP server and bytes, with
    none of Django, multipart parsing, archive checks or the database.
    """
    stream = environ["wsgi.input"]
    left = int(environ.get("CONTENT_LENGTH") or 0)
    digest = hashlib.sha1()
    sink_dir = os.environ.get("BENCH_SINK_DIR") or tempfile.gettempdir()
    with open(os.path.join(sink_dir, uuid.uuid4().hex), "wb") as out:
        while left > 0:
            chunk = stream.read(min(left, CHUNK))
            if not chunk:
                break
            digest.update(chunk)
            out.write(chunk)
            left -= len(chunk)
    body = json.dumps({"sha1": digest.hexdigest()}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


class MultipartBody:
    """A multipart/form-data body sent as it is read: text fields, then one file.

    The framing is computed up front so the request has a Content-Length; the file
    comes from memory or is read from disk in 1 MB chunks, never loaded whole.
    """

    def __init__(self, filename: str, source: bytes | Path, fields: dict[str, str] | None = None) -> None:
        self.boundary = uuid.uuid4().hex
        self.source = source
        parts = [
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in (fields or {}).items()
        ]
        parts.append(
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        self.head = "".join(parts).encode()
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()
        self.file_size = len(source) if isinstance(source, bytes) else source.stat().st_size

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self.head) + self.file_size + len(self.tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        if isinstance(self.source, bytes):
            yield self.source
        else:
            with self.source.open("rb") as f:
                while chunk := f.read(CHUNK):
                    yield chunk
        yield self.tail


def put(server: Server, path: str, body: Iterable[bytes], length: int, headers: dict[str, str]) -> tuple[int, bytes]:
    """One PUT on a new connection, the body sent as it is iterated; (status, body).

    With a Content-Length given, http.client sends an iterable body as is, unchunked.
    """
    conn = server.connection()
    try:
        conn.request("PUT", path, body=body, headers={"Content-Length": str(length), **headers})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@dataclass
class RssSampler:
    """Samples the RSS of a set of processes every `interval` seconds in a thread."""

    processes: Callable[[], list[psutil.Process]]
    interval: float = 0.05
    samples: int = 0
    peak_total: int = 0
    first: dict[int, int] = field(default_factory=dict)
    peak: dict[int, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def snapshot(self) -> dict[int, int]:
        rss: dict[int, int] = {}
        for proc in self.processes():
            with suppress(psutil.Error):  # a worker that exited between listing and reading
                rss[proc.pid] = proc.memory_info().rss
        return rss

    def __enter__(self) -> RssSampler:
        self.first = self.snapshot()
        self._record(self.first)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._record(self.snapshot())

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._record(self.snapshot())

    def _record(self, rss: dict[int, int]) -> None:
        self.samples += 1
        self.peak_total = max(self.peak_total, sum(rss.values()))
        for pid, value in rss.items():
            self.peak[pid] = max(self.peak.get(pid, 0), value)

    @property
    def first_total(self) -> int:
        return sum(self.first.values())

    def busiest(self) -> tuple[int, int, int]:
        """(pid, RSS before, peak RSS) of the process whose RSS grew most."""
        pid = max(self.peak, key=lambda p: self.peak[p] - self.first.get(p, self.peak[p]))
        return pid, self.first.get(pid, self.peak[pid]), self.peak[pid]


def settle() -> None:
    """Write dirty pages back before a timed step, so it does not pay for the last one's."""
    os.sync()


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, round(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def sha1_copy(src: Path, dst: Path) -> str:
    """Read, SHA-1 and write a file in 1 MB chunks (an upload's disk work); its SHA-1."""
    digest = hashlib.sha1()
    with src.open("rb") as f, dst.open("wb") as out:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def table(rows: list[list[str]], header: list[str]) -> str:
    """A plain-text table, numbers right-aligned."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            text = str(cell)
            numeric = text.replace(".", "", 1).replace("x", "").replace("-", "").replace("%", "").isdigit()
            out.append(text.rjust(widths[i]) if numeric and i else text.ljust(widths[i]))
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def machine() -> dict[str, Any]:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / GiB, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": commit.stdout.strip() or None,
    }


def write_results(name: str, data: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}-{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def new_api_key() -> str:
    return secrets.token_urlsafe(18)
