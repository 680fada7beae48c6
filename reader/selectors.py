"""Reads the web pages need beyond the API's selectors: tabs, sort choices, jobs."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count
from django.http import QueryDict

from archives import tasks
from archives.models import Archive
from archives.models import Category
from archives.models import CategoryItem
from archives.models import Tag
from archives.search.cache import cached
from archives.search.query import SearchParams
from jobs.models import Job
from jobs.models import JobState

BUILTIN_SORTS = (("title", "Title"), ("date_added", "Date added"), ("lastread", "Last read"))
MAX_SORT_NAMESPACES = 40
_ARCHIVE_ID = re.compile(r"[0-9a-f]{40}")


# --- the library's query string -----------------------------------------------------


@dataclass(frozen=True)
class LibraryQuery:
    """The library page's state, with the API's parameter names so that the page's
    JavaScript can pass them to /api/search unchanged."""

    filter: str = ""
    category: str = ""
    sortby: str = "title"
    order: str = "asc"
    newonly: bool = False
    start: int = 0

    @classmethod
    def from_get(cls, get: QueryDict) -> LibraryQuery:
        category = get.get("category", "")
        try:
            start = max(int(get.get("start", "0")), 0)
        except ValueError:
            start = 0
        return cls(
            filter=get.get("filter", "")[:1000],
            # The API refuses other lengths with a 400; the page just ignores them.
            category=category if len(category) == 14 else "",
            sortby=(get.get("sortby", "") or "title").strip().lower()[:100] or "title",
            order="desc" if get.get("order") == "desc" else "asc",
            newonly=get.get("newonly") in ("1", "true", "on"),
            start=start,
        )

    def search_params(self) -> SearchParams:
        return SearchParams(
            filter=self.filter,
            category=self.category,
            sortby=self.sortby,
            desc=self.order == "desc",
            newonly=self.newonly,
        )

    def querystring(self, **changes: Any) -> str:
        """The page's URL query for this state with `changes`, defaults left out."""
        values = {
            "filter": self.filter,
            "category": self.category,
            "sortby": self.sortby,
            "order": self.order,
            "newonly": self.newonly,
            "start": self.start,
            **changes,
        }
        defaults = {"filter": "", "category": "", "sortby": "title", "order": "asc", "newonly": False, "start": 0}
        kept = {k: ("1" if v is True else v) for k, v in values.items() if v != defaults[k]}
        return urlencode(kept)


@dataclass(frozen=True)
class PagerLink:
    label: str
    href: str
    current: bool = False
    gap_before: bool = False


@dataclass(frozen=True)
class Pager:
    page: int
    pages: int
    previous: str | None
    next: str | None
    links: list[PagerLink] = field(default_factory=list)


def pager(query: LibraryQuery, *, pagesize: int, filtered: int) -> Pager:
    """Offset links: the first and last page, and two either side of the current one.
    static/reader/js/library.js builds the same links after a search in the page."""
    pagesize = max(pagesize, 1)
    pages = max(math.ceil(filtered / pagesize), 1)
    current = query.start // pagesize + 1

    def href(start: int) -> str:
        qs = query.querystring(start=start)
        return "?" + qs if qs else "?"

    numbers = sorted({1, pages, *range(max(current - 2, 1), min(current + 2, pages) + 1)})
    links, previous_number = [], 0
    for n in numbers:
        links.append(PagerLink(str(n), href((n - 1) * pagesize), n == current, n > previous_number + 1))
        previous_number = n
    return Pager(
        page=current,
        pages=pages,
        previous=href(max(query.start - pagesize, 0)) if query.start > 0 else None,
        next=href(query.start + pagesize) if query.start + pagesize < filtered else None,
        links=links,
    )


# --- suggestions ----------------------------------------------------------------------

# Above this many archives, tags carried by a single archive are left out of the
# suggestions: they are most of the distinct tags (megabytes of JSON) and rarely useful.
SUGGEST_LONG_TAIL_ABOVE = 5000


def suggest_minweight() -> int:
    from archives.search.selectors import records_total

    return 1 if records_total(grouped=False) <= SUGGEST_LONG_TAIL_ABOVE else 2


# --- choices --------------------------------------------------------------------------


def sort_choices(current: str) -> list[tuple[str, str]]:
    """Title, date added, last read, then every namespace in use (any namespace sorts)."""

    def compute() -> list[str]:
        rows = Tag.objects.exclude(namespace="").order_by("namespace").values_list("namespace", flat=True)
        return list(rows.distinct()[:MAX_SORT_NAMESPACES])

    choices = list(BUILTIN_SORTS)
    builtin = {key for key, _ in BUILTIN_SORTS}
    for namespace in cached({"reader": "sort-namespaces"}, compute):
        if namespace not in builtin:
            choices.append((namespace, namespace))
    if current not in {key for key, _ in choices}:
        choices.append((current, current))
    return choices


