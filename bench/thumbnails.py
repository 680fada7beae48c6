"""Thumbnails through the job queue: covers per second for 100 archives (6 requests in
parallel, each polling /api/minion/{id}), and the time to make the page thumbnails of
a 1,000-page archive in each format, solid 7z included, with the worker's memory.

Hondana runs as a user runs it (`manage.py serve`: gunicorn and a Celery worker with
2 processes on the filesystem broker). Each figure comes with a baseline measured in
the same run on the same images: Pillow making the same thumbnails in this process on
one core (draft-mode decode, Lanczos resize, JPEG encode), with no queue, HTTP,
database or archive. Hondana's rate divided by it shows what the rest costs; with two
worker processes, 2.0 would be perfect use of both cores.

Aim (issue 4): the 1,000-page solid 7z in under two minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import random
import shutil
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import psutil
from PIL import Image
from PIL import ImageChops
from PIL import ImageDraw

from bench import common
from bench.common import MiB

DESCRIPTION = "covers/s through the job queue (6 clients), and page thumbnails of a 1,000-page archive per format"

PAGE_FORMATS = ["cbz", "cbr", "cb7", "tar", "pdf", "epub"]
WIDTH, HEIGHT = common.LIBRARY_SIZE
PDF_DPI = 150  # as make_corpus.py writes its PDFs: Hondana renders them at 200 DPI
COVER_BOX = (500, 1000)
COVER_QUALITY = 80
PAGE_QUALITY = 50  # page thumbnails, hqthumbpages off (the default)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="14 covers and 200-page archives (about 3 minutes)")
    parser.add_argument("--covers", type=int, help="archives whose covers are made (default 100, quick 14)")
    parser.add_argument("--clients", type=int, default=6, help="cover requests in parallel (default 6)")
    parser.add_argument("--poll", type=float, default=0.2, help="seconds between two polls of a job (default 0.2)")
    parser.add_argument("--pages", type=int, help="pages of each page-thumbnail archive (default 1000, quick 200)")
    parser.add_argument(
        "--formats", default=",".join(PAGE_FORMATS), help=f"page-thumbnail formats (default {','.join(PAGE_FORMATS)})"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument(
        "--part", choices=["covers", "pages", "both"], default="both", help="what to run (default both)"
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    covers = args.covers or (14 if args.quick else 100)
    pages = args.pages or (200 if args.quick else 1000)
    formats = [f for f in args.formats.split(",") if f]
    unknown = set(formats) - set(PAGE_FORMATS)
    if unknown:
        raise SystemExit(f"unknown formats: {', '.join(sorted(unknown))}")
    # The pages benchmark's library: the same archives, made once.
    library_count = 14 if args.quick else 105
    folder, entries = common.library(max(covers, library_count), 20, 20 if args.quick else 40)
    entries = entries[:covers]
    big = _big_archives(pages, formats) if args.part != "covers" else {}
    work = Path(tempfile.mkdtemp(prefix="hondana-bench-"))
    try:
        data_dir = work / "data"
        data_dir.mkdir()
        api_key = common.new_api_key()
        common.migrate(data_dir, api_key)
        results: dict[str, Any] = {
            "benchmark": "thumbnails",
            "machine": common.machine(),
            "params": {
                "covers": covers,
                "clients": args.clients,
                "poll_seconds": args.poll,
                "pages": pages,
                "formats": formats,
                "workers": args.workers,
                "page_size": f"{WIDTH}x{HEIGHT}",
            },
        }
        print(f"Working in {work}", flush=True)
        if args.part in ("covers", "both"):
            results["covers"] = _covers(data_dir, api_key, folder, entries, args)
        if args.part in ("pages", "both"):
            results["page_thumbnails"] = _page_thumbnails(data_dir, api_key, big, pages, args)
        _report(results)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


# --- (a) Covers -----------------------------------------------------------------------


def _covers(
    data_dir: Path, api_key: str, folder: Path, entries: list[dict[str, Any]], args: argparse.Namespace
) -> dict[str, Any]:
    print(f"(a) uploading {len(entries)} archives and waiting for their covers ...", flush=True)
    with common.hondana_server(data_dir, api_key=api_key, workers=args.workers, job_worker=True) as server:
        ids = [(entry, common.upload_file(server, folder / entry["file"])) for entry in entries]
        common.wait_covers(server, [arcid for _, arcid in ids])
        # The same images the cover jobs start from: page 1 as Hondana serves it
        # (for a PDF, the page rendered to JPEG).
        sources = [_first_page(server, arcid) for _, arcid in ids]
        # Reading page 1 of a 7z or PDF queued an extract_pages job: let them all end.
        common.drain_jobs(server, next(arcid for e, arcid in ids if e["format"] == "cbz"), 3)
    # Covers deleted behind the server's back, and a fresh server: nothing cached anywhere.
    thumbs = data_dir / "thumbnails"
    for _, arcid in ids:
        (thumbs / arcid[:2] / f"{arcid}.jpg").unlink()
    common.settle()
    baseline_seconds = 1.0 if args.quick else 3.0
    with common.hondana_server(data_dir, api_key=api_key, workers=args.workers, job_worker=True) as server:
        common.get_json(server, "/api/info")
        # The first job after the worker says "ready." can wait seconds longer than the
        # next ones: that is measured here, once, not charged to the covers.
        first_job = _first_job(server, next(arcid for e, arcid in ids if e["format"] == "cbz"))
        measure_baseline = _baseline(sources, COVER_QUALITY, baseline_seconds)
        groups = {"web": server.gunicorn, "jobs": server.celery}
        with common.RssSampler(server.celery, interval=0.1) as rss, common.CpuMeter(groups) as cpu:
            run = _cover_requests(server, ids, args.clients, args.poll)
        baseline = measure_baseline()
        jobs = _job_times(server, run["jobs"])
        # One request at a time, one archive per format: how long one cover takes to
        # appear when nothing else is queued (the queue's own latency shows here).
        singles = list({entry["format"]: (entry, arcid) for entry, arcid in ids}.values())
        single_cpu = {}
        single_latency = {}
        for entry, arcid in singles:
            (thumbs / arcid[:2] / f"{arcid}.jpg").unlink()
            with common.CpuMeter(groups) as meter:
                one = _cover_requests(server, [(entry, arcid)], 1, args.poll)
            single_latency[entry["format"]] = round(one["latencies"][0], 3)
            single_cpu[entry["format"]] = round(meter.used["jobs"] * 1000, 1)
            run["failures"] += one["failures"]
    per_format: dict[str, list[float]] = {}
    for (entry, _), latency in zip(ids, run["latencies"], strict=True):
        per_format.setdefault(entry["format"], []).append(latency)
    covers_per_s = len(ids) / run["seconds"]
    return {
        "archives": len(ids),
        "seconds": round(run["seconds"], 2),
        "covers_per_second": round(covers_per_s, 2),
        "p50_s": round(common.percentile(run["latencies"], 50), 3),
        "p95_s": round(common.percentile(run["latencies"], 95), 3),
        "polls": run["polls"],
        "answered_200_at_once": run["immediate"],
        "failures": run["failures"][:20],
        "by_format_p50_s": {f: round(common.percentile(v, 50), 3) for f, v in sorted(per_format.items())},
        "first_job_after_start": first_job,
        "one_at_a_time_s": single_latency,
        "one_at_a_time_jobs_cpu_ms": single_cpu,
        "latencies_s": sorted(round(t, 3) for t in run["latencies"]),
        "job_wait_s": _spread([j["wait"] for j in jobs]),
        "job_run_s": _spread([j["run"] for j in jobs]),
        "slowest": sorted(
            (
                {"format": e["format"], "latency_s": round(t, 2), **j}
                for (e, _), t, j in zip(ids, run["latencies"], jobs, strict=True)
            ),
            key=lambda x: -x["latency_s"],
        )[:5],
        "baseline_pillow_1core": baseline,
        "vs_baseline": round(covers_per_s / baseline["per_second"], 3),
        "cpu": cpu.summary(),
        "jobs_cpu_ms_per_cover": round(cpu.used["jobs"] / len(ids) * 1000, 1),
        "web_cpu_ms_per_cover": round(cpu.used["web"] / len(ids) * 1000, 1),
        "worker_rss_peak_mib": round(max(rss.peak.values()) / MiB, 1),
        "worker_rss_total_peak_mib": round(rss.peak_total / MiB, 1),
    }


def _first_job(server: common.Server, arcid: str) -> dict[str, float]:
    """The page-1 thumbnail of one archive (a thumbnail_task, like a cover) requested and waited
    for: how long the first job after the worker started took, queued and running."""
    started = time.perf_counter()
    job = common.thumbnail_job(server, arcid, page=1)
    if job is None:
        raise RuntimeError(f"the page-1 thumbnail of {arcid} exists already")
    common.wait_job(server, job, interval=0.05)
    seconds = time.perf_counter() - started
    times = _job_times(server, [job])[0]
    return {"seconds": round(seconds, 2), "queued_s": times["wait"], "running_s": times["run"]}


def _job_times(server: common.Server, jobs: list[int | None]) -> list[dict[str, Any]]:
    """Each job's time in the queue and running, from /api/minion/{id}/detail (whole seconds)."""
    out = []
    for job in jobs:
        if job is None:
            out.append({"job": None, "wait": 0, "run": 0})
            continue
        d = common.get_json(server, f"/api/minion/{job}/detail")
        created, started, finished = (int(d[k] or 0) for k in ("created", "started", "finished"))
        out.append({"job": job, "wait": started - created, "run": finished - started, "retries": int(d["retries"])})
    return out


