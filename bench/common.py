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
import shutil
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

    def celery(self) -> list[psutil.Process]:
        """The Celery worker's main process and its pool children, if `manage.py serve` started one."""
        root = psutil.Process(self.process.pid)
        return [p for p in [root, *root.children(recursive=True)] if _is_celery(p)]

    def celery_children(self) -> list[psutil.Process]:
        """The Celery pool processes that run the tasks (not the worker's main process)."""
        procs = self.celery()
        pids = {p.pid for p in procs}
        children = []
        for p in procs:
            with suppress(psutil.Error):
                if p.ppid() in pids:
                    children.append(p)
        return children

    def connection(self, timeout: float = 600) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)


def _is_gunicorn(proc: psutil.Process) -> bool:
    try:
        return any("gunicorn" in part for part in proc.cmdline()[:3])
    except psutil.Error:
        return False


def _is_celery(proc: psutil.Process) -> bool:
    try:
        return any("celery" in part for part in proc.cmdline()[:3])
    except psutil.Error:
        return False


def _wait_worker_ready(server: Server, timeout: float = 60) -> None:
    """Until the Celery worker started by `manage.py serve` logs "ready." (into the server's log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        if b"ready." in server.log.read_bytes():
            return
        time.sleep(0.2)
    tail = server.log.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"the Celery worker of {server.url} did not start; the log ends with:\n{tail}")


@contextmanager
def hondana_server(
    data_dir: Path,
    *,
    api_key: str,
    workers: int,
    job_worker: bool = False,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """`manage.py serve` on a free port, stopped (with its gunicorn) on exit.

    Without `job_worker` it runs `--no-worker` (the web server alone); with it,
    `manage.py serve` also starts its Celery worker (on the filesystem broker in
    the data folder), which `Server.celery()` lists, and waits until it is ready.
    """
    port = free_port()
    cmd = [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    if not job_worker:
        cmd.append("--no-worker")
    with running(cmd, data_dir, api_key, port, name="hondana", ready_path="/api/info", extra_env=extra_env) as server:
        if job_worker:
            _wait_worker_ready(server)
        yield server


def _gunicorn(app: str, port: int, workers: int, *extra: str) -> list[str]:
    """gunicorn serving `app` with `manage.py serve`'s worker model, so only the application differs."""
    return [
        sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}", "--worker-class", "gthread",
        "--workers", str(workers), "--threads", "8", "--timeout", "120", "--no-control-socket", *extra,
    ]  # fmt: skip


@contextmanager
def sink_server(data_dir: Path, *, workers: int) -> Iterator[Server]:
    """The baseline: gunicorn with `manage.py serve`'s worker settings, serving sink_app."""
    port = free_port()
    sink_dir = data_dir / "sink"
    sink_dir.mkdir(parents=True, exist_ok=True)
    cmd = _gunicorn("bench.common:sink_app", port, workers)
    with running(
        cmd, data_dir, "", port, name="sink", ready_path="/", extra_env={"BENCH_SINK_DIR": str(sink_dir)}
    ) as s:
        yield s


@contextmanager
def running(
    cmd: list[str],
    data_dir: Path,
    api_key: str,
    port: int,
    *,
    name: str,
    ready_path: str,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """Start `cmd` (a server listening on `port`) in its own session; stop it and all it started on exit.

    It runs in `data_dir` with `server_env`, its output in `data_dir/<name>-<port>.log`,
    and is ready once `ready_path` answers 200 and a gunicorn process is there.
    """
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


# The name bench/search.py uses.
_running = running


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


STATIC_TYPES = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
    "avif": "image/avif",
    "jxl": "image/jxl",
    "bmp": "image/bmp",
    "json": "application/json",
}


