"""Reads of the archive store, shaped for the API without a serializer per row."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db.models import F
from django.db.models import FilteredRelation
from django.db.models import Q
from django.db.models import QuerySet

from archives.models import Archive

ARCHIVE_FIELDS = ("id", "title", "filename", "extension", "tags", "summary", "pagecount", "size", "toc")


def with_shared_state(qs: QuerySet[Archive]) -> QuerySet[Archive]:
    """Join the server-wide reading state (the row with no user) onto each archive."""
    return qs.annotate(
        shared=FilteredRelation("reading_states", condition=Q(reading_states__user__isnull=True))
    ).annotate(
        state_isnew=F("shared__isnew"),
        state_progress=F("shared__progress"),
        state_lastreadtime=F("shared__lastreadtime"),
    )


def archive_rows(qs: QuerySet[Archive]) -> Iterable[dict[str, Any]]:
    return with_shared_state(qs).values(*ARCHIVE_FIELDS, "state_isnew", "state_progress", "state_lastreadtime")


def archive_json(row: dict[str, Any]) -> dict[str, Any]:
    """LANraragi's archive object from a row of archive_rows()."""
    toc = row["toc"]
    if isinstance(toc, str):
        toc = json.loads(toc)
    isnew = row["state_isnew"]
    return {
        "arcid": row["id"],
        "title": row["title"] or row["filename"],
        "filename": row["filename"],
        "extension": row["extension"],
        "tags": row["tags"] or "",
        "summary": row["summary"] if row["summary"] is not None else "",
        "isnew": True if isnew is None else bool(isnew),
        "pagecount": row["pagecount"],
        "progress": row["state_progress"] or 0,
        "lastreadtime": row["state_lastreadtime"] or 0,
        "size": row["size"],
        "toc": sorted(toc or [], key=lambda e: e.get("page", 0)),
    }


def archive_list_json() -> list[dict[str, Any]]:
    """Every present archive (GET /api/archives), no tanks, in no promised order."""
    return [archive_json(row) for row in archive_rows(Archive.objects.present().order_by())]


def archive_detail_json(arcid: str) -> dict[str, Any] | None:
    row = next(iter(archive_rows(Archive.objects.filter(pk=arcid, missing=False))), None)
    return archive_json(row) if row is not None else None


# A tag is "basic" (does not make an archive tagged) if it contains one of these.
BASIC_TAG_MARKERS = (
    "artist:",
    "parody:",
    "series:",
    "language:",
    "event:",
    "group:",
    "date_added:",
    "timestamp:",
    "source:",
)


def untagged_ids() -> list[str]:
    """IDs of archives with no tag outside the basic set (LANraragi's definition)."""
    out = []
    for arcid, tags in Archive.objects.present().order_by().values_list("id", "tags").iterator(chunk_size=5000):
        items = [t for t in (tags or "").split(",") if t.strip()]
        if not any(not any(marker in t for marker in BASIC_TAG_MARKERS) for t in items):
            out.append(arcid)
    return out
