"""Uploads: PUT /api/archives/upload from concurrent clients, and the server's memory
during one large upload.

Absolute figures swing from run to run on a small shared machine, so each is
paired with baselines measured in the same run on the same bytes:

* disk+sha1: the benchmark reads, SHA-1s and writes the files itself (no HTTP);
* sink: the same request bodies PUT to a trivial WSGI app (bench.common.sink_app)
  under the same gunicorn settings, which hashes the body and writes it to disk.

Hondana's figure divided by the sink's is the cost of everything Hondana adds:
Django, multipart parsing, archive checks, the database.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import common
from bench.common import GiB
from bench.common import MiB

DESCRIPTION = "uploads/s at 4 concurrent clients, and the server's peak RSS during a 2 GB upload"
UPLOAD_PATH = "/api/archives/upload"
ID_BYTES = 512_000
# Realistic pages (about 6-7 MB per 20-page cbz), made once by the shared corpus tool.
POOL_ARGS = ["--count=4", "--formats=cbz", "--pages-min=20", "--pages-max=20", "--width=960", "--height=1358"]
POOL_DIR = common.CACHE_DIR / "bench-pool-960x1358"
BLOB_BYTES = 128 * MiB


@dataclass(frozen=True)
class Item:
    path: Path
    size: int
    sha1: str
    arcid: str


@dataclass
class Run:
    """Requests sent to one target and how long they took."""

    count: int
    total_bytes: int
    seconds: float
    latencies: list[float]
    failures: list[str]

    @classmethod
    def merge(cls, runs: list[Run]) -> Run:
        return cls(
            sum(r.count for r in runs),
            sum(r.total_bytes for r in runs),
            sum(r.seconds for r in runs),
            [t for r in runs for t in r.latencies],
            [f for r in runs for f in r.failures],
        )

    def summary(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "bytes": self.total_bytes,
            "seconds": round(self.seconds, 3),
            "per_second": round(self.count / self.seconds, 2),
            "mb_per_second": round(self.total_bytes / 1e6 / self.seconds, 1),
            "p50_ms": round(common.percentile(self.latencies, 50) * 1000, 1),
            "p95_ms": round(common.percentile(self.latencies, 95) * 1000, 1),
            "failures": self.failures[:20],
        }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="40 archives and a 0.2 GB file (about a minute)")
    parser.add_argument("--count", type=int, help="archives uploaded concurrently (default 200, quick 40)")
    parser.add_argument("--size-gb", type=float, help="size of the large upload in GiB (default 2, quick 0.2)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers, as WEB_CONCURRENCY (default 2)")
    parser.add_argument("--rounds", type=int, help="turns the targets take in (a) (default 4, quick 2)")


def run(args: argparse.Namespace) -> dict[str, Any]:
    count = args.count or (40 if args.quick else 200)
    size = int((args.size_gb or (0.2 if args.quick else 2.0)) * GiB)
    work = Path(tempfile.mkdtemp(prefix="hondana-bench-"))
    try:
        data_dir = work / "data"
        api_key = common.new_api_key()
        print(f"Preparing in {work}: migrations, {count} archives, a {size / GiB:.2f} GiB archive ...", flush=True)
        common.migrate(data_dir, api_key)
        pool = _page_pool()
        # Warm-up uploads load each worker's code before timing starts; never timed.
        warmups = 2 * args.workers + 1
        items = _build_archives(work / "in", pool, count + warmups)
        warm, items = items[:warmups], items[warmups:]
        big = _build_big(work / "big.cbz", size, pool[0])
        results = {
            "benchmark": "uploads",
            "machine": common.machine(),
            "params": {
                "count": count,
                "clients": args.clients,
                "workers": args.workers,
                "rounds": args.rounds or (2 if args.quick else 4),
                "large_bytes": size,
            },
            "concurrent": _concurrent(work, data_dir, api_key, items, warm, args),
            "large": _large(work, data_dir, api_key, big, warm[-1], args),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def _concurrent(
    work: Path, data_dir: Path, api_key: str, items: list[Item], warm: list[Item], args: argparse.Namespace
) -> dict[str, Any]:
    """(a) Every item uploaded once to each target by `args.clients` clients at a time.

    The targets take turns, a slice of the items each, in rounds: the disk's state
    (dirty pages waiting to be written back) drifts as gigabytes are written, and
    turns expose the baselines and Hondana to the same drift.
    """
    rounds = max(1, min(args.rounds or (2 if args.quick else 4), len(items)))
    slices = [items[i::rounds] for i in range(rounds)]
    parts: dict[str, list[Run]] = {"disk+sha1": [], "sink": [], "hondana": []}
    with (
        common.sink_server(data_dir, workers=args.workers) as sink,
        common.hondana_server(data_dir, api_key=api_key, workers=args.workers) as server,
    ):
        _upload_all(sink, warm[:-1], args.clients, verify=False)
        _upload_all(server, warm[:-1], args.clients, verify=True)
        targets: dict[str, Callable[[list[Item]], Run]] = {
            "disk+sha1": lambda chunk: _disk_run(chunk, work / "disk-copies", args.clients),
            "sink": lambda chunk: _upload_all(sink, chunk, args.clients, verify=False),
            "hondana": lambda chunk: _upload_all(server, chunk, args.clients, verify=True),
        }
        names = list(targets)
        with common.RssSampler(server.gunicorn) as rss:
            for r, chunk in enumerate(slices):
                for name in names[r % 3 :] + names[: r % 3]:
                    common.settle()
                    parts[name].append(targets[name](chunk))
    shutil.rmtree(data_dir / "sink", ignore_errors=True)
    shutil.rmtree(work / "disk-copies", ignore_errors=True)
    disk, sink_run, hondana_run = (Run.merge(parts[name]) for name in names)

    runs = {"disk+sha1": disk.summary(), "sink": sink_run.summary(), "hondana": hondana_run.summary()}
    ratio_sink = runs["hondana"]["per_second"] / runs["sink"]["per_second"]
    ratio_disk = runs["hondana"]["per_second"] / runs["disk+sha1"]["per_second"]
    total = sum(i.size for i in items)
    print()
    print(
        f"(a) {len(items)} archives ({total / len(items) / 1e6:.1f} MB each on average, {total / GiB:.2f} GiB), "
        f"{args.clients} concurrent clients, {args.workers} gunicorn workers, {rounds} rounds"
    )
    labels = {
        "disk+sha1": "disk+sha1, no HTTP (baseline)",
        "sink": "sink: same gunicorn, body->sha1->disk (baseline)",
        "hondana": "hondana: PUT /api/archives/upload",
    }
    rows = [
        [
            labels[name],
            f"{r['per_second']:.1f}",
            f"{r['mb_per_second']:.0f}",
            f"{r['p50_ms']:.0f}",
            f"{r['p95_ms']:.0f}",
            f"{runs['hondana']['per_second'] / r['per_second']:.2f}x",
        ]
        for name, r in runs.items()
    ]
    print(common.table(rows, ["target", "uploads/s", "MB/s", "p50 ms", "p95 ms", "hondana/this"]))
    failures = hondana_run.failures + sink_run.failures
    if failures:
        print(f"FAILED requests: {len(failures)}; first: {failures[0]}")
    print(
        f"Server RSS (gunicorn master+workers): {rss.first_total / MiB:.0f} MiB before, {rss.peak_total / MiB:.0f} MiB peak"
    )
    return {
        "archives": len(items),
        "archive_bytes": total,
        "runs": runs,
        "hondana_vs_sink": round(ratio_sink, 3),
        "hondana_vs_disk": round(ratio_disk, 3),
        "server_rss_before": rss.first_total,
        "server_rss_peak": rss.peak_total,
    }


def _large(work: Path, data_dir: Path, api_key: str, big: Item, warm: Item, args: argparse.Namespace) -> dict[str, Any]:
    """(b) One large archive streamed from disk; the server's RSS sampled every 50 ms."""
    common.settle()
    started = time.perf_counter()
    copied_sha1 = common.sha1_copy(big.path, work / "big-copy")
    disk_seconds = time.perf_counter() - started
    (work / "big-copy").unlink()
    if copied_sha1 != big.sha1:
        raise RuntimeError("the large file changed while the benchmark ran")

    with common.sink_server(data_dir, workers=args.workers) as sink:
        common.settle()
        sink_run = _upload_all(sink, [big], 1, verify=False, from_disk=True)
    shutil.rmtree(data_dir / "sink", ignore_errors=True)

    # A fresh server, warmed up by one small upload: "before" is a server that has
    # handled an upload, not one that has not imported the upload code yet.
    with common.hondana_server(data_dir, api_key=api_key, workers=args.workers) as server:
        _upload_all(server, [warm], 1, verify=True)
        common.settle()
        with common.RssSampler(server.gunicorn, interval=0.05) as rss:
            run = _upload_all(server, [big], 1, verify=True, from_disk=True)
    if run.failures:
        raise RuntimeError(f"the large upload failed: {run.failures[0]}")

    pid, worker_before, worker_peak = rss.busiest()
    result = {
        "bytes": big.size,
        "seconds": round(run.seconds, 2),
        "mb_per_second": round(big.size / 1e6 / run.seconds, 1),
        "sink_mb_per_second": round(big.size / 1e6 / sink_run.seconds, 1),
        "disk_sha1_mb_per_second": round(big.size / 1e6 / disk_seconds, 1),
        "rss_before": rss.first_total,
        "rss_peak": rss.peak_total,
        "rss_delta": rss.peak_total - rss.first_total,
        "worker_rss_before": worker_before,
        "worker_rss_peak": worker_peak,
        "worker_rss_delta": worker_peak - worker_before,
        "processes": len(rss.first),
        "samples": rss.samples,
    }
    mbps = result["mb_per_second"]
    print()
    print(f"(b) one {big.size / GiB:.2f} GiB stored cbz, streamed from disk in 1 MiB chunks, RSS sampled every 50 ms")
    rows = [
        ["upload time", f"{result['seconds']:.1f} s", ""],
        ["hondana throughput", f"{mbps:.0f} MB/s", ""],
        [
            "sink throughput (baseline)",
            f"{result['sink_mb_per_second']:.0f} MB/s",
            f"{mbps / result['sink_mb_per_second']:.2f}x",
        ],
        [
            "disk+sha1 copy (baseline)",
            f"{result['disk_sha1_mb_per_second']:.0f} MB/s",
            f"{mbps / result['disk_sha1_mb_per_second']:.2f}x",
        ],
        [f"server RSS before ({result['processes']} gunicorn processes)", f"{rss.first_total / MiB:.0f} MiB", ""],
        ["server RSS peak", f"{rss.peak_total / MiB:.0f} MiB", ""],
        ["server RSS delta", f"{result['rss_delta'] / MiB:+.1f} MiB", ""],
        [
            f"handling worker (pid {pid}) before -> peak",
            f"{worker_before / MiB:.0f} -> {worker_peak / MiB:.0f} MiB",
            "",
        ],
        ["handling worker delta", f"{result['worker_rss_delta'] / MiB:+.1f} MiB", ""],
    ]
    print(common.table(rows, ["measurement", "value", "hondana/this"]))
    return result


