"""Search at library scale: about twenty fixed queries on a synthetic library (by
default 100,000 archives from `manage.py generate_library`), cold (cache cleared
before each request) and warm, plus the full `GET /api/archives` listing, on SQLite
and on PostgreSQL, with the peak RSS of the web process.

The library is generated once per database and size and kept under .cache/ (and in
the PostgreSQL database named by --pg-url) for later runs. Aims: every p50 under
100 ms, the listing under 3 s, the web process under 300 MB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

from bench import common

DESCRIPTION = "search p50/p95 (cold and warm) and the full listing at 100,000 archives, SQLite and PostgreSQL"
PG_URL = "postgres://postgres@127.0.0.1:5432/hondana_bench_search"
# Bumped whenever generate_library makes a different library, so kept ones are remade.
LIBRARY_VERSION = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, default=100_000, help="archives in the synthetic library")
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pg-url", default=PG_URL, help="PostgreSQL database for the library (recreated)")
    parser.add_argument("--runs", type=int, default=9, help="requests per query and mode")
    parser.add_argument("--quick", action="store_true", help="3 requests per query and mode instead of --runs")
    parser.add_argument(
        "--only",
        action="append",
        metavar="TEXT",
        help="run only the queries whose label contains TEXT (repeatable; the listing is skipped)",
    )
    parser.add_argument("--no-listing", action="store_true", help="skip the full GET /api/archives")


def _env(db: str, url: str) -> dict[str, str]:
    return {"DATABASE_URL": url} if db == "postgres" else {}


def _manage(data_dir: Path, key: str, db: str, url: str, *args: str) -> None:
    env = {**common.server_env(data_dir, key), **_env(db, url)}
    subprocess.run([sys.executable, "manage.py", *args], cwd=common.ROOT, env=env, check=True)


def _prepare(db: str, url: str, count: int, key: str) -> Path:
    data_dir = common.CACHE_DIR / f"bench-search-{db}-{count}"
    marker = data_dir / "library.json"
    wanted = {"count": count, "url": url if db == "postgres" else "sqlite", "version": LIBRARY_VERSION}
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        # A kept library still gets the migrations added since it was generated.
        _manage(data_dir, key, db, url, "migrate", "--noinput", "--verbosity", "0")
        return data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    if db == "postgres":
        base, name = url.rsplit("/", 1)
        admin = f"{base}/postgres"
        subprocess.run(["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{name}"'], check=True)
        subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{name}"'], check=True)
    else:
        (data_dir / "hondana.sqlite3").unlink(missing_ok=True)
    _manage(data_dir, key, db, url, "migrate", "--noinput", "--verbosity", "0")
    started = time.monotonic()
    _manage(data_dir, key, db, url, "generate_library", str(count))
    print(f"{db}: generated {count} archives in {time.monotonic() - started:.0f} s")
    marker.write_text(json.dumps(wanted))
    return data_dir


# A request slower than this is given up on (and the query's remaining runs skipped).
REQUEST_TIMEOUT = 120


def _request(server: common.Server, method: str, path: str) -> tuple[int, bytes, float]:
    conn = server.connection(timeout=REQUEST_TIMEOUT)
    try:
        started = time.perf_counter()
        conn.request(method, path, headers={"Authorization": common.bearer(server.api_key)})
        response = conn.getresponse()
        body = response.read()
        return response.status, body, time.perf_counter() - started
    finally:
        conn.close()


def _get_json(server: common.Server, path: str) -> Any:
    status, body, _ = _request(server, "GET", path)
    assert status == 200, (path, status, body[:300])
    return json.loads(body)


def _queries(server: common.Server) -> list[tuple[str, str]]:
    """(label, path) of the fixed query set; rare tag and categories come from the library."""
    stats = _get_json(server, "/api/database/stats?minweight=1")
    artists = sorted((s for s in stats if s["namespace"] == "artist"), key=lambda s: -s["weight"])
    rare = next(s for s in stats if s["weight"] == 2 and s["namespace"] == "female")
    popular = artists[0]
    ids = _get_json(server, "/api/search/ids?filter=" + urllib.parse.quote(f"artist:{popular['text']}$"))["data"]
    # Made on the first run and found again on later ones: a write here would be a
    # cache invalidation that no user of a read-mostly library pays for on every query.
    existing = {c["name"]: c["id"] for c in _get_json(server, "/api/categories")}
    static = existing.get("bench static")
    if static is None:
        _, body, _ = _put_form(server, "/api/categories", {"name": "bench static"})
        static = json.loads(body)["category_id"]
        for arcid in ids[:100]:
            _request(server, "PUT", f"/api/categories/{static}/{arcid}")
    dynamic = existing.get("bench dynamic")
    if dynamic is None:
        _, body, _ = _put_form(server, "/api/categories", {"name": "bench dynamic", "search": "language:chinese"})
        dynamic = json.loads(body)["category_id"]

    def q(**params: Any) -> str:
        return "/api/search?" + urllib.parse.urlencode(params)

    return [
        ("title asc", q()),
        ("title desc", q(order="desc")),
        ("common tag", q(filter="language:english")),
        (f"rare tag ({rare['weight']})", q(filter=f"female:{rare['text']}")),
        ("popular artist", q(filter=f"artist:{popular['text']}")),
        ("namespace prefix", q(filter="female:")),
        ("exact $", q(filter="language:japanese$")),
        ("negation", q(filter="-language:english")),
        ("and + not", q(filter="female:, -male:, language:english")),
        ("title words", q(filter="summer")),
        ("wildcard", q(filter="*ka?i*")),
        ("pages:>200", q(filter="pages:>200")),
        ("sort artist", q(sortby="artist")),
        ("sort date_added desc", q(sortby="date_added", order="desc")),
        ("filter + sort", q(filter="language:japanese", sortby="date_added", order="desc")),
        ("start=50000", q(start=50000)),
        ("newonly", q(newonly="true")),
        ("untaggedonly", q(untaggedonly="true")),
        ("hidecompleted", q(hidecompleted="true")),
        ("static category", q(category=static)),
        ("dynamic category", q(category=dynamic)),
        ("lastread (never cached)", q(sortby="lastread")),
        ("ids only", "/api/search/ids"),
        ("random 25", "/api/search/random?count=25"),
    ]


def _put_form(server: common.Server, path: str, form: dict[str, str]) -> tuple[int, bytes, float]:
    conn = server.connection()
    try:
        started = time.perf_counter()
        conn.request(
            "PUT",
            path,
            body=urllib.parse.urlencode(form),
            headers={
                "Authorization": common.bearer(server.api_key),
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        response = conn.getresponse()
        return response.status, response.read(), time.perf_counter() - started
    finally:
        conn.close()


def _timed_runs(server: common.Server, path: str, runs: int, *, cold: bool) -> tuple[list[float], bytes]:
    times: list[float] = []
    body = b""
    for _ in range(runs):
        if cold:
            _request(server, "DELETE", "/api/search/cache")
        try:
            status, body, elapsed = _request(server, "GET", path)
        except TimeoutError:
            status, elapsed = 0, float(REQUEST_TIMEOUT)
        if status != 200:
            # Given up on (a timeout, or a statement timeout set on the database).
            times.append(max(elapsed, float(REQUEST_TIMEOUT)))
            body = b""
            break
        times.append(elapsed)
    return times, body


def _ms(times: list[float], q: float) -> float:
    return round(common.percentile(times, q) * 1000, 1)


def _measure(server: common.Server, args: argparse.Namespace, db: str) -> dict[str, Any]:
    out: dict[str, Any] = {"queries": {}}
    runs = args.runs
    for label, path in _queries(server):
        if args.only and not any(text in label for text in args.only):
            continue
        cold, body = _timed_runs(server, path, runs, cold=True)
        warm, warm_body = _timed_runs(server, path, runs, cold=False)
        reply = json.loads(warm_body or body or b"{}")
        result = out["queries"][label] = {
            "path": path,
            "matches": reply.get("recordsFiltered", reply.get("recordsTotal")),
            "cold_p50_ms": _ms(cold, 50),
            "cold_p95_ms": _ms(cold, 95),
            "warm_p50_ms": _ms(warm, 50),
            "warm_p95_ms": _ms(warm, 95),
        }
        # Printed as it goes: a full run takes minutes, and a slow query shows at once.
        print(
            f"{db:8} {label:26} cold {result['cold_p50_ms']:8.1f} / {result['cold_p95_ms']:8.1f}"
            f"  warm {result['warm_p50_ms']:8.1f} / {result['warm_p95_ms']:8.1f}  ({result['matches']})",
            flush=True,
        )
    if args.only or args.no_listing:
        return out
    listing = []
    for _ in range(3):
        status, body, elapsed = _request(server, "GET", "/api/archives")
        assert status == 200
        listing.append(elapsed)
    out["listing"] = {"count": len(json.loads(body)), "p50_s": round(common.percentile(listing, 50), 2)}
    return out


def _run_one(db: str, args: argparse.Namespace) -> dict[str, Any]:
    key = "bench-search-key"
    data_dir = _prepare(db, args.pg_url, args.count, key)
    port = common.free_port()
    cmd = [sys.executable, "manage.py", "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--workers", "1"]
    with common._running(
        cmd, data_dir, key, port, name="hondana", ready_path="/api/info", extra_env=_env(db, args.pg_url)
    ) as server:
        sampler = common.RssSampler(server.gunicorn, interval=0.1)
        with sampler:
            result = _measure(server, args, db)
        _, _, peak = sampler.busiest()
        result["web_peak_rss_mb"] = round(peak / common.MiB, 1)
    return result


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.quick:
        args.runs = 3
    dbs = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    results: dict[str, Any] = {"machine": common.machine(), "count": args.count, "runs": args.runs}
    for db in dbs:
        results[db] = _run_one(db, args)
    labels = list(results[dbs[0]]["queries"])
    header = ["query"]
    for db in dbs:
        header += [f"{db} cold p50", "p95", "warm p50", "p95"]
    header.append("matches")
    rows = []
    for label in labels:
        row = [label]
        for db in dbs:
            r = results[db]["queries"][label]
            row += [
                f"{r['cold_p50_ms']:.1f}",
                f"{r['cold_p95_ms']:.1f}",
                f"{r['warm_p50_ms']:.1f}",
                f"{r['warm_p95_ms']:.1f}",
            ]
        row.append(str(results[dbs[0]]["queries"][label]["matches"]))
        rows.append(row)
    print(f"\nSearch at {args.count} archives (ms; cold = cache cleared before each request)\n")
    print(common.table(rows, header))
    for db in dbs:
        r = results[db]
        if "listing" not in r:
            continue
        print(
            f"\n{db}: GET /api/archives ({r['listing']['count']} archives) p50 {r['listing']['p50_s']} s; "
            f"web process peak RSS {r['web_peak_rss_mb']} MB"
        )
    return results