def _spread(values: list[float]) -> dict[str, float]:
    return {"p50": common.percentile(values, 50), "p95": common.percentile(values, 95), "max": max(values)}


def _first_page(server: common.Server, arcid: str) -> bytes:
    urls = common.get_json(server, f"/api/archives/{arcid}/files")["pages"]
    client = common.KeepAliveClient(server.host, server.port, {"Authorization": common.bearer(server.api_key)})
    try:
        status, _, data = client.get(urls[0], keep_body=True)
    finally:
        client.close()
    if status != 200:
        raise RuntimeError(f"{urls[0]}: {status}")
    return data


def _cover_requests(
    server: common.Server, ids: list[tuple[dict[str, Any], str]], clients: int, poll: float
) -> dict[str, Any]:
    """For each archive: GET the cover with no_fallback=true, poll the job it answers, GET the cover."""
    polls = [0]
    immediate = [0]
    failures: list[str] = []
    lock = threading.Lock()

    jobs: dict[str, int | None] = {}

    def one(arcid: str) -> float:
        started = time.perf_counter()
        try:
            job = jobs[arcid] = common.thumbnail_job(server, arcid)
            if job is None:
                with lock:
                    immediate[0] += 1
            else:
                while True:
                    status = common.get_json(server, f"/api/minion/{job}")
                    with lock:
                        polls[0] += 1
                    if status["state"] in ("finished", "failed"):
                        break
                    time.sleep(poll)
                if status["state"] != "finished":
                    raise RuntimeError(f"job {job} {status['state']}")
                if common.thumbnail_job(server, arcid) is not None:
                    raise RuntimeError("no cover after the job finished")
        except (OSError, RuntimeError, ValueError) as exc:
            with lock:
                failures.append(f"{arcid}: {exc}")
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = list(pool.map(one, [arcid for _, arcid in ids]))
    return {
        "seconds": time.perf_counter() - started,
        "latencies": latencies,
        "polls": polls[0],
        "immediate": immediate[0],
        "failures": failures,
        "jobs": [jobs.get(arcid) for _, arcid in ids],
    }


