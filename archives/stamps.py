"""Stamps: notes pinned to a position on a page of an archive (LANraragi's stamps).

A stamp's ID is LANraragi's key, `STAMPS_<page>_<creation time in ms>`. Stamps go
with their archive: deleted with it, moved with it when its file's ID changes.
"""

from __future__ import annotations

import time
from typing import Any

from django.db import IntegrityError
from django.db import transaction

from archives.exceptions import HondanaError
from archives.locks import write_lock
from archives.models import Archive
from archives.models import Stamp

NO_STAMP = "The given stamp does not exist."


class StampError(HondanaError):
    """A stamp request LANraragi refuses; `message` is its error text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _archive(arcid: str) -> Archive:
    archive = Archive.objects.filter(pk=arcid, missing=False).only("pk", "pagecount").first()
    if archive is None:
        raise StampError(f"{arcid} does not exist in the database.")
    return archive


def stamp_json(stamp: Stamp) -> dict[str, Any]:
    return {"id": stamp.pk, "content": stamp.content, "position": stamp.position}


def stamped_pages(*, arcid: str) -> list[str]:
    """Pages with at least one stamp, as strings (LANraragi sends its hash keys)."""
    _archive(arcid)
    pages = Stamp.objects.filter(archive_id=arcid).values_list("page", flat=True).distinct()
    return [str(p) for p in sorted(set(pages))]


def page_stamps(*, arcid: str, page: int) -> list[Stamp]:
    _archive(arcid)
    return list(Stamp.objects.filter(archive_id=arcid, page=page).order_by("created_at", "id"))


def stamp_add(*, arcid: str, page: int, content: str, position: str) -> Stamp:
    """Pin a stamp on page `page` (1 to the page count)."""
    archive = _archive(arcid)
    if not 0 < page <= archive.pagecount:
        raise StampError(f"Page {page} out of range.")
    stamp_ms = int(time.time() * 1000)
    for _ in range(100):
        try:
            with transaction.atomic():
                return Stamp.objects.create(
                    id=f"STAMPS_{page}_{stamp_ms}", archive=archive, page=page, content=content, position=position
                )
        except IntegrityError:
            stamp_ms += 1  # two stamps on one page in the same millisecond
    raise StampError("Could not allocate a stamp ID.")


def stamp_get(*, stamp_id: str) -> Stamp:
    stamp = Stamp.objects.filter(pk=stamp_id).first()
    if stamp is None:
        raise StampError(NO_STAMP)
    return stamp


def stamp_update(*, stamp_id: str, content: str | None, position: str | None) -> Stamp:
    """Change the text or position; an empty or missing value keeps the old one."""
    with write_lock(f"stamp-write:{stamp_id}", resource=stamp_id):
        stamp = Stamp.objects.filter(pk=stamp_id).first()
        if stamp is None:
            raise StampError(f"{stamp_id} doesn't exist in the database!")
        fields = []
        if content:
            stamp.content = content
            fields.append("content")
        if position:
            stamp.position = position
            fields.append("position")
        if fields:
            stamp.save(update_fields=fields)
    return stamp


def stamp_delete(*, stamp_id: str) -> None:
    with write_lock(f"stamp-write:{stamp_id}", resource=stamp_id):
        deleted, _ = Stamp.objects.filter(pk=stamp_id).delete()
    if not deleted:
        raise StampError(NO_STAMP)
