"""Reads of the archive store: value rows and read models, never a client's wire shape
(LANraragi's JSON is written by archives.api.presenters)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
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


# What archive_rows() and archive_list_values() read, in this order.
LIST_COLUMNS = (*ARCHIVE_FIELDS, "state_isnew", "state_progress", "state_lastreadtime")


def archive_rows(qs: QuerySet[Archive]) -> Iterable[dict[str, Any]]:
    return with_shared_state(qs).values(*LIST_COLUMNS)


def archive_list_values(chunk_size: int = 2000) -> Iterator[tuple[Any, ...]]:
    """Every present archive as a tuple of LIST_COLUMNS, streamed in chunks."""
    rows = with_shared_state(Archive.objects.present().order_by()).values_list(*LIST_COLUMNS)
    return rows.iterator(chunk_size=chunk_size)


@dataclass(frozen=True)
class ArchiveItem:
    """One archive as the library shows it: its metadata and the shared reading state."""

    arcid: str
    title: str
    filename: str
    extension: str
    tags: str
    summary: str
    isnew: bool
    pagecount: int
    progress: int
    lastreadtime: int
    size: int
    toc: list[dict[str, Any]]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ArchiveItem:
        """From a row of archive_rows(): a missing reading state is new and unread."""
        toc = row["toc"]
        if isinstance(toc, str):
            toc = json.loads(toc)
        isnew = row["state_isnew"]
        return cls(
            arcid=row["id"],
            title=row["title"] or row["filename"],
            filename=row["filename"],
            extension=row["extension"],
            tags=row["tags"] or "",
            summary=row["summary"] if row["summary"] is not None else "",
            isnew=True if isnew is None else bool(isnew),
            pagecount=row["pagecount"],
            progress=row["state_progress"] or 0,
            lastreadtime=row["state_lastreadtime"] or 0,
            size=row["size"],
            toc=sorted(toc or [], key=lambda e: e.get("page", 0)),
        )


def archive_items(arcids: list[str], *, present_only: bool = True) -> dict[str, ArchiveItem]:
    """The archives of `arcids` that exist (and are present, unless told otherwise), by id."""
    qs = Archive.objects.filter(pk__in=arcids)
    if present_only:
        qs = qs.filter(missing=False)
    return {row["id"]: ArchiveItem.from_row(row) for row in archive_rows(qs)}


def archive_detail(arcid: str) -> ArchiveItem | None:
    row = next(iter(archive_rows(Archive.objects.filter(pk=arcid, missing=False))), None)
    return ArchiveItem.from_row(row) if row is not None else None


def untagged_ids() -> list[str]:
    """IDs of archives with no tag outside the basic set (LANraragi's definition),
    from the `untagged` flag that services.archive_set_tags keeps."""
    return list(Archive.objects.present().filter(untagged=True).order_by().values_list("id", flat=True))