def static_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """A trivial WSGI app serving files under $BENCH_STATIC_DIR: read whole, returned as bytes.

    The floor for "a page answered by Python under gunicorn": what Hondana does for
    a page minus Django, the database and the archive (it also reads the bytes into
    memory and returns them), on the same worker model.
    """
    root = os.environ["BENCH_STATIC_DIR"]
    rel = environ.get("PATH_INFO", "").lstrip("/")
    path = os.path.realpath(os.path.join(root, rel))
    if not path.startswith(os.path.realpath(root) + os.sep) or not os.path.isfile(path):
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")])
        return [b"not found"]
    with open(path, "rb") as f:
        data = f.read()
    ext = path.rsplit(".", 1)[-1].lower()
    headers = [
        ("Content-Type", STATIC_TYPES.get(ext, "application/octet-stream")),
        ("Content-Length", str(len(data))),
    ]
    start_response("200 OK", headers)
    return [data]


@contextmanager
def static_server(data_dir: Path, root: Path, *, workers: int) -> Iterator[Server]:
    """A baseline: gunicorn with `manage.py serve`'s worker settings and access log, serving static_app."""
    port = free_port()
    cmd = _gunicorn("bench.common:static_app", port, workers, "--access-logfile", "-")
    (root / "index.json").write_text("{}")
    with running(
        cmd, data_dir, "", port, name="static", ready_path="/index.json", extra_env={"BENCH_STATIC_DIR": str(root)}
    ) as s:
        yield s


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


