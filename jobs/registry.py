"""Which job types clients may queue by name (POST /api/minion/{name}/queue).

The names are LANraragi's; each maps to a Celery task of the same name. A type
appears in QUEUEABLE once a task implements it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MINION_NAMES = (
    "thumbnail_task",
    "tank_thumbnail_task",
    "page_thumbnails",
    "regen_all_thumbnails",
    "find_duplicates",
    "build_stat_hashes",
    "handle_upload",
    "download_url",
    "run_plugin",
)


@dataclass(frozen=True)
class JobSpec:
    attempts: int
    check_args: Callable[[list[Any]], str | None]


def _no_check(args: list[Any]) -> str | None:
    return None


def _no_args(args: list[Any]) -> str | None:
    return None if not args else "This job takes no arguments: use []."


def _thumbnail_args(args: list[Any]) -> str | None:
    ok = len(args) in (2, 3) and isinstance(args[1], str) and (len(args) == 2 or isinstance(args[2], int))
    return None if ok else "thumbnail_task takes [thumbdir, archive id, page]."


def _page_thumbnail_args(args: list[Any]) -> str | None:
    ok = 1 <= len(args) <= 2 and isinstance(args[0], str)
    return None if ok else "page_thumbnails takes [archive id, force]."


def _tank_thumbnail_args(args: list[Any]) -> str | None:
    ok = len(args) == 2 and isinstance(args[1], str)
    return None if ok else "tank_thumbnail_task takes [thumbdir, tankoubon id]."


def _regen_args(args: list[Any]) -> str | None:
    return None if len(args) <= 2 else "regen_all_thumbnails takes [thumbdir, force]."


def _download_args(args: list[Any]) -> str | None:
    ok = (
        1 <= len(args) <= 2
        and isinstance(args[0], str)
        and (len(args) == 1 or args[1] is None or isinstance(args[1], str))
    )
    return None if ok else "download_url takes [url, category id]."


def _plugin_args(args: list[Any]) -> str | None:
    ok = (
        1 <= len(args) <= 3
        and isinstance(args[0], str)
        and (len(args) < 2 or isinstance(args[1], (str, int)))
        and (len(args) < 3 or args[2] is None or isinstance(args[2], str))
    )
    return None if ok else "run_plugin takes [plugin namespace, archive id, argument]."


# Types implemented here, with their retry budget and argument check.
QUEUEABLE: dict[str, JobSpec] = {
    "build_stat_hashes": JobSpec(attempts=1, check_args=_no_args),
    "thumbnail_task": JobSpec(attempts=3, check_args=_thumbnail_args),
    "page_thumbnails": JobSpec(attempts=3, check_args=_page_thumbnail_args),
    "regen_all_thumbnails": JobSpec(attempts=1, check_args=_regen_args),
    "tank_thumbnail_task": JobSpec(attempts=3, check_args=_tank_thumbnail_args),
    "download_url": JobSpec(attempts=5, check_args=_download_args),
    "run_plugin": JobSpec(attempts=1, check_args=_plugin_args),
}
