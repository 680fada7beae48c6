"""Database-wide operations: tag statistics, JSON backup and restore, clean, drop."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

from django.db import connection
from django.db import transaction

from archives.categories import CATEGORY_ID
from archives.exceptions import Locked
from archives.models import Archive
from archives.models import ArchiveSortValue
from archives.models import ArchiveTag
from archives.models import Category
from archives.models import CategoryItem
from archives.models import LibraryState
from archives.models import PendingRestore
from archives.models import ReadingState
from archives.models import Stamp
from archives.models import Tag
from archives.models import Tankoubon
from archives.models import TankoubonArchive
from archives.models import TankoubonTag
from archives.search.cache import invalidate_search_cache
from archives.services import archive_delete
from archives.services import archive_set_tags
from archives.storage import archives_storage
from archives.tags import normalize_tags
from archives.tags import one_line
from archives.tankoubons import TANK_ID
from archives.tankoubons import _refresh_in_tank
from archives.tankoubons import _set_own_tags

logger = logging.getLogger(__name__)


class BackupError(ValueError):
    pass


# --- stats ----------------------------------------------------------------------------


def tag_stats(*, minweight: int, hide_namespaces: list[str]) -> list[dict[str, Any]]:
    """Tag cloud: weight = archives plus tanks carrying the tag (their own tags)."""
    sql = (
        f"SELECT t.name, t.namespace, w.weight FROM {Tag._meta.db_table} t JOIN ("
        f" SELECT tag_id, SUM(n) AS weight FROM ("
        f"  SELECT tag_id, COUNT(*) AS n FROM {ArchiveTag._meta.db_table} GROUP BY tag_id"
        f"  UNION ALL SELECT tag_id, COUNT(*) AS n FROM {TankoubonTag._meta.db_table} GROUP BY tag_id"
        f" ) links GROUP BY tag_id) w ON w.tag_id = t.id WHERE w.weight >= %s"
    )
    hidden = {ns.lower() for ns in hide_namespaces}
    out = []
    with connection.cursor() as cursor:
        cursor.execute(sql, [max(minweight, 1)])
        for name, namespace, weight in cursor.fetchall():
            if namespace in hidden:
                continue
            text = name.split(":", 1)[1] if ":" in name else name
            out.append({"namespace": namespace if ":" in name else "", "text": text, "weight": int(weight)})
    return out


# --- backup ---------------------------------------------------------------------------


def backup_chunks() -> Iterator[str]:
    """LANraragi's backup JSON, streamed: archives, categories, tankoubons (sorted keys)."""
    yield '{"archives":['
    first = True
    rows = Archive.objects.order_by().values_list("id", "title", "tags", "summary", "thumbhash", "filename")
    for arcid, title, tags, summary, thumbhash, filename in rows.iterator(chunk_size=2000):
        item = {
            "arcid": arcid,
            "filename": filename,
            "summary": summary,
            "tags": tags,
            "thumbhash": thumbhash or None,
            "title": title,
        }
        yield ("" if first else ",") + json.dumps(item, sort_keys=True, ensure_ascii=False)
        first = False
    categories = []
    for category in Category.objects.order_by("pk"):
        items = CategoryItem.objects.filter(category=category).order_by("id").values_list("archive_id", "tank_id")
        categories.append(
            {
                "archives": [a or t for a, t in items] if not category.search else [],
                "catid": category.pk,
                "name": category.name,
                "search": category.search,
            }
        )
    tanks = []
    for tank in Tankoubon.objects.order_by("pk"):
        members = TankoubonArchive.objects.filter(tank=tank).order_by("position").values_list("archive_id", flat=True)
        tanks.append(
            {
                "archives": list(members),
                "name": tank.name,
                "summary": tank.summary,
                "tags": tank.tags,
                "tankid": tank.pk,
            }
        )
    yield "],"
    yield '"categories":' + json.dumps(categories, sort_keys=True, ensure_ascii=False) + ","
    yield '"tankoubons":' + json.dumps(tanks, sort_keys=True, ensure_ascii=False) + "}"


def backup_parse(raw: bytes | str) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BackupError("File must be JSON") from exc
    if not isinstance(data, dict):
        raise BackupError("File must be JSON")
    return data