class KeepAliveClient:
    """A minimal HTTP/1.1 GET client on one persistent connection, cheap per request.

    http.client parses every response's headers with the email package, which costs
    more CPU per request than nginx spends serving a page; a load client that shares
    two cores with the server must cost far less than that. This one sends a fixed
    request, parses the status line and the headers it needs, and has the kernel
    discard the body (`keep_body=True` returns it instead). It reconnects when the
    server closes the connection (an idle timeout, `Connection: close`).
    """

    def __init__(
        self,
        host: str,
        port: int,
        headers: dict[str, str] | None = None,
        timeout: float = 600,
        *,
        discard: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self._head = f"HTTP/1.1\r\nHost: {host}:{port}\r\n{extra}\r\n".encode()
        self._sock: socket.socket | None = None
        self._buf = bytearray(CHUNK)
        self._pending = b""  # bytes received past the end of the last response
        self.connects = 0
        # Bodies that are not kept are dropped by the kernel (MSG_TRUNC on TCP) without
        # being copied to this process: the client then costs a few syscalls per page.
        # With discard=False bodies are copied into a reused buffer, as any client that
        # uses the bytes must.
        self._trunc = getattr(socket, "MSG_TRUNC", 0) if discard and sys.platform == "linux" else 0

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self._pending = b""
        self.connects += 1
        return sock

    def close(self) -> None:
        if self._sock is not None:
            with suppress(OSError):
                self._sock.close()
            self._sock = None

    def get(self, path: str, *, keep_body: bool = False) -> tuple[int, int, bytes]:
        """(status, body length, body if keep_body else b"")."""
        fresh = self._sock is None
        try:
            return self._get(path, keep_body)
        except (ConnectionError, _ClosedEarly):
            # A kept-alive connection the server closed meanwhile: once more on a new one.
            self.close()
            if fresh:
                raise
            return self._get(path, keep_body)

    def _get(self, path: str, keep_body: bool) -> tuple[int, int, bytes]:
        sock = self._sock or self._connect()
        sock.sendall(b"GET " + path.encode() + b" " + self._head)
        data = self._pending
        while (end := data.find(b"\r\n\r\n")) < 0:
            chunk = sock.recv(65536)
            if not chunk:
                raise _ClosedEarly
            data += chunk
        head = data[:end].decode("latin-1").split("\r\n")
        rest = data[end + 4 :]
        status = int(head[0].split(" ", 2)[1])
        length = -1
        close = False
        for line in head[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                close = True
            elif name == "transfer-encoding" and "chunked" in value.lower():
                raise RuntimeError(f"GET {path}: chunked responses are not supported by this client")
        if length < 0:
            raise RuntimeError(f"GET {path}: no Content-Length")
        body = self._read_body(sock, rest, length, keep_body)
        if close:
            self.close()
        return status, length, body

    def _read_body(self, sock: socket.socket, rest: bytes, length: int, keep_body: bool) -> bytes:
        if len(rest) >= length:
            self._pending = rest[length:]
            return bytes(rest[:length]) if keep_body else b""
        self._pending = b""
        parts = [rest] if keep_body else []
        left = length - len(rest)
        view = memoryview(self._buf)
        flags = 0 if keep_body else self._trunc
        while left > 0:
            n = sock.recv_into(view, min(left, len(self._buf)), flags)
            if n == 0:
                raise ConnectionError("connection closed mid-body")
            if keep_body:
                parts.append(bytes(view[:n]))
            left -= n
        return b"".join(parts)


class _ClosedEarly(Exception):
    """The server closed the connection before sending a response."""


def get_json(server: Server, path: str, method: str = "GET") -> Any:
    """One authenticated request on a new connection; the decoded JSON reply (200 or 202 expected)."""
    conn = server.connection()
    try:
        conn.request(method, path, headers={"Authorization": bearer(server.api_key)})
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    if response.status not in (200, 202):
        raise RuntimeError(f"{method} {path}: {response.status} {body[:300]!r}")
    return json.loads(body)


def wait_job(server: Server, job: int, *, timeout: float = 1800, interval: float = 0.1) -> dict[str, Any]:
    """Poll GET /api/minion/{job} until the job is finished; its last status (RuntimeError if it failed)."""
    deadline = time.monotonic() + timeout
    while True:
        status = get_json(server, f"/api/minion/{job}")
        if status["state"] == "finished":
            return status
        if status["state"] == "failed":
            detail = get_json(server, f"/api/minion/{job}/detail")
            raise RuntimeError(f"job {job} ({status['task']}) failed: {detail.get('result')}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"job {job} ({status['task']}) still {status['state']} after {timeout:.0f} s")
        time.sleep(interval)


def upload_file(server: Server, path: Path) -> str:
    """PUT /api/archives/upload of one file streamed from disk; the new archive's ID."""
    digest = hashlib.sha1()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    body = MultipartBody(path.name, path, {"file_checksum": digest.hexdigest()})
    headers = {"Authorization": bearer(server.api_key), "Content-Type": body.content_type}
    status, reply = put(server, "/api/archives/upload", body, len(body), headers)
    if status != 200:
        raise RuntimeError(f"upload of {path.name}: {status} {reply[:300]!r}")
    return str(json.loads(reply)["id"])


def wait_covers(server: Server, arcids: Iterable[str]) -> None:
    """Until every archive has its cover: the jobs queued by the uploads are done."""
    for arcid in arcids:
        job = thumbnail_job(server, arcid)
        if job is not None:
            wait_job(server, job)


def thumbnail_job(server: Server, arcid: str, page: int = 0) -> int | None:
    """GET /api/archives/{id}/thumbnail?no_fallback=true: None if it exists (200), else the job (202)."""
    conn = server.connection()
    try:
        conn.request(
            "GET",
            f"/api/archives/{arcid}/thumbnail?no_fallback=true&page={page}",
            headers={"Authorization": bearer(server.api_key)},
        )
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    if response.status == 200:
        return None
    if response.status == 202:
        return int(json.loads(body)["job"])
    raise RuntimeError(f"thumbnail of {arcid}: {response.status} {body[:300]!r}")


LIBRARY_SIZE = (1280, 1810)


def library(count: int, pages_min: int = 20, pages_max: int = 40) -> tuple[Path, list[dict[str, Any]]]:
    """`count` archives of every corpus format in turn (cbz, zip, cbr, cb7, tar, pdf, epub),
    realistic 1280x1810 pages: the folder and the manifest's entries, made once and cached."""
    width, height = LIBRARY_SIZE
    folder = corpus(
        f"bench-library-{count}x{pages_min}-{pages_max}-{width}x{height}",
        [
            f"--count={count}",
            f"--pages-min={pages_min}",
            f"--pages-max={pages_max}",
            f"--width={width}",
            f"--height={height}",
        ],
    )
    return folder, json.loads((folder / "manifest.json").read_text())["archives"]


def corpus(name: str, args: list[str]) -> Path:
    """A corpus from `../shared/corpus/make_corpus.py ARGS`, made once into .cache/NAME."""
    folder = CACHE_DIR / name
    if not (folder / "manifest.json").is_file():
        script = ROOT.parent / "shared" / "corpus" / "make_corpus.py"
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        build = Path(tempfile.mkdtemp(prefix=name + ".", dir=CACHE_DIR))
        print(f"Making the corpus {name} (once; cached in {CACHE_DIR}) ...", flush=True)
        subprocess.run([sys.executable, str(script), str(build), *args], check=True, stdout=subprocess.DEVNULL)
        shutil.rmtree(folder, ignore_errors=True)
        build.rename(folder)
    return folder


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has been busy since boot, all cores together."""
    t = psutil.cpu_times()
    return float(t.user + t.nice + t.system + t.irq + t.softirq + getattr(t, "steal", 0.0))


def cpu_seconds(procs: Iterable[psutil.Process]) -> dict[int, float]:
    """User + system CPU seconds of each process, by pid (those that exited are left out)."""
    out = {}
    for p in procs:
        with suppress(psutil.Error):
            t = p.cpu_times()
            out[p.pid] = t.user + t.system
    return out


@dataclass
class CpuMeter:
    """Where the CPU went during a `with` block: each named process group, this process
    (the benchmark's own client threads), and everything else on the machine.

    "Other" is load this benchmark did not cause (other users, builds, tests): when it
    is high the absolute figures are low, and only ratios measured in turns hold.
    The groups are sampled every `interval` seconds, so that a process that exits
    meanwhile (a worker child replaced after its task) still counts with the CPU it
    had used when last seen, and one started meanwhile counts from zero.
    """

    groups: dict[str, Callable[[], list[psutil.Process]]]
    interval: float = 0.2
    seconds: float = 0.0
    busy: float = 0.0
    used: dict[str, float] = field(default_factory=dict)
    _start: dict[str, dict[int, float]] = field(default_factory=dict)
    _last: dict[str, dict[int, float]] = field(default_factory=dict)
    _t0: float = 0.0
    _busy0: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _sample(self) -> dict[str, dict[int, float]]:
        out = {name: cpu_seconds(lister()) for name, lister in self.groups.items()}
        out["bench"] = cpu_seconds([psutil.Process()])
        return out

    def _record(self) -> None:
        for name, values in self._sample().items():
            self._last.setdefault(name, {}).update(values)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._record()

    def __enter__(self) -> CpuMeter:
        self._start = self._sample()
        self._last = {name: dict(values) for name, values in self._start.items()}
        self._busy0 = machine_busy_seconds()
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._record()
        self.seconds = time.monotonic() - self._t0
        self.busy = machine_busy_seconds() - self._busy0
        for name, last in self._last.items():
            self.used[name] = sum(v - self._start[name].get(pid, 0.0) for pid, v in last.items())

    @property
    def other(self) -> float:
        return max(0.0, self.busy - sum(self.used.values()))

    def summary(self) -> dict[str, float]:
        cpus = os.cpu_count() or 1
        return {
            **{f"{name}_cpu_s": round(v, 2) for name, v in self.used.items()},
            "other_cpu_s": round(self.other, 2),
            "other_share": round(self.other / max(self.seconds, 1e-9) / cpus, 3),
        }


def drain_jobs(server: Server, arcid: str, page: int) -> int:
    """Wait until every job queued so far has ended; return how many were waited for.

    Reading page 1 of a 7z or PDF queues an `extract_pages` job, so preparing a
    benchmark can leave jobs behind that would otherwise run during the timed part.
    A page thumbnail of `arcid` is queued last (job IDs are sequential), then every
    job up to it is polled until it is finished or failed.
    """
    last = thumbnail_job(server, arcid, page)
    if last is None:
        raise RuntimeError(f"the page-{page} thumbnail of {arcid} exists already")
    waited = 0
    for job in range(1, last + 1):
        while True:
            status = get_json(server, f"/api/minion/{job}")
            if status.get("state") not in ("inactive", "active"):
                break
            waited += 1
            time.sleep(0.1)
    return waited