def category_tabs(*, with_counts: bool = False) -> list[dict[str, Any]]:
    """Every category, pinned first, then by name; `count` is a static one's size."""
    rows = Category.objects.order_by("-pinned", "name", "pk").values("id", "name", "search", "pinned")
    counts: dict[str, int] = {}
    if with_counts:
        counts = dict(Category.objects.filter(search="").annotate(n=Count("items")).values_list("pk", "n"))
    return [{**row, "dynamic": bool(row["search"]), "count": counts.get(row["id"])} for row in rows]


def archive_categories(arcid: str) -> list[dict[str, Any]]:
    """Static categories (the ones an archive can be put in), with its membership."""
    member_of = set(CategoryItem.objects.filter(archive_id=arcid).values_list("category_id", flat=True))
    rows = Category.objects.filter(search="").order_by("-pinned", "name", "pk").values("id", "name", "pinned")
    return [{**row, "member": row["id"] in member_of} for row in rows]


# --- jobs -----------------------------------------------------------------------------

TASK_LABELS = {
    tasks.THUMBNAIL.name: "Thumbnail",
    tasks.PAGE_THUMBNAILS.name: "Page thumbnails",
    tasks.REGEN_THUMBNAILS.name: "Regenerate thumbnails",
    tasks.TANK_THUMBNAIL.name: "Tankoubon thumbnail",
    tasks.BUILD_STAT_HASHES.name: "Rebuild tag index",
    tasks.RESTORE.name: "Restore backup",
    tasks.SCAN.name: "Scan library",
    "find_duplicates": "Find duplicates",  # Minion types Hondana does not run
    "handle_upload": "Upload",
    tasks.DOWNLOAD.name: "Download URL",
    tasks.RUN_PLUGIN.name: "Plugin",
    tasks.AUTO_PLUGINS.name: "Metadata plugins",
    tasks.BACKUP.name: "Backup",
}


def job_progress(notes: dict[str, Any] | None) -> tuple[int, int] | None:
    """(done, total) from a job's notes: `done`/`total`, or page-thumbnail notes
    (`"<n>": "processed"` per page and `total_pages`). None when the notes say nothing."""
    notes = notes or {}
    try:
        if "total" in notes:
            return min(int(notes.get("done", 0)), int(notes["total"])), int(notes["total"])
        if "total_pages" in notes:
            total = int(notes["total_pages"])
            done = sum(1 for key, value in notes.items() if key.isdigit() and value == "processed")
            return min(done, total), total
    except (TypeError, ValueError):
        return None
    return None


def _job_row(job: Job, titles: dict[str, str]) -> dict[str, Any]:
    progress = job_progress(job.notes)
    arcid = next((a for a in job.args if isinstance(a, str) and a in titles), None)
    label = TASK_LABELS.get(job.task, job.task.replace("_", " ").capitalize())
    if job.task == tasks.THUMBNAIL.name and len(job.args) > 2:
        # [thumbdir, id, page]: page 0 is the cover.
        label = "Cover" if job.args[2] in (0, "0") else f"Thumbnail of page {job.args[2]}"
    return {
        "id": job.pk,
        "task": job.task,
        "label": label,
        "state": job.state,
        "done": progress[0] if progress else None,
        "total": progress[1] if progress else None,
        "archive_id": arcid,
        "archive_title": titles.get(arcid or "", ""),
        "created": job.created,
        "errors": _errors(job),
    }


def _errors(job: Job) -> list[str]:
    if job.state != JobState.FAILED or not isinstance(job.result, dict):
        return []
    return [str(e) for e in job.result.get("errors", [])][:5]


def jobs_overview(*, recent: int = 50, running: int = 200) -> dict[str, list[dict[str, Any]]]:
    """Unfinished jobs (newest first) and the most recent finished or failed ones."""
    unfinished = list(Job.objects.filter(state__in=[JobState.INACTIVE, JobState.ACTIVE]).order_by("-id")[:running])
    done = list(Job.objects.filter(state__in=[JobState.FINISHED, JobState.FAILED]).order_by("-id")[:recent])
    arcids = {a for job in unfinished + done for a in job.args if isinstance(a, str) and _ARCHIVE_ID.fullmatch(a)}
    titles: dict[str, str] = {}
    for pk, title, filename in Archive.objects.filter(pk__in=arcids).values_list("pk", "title", "filename"):
        titles[pk] = title or filename
    return {"running": [_job_row(j, titles) for j in unfinished], "recent": [_job_row(j, titles) for j in done]}