def _upload_all(
    server: common.Server, items: list[Item], clients: int, *, verify: bool, from_disk: bool = False
) -> Run:
    headers = {"Authorization": common.bearer(server.api_key)} if server.api_key else {}
    failures: list[str] = []

    def one(item: Item) -> float:
        source: bytes | Path = item.path if from_disk else item.path.read_bytes()
        body = common.MultipartBody(item.path.name, source, {"file_checksum": item.sha1})
        started = time.perf_counter()
        status, reply = common.put(server, UPLOAD_PATH, body, len(body), {**headers, "Content-Type": body.content_type})
        elapsed = time.perf_counter() - started
        ok = status == 200 and (not verify or json.loads(reply).get("id") == item.arcid)
        if not ok:
            failures.append(f"{item.path.name}: {status} {reply[:200]!r}")
        return elapsed

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = list(pool.map(one, items))
    seconds = time.perf_counter() - started
    return Run(len(items), sum(i.size for i in items), seconds, latencies, failures)


def _disk_run(items: list[Item], out: Path, clients: int) -> Run:
    # The copies are kept, like the servers' files: a file deleted before it is
    # written back costs the disk nothing, which would flatter the baseline.
    out.mkdir(parents=True, exist_ok=True)

    def one(item: Item) -> float:
        started = time.perf_counter()
        common.sha1_copy(item.path, out / item.path.name)
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = list(pool.map(one, items))
    seconds = time.perf_counter() - started
    return Run(len(items), sum(i.size for i in items), seconds, latencies, [])