def pillow_thumbnail(data: bytes, quality: int, box: tuple[int, int] = COVER_BOX) -> bytes:
    """What a thumbnail costs Pillow alone: the steps of archives/images.py, no Django."""
    with Image.open(io.BytesIO(data)) as img:
        scale = min(box[0] / img.width, box[1] / img.height)
        target = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        if img.format == "JPEG":
            img.draft("RGB", target)
        rgb = img.convert("RGB") if img.mode != "RGB" else img
        out = io.BytesIO()
        rgb.resize(target, Image.Resampling.LANCZOS).save(out, "JPEG", quality=quality, optimize=False)
        return out.getvalue()


def _pillow_rate(sources: list[bytes], quality: int, min_seconds: float = 2.0) -> tuple[float, float]:
    """Thumbnails of `sources` in this process on one core: (per second, CPU ms each)."""
    pillow_thumbnail(sources[0], quality)
    done = 0
    started, cpu0 = time.perf_counter(), time.process_time()
    while True:
        for data in sources:
            pillow_thumbnail(data, quality)
            done += 1
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return done / elapsed, (time.process_time() - cpu0) / done * 1000


def _baseline(sources: list[bytes], quality: int, seconds: float) -> Callable[[], dict[str, float]]:
    """Measure the Pillow baseline now; the returned call measures it again and averages
    the two, so that the baseline sees the machine as the run between them did."""
    before = _pillow_rate(sources, quality, seconds)

    def after() -> dict[str, float]:
        again = _pillow_rate(sources, quality, seconds)
        return {
            "per_second": round((before[0] + again[0]) / 2, 1),
            "cpu_ms": round((before[1] + again[1]) / 2, 2),
            "per_second_before_after": [round(before[0], 1), round(again[0], 1)],
        }

    return after


