"""Table-of-contents entries of an archive: one chapter name per starting page."""

from __future__ import annotations

from django.db import transaction

from archives.locks import write_lock
from archives.models import Archive
from archives.services import archive_get


def _entries(archive: Archive) -> list[dict[str, object]]:
    toc = archive.toc if isinstance(archive.toc, list) else []
    return [e for e in toc if isinstance(e, dict) and "page" in e]


def toc_set(*, arcid: str, page: int, title: str) -> Archive:
    """Name the chapter starting at `page`, replacing any name it had (pages are not
    checked against the page count, as in LANraragi)."""
    with write_lock(f"archive-write:{arcid}", resource=arcid), transaction.atomic():
        archive = archive_get(arcid=arcid)
        toc = [e for e in _entries(archive) if e.get("page") != page]
        toc.append({"page": page, "name": title})
        archive.toc = sorted(toc, key=lambda e: int(e["page"]))  # type: ignore[arg-type]
        archive.save(update_fields=["toc", "updated_at"])
    return archive


def toc_remove(*, arcid: str, page: int) -> Archive:
    """Drop the entry for `page`; succeeds when there was none."""
    with write_lock(f"archive-write:{arcid}", resource=arcid), transaction.atomic():
        archive = archive_get(arcid=arcid)
        archive.toc = [e for e in _entries(archive) if e.get("page") != page]
        archive.save(update_fields=["toc", "updated_at"])
    return archive