def _page_pool() -> list[list[tuple[str, bytes]]]:
    """The members of a few realistic 20-page cbz files, built once and cached."""
    if not (POOL_DIR / "manifest.json").is_file():
        script = common.ROOT.parent / "shared" / "corpus" / "make_corpus.py"
        build = Path(tempfile.mkdtemp(prefix=POOL_DIR.name + ".", dir=common.CACHE_DIR))
        subprocess.run([sys.executable, str(script), str(build), *POOL_ARGS], check=True, stdout=subprocess.DEVNULL)
        shutil.rmtree(POOL_DIR, ignore_errors=True)
        build.rename(POOL_DIR)
    pool = []
    for path in sorted(POOL_DIR.glob("*.cbz")):
        with zipfile.ZipFile(path) as z:
            pool.append([(i.filename, z.read(i)) for i in z.infolist() if i.filename != "ComicInfo.xml"])
    return pool


def _comicinfo(title: str) -> bytes:
    return f'<?xml version="1.0" encoding="utf-8"?>\n<ComicInfo><Title>{title}</Title></ComicInfo>\n'.encode()


def _build_archives(folder: Path, pool: list[list[tuple[str, bytes]]], count: int) -> list[Item]:
    """`count` distinct cbz files: pool pages behind a ComicInfo.xml of their own, which
    comes first so that no two share an ID (the SHA-1 of the first 512,000 bytes)."""
    folder.mkdir(parents=True)
    items = []
    for i in range(count):
        path = folder / f"Bench {i:05}.cbz"
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
            z.writestr("ComicInfo.xml", _comicinfo(f"Bench {i:05}"))
            for name, data in pool[i % len(pool)]:
                z.writestr(name, data)
        data = buf.getvalue()
        path.write_bytes(data)
        items.append(Item(path, len(data), hashlib.sha1(data).hexdigest(), hashlib.sha1(data[:ID_BYTES]).hexdigest()))
    return items


def _build_big(path: Path, size: int, pages: list[tuple[str, bytes]]) -> Item:
    """A valid stored cbz of about `size` bytes: three pages, then incompressible blobs.

    Written to disk in 1 MiB blocks, so neither the benchmark nor the server ever
    needs the file in memory.
    """
    block = random.Random(0).randbytes(MiB)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        for name, data in pages[:3]:
            z.writestr(name, data)
        left = size - sum(len(data) for _, data in pages[:3])
        n = 0
        while left > MiB:
            n += 1
            blob = min(BLOB_BYTES, left - left % MiB)
            with z.open(f"extras/blob-{n:03}.bin", "w", force_zip64=True) as member:
                for _ in range(blob // MiB):
                    member.write(block)
            left -= blob + 100  # roughly the member's headers
    digest, head = hashlib.sha1(), hashlib.sha1()
    with path.open("rb") as f:
        head_bytes = f.read(ID_BYTES)
        head.update(head_bytes)
        digest.update(head_bytes)
        while chunk := f.read(common.CHUNK):
            digest.update(chunk)
    return Item(path, path.stat().st_size, digest.hexdigest(), head.hexdigest())
