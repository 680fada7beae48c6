"""Job types are declared once, beside their tasks, and every way of queueing uses them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from archives import tasks
from jobs import registry
from jobs.models import Job

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
ARCID = "a" * 40

# Arguments each type accepts on POST /api/minion/{name}/queue.
VALID_ARGS = {
    "build_stat_hashes": [],
    "thumbnail_task": ["", ARCID, 0],
    "page_thumbnails": [ARCID, False],
    "regen_all_thumbnails": ["", False],
    "tank_thumbnail_task": ["", "TANK_1234567890"],
    "download_url": ["http://example.invalid/a.zip", None],
    "run_plugin": ["copytags", ARCID, None],
}


def queue(client, auth_header, name: str, args: list, **query: object):
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    return client.post(f"/api/minion/{name}/queue?args={json.dumps(args)}{extra}", **auth_header)


def test_every_queueable_type_has_a_case_here():
    queueable = {name for name in registry.job_types() if registry.queueable(name)}
    assert queueable == set(VALID_ARGS)


@pytest.mark.parametrize("name", sorted(VALID_ARGS))
def test_queueing_by_name_records_the_declared_attempts(client, auth_header, name):
    r = queue(client, auth_header, name, VALID_ARGS[name])
    assert r.status_code == 200, r.content
    job = Job.objects.get(pk=r.json()["job"])
    declared = registry.job_types()[name]
    assert (job.task, job.args, job.attempts) == (name, VALID_ARGS[name], declared.attempts)
    # The route takes the client's priority (0 when none) and never deduplicates.
    assert (job.priority, job.dedupe_key) == (0, "")
    again = queue(client, auth_header, name, VALID_ARGS[name], priority=7).json()["job"]
    assert again != job.pk and Job.objects.get(pk=again).priority == 7


@pytest.mark.parametrize(
    ("name", "args", "error"),
    [
        ("build_stat_hashes", ["x"], "This job takes no arguments: use []."),
        ("thumbnail_task", ["", ARCID, "3"], "thumbnail_task takes [thumbdir, archive id, page]."),
        ("thumbnail_task", [""], "thumbnail_task takes [thumbdir, archive id, page]."),
        ("page_thumbnails", [1], "page_thumbnails takes [archive id, force]."),
        ("page_thumbnails", [ARCID, True, 1], "page_thumbnails takes [archive id, force]."),
        ("tank_thumbnail_task", ["TANK_1234567890"], "tank_thumbnail_task takes [thumbdir, tankoubon id]."),
        ("regen_all_thumbnails", ["", True, 1], "regen_all_thumbnails takes [thumbdir, force]."),
        ("download_url", [], "download_url takes [url, category id]."),
        ("download_url", ["http://x", 3], "download_url takes [url, category id]."),
        ("run_plugin", ["x", None], "run_plugin takes [plugin namespace, archive id, argument]."),
        ("run_plugin", ["x", 0, 1], "run_plugin takes [plugin namespace, archive id, argument]."),
    ],
)
def test_wrong_arguments_get_the_declared_usage(client, auth_header, name, args, error):
    r = queue(client, auth_header, name, args)
    assert r.json() == {"operation": "queue_minion_job", "error": error, "success": 0, "successMessage": ""}
    assert not Job.objects.exists()


ENQUEUED = [
    # (call, task, args, attempts, priority, dedupe key): what the call sites queued before
    # the declarations existed.
    (lambda: tasks.thumbnail_enqueue(arcid=ARCID), "thumbnail_task", ["", ARCID, 0], 3, 0, f"thumbnail_task:{ARCID}:0"),
    (lambda: tasks.thumbnail_enqueue(arcid=ARCID, page=4), "thumbnail_task", ["", ARCID, 4], 3, 0,
     f"thumbnail_task:{ARCID}:4"),
    (lambda: tasks.page_thumbnails_enqueue(arcid=ARCID, force=True), "page_thumbnails", [ARCID, True], 3, 0,
     f"page_thumbnails:{ARCID}"),
    (lambda: tasks.extract_pages_enqueue(arcid=ARCID), "extract_pages", [ARCID], 2, 0, f"extract_pages:{ARCID}"),
    (lambda: tasks.tank_thumbnail_enqueue(tank_id="TANK_1"), "tank_thumbnail_task", ["", "TANK_1"], 3, 0,
     "tank_thumbnail_task:TANK_1"),
    (lambda: tasks.regen_thumbnails_enqueue(force=False), "regen_all_thumbnails", ["", False], 1, 0,
     "regen_all_thumbnails"),
    (lambda: tasks.auto_plugins_enqueue(arcid=ARCID), "auto_plugins", [ARCID], 1, 0, f"auto_plugins:{ARCID}"),
    (lambda: tasks.run_plugin_enqueue(namespace="x", arcid="", oneshot=None, priority=4), "run_plugin",
     ["x", 0, None], 1, 4, ""),
    (lambda: tasks.run_plugin_enqueue(namespace="x", arcid=ARCID, oneshot="y"), "run_plugin", ["x", ARCID, "y"], 1,
     0, ""),
    (lambda: tasks.download_enqueue(url="http://x/a", catid=None), "download_url", ["http://x/a", None], 5, 1, ""),
    (lambda: tasks.backup_enqueue(), "backup_json", [], 1, 0, ""),
    (lambda: tasks.restore_enqueue(pending_id=7), "restore_backup", [7], 1, 0, ""),
    (lambda: tasks.scan_enqueue(), "scan_library", [False], 1, 0, "scan_library"),
    (lambda: tasks.scan_enqueue(full=True), "scan_library", [True], 1, 0, "scan_library:full"),
    (lambda: tasks.build_stat_hashes_enqueue(), "build_stat_hashes", [], 1, 0, ""),
]  # fmt: skip


@pytest.mark.parametrize(("call", "task", "args", "attempts", "priority", "key"), ENQUEUED)
def test_each_enqueue_function_records_its_declared_policy(call, task, args, attempts, priority, key):
    job = call()
    job.refresh_from_db()
    assert (job.task, job.args, job.attempts, job.priority, job.dedupe_key) == (task, args, attempts, priority, key)
    assert (call().pk == job.pk) == bool(key)  # an unfinished job with the key is reused


def test_every_task_declares_its_type():
    from config.celery import app

    ours = {name for name, task in app.tasks.items() if task.__module__ == tasks.__name__}
    assert ours == set(registry.job_types())


def test_a_name_cannot_be_declared_twice():
    with pytest.raises(ValueError, match="declared twice"):
        registry.JobType("thumbnail_task").task()(lambda self: None)


# Where a task's name may be written besides its declaration in archives/tasks.py
# (as often as needed):
ALLOWED = {
    # LANraragi's enum of job names, which /api/minion/{name}/queue validates against.
    "jobs/registry.py": set(registry.MINION_NAMES),
    # POST /api/download_url: the endpoint's path and operationId, not the job type.
    "archives/api/urls.py": {"download_url"},
    "archives/api/views/downloads.py": {"download_url"},
}
# LANraragi's OpenAPI documents (the jobname enum, the download_url operation).
ALLOWED_UNDER = ("archives/api/openapi/",)
SOURCES = ("archives", "jobs", "reader", "config", "templates", "static")
SUFFIXES = {".py", ".html", ".js", ".json", ".yaml", ".yml", ".txt"}


def test_no_task_name_is_written_twice():
    names = set(registry.job_types())
    declared = tasks.__file__
    problems = []
    for top in SOURCES:
        for path in sorted((ROOT / top).rglob("*")):
            rel = path.relative_to(ROOT).as_posix()
            if path.suffix not in SUFFIXES or "__pycache__" in rel or rel.startswith(ALLOWED_UNDER):
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            for name in names - ALLOWED.get(rel, set()):
                count = len(re.findall(rf"([\"']){re.escape(name)}\1", text))
                if count > (1 if str(path) == declared else 0):
                    problems.append(f"{rel}: {name!r} x{count}")
    assert not problems, "task names outside their declaration (use the JobType or the *_enqueue function):\n" + (
        "\n".join(problems)
    )