def restore_queue(*, payload: str) -> int:
    """Keep an uploaded backup until its restore job runs; returns its PendingRestore id."""
    backup_parse(payload)
    return PendingRestore.objects.create(payload=payload).pk


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def restore_apply(*, data: dict[str, Any]) -> dict[str, int]:
    """Bring metadata, tanks and categories from a backup onto archives with the same ID.

    As LANraragi: the database is cleaned first, categories and tanks are recreated
    under their backup IDs, and archives that are not here are skipped. Tanks are
    restored before categories so that categories may list them, and a tank keeps its
    members that exist (LANraragi drops the whole list when one is missing).
    """
    database_clean()
    known = set(Archive.objects.values_list("pk", flat=True))
    counts = {"archives": 0, "categories": 0, "tankoubons": 0}
    with transaction.atomic():
        for item in _list(data.get("tankoubons")):
            tank_id = str(item.get("tankid") or "") if isinstance(item, dict) else ""
            if not TANK_ID.fullmatch(tank_id):
                continue
            tank, _ = Tankoubon.objects.get_or_create(pk=tank_id, defaults={"name": str(item.get("name") or tank_id)})
            tank.name = str(item.get("name") or tank.name)
            tank.summary = str(item.get("summary") or "")
            tank.save()
            _set_own_tags(tank, normalize_tags(str(item.get("tags") or "")))
            before = list(TankoubonArchive.objects.filter(tank=tank).values_list("archive_id", flat=True))
            members = [a for a in dict.fromkeys(map(str, _list(item.get("archives")))) if a in known]
            TankoubonArchive.objects.filter(tank=tank).delete()
            TankoubonArchive.objects.bulk_create(
                [TankoubonArchive(tank=tank, archive_id=a, position=i) for i, a in enumerate(members, start=1)]
            )
            _refresh_in_tank([*before, *members])
            counts["tankoubons"] += 1
        tank_ids = set(Tankoubon.objects.values_list("pk", flat=True))
        for item in _list(data.get("categories")):
            catid = str(item.get("catid") or "") if isinstance(item, dict) else ""
            if not CATEGORY_ID.fullmatch(catid):
                continue
            category, _ = Category.objects.update_or_create(
                pk=catid,
                defaults={
                    "name": str(item.get("name") or ""),
                    "search": str(item.get("search") or ""),
                    "pinned": False,
                },
            )
            CategoryItem.objects.filter(category=category).delete()
            if not category.search:
                items = []
                for member in dict.fromkeys(map(str, _list(item.get("archives")))):
                    if member in known:
                        items.append(CategoryItem(category=category, archive_id=member))
                    elif member in tank_ids:
                        items.append(CategoryItem(category=category, tank_id=member))
                CategoryItem.objects.bulk_create(items)
            counts["categories"] += 1
        for item in _list(data.get("archives")):
            arcid = str(item.get("arcid") or "") if isinstance(item, dict) else ""
            archive = Archive.objects.filter(pk=arcid).first() if arcid in known else None
            if archive is None:
                continue
            title = one_line(str(item.get("title") or ""))
            if title:
                archive.title = title
            if item.get("summary") is not None:
                archive.summary = str(item["summary"])
            archive.save(update_fields=["title", "summary", "updated_at"])
            archive_set_tags(archive=archive, tags=normalize_tags(str(item.get("tags") or "")))
            counts["archives"] += 1
        invalidate_search_cache()
    return counts


def restore_run(*, pending_id: int) -> dict[str, Any]:
    """The restore job: apply a queued backup once, then forget it."""
    pending = PendingRestore.objects.filter(pk=pending_id).first()
    if pending is None:
        return {"success": 0, "error": "This backup was already restored."}
    counts = restore_apply(data=backup_parse(pending.payload))
    pending.delete()
    return {"success": 1, **counts}


# --- clean and drop -------------------------------------------------------------------


def _stored_keys() -> set[str] | None:
    """Every key in the archives storage, walked with listdir (one listing per folder,
    not one request per archive on object storage); None if it cannot be listed."""
    storage = archives_storage()
    keys: set[str] = set()
    folders = [""]
    try:
        while folders:
            folder = folders.pop()
            dirs, files = storage.listdir(folder)
            prefix = f"{folder}/" if folder else ""
            keys.update(prefix + f for f in files)
            folders.extend(prefix + d for d in dirs)
    except (FileNotFoundError, NotImplementedError, OSError):
        return None
    return keys


def database_clean() -> tuple[int, int]:
    """Delete records whose file has gone: (deleted, unlinked). Nothing is unlinked
    here: LANraragi's unlinking is for files whose ID changed, which scans handle."""
    keys = _stored_keys()
    if keys is None:
        return 0, 0
    gone = [
        arcid
        for arcid, key in Archive.objects.filter(synthetic=False).values_list("pk", "file").iterator(chunk_size=5000)
        if key not in keys
    ]
    deleted = 0
    for arcid in gone:
        try:
            deleted += archive_delete(arcid=arcid) is not None
        except Locked:
            continue  # being written right now; the next clean will see it
    return deleted, 0


def database_drop() -> None:
    """Forget every archive record, tag, category and tank. Files stay where they are
    (a rescan adds them again) and so do the server settings and API key."""
    # Children first, one DELETE per table: the ORM's cascade would load every row.
    models = [
        CategoryItem,
        Category,
        TankoubonTag,
        TankoubonArchive,
        Tankoubon,
        ArchiveSortValue,
        ArchiveTag,
        ReadingState,
        Stamp,
        Archive,
        Tag,
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"DELETE FROM {model._meta.db_table}")
        LibraryState.objects.filter(pk=1).update(bookmark_category="")
        invalidate_search_cache()
