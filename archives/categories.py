"""Categories (static lists and saved searches) and the bookmark link."""

from __future__ import annotations

import re
import time

from django.db import IntegrityError
from django.db import transaction

from archives.exceptions import HondanaError
from archives.locks import write_lock
from archives.models import Archive
from archives.models import Category
from archives.models import CategoryItem
from archives.models import LibraryState
from archives.models import Tankoubon
from archives.search.cache import invalidate_search_cache

CATEGORY_ID = re.compile(r"SET_\d{10}")


class CategoryError(HondanaError):
    """A category write LANraragi refuses; the message is its error text."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _new_id() -> str:
    stamp = int(time.time())
    while Category.objects.filter(pk=f"SET_{stamp:010d}").exists():
        stamp += 1
    return f"SET_{stamp:010d}"


def category_create(*, name: str, search: str = "", pinned: bool = False) -> Category:
    for _ in range(5):
        try:
            with transaction.atomic():
                category = Category.objects.create(id=_new_id(), name=name, search=search, pinned=pinned)
                invalidate_search_cache()
                return category
        except IntegrityError:
            continue  # another request took the same second
    raise CategoryError("Could not allocate a category ID.")


def category_update(*, catid: str, name: str | None, search: str | None, pinned: bool) -> Category:
    """Empty name or search keep the old value; leaving out `pinned` unpins."""
    with write_lock(f"category-write:{catid}", resource=catid), transaction.atomic():
        category = Category.objects.filter(pk=catid).first()
        if category is None:
            raise CategoryError("The given category does not exist.")
        category.name = name or category.name
        category.search = search or category.search
        category.pinned = pinned
        category.save()
        invalidate_search_cache()
    return category


def category_delete(*, catid: str) -> None:
    if len(catid) != 14:
        raise CategoryError("The given category does not exist.")
    with write_lock(f"category-write:{catid}", resource=catid), transaction.atomic():
        Category.objects.filter(pk=catid).delete()
        LibraryState.objects.filter(pk=1, bookmark_category=catid).update(bookmark_category="")
        invalidate_search_cache()


def _target(item_id: str) -> tuple[Archive | None, Tankoubon | None]:
    if item_id.startswith("TANK_"):
        return None, Tankoubon.objects.filter(pk=item_id).first()
    return Archive.objects.filter(pk=item_id).first(), None


def category_add(*, catid: str, item_id: str) -> tuple[Category, str | None]:
    """Add an archive or tank to a static category; (category, its title or None)."""
    with write_lock(f"category-write:{catid}", resource=catid), transaction.atomic():
        category = Category.objects.filter(pk=catid).first()
        if category is None:
            raise CategoryError(f"{catid} doesn't exist in the database!")
        if category.is_dynamic:
            raise CategoryError(f"{catid} is a favorite search/dynamic category, can't add archives to it.")
        archive, tank = _target(item_id)
        if archive is None and tank is None:
            raise CategoryError(f"{item_id} does not exist in the database.")
        CategoryItem.objects.get_or_create(category=category, archive=archive, tank=tank)
        invalidate_search_cache()
    return category, archive.display_title if archive is not None else None


def category_remove(*, catid: str, item_id: str) -> tuple[Category, str | None]:
    with write_lock(f"category-write:{catid}", resource=catid), transaction.atomic():
        category = Category.objects.filter(pk=catid).first()
        if category is None:
            raise CategoryError(f"{catid} doesn't exist in the database!")
        if category.is_dynamic:
            raise CategoryError(f"{catid} is a favorite search, it doesn't contain archives.")
        archive, _ = _target(item_id)
        field = {"tank_id": item_id} if item_id.startswith("TANK_") else {"archive_id": item_id}
        CategoryItem.objects.filter(category=category, **field).delete()
        invalidate_search_cache()
    return category, archive.display_title if archive is not None else None


def category_add_uploaded(*, catid: str, arcid: str) -> None:
    """After an upload: join `catid` if it is an existing static category, else nothing."""
    if not catid:
        return
    category = Category.objects.filter(pk=catid, search="").first()
    if category is None:
        return
    CategoryItem.objects.get_or_create(category=category, archive_id=arcid)
    invalidate_search_cache()


# --- bookmark -------------------------------------------------------------------------


def bookmark_get() -> str:
    return LibraryState.objects.filter(pk=1).values_list("bookmark_category", flat=True).first() or ""


def bookmark_set(*, catid: str) -> str:
    if not CATEGORY_ID.fullmatch(catid or ""):
        raise CategoryError("Input category ID is invalid.")
    category = Category.objects.filter(pk=catid).first()
    if category is None:
        raise CategoryError("Category does not exist!", status=404)
    if category.is_dynamic:
        raise CategoryError("Cannot link bookmark to a dynamic category.")
    LibraryState.objects.get_or_create(pk=1)
    LibraryState.objects.filter(pk=1).update(bookmark_category=catid)
    return catid


def bookmark_remove() -> str:
    previous = bookmark_get()
    LibraryState.objects.filter(pk=1).update(bookmark_category="")
    return previous


# --- reads ----------------------------------------------------------------------------


def category_members(category_ids: list[str]) -> dict[str, list[str]]:
    """The archive and tank ids of each static category, in the order they were added
    (an empty list for a dynamic one)."""
    members: dict[str, list[str]] = {c: [] for c in category_ids}
    rows = CategoryItem.objects.filter(category_id__in=category_ids, category__search="").order_by("id")
    for catid, arcid, tank_id in rows.values_list("category_id", "archive_id", "tank_id"):
        members[catid].append(arcid or tank_id)
    return members


def category_list() -> list[Category]:
    return list(Category.objects.order_by("pk"))


def category_get(catid: str) -> Category | None:
    return Category.objects.filter(pk=catid).first()


def categories_of(item_id: str) -> list[Category]:
    """Static categories that contain an archive or tank."""
    field = {"items__tank_id": item_id} if item_id.startswith("TANK_") else {"items__archive_id": item_id}
    return list(Category.objects.filter(search="", **field).distinct().order_by("pk"))