# --- (b) Page thumbnails of one large archive per format ------------------------------


def _page_thumbnails(
    data_dir: Path, api_key: str, big: dict[str, Path], pages: int, args: argparse.Namespace
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    print(f"(b) page thumbnails of a {pages}-page archive in each format ...", flush=True)
    sample = _sample_pages(big[next(iter(big))], 60)
    baseline_seconds = 1.0 if args.quick else 2.0
    with common.hondana_server(data_dir, api_key=api_key, workers=args.workers, job_worker=True) as server:
        for fmt, path in big.items():
            arcid = common.upload_file(server, path)
            common.wait_covers(server, [arcid])
            common.settle()
            measure_baseline = _baseline(sample, PAGE_QUALITY, baseline_seconds)
            r = out[fmt] = _one_archive(server, arcid, pages, args.poll)
            baseline = measure_baseline()
            r["archive_mb"] = round(path.stat().st_size / 1e6, 1)
            r["baseline_pillow_1core"] = baseline
            r["vs_baseline"] = round(r["pages_per_second"] / baseline["per_second"], 3)
            r["jobs_cpu_ms_per_page"] = round(r["cpu"]["jobs_cpu_s"] / pages * 1000, 1)
            r["cpu_vs_baseline"] = round(r["jobs_cpu_ms_per_page"] / baseline["cpu_ms"], 2)
            print(
                f"  {fmt}: {r['seconds']:.1f} s, {r['pages_per_second']:.1f} pages/s "
                f"(Pillow alone {baseline['per_second']:.1f}/s), worker RSS peak {r['worker_rss_peak_mib']:.0f} MiB, "
                f"other load {r['cpu']['other_share'] * 100:.0f}%",
                flush=True,
            )
            # Free the page cache and the disk before the next format.
            common.get_json(server, "/api/tempfolder", method="DELETE")
    return {"formats": out}


def _one_archive(server: common.Server, arcid: str, pages: int, poll: float) -> dict[str, Any]:
    """POST .../files/thumbnails, then poll the job's notes until it is finished."""
    seen_pids: set[int] = set()

    def workers() -> list[psutil.Process]:
        procs = server.celery()
        seen_pids.update(p.pid for p in procs)
        return procs

    children_before = {proc.pid for proc in server.celery_children()}
    started = time.perf_counter()
    reply = common.get_json(server, f"/api/archives/{arcid}/files/thumbnails", method="POST")
    job = int(reply["job"])
    first_page_at = None
    timeline = []
    groups = {"web": server.gunicorn, "jobs": server.celery}
    with common.RssSampler(workers, interval=0.1) as rss, common.CpuMeter(groups) as cpu:
        while True:
            status = common.get_json(server, f"/api/minion/{job}")
            done = sum(1 for k, v in status["notes"].items() if k.isdigit() and v == "processed")
            now = time.perf_counter() - started
            if done and first_page_at is None:
                first_page_at = now
            if not timeline or timeline[-1][1] != done:
                timeline.append((round(now, 2), done))
            if status["state"] == "failed":
                raise RuntimeError(
                    f"page_thumbnails of {arcid} failed: {common.get_json(server, f'/api/minion/{job}/detail')}"
                )
            if status["state"] == "finished":
                break
            time.sleep(max(poll, 0.25))
    seconds = time.perf_counter() - started
    time.sleep(2)  # a child over the memory limit is replaced once its task has ended
    replaced = len(children_before - {proc.pid for proc in server.celery_children()})
    notes = status["notes"]
    if notes.get("total_pages") != str(pages) or done != pages:
        raise RuntimeError(f"page_thumbnails of {arcid}: {done} pages processed, notes say {notes.get('total_pages')}")
    checked = _check_thumbnails(server, arcid, pages)
    return {
        "pages": pages,
        "seconds": round(seconds, 2),
        "pages_per_second": round(pages / seconds, 1),
        "first_page_after_s": round(first_page_at or seconds, 2),
        "worker_rss_before_mib": round(rss.first_total / MiB, 1),
        "worker_rss_total_peak_mib": round(rss.peak_total / MiB, 1),
        "worker_rss_peak_mib": round(max(rss.peak.values()) / MiB, 1),
        "worker_processes_seen": len(seen_pids),
        "worker_children_replaced": replaced,
        "cpu": cpu.summary(),
        "timeline": timeline[:: max(1, len(timeline) // 40)],
        "thumbnails_checked": checked,
    }


def _check_thumbnails(server: common.Server, arcid: str, pages: int, count: int = 12) -> int:
    """A few page thumbnails fetched and decoded: JPEG, fitted into 500x1000."""
    client = common.KeepAliveClient(server.host, server.port, {"Authorization": common.bearer(server.api_key)})
    try:
        for page in sorted({1, pages, *random.Random(arcid).sample(range(1, pages + 1), min(count, pages))}):
            status, _, data = client.get(
                f"/api/archives/{arcid}/thumbnail?page={page}&no_fallback=true", keep_body=True
            )
            if status != 200:
                raise RuntimeError(f"page {page} of {arcid}: thumbnail answered {status}")
            with Image.open(io.BytesIO(data)) as img:
                if img.format != "JPEG" or img.width > COVER_BOX[0] or img.height > COVER_BOX[1]:
                    raise RuntimeError(f"page {page} of {arcid}: {img.format} {img.size}")
        return count
    finally:
        client.close()


def _sample_pages(path: Path, count: int) -> list[bytes]:
    """The first `count` pages of the large archives (from the cbz, if it was made)."""
    cbz = path.with_suffix(".cbz")
    if cbz.is_file():
        with zipfile.ZipFile(cbz) as z:
            return [z.read(name) for name in sorted(z.namelist())[:count]]
    manifest = json.loads((path.parent / "manifest.json").read_text())
    return _page_bytes(min(count, manifest["pages"]), manifest["seed"])


# --- The 1,000-page archives ----------------------------------------------------------


def _make_corpus() -> ModuleType:
    """The shared corpus tool as a module: its page drawing and archive writers."""
    path = common.ROOT.parent / "shared" / "corpus" / "make_corpus.py"
    spec = importlib.util.spec_from_file_location("make_corpus", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_corpus", module)
    spec.loader.exec_module(module)
    return module


def _page_bytes(count: int, seed: int) -> list[bytes]:
    """`count` distinct JPEG pages (1280x1810, quality 85, as make_corpus.py makes them).

    make_corpus.py draws 16 pages and repeats them; in a solid 7z the repeats would
    compress to almost nothing and decode faster than real pages, which compress by a
    few percent. Each page here is one of the 16 moved by its own (dx, dy) of 0-7
    pixels, which puts different pixels in every 8x8 JPEG block, so that no two pages
    share their compressed data, with its page number drawn in a corner.
    """
    mc = _make_corpus()
    pool = [mc.page_image(random.Random(seed * 1000 + i), WIDTH, HEIGHT, f"page {i}") for i in range(16)]
    pages = []
    for n in range(count):
        k = n // len(pool)
        img = ImageChops.offset(pool[n % len(pool)], 1 + k % 8, 1 + (k // 8) % 8)
        ImageDraw.Draw(img).text((12, 12), f"{n + 1}", fill=0)
        pages.append(mc.encode(img, "jpg"))
    return pages


def _big_archives(pages: int, formats: list[str], seed: int = 5) -> dict[str, Path]:
    """One `pages`-page archive per format, made once into .cache/."""
    folder = common.CACHE_DIR / f"bench-thumbs-{pages}p-{WIDTH}x{HEIGHT}"
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        manifest.write_text(json.dumps({"pages": pages, "seed": seed}))
    paths = {fmt: folder / f"big-{pages}.{fmt}" for fmt in formats}
    missing = [fmt for fmt, path in paths.items() if not path.is_file()]
    if missing:
        print(f"Making {pages}-page archives ({', '.join(missing)}; once, cached in {folder}) ...", flush=True)
        mc = _make_corpus()
        members = [(f"{n + 1:04d}.jpg", data) for n, data in enumerate(_page_bytes(pages, seed))]
        for fmt in missing:
            started = time.perf_counter()
            tmp = paths[fmt].with_suffix(f".tmp.{fmt}")
            if fmt == "pdf":
                write_pdf(tmp, [data for _, data in members], WIDTH, HEIGHT, PDF_DPI)
            else:
                # Page order shuffled in the archive, as make_corpus.py does.
                shuffled = members[:]
                random.Random(seed).shuffle(shuffled)
                mc.write_archive(str(tmp), fmt, shuffled)
            tmp.rename(paths[fmt])
            print(
                f"  {paths[fmt].name}: {paths[fmt].stat().st_size / 1e6:.0f} MB in {time.perf_counter() - started:.0f} s",
                flush=True,
            )
    return paths


def write_pdf(path: Path, jpegs: list[bytes], width: int, height: int, dpi: int) -> None:
    """A PDF of grayscale JPEG pages embedded as they are (DCTDecode), one image per page.

    Pillow's PDF writer would decode and re-encode every page and hold them all in
    memory; this writes each JPEG once, as scanners and make_corpus.py's PDFs store them.
    """
    w_pt, h_pt = width * 72 / dpi, height * 72 / dpi
    offsets: list[int] = []
    with path.open("wb") as f:

        def obj(body: bytes, stream: bytes | None = None) -> None:
            offsets.append(f.tell())
            f.write(f"{len(offsets)} 0 obj\n".encode() + body)
            if stream is not None:
                f.write(b"\nstream\n" + stream + b"\nendstream")
            f.write(b"\nendobj\n")

        f.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        n = len(jpegs)
        # Objects: 1 catalog, 2 page tree, then per page: page, contents, image.
        kids = " ".join(f"{3 + 3 * i} 0 R" for i in range(n))
        obj(b"<< /Type /Catalog /Pages 2 0 R >>")
        obj(f"<< /Type /Pages /Count {n} /Kids [{kids}] >>".encode())
        content = f"q {w_pt:.2f} 0 0 {h_pt:.2f} 0 0 cm /Im0 Do Q".encode()
        for i, data in enumerate(jpegs):
            page, contents, image = 3 + 3 * i, 4 + 3 * i, 5 + 3 * i
            obj(
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w_pt:.2f} {h_pt:.2f}] "
                f"/Resources << /XObject << /Im0 {image} 0 R >> >> /Contents {contents} 0 R >>".encode()
            )
            assert len(offsets) == page
            obj(f"<< /Length {len(content)} >>".encode(), content)
            obj(
                f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace /DeviceGray "
                f"/BitsPerComponent 8 /Filter /DCTDecode /Length {len(data)} >>".encode(),
                data,
            )
        xref = f.tell()
        f.write(f"xref\n0 {len(offsets) + 1}\n0000000000 65535 f \n".encode())
        for off in offsets:
            f.write(f"{off:010d} 00000 n \n".encode())
        f.write(f"trailer\n<< /Size {len(offsets) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())


# --- Output -------------------------------------------------------------------------


def _report(results: dict[str, Any]) -> None:
    if "covers" in results:
        _report_covers(results)
    if "page_thumbnails" in results:
        _report_pages(results)


def _report_covers(results: dict[str, Any]) -> None:
    c = results["covers"]
    p = results["params"]
    print()
    print(
        f"(a) Covers of {c['archives']} archives (every corpus format, {p['page_size']} pages) through the job queue: "
        f"{p['clients']} requests in parallel, each polling /api/minion/{{id}} every {p['poll_seconds']} s"
    )
    b = c["baseline_pillow_1core"]
    rows = [
        [
            "hondana: GET ?no_fallback -> 202 job -> poll -> GET",
            f"{c['covers_per_second']:.1f}",
            f"{c['p50_s']:.2f}",
            f"{c['p95_s']:.2f}",
            f"{c['jobs_cpu_ms_per_cover']:.0f} (+{c['web_cpu_ms_per_cover']:.0f} web)",
            "",
        ],
        [
            "Pillow alone, same page-1 images, 1 core (baseline)",
            f"{b['per_second']:.1f}",
            "",
            "",
            f"{b['cpu_ms']:.0f}",
            f"{c['vs_baseline']:.2f}x",
        ],
    ]
    print(common.table(rows, ["target", "covers/s", "p50 s", "p95 s", "CPU ms/cover", "hondana/this"]))
    by = ", ".join(f"{f} {v:.2f}" for f, v in c["by_format_p50_s"].items())
    print(f"Request-to-cover p50 by format (s): {by}")
    one = ", ".join(
        f"{f} {v:.2f} s ({c['one_at_a_time_jobs_cpu_ms'][f]:.0f} ms CPU)" for f, v in c["one_at_a_time_s"].items()
    )
    print(f"One request at a time, nothing else queued: {one}")
    f = c["first_job_after_start"]
    print(
        f"First job after the worker started (a page-1 thumbnail, not counted above): {f['seconds']:.1f} s, "
        f"{f['queued_s']} s queued and {f['running_s']} s running (whole seconds)"
    )
    w, r = c["job_wait_s"], c["job_run_s"]
    print(
        f"Jobs (whole seconds, from /api/minion/{{id}}/detail): queued p50 {w['p50']} p95 {w['p95']} max {w['max']}; "
        f"running p50 {r['p50']} p95 {r['p95']} max {r['max']}"
    )
    print(
        f"Worker RSS peak: {c['worker_rss_peak_mib']:.0f} MiB per process, {c['worker_rss_total_peak_mib']:.0f} MiB "
        f"in all; other load on the machine: {c['cpu']['other_share'] * 100:.0f}% of its CPU"
    )
    if c["failures"]:
        print(f"FAILED: {len(c['failures'])}; first: {c['failures'][0]}")


def _report_pages(results: dict[str, Any]) -> None:
    p = results["params"]
    t = results["page_thumbnails"]
    print()
    print(
        f"(b) Page thumbnails of one {p['pages']}-page archive per format "
        f"(POST /api/archives/{{id}}/files/thumbnails, notes polled until finished)"
    )
    rows = []
    for fmt, r in t["formats"].items():
        rows.append(
            [
                fmt,
                f"{r['archive_mb']:.0f}",
                f"{r['seconds']:.1f}",
                f"{r['pages_per_second']:.1f}",
                f"{r['first_page_after_s']:.1f}",
                f"{r['baseline_pillow_1core']['per_second']:.1f}",
                f"{r['vs_baseline']:.2f}x",
                f"{r['jobs_cpu_ms_per_page']:.0f}",
                f"{r['baseline_pillow_1core']['cpu_ms']:.0f}",
                f"{r['worker_rss_before_mib']:.0f}",
                f"{r['worker_rss_total_peak_mib']:.0f}",
                f"{r['worker_rss_peak_mib']:.0f}",
                str(r["worker_children_replaced"]),
                f"{r['cpu']['other_share'] * 100:.0f}%",
            ]
        )
    header = [
        "format",
        "MB",
        "seconds",
        "pages/s",
        "1st page s",
        "Pillow/s",
        "vs Pillow",
        "CPU ms/page",
        "Pillow",
        "RSS before",
        "peak",
        "peak/proc",
        "replaced",
        "other load",
    ]
    print(common.table(rows, header))
    print(
        "Pillow: the same pages thumbnailed in this process on one core (quality 50), measured just before and "
        "after each format. CPU ms/page: the worker's CPU time. RSS in MiB: the worker's main process and its "
        "children; replaced: worker children replaced after the job (above HONDANA_WORKER_MAX_MEMORY_KB)."
    )
    if "cb7" in t["formats"]:
        s = t["formats"]["cb7"]["seconds"]
        verdict = "met" if s < 120 else "NOT met"
        print(f"Aim: {p['pages']}-page solid 7z in under 2 minutes: {s:.0f} s, {verdict}.")
