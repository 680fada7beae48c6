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


# What archive_rows() reads and the bulk listing writes, in this order.
_LIST_COLUMNS = (*ARCHIVE_FIELDS, "state_isnew", "state_progress", "state_lastreadtime")


def archive_rows(qs: QuerySet[Archive]) -> Iterable[dict[str, Any]]:
    return with_shared_state(qs).values(*_LIST_COLUMNS)


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


def untagged_ids() -> list[str]:
    """IDs of archives with no tag outside the basic set (LANraragi's definition),
    from the `untagged` flag that services.archive_set_tags keeps."""
    return list(Archive.objects.present().filter(untagged=True).order_by().values_list("id", flat=True))


# archive_json()'s object with its keys in sorted order, as dumps() writes it.
_LIST_ROW = (
    '{"arcid":%s,"extension":%s,"filename":%s,"isnew":%s,"lastreadtime":%d,"pagecount":%d,'
    '"progress":%d,"size":%d,"summary":%s,"tags":%s,"title":%s,"toc":%s}'
)


def archive_list_chunks(chunk_size: int = 2000) -> Iterable[bytes]:
    """GET /api/archives as JSON pieces: a 100,000-archive list is never held whole.

    Each row is written straight from a tuple with the json module's own string
    encoder: the same bytes as dumps(archive_json(row)), without a dict per row.
    """
    from json.encoder import encode_basestring as string  # what dumps(ensure_ascii=False) uses

    from archives.api.render import dumps

    yield b"["
    rows = with_shared_state(Archive.objects.present().order_by()).values_list(*_LIST_COLUMNS)
    batch: list[str] = []
    first = True
    for row in rows.iterator(chunk_size=chunk_size):
        (arcid, title, filename, extension, tags, summary, pagecount, size, toc, isnew, progress, lastread) = row
        if isinstance(toc, str):
            toc = json.loads(toc)
        batch.append(
            _LIST_ROW
            % (
                string(arcid),
                string(extension),
                string(filename),
                "true" if isnew is None or isnew else "false",
                lastread or 0,
                pagecount,
                progress or 0,
                size,
                string(summary if summary is not None else ""),
                string(tags or ""),
                string(title or filename),
                dumps(sorted(toc, key=lambda e: e.get("page", 0))).decode() if toc else "[]",
            )
        )
        if len(batch) == chunk_size:
            yield (("" if first else ",") + ",".join(batch)).encode()
            first, batch = False, []
    if batch:
        yield (("" if first else ",") + ",".join(batch)).encode()
    yield b"]"
