"""Pages: every page of randomly chosen archives read by 4 concurrent readers, cold and
warm, beside nginx serving the same page files from disk as a ceiling.

Hondana runs as a user runs it (`manage.py serve`: gunicorn and its Celery worker,
which unpacks the slow formats into the page cache). Every page Hondana serves is
also written to a folder that nginx serves, so both send the same bytes, through the
same client, at the same concurrency, over kept-alive connections, measured in turns
in the same run. Hondana's pages/s divided by nginx's is the figure to compare
across commits; the aim for in-place formats is 0.40 or more.

Cold is the first read of an archive by a freshly started server: page cache
emptied (DELETE /api/tempfolder), no open readers, no cached page lists. Warm is
the same reads again.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
import urllib.parse
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from contextlib import suppress
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import psutil

from bench import common

DESCRIPTION = "pages/s at 4 concurrent readers, cold and warm, per format, as a ratio of nginx serving the same files"

FORMATS = ["cbz", "zip", "cbr", "cb7", "tar", "pdf", "epub"]  # make_corpus.py's order
# Read in place (a page costs about its own bytes) vs through the page cache.
IN_PLACE = ["cbz", "zip", "cbr", "tar", "epub"]
SLOW = ["cb7", "pdf"]
WIDTH, HEIGHT = common.LIBRARY_SIZE
NGINX = "/usr/sbin/nginx"
CPUS = os.cpu_count() or 1
NGINX_TYPES = common.STATIC_TYPES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick", action="store_true", help="2 archives of 20 pages per format, shorter passes (about 2 minutes)"
    )
    parser.add_argument("--per-format", type=int, help="archives per format (default 15, quick 2)")
    parser.add_argument("--pages-min", type=int, help="pages per archive, at least (default 20)")
    parser.add_argument("--pages-max", type=int, help="pages per archive, at most (default 40, quick 20)")
    parser.add_argument("--readers", type=int, default=4, help="concurrent readers (default 4)")
    parser.add_argument(
        "--workers", type=int, default=2, help="gunicorn workers and nginx worker_processes (default 2)"
    )
    parser.add_argument("--warm-passes", type=int, help="warm passes over each format (default 2, quick 1)")
    parser.add_argument(
        "--min-pages", type=int, help="pages in a warm pass at least (default 1500, quick 300); nginx reads 4x as many"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the archive order")
    parser.add_argument(
        "--tempmaxsize",
        type=int,
        default=4000,
        help="page cache size in MB, pinned for the run (default 4000; Hondana's default, 500, is smaller than the "
        "slow formats' pages in the full run, so warm 7z and PDF reads would be unpacked again)",
    )


# --- Plans and results --------------------------------------------------------------


@dataclass(frozen=True)
class Book:
    """One archive as a reader sees it: where its page list is, and its pages' sizes in order."""

    arcid: str
    fmt: str
    index_path: str  # Hondana: /api/archives/{id}/files; nginx: /{id}/files.json
    sizes: tuple[int, ...]


@dataclass
class Pass:
    """One timed pass: every page of a list of archives, read by `readers` processes."""

    pages: int = 0
    bytes: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    client_cpu: float = 0.0  # CPU seconds the reader processes used
    server_cpu: dict[str, float] = field(default_factory=dict)  # by process group
    machine_busy: float = 0.0  # CPU seconds the whole machine was busy, whoever used them
    connects: int = 0

    @classmethod
    def merge(cls, passes: list[Pass]) -> Pass:
        out = cls()
        for p in passes:
            out.pages += p.pages
            out.bytes += p.bytes
            out.seconds += p.seconds
            out.latencies += p.latencies
            out.failures += p.failures
            out.client_cpu += p.client_cpu
            out.machine_busy += p.machine_busy
            out.connects += p.connects
            for k, v in p.server_cpu.items():
                out.server_cpu[k] = out.server_cpu.get(k, 0.0) + v
        return out

    def summary(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "pages_per_second": round(self.pages / self.seconds, 1),
            "mb_per_second": round(self.bytes / 1e6 / self.seconds, 1),
            "p50_ms": round(common.percentile(self.latencies, 50) * 1000, 2),
            "p95_ms": round(common.percentile(self.latencies, 95) * 1000, 2),
            "max_ms": round(max(self.latencies) * 1000, 1),
            "client_cpu_s": round(self.client_cpu, 3),
            "server_cpu_s": {k: round(v, 3) for k, v in self.server_cpu.items()},
            "machine_busy_s": round(self.machine_busy, 3),
            # Busy time of neither the client nor the server: other load on the machine.
            "other_cpu_s": round(self.machine_busy - self.client_cpu - sum(self.server_cpu.values()), 3),
            "connections": self.connects,
            "failures": self.failures[:20],
        }


