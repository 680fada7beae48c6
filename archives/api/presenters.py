"""LANraragi's JSON shapes for archives, tankoubons and categories.

The core's selectors return value rows and read models (archives.selectors.ArchiveItem,
archives.tankoubons.TankDetail and TankItem, Category rows); these functions turn them
into the objects clients see, key for key.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from json.encoder import encode_basestring as string  # what dumps(ensure_ascii=False) uses
from typing import Any

from archives import categories
from archives import selectors
from archives.api.render import dumps
from archives.models import Category
from archives.models import Tankoubon
from archives.search.selectors import search_items
from archives.selectors import ArchiveItem
from archives.tankoubons import TankDetail
from archives.tankoubons import TankItem
from archives.tankoubons import TankMembers

# --- archives -------------------------------------------------------------------------


def archive_object(item: ArchiveItem) -> dict[str, Any]:
    """LANraragi's archive object."""
    return {
        "arcid": item.arcid,
        "title": item.title,
        "filename": item.filename,
        "extension": item.extension,
        "tags": item.tags,
        "summary": item.summary,
        "isnew": item.isnew,
        "pagecount": item.pagecount,
        "progress": item.progress,
        "lastreadtime": item.lastreadtime,
        "size": item.size,
        "toc": item.toc,
    }


def archive_json(row: dict[str, Any]) -> dict[str, Any]:
    """LANraragi's archive object from a row of selectors.archive_rows()."""
    return archive_object(ArchiveItem.from_row(row))


def archive_detail_json(arcid: str) -> dict[str, Any] | None:
    item = selectors.archive_detail(arcid)
    return archive_object(item) if item is not None else None


# archive_object()'s object with its keys in sorted order, as dumps() writes it.
_LIST_ROW = (
    '{"arcid":%s,"extension":%s,"filename":%s,"isnew":%s,"lastreadtime":%d,"pagecount":%d,'
    '"progress":%d,"size":%d,"summary":%s,"tags":%s,"title":%s,"toc":%s}'
)


def archive_list_chunks(chunk_size: int = 2000) -> Iterable[bytes]:
    """GET /api/archives as JSON pieces: a 100,000-archive list is never held whole.

    Each row is written straight from a tuple of selectors.LIST_COLUMNS with the json
    module's own string encoder: the same bytes as dumps(archive_json(row)), without a
    dict per row.
    """
    yield b"["
    batch: list[str] = []
    first = True
    for row in selectors.archive_list_values(chunk_size=chunk_size):
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


# --- tankoubons -----------------------------------------------------------------------


def tank_object(tank: Tankoubon, archives: list[str]) -> dict[str, Any]:
    return {
        "id": tank.pk,
        "name": tank.name,
        "summary": tank.summary,
        "tags": tank.tags,
        "archives": archives,
        "progress": tank.progress,
    }


def tank_list_json(tanks: list[TankMembers]) -> list[dict[str, Any]]:
    return [tank_object(t.tank, t.member_ids) for t in tanks]


def tank_full(detail: TankDetail) -> tuple[dict[str, Any], int, int]:
    """The tank object with `full_data`, the number of members and the number shown."""
    result = tank_object(detail.tank, detail.member_ids)
    result["full_data"] = [archive_object(a) for a in detail.archives]
    return result, detail.total, len(detail.member_ids)


def tank_search_object(item: TankItem) -> dict[str, Any]:
    """A tank row of search results (LANraragi's build_tank_json)."""
    return {
        "arcid": item.arcid,
        "title": item.title,
        "filename": "",
        "extension": ".tank",
        "tags": ",".join(item.tags),
        "summary": "Tankoubon containing: " + ",".join(a.title for a in item.archives),
        "isnew": item.isnew,
        "progress": item.progress,
        "pagecount": item.pagecount,
        "lastreadtime": item.lastreadtime,
        "size": item.size,
        "archive_count": item.archive_count,
    }


def tank_search_json(items: dict[str, TankItem]) -> dict[str, dict[str, Any]]:
    """Tank rows for search results, by tank id."""
    return {tank_id: tank_search_object(item) for tank_id, item in items.items()}


# --- search ---------------------------------------------------------------------------


def items_json(ids: list[str]) -> list[dict[str, Any]]:
    """Archive and tank JSON for ids, in their order."""
    return [
        tank_search_object(item) if isinstance(item, TankItem) else archive_object(item) for item in search_items(ids)
    ]


# --- categories -----------------------------------------------------------------------


def category_json(category: Category, archives: list[str]) -> dict[str, Any]:
    return {
        "id": category.pk,
        "name": category.name,
        "search": category.search,
        "pinned": 1 if category.pinned else 0,
        # A dynamic category's list is always empty, whatever it once held.
        "archives": [] if category.is_dynamic else archives,
    }


def categories_json(rows: list[Category]) -> list[dict[str, Any]]:
    members = categories.category_members([c.pk for c in rows])
    return [category_json(c, members[c.pk]) for c in rows]


def category_list_json() -> list[dict[str, Any]]:
    return categories_json(categories.category_list())


def category_detail_json(catid: str) -> dict[str, Any] | None:
    category = categories.category_get(catid)
    return categories_json([category])[0] if category is not None else None


def categories_of_json(item_id: str) -> list[dict[str, Any]]:
    """Static categories that contain an archive or tank."""
    return categories_json(categories.categories_of(item_id))