# --- The readers (separate processes) -------------------------------------------------


def _reader(
    host: str,
    port: int,
    headers: dict[str, str],
    books: list[Book],
    next_book: Any,
    barrier: Any,
    results: Any,
    discard: bool,
) -> None:
    """One reader: take the next archive, GET its page list, then every page in order."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the benchmark stops us
    client = common.KeepAliveClient(host, port, headers, discard=discard)
    latencies: list[float] = []
    failures: list[str] = []
    pages = total = 0
    barrier.wait()
    cpu0 = os.times()
    while True:
        with next_book.get_lock():
            i = next_book.value
            next_book.value += 1
        if i >= len(books):
            break
        book = books[i]
        try:
            status, _, body = client.get(book.index_path, keep_body=True)
            urls = json.loads(body)["pages"] if status == 200 else []
        except (OSError, ValueError, RuntimeError) as exc:
            failures.append(f"{book.index_path}: {exc!r}")
            client.close()
            continue
        if len(urls) != len(book.sizes):
            failures.append(f"{book.index_path}: {status}, {len(urls)} pages, expected {len(book.sizes)}")
            continue
        for url, size in zip(urls, book.sizes, strict=True):
            started = time.perf_counter()
            try:
                status, length, _ = client.get(url)
            except (OSError, RuntimeError) as exc:
                failures.append(f"{url}: {exc!r}")
                client.close()
                continue
            latencies.append(time.perf_counter() - started)
            if status != 200 or length != size:
                failures.append(f"{url}: {status}, {length} bytes, expected {size}")
            pages += 1
            total += length
    cpu1 = os.times()
    client.close()
    results.put(
        {
            "end": time.monotonic(),
            "pages": pages,
            "bytes": total,
            "latencies": latencies,
            "failures": failures,
            "cpu": (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system),
            "connects": client.connects,
        }
    )


def run_pass(
    host: str,
    port: int,
    headers: dict[str, str],
    books: list[Book],
    readers: int,
    groups: dict[str, Any],
    *,
    discard: bool = True,
) -> Pass:
    """Every page of `books` read by `readers` processes on kept-alive connections.

    `groups` names the server's process groups (callables listing processes) whose
    CPU time is recorded. The clock starts when every reader process is up and waiting.
    """
    ctx = multiprocessing.get_context("spawn")
    next_book = ctx.Value("i", 0)
    barrier = ctx.Barrier(readers + 1)
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=_reader, args=(host, port, headers, books, next_book, barrier, results, discard), daemon=True
        )
        for _ in range(readers)
    ]
    for p in procs:
        p.start()
    try:
        listed = {name: lister() for name, lister in groups.items()}
        barrier.wait(timeout=120)
        started = time.monotonic()
        machine0 = common.machine_busy_seconds()
        before = {name: common.cpu_seconds(ps) for name, ps in listed.items()}
        replies = [results.get(timeout=3600) for _ in procs]
        machine1 = common.machine_busy_seconds()
        after = {name: common.cpu_seconds(lister()) for name, lister in groups.items()}
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
    out = Pass(
        pages=sum(r["pages"] for r in replies),
        bytes=sum(r["bytes"] for r in replies),
        seconds=max(r["end"] for r in replies) - started,
        latencies=[t for r in replies for t in r["latencies"]],
        failures=[f for r in replies for f in r["failures"]],
        client_cpu=sum(r["cpu"] for r in replies),
        machine_busy=machine1 - machine0,
        connects=sum(r["connects"] for r in replies),
    )
    for name in groups:
        # Processes started during the pass (a replaced worker child) count from zero.
        out.server_cpu[name] = sum(v - before[name].get(pid, 0.0) for pid, v in after[name].items())
    return out


# --- nginx --------------------------------------------------------------------------


@dataclass
class Nginx:
    port: int
    process: subprocess.Popen[bytes]

    def processes(self) -> list[psutil.Process]:
        with suppress(psutil.Error):
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        return []


@contextmanager
def nginx(root: Path, work: Path, *, workers: int) -> Iterator[Nginx]:
    """nginx in the foreground serving `root` on a free port; stopped on exit.

    Its settings are the usual ones for static files (sendfile, keep-alive, an access
    log), with as many worker processes as gunicorn has workers.
    """
    if not os.access(NGINX, os.X_OK):
        raise SystemExit(f"{NGINX} not found: this benchmark needs nginx (apt-get install nginx-light or nginx)")
    port = common.free_port()
    prefix = work / "nginx"
    prefix.mkdir(parents=True, exist_ok=True)
    types = "".join(f"        {mime} {ext};\n" for ext, mime in NGINX_TYPES.items())
    # Workers of a root master run as `nobody`, who cannot enter a private temp folder.
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"""{user}worker_processes {workers};
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    types {{
{types}    }}
    default_type application/octet-stream;
    access_log {prefix}/access.log;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""
    )
    log = (prefix / "stderr.log").open("wb")
    process = subprocess.Popen(
        [NGINX, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Nginx(port, process)
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not start: {(prefix / 'error.log').read_text(errors='replace')[-2000:]}")
            with suppress(OSError):
                socket_ok = common.KeepAliveClient("127.0.0.1", port, timeout=2)
                status, _, _ = socket_ok.get("/")
                socket_ok.close()
                if status in (200, 403, 404) and len(server.processes()) > workers:
                    break
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGQUIT)  # graceful shutdown
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        log.close()


# --- Preparation --------------------------------------------------------------------


def _member_bytes(path: Path, fmt: str, name: str) -> bytes | None:
    """A member read with the standard library, to check what Hondana serves (None: no reader here)."""
    if fmt in ("cbz", "zip", "epub"):
        with zipfile.ZipFile(path) as z:
            return z.read(name)
    if fmt == "tar":
        with tarfile.open(path) as t:
            f = t.extractfile(name)
            return f.read() if f is not None else None
    return None


def _prepare(
    server: common.Server, folder: Path, entries: list[dict[str, Any]], root: Path
) -> tuple[dict[str, list[Book]], dict[str, list[Book]], dict[str, int]]:
    """Upload the corpus, wait for the covers, and write every page Hondana serves under `root`.

    Returns the archives as Hondana's readers and nginx's see them, by format, and
    how many pages were checked against the archive's own member bytes.
    """
    hondana: dict[str, list[Book]] = {fmt: [] for fmt in FORMATS}
    static: dict[str, list[Book]] = {fmt: [] for fmt in FORMATS}
    checked = {"pages": 0, "bytes_equal": 0}
    ids = []
    for entry in entries:
        ids.append((entry, common.upload_file(server, folder / entry["file"])))
    common.wait_covers(server, [arcid for _, arcid in ids])
    client = common.KeepAliveClient(server.host, server.port, {"Authorization": common.bearer(server.api_key)})
    try:
        for entry, arcid in ids:
            fmt = entry["format"]
            index = f"/api/archives/{arcid}/files"
            status, _, body = client.get(index, keep_body=True)
            if status != 200:
                raise RuntimeError(f"{index}: {status} {body[:300]!r}")
            urls = json.loads(body)["pages"]
            if len(urls) != entry["pages"]:
                raise RuntimeError(f"{entry['file']}: {len(urls)} pages listed, the manifest says {entry['pages']}")
            out = root / arcid
            out.mkdir(parents=True)
            names, sizes = [], []
            for n, url in enumerate(urls, start=1):
                status, length, data = client.get(url, keep_body=True)
                if status != 200:
                    raise RuntimeError(f"{url}: {status} {data[:300]!r}")
                member = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["path"][0]
                ext = member.rsplit(".", 1)[-1].lower() if "." in member else "bin"
                name = f"{n:05d}.{ext}"
                (out / name).write_bytes(data)
                names.append(f"/{arcid}/{name}")
                sizes.append(length)
                expected = _member_bytes(folder / entry["file"], fmt, member)
                if expected is not None:
                    checked["pages"] += 1
                    if expected != data:
                        raise RuntimeError(f"{url}: the bytes served differ from the archive member's")
                    checked["bytes_equal"] += 1
            (out / "files.json").write_text(json.dumps({"pages": names}))
            hondana[fmt].append(Book(arcid, fmt, index, tuple(sizes)))
            static[fmt].append(Book(arcid, fmt, f"/{arcid}/files.json", tuple(sizes)))
    finally:
        client.close()
    # Reading 7z and PDF pages queued extract_pages jobs: none may run during the cold pass.
    common.drain_jobs(server, hondana["cbz"][0].arcid, 1)
    return hondana, static, checked


# --- The run ------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    per_format = args.per_format or (2 if args.quick else 15)
    pmin = args.pages_min or 20
    pmax = max(pmin, args.pages_max or (20 if args.quick else 40))
    warm_passes = args.warm_passes or (1 if args.quick else 2)
    folder, entries = common.library(per_format * len(FORMATS), pmin, pmax)
    work = Path(tempfile.mkdtemp(prefix="hondana-bench-"))
    try:
        data_dir = work / "data"
        data_dir.mkdir()
        root = work / "static"
        api_key = common.new_api_key()
        total_pages = sum(e["pages"] for e in entries)
        print(
            f"Preparing in {work}: {len(entries)} archives ({per_format} per format, {total_pages} pages of "
            f"{WIDTH}x{HEIGHT}), uploads, covers, and the same pages written out for nginx ...",
            flush=True,
        )
        common.migrate(data_dir, api_key)
        with common.hondana_server(
            data_dir, api_key=api_key, workers=args.workers, job_worker=True, extra_env=_server_env(args)
        ) as server:
            hondana_books, static_books, checked = _prepare(server, folder, entries, root)
        results = _measure(work, data_dir, api_key, root, hondana_books, static_books, warm_passes, args)
        results.update(
            {
                "benchmark": "pages",
                "machine": common.machine(),
                "params": {
                    "per_format": per_format,
                    "pages_min": pmin,
                    "pages_max": pmax,
                    "page_size": f"{WIDTH}x{HEIGHT}",
                    "readers": args.readers,
                    "workers": args.workers,
                    "warm_passes": warm_passes,
                    "seed": args.seed,
                    "tempmaxsize_mb": args.tempmaxsize,
                },
                "checked_against_members": checked,
            }
        )
        _report(results)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def _measure(
    work: Path,
    data_dir: Path,
    api_key: str,
    root: Path,
    hondana_books: dict[str, list[Book]],
    static_books: dict[str, list[Book]],
    warm_passes: int,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Cold, then warm, per format; each Hondana pass next to an nginx pass over the same pages.

    A cold pass reads each archive once (a second read would be warm). Warm passes,
    and nginx's, go over the same archives as often as it takes to reach a number of
    pages, so that they last seconds, not a fraction of one: the mix of pages, hence
    the bytes per page, stays the same.
    """
    warm_min = args.min_pages or (300 if args.quick else 1500)
    nginx_min = 4 * warm_min
    rng = random.Random(args.seed)
    order = {}
    for fmt in FORMATS:
        perm = list(range(len(hondana_books[fmt])))
        rng.shuffle(perm)
        order[fmt] = perm
    headers = {"Authorization": common.bearer(api_key)}
    runs: dict[str, dict[str, list[Pass]]] = {
        fmt: {"cold": [], "warm": [], "nginx_cold": [], "nginx_warm": [], "gunicorn_warm": []} for fmt in FORMATS
    }
    # A fresh server: no open readers, no page lists cached in its processes.
    with (
        common.hondana_server(
            data_dir, api_key=api_key, workers=args.workers, job_worker=True, extra_env=_server_env(args)
        ) as server,
        nginx(root, work, workers=args.workers) as ngx,
        common.static_server(data_dir, root, workers=args.workers) as static,
    ):
        common.get_json(server, "/api/tempfolder", method="DELETE")
        groups = {"web": server.gunicorn, "jobs": server.celery}
        nginx_groups = {"nginx": ngx.processes}

        def hondana_pass(fmt: str, min_pages: int = 0) -> Pass:
            books = _repeat([hondana_books[fmt][i] for i in order[fmt]], min_pages)
            return run_pass(server.host, server.port, headers, books, args.readers, groups)

        def gunicorn_pass(fmt: str) -> Pass:
            books = _repeat([static_books[fmt][i] for i in order[fmt]], warm_min)
            return run_pass(static.host, static.port, headers, books, args.readers, {"gunicorn": static.gunicorn})

        def nginx_pass(fmt: str) -> Pass:
            books = _repeat([static_books[fmt][i] for i in order[fmt]], nginx_min)
            return run_pass("127.0.0.1", ngx.port, headers, books, args.readers, nginx_groups)

        # Not timed: the first requests of each gunicorn worker and nginx worker load code
        # and open files that any later request finds ready. Page lists of other archives only.
        _warm_up(server, ngx, headers)
        for fmt in FORMATS:
            common.settle()
            runs[fmt]["cold"].append(hondana_pass(fmt))
            runs[fmt]["nginx_cold"].append(nginx_pass(fmt))
            print(
                f"  {fmt} cold: {_brief(runs[fmt]['cold'][-1])}; nginx {_brief(runs[fmt]['nginx_cold'][-1])}",
                flush=True,
            )
        for n in range(warm_passes):
            for fmt in FORMATS:
                # Turns: which target goes first changes from one pass to the next.
                targets = {
                    "warm": lambda f=fmt: hondana_pass(f, warm_min),
                    "gunicorn_warm": lambda f=fmt: gunicorn_pass(f),
                    "nginx_warm": lambda f=fmt: nginx_pass(f),
                }
                names = list(targets)
                for name in names[n % 3 :] + names[: n % 3]:
                    runs[fmt][name].append(targets[name]())
                print(
                    f"  {fmt} warm {n + 1}: {_brief(runs[fmt]['warm'][-1])}; "
                    f"gunicorn static {_brief(runs[fmt]['gunicorn_warm'][-1])}; "
                    f"nginx {_brief(runs[fmt]['nginx_warm'][-1])}",
                    flush=True,
                )
        client_check = _client_check(static_books, order, ngx, headers, args)

    out: dict[str, Any] = {"formats": {}, "groups": {}, "client_check": client_check}
    for fmt in FORMATS:
        out["formats"][fmt] = {
            "archives": len(hondana_books[fmt]),
            "group": "in-place" if fmt in IN_PLACE else "slow",
            **{kind: Pass.merge(passes).summary() for kind, passes in runs[fmt].items()},
        }
    for group, fmts in (("in-place", IN_PLACE), ("slow", SLOW)):
        out["groups"][group] = {
            "formats": fmts,
            **{kind: Pass.merge([p for f in fmts for p in runs[f][kind]]).summary() for kind in runs[fmts[0]]},
        }
    for row in [*out["formats"].values(), *out["groups"].values()]:
        row["cold_vs_nginx"] = round(row["cold"]["pages_per_second"] / row["nginx_cold"]["pages_per_second"], 3)
        row["warm_vs_nginx"] = round(row["warm"]["pages_per_second"] / row["nginx_warm"]["pages_per_second"], 3)
        row["warm_vs_gunicorn"] = round(row["warm"]["pages_per_second"] / row["gunicorn_warm"]["pages_per_second"], 3)
        row["gunicorn_vs_nginx"] = round(
            row["gunicorn_warm"]["pages_per_second"] / row["nginx_warm"]["pages_per_second"], 3
        )
    return out


def _server_env(args: argparse.Namespace) -> dict[str, str]:
    return {"HONDANA_TEMPMAXSIZE": str(args.tempmaxsize)}


def _repeat(books: list[Book], min_pages: int) -> list[Book]:
    pages = sum(len(b.sizes) for b in books)
    return books * max(1, -(-min_pages // pages))


def _warm_up(server: common.Server, ngx: Nginx, headers: dict[str, str]) -> None:
    for _ in range(20):  # enough requests to reach every gunicorn worker and thread
        client = common.KeepAliveClient(server.host, server.port, headers)
        client.get("/api/info")
        client.close()
        client = common.KeepAliveClient("127.0.0.1", ngx.port, headers)
        client.get("/")
        client.close()


def _client_check(
    static_books: dict[str, list[Book]],
    order: dict[str, list[int]],
    ngx: Nginx,
    headers: dict[str, str],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Is the client fast enough to measure nginx? Every in-place page from nginx with 1, 2
    and `readers` readers, the bodies dropped by the kernel (as in the passes) and copied
    into the client (as a client that uses them must): the client is not the bottleneck
    when its CPU per page is well under nginx's and adding readers adds no pages/s."""
    books = _repeat([static_books[fmt][i] for fmt in IN_PLACE for i in order[fmt]], 4 * (args.min_pages or 1500))
    out: dict[str, Any] = {}
    for mode, discard in (("discard", True), ("copy", False)):
        for readers in sorted({1, 2, args.readers}):
            p = run_pass("127.0.0.1", ngx.port, headers, books, readers, {"nginx": ngx.processes}, discard=discard)
            out[f"{mode}-{readers}"] = {
                "mode": mode,
                "readers": readers,
                "pages_per_second": round(p.pages / p.seconds, 1),
                "mb_per_second": round(p.bytes / 1e6 / p.seconds, 1),
                "client_cpu_us_per_page": round(p.client_cpu / p.pages * 1e6, 1),
                "nginx_cpu_us_per_page": round(p.server_cpu["nginx"] / p.pages * 1e6, 1),
                "other_cpu_share": round(
                    max(0.0, p.machine_busy - p.client_cpu - p.server_cpu["nginx"]) / p.seconds / CPUS, 3
                ),
                "failures": p.failures[:5],
            }
    return out


def _brief(p: Pass) -> str:
    fails = f", {len(p.failures)} FAILED" if p.failures else ""
    return f"{p.pages / p.seconds:.0f} pages/s{fails}"


def _report(results: dict[str, Any]) -> None:
    params = results["params"]
    print()
    print(
        f"Pages/s at {params['readers']} concurrent readers (each reads every page of the next random archive), "
        f"{params['workers']} gunicorn workers / nginx workers; pages {params['page_size']}, "
        f"{params['pages_min']}-{params['pages_max']} per archive"
    )
    rows = []
    labels = [(fmt, results["formats"][fmt]) for fmt in IN_PLACE]
    labels += [("IN-PLACE (all)", results["groups"]["in-place"])]
    labels += [(fmt, results["formats"][fmt]) for fmt in SLOW]
    labels += [("SLOW (all)", results["groups"]["slow"])]
    for label, row in labels:
        rows.append(
            [
                label,
                str(row["cold"]["pages"]),
                f"{row['cold']['pages_per_second']:.0f}",
                f"{row['cold']['mb_per_second']:.0f}",
                f"{row['warm']['pages_per_second']:.0f}",
                f"{row['warm']['mb_per_second']:.0f}",
                f"{row['gunicorn_warm']['pages_per_second']:.0f}",
                f"{row['nginx_warm']['pages_per_second']:.0f}",
                f"{row['nginx_warm']['mb_per_second']:.0f}",
                f"{row['cold_vs_nginx']:.2f}x",
                f"{row['warm_vs_nginx']:.2f}x",
                f"{row['warm_vs_gunicorn']:.2f}x",
            ]
        )
    header = [
        "format",
        "pages",
        "cold p/s",
        "MB/s",
        "warm p/s",
        "MB/s",
        "gunicorn p/s",
        "nginx p/s",
        "MB/s",
        "cold/nginx",
        "warm/nginx",
        "warm/gunicorn",
    ]
    print(common.table(rows, header))
    print(
        "cold/nginx divides by the nginx pass run next to the cold pass, warm/nginx by those next to the warm ones.\n"
        "gunicorn: the same page files from a trivial WSGI app (bench.common.static_app) under manage.py serve's\n"
        "gunicorn settings, read into memory and returned as Hondana does: warm/gunicorn is what Django, the\n"
        "database and the archive cost on top of Python serving the same bytes."
    )
    print()
    print("Latency of one page (ms)")
    rows = []
    for label, row in labels:
        rows.append(
            [
                label,
                f"{row['cold']['p50_ms']:.1f}",
                f"{row['cold']['p95_ms']:.1f}",
                f"{row['cold']['max_ms']:.0f}",
                f"{row['warm']['p50_ms']:.1f}",
                f"{row['warm']['p95_ms']:.1f}",
                f"{row['gunicorn_warm']['p50_ms']:.1f}",
                f"{row['gunicorn_warm']['p95_ms']:.1f}",
                f"{row['nginx_warm']['p50_ms']:.1f}",
                f"{row['nginx_warm']['p95_ms']:.1f}",
            ]
        )
    header = ["format", "cold p50", "p95", "max", "warm p50", "p95", "gunicorn p50", "p95", "nginx p50", "p95"]
    print(common.table(rows, header))
    print()
    print("CPU seconds per 1,000 pages (where the two cores went)")
    rows = []
    for label, row in labels:
        cells = [label]
        for kind in ("cold", "warm"):
            r = row[kind]
            k = 1000 / r["pages"]
            cells += [f"{r['server_cpu_s']['web'] * k:.2f}", f"{r['server_cpu_s']['jobs'] * k:.2f}"]
        for kind, group in (("gunicorn_warm", "gunicorn"), ("nginx_warm", "nginx")):
            r = row[kind]
            cells.append(f"{r['server_cpu_s'][group] * 1000 / r['pages']:.2f}")
        r = row["warm"]
        cells.append(f"{r['client_cpu_s'] * 1000 / r['pages']:.2f}")
        rows.append(cells)
    header = ["format", "cold web", "jobs", "warm web", "jobs", "gunicorn", "nginx", "client"]
    print(common.table(rows, header))
    print("web: Hondana's gunicorn; jobs: its Celery worker; client: the 4 readers, in the warm Hondana passes.")
    check = results["client_check"]
    print()
    print("Client check: every in-place page from nginx; bodies dropped by the kernel (as measured above) or copied")
    rows = [
        [
            f"{c['mode']}, {c['readers']} reader(s)",
            f"{c['pages_per_second']:.0f}",
            f"{c['mb_per_second']:.0f}",
            f"{c['client_cpu_us_per_page']:.0f}",
            f"{c['nginx_cpu_us_per_page']:.0f}",
            f"{c['other_cpu_share'] * 100:.0f}%",
        ]
        for c in check.values()
    ]
    header = ["client", "pages/s", "MB/s", "client CPU us/page", "nginx CPU us/page", "other load"]
    print(common.table(rows, header))
    other = max(
        row[kind]["other_cpu_s"] / row[kind]["seconds"] / CPUS
        for row in results["formats"].values()
        for kind in ("cold", "warm", "nginx_cold", "nginx_warm", "gunicorn_warm")
    )
    if other > 0.1:
        print(
            f"\nWARNING: up to {other * 100:.0f}% of the machine's CPU went to other processes during a pass: "
            "the absolute figures are low; the ratios, measured in turns, less so."
        )
    failures = [
        f
        for row in results["formats"].values()
        for kind in ("cold", "warm", "nginx_cold", "nginx_warm", "gunicorn_warm")
        for f in row[kind]["failures"]
    ]
    if failures:
        print(f"\nFAILED requests: {len(failures)}; first: {failures[0]}")
    g = results["groups"]["in-place"]
    verdict = "met" if min(g["cold_vs_nginx"], g["warm_vs_nginx"]) >= 0.4 else "NOT met"
    print(
        f"\nAim (issue 3): in-place formats at 0.40 x nginx or more: cold {g['cold_vs_nginx']:.2f}, "
        f"warm {g['warm_vs_nginx']:.2f}, {verdict}."
    )
    c = results["checked_against_members"]
    print(f"\n{c['bytes_equal']} of {c['pages']} pages of zip/cbz/epub/tar checked byte for byte against the members.")
