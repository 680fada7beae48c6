"""Categories, their members, the bookmark link, and GET /api/archives/{id}/categories."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from rest_framework.request import Request

from archives import categories
from archives.api import params
from archives.api import presenters
from archives.api.base import ApiView
from archives.api.render import json_response
from archives.api.responses import envelope
from archives.api.responses import plain
from archives.categories import CategoryError


def _pinned(request: Any) -> bool:
    # LANraragi: any value but empty, "0" and "false" pins.
    raw = params.raw_param(request, "pinned")
    return raw not in (None, "", "0", "false")


class CategoryListView(ApiView):
    protected = frozenset({"PUT"})
    operations = {"GET": "get_category_list", "PUT": "create_category"}

    def get(self, request: Request) -> HttpResponse:
        return json_response(presenters.category_list_json())

    def put(self, request: Request) -> HttpResponse:
        name = params.raw_param(request, "name") or ""
        if not name:
            return envelope("create_category", error="Category name not specified.")
        search = params.raw_param(request, "search") or ""
        category = categories.category_create(name=name, search=search, pinned=_pinned(request))
        return plain("create_category", category_id=category.pk)


class CategoryView(ApiView):
    protected = frozenset({"PUT", "DELETE"})
    operations = {"GET": "get_category", "PUT": "update_category", "DELETE": "delete_category"}

    def get(self, request: Request, id: str) -> HttpResponse:
        data = presenters.category_detail_json(id)
        if data is None:
            return envelope("get_category", error="The given category does not exist.")
        return json_response(data)

    def put(self, request: Request, id: str) -> HttpResponse:
        try:
            category = categories.category_update(
                catid=id,
                name=params.raw_param(request, "name"),
                search=params.raw_param(request, "search"),
                pinned=_pinned(request),
            )
        except CategoryError as exc:
            return envelope("update_category", error=exc.message)
        return plain("update_category", category_id=category.pk)

    def delete(self, request: Request, id: str) -> HttpResponse:
        try:
            categories.category_delete(catid=id)
        except CategoryError as exc:
            return envelope("delete_category", error=exc.message)
        return envelope("delete_category")


class CategoryMemberView(ApiView):
    protected = frozenset({"PUT", "DELETE"})
    operations = {"PUT": "add_to_category", "DELETE": "remove_from_category"}

    def _ids(self, id: str, archive: str) -> tuple[str, str]:
        return params.length(id, "/id", 14, 14), params.length(archive, "/archive", 15, 40)

    def put(self, request: Request, id: str, archive: str) -> HttpResponse:
        catid, item = self._ids(id, archive)
        try:
            category, title = categories.category_add(catid=catid, item_id=item)
        except CategoryError as exc:
            return envelope("add_to_category", error=exc.message)
        if title is None:
            return envelope("add_to_category", message=f"Added {item} to Category {catid}!")
        return envelope("add_to_category", message=f'Added "{title}" to category "{category.name}"!')

    def delete(self, request: Request, id: str, archive: str) -> HttpResponse:
        catid, item = self._ids(id, archive)
        try:
            category, title = categories.category_remove(catid=catid, item_id=item)
        except CategoryError as exc:
            return envelope("remove_from_category", error=exc.message)
        if title is None:
            return envelope("remove_from_category", message=f"Removed {item} from Category {catid}!")
        return envelope("remove_from_category", message=f'Removed "{title}" from category "{category.name}"!')


class BookmarkView(ApiView):
    protected = frozenset({"DELETE"})
    operations = {"GET": "get_bookmark_link", "DELETE": "remove_bookmark_link"}

    def get(self, request: Request) -> HttpResponse:
        return plain("get_bookmark_link", category_id=categories.bookmark_get())

    def delete(self, request: Request) -> HttpResponse:
        return plain("remove_bookmark_link", category_id=categories.bookmark_remove())


class BookmarkSetView(ApiView):
    protected = frozenset({"PUT"})
    operations = {"PUT": "update_bookmark_link"}

    def put(self, request: Request, id: str) -> HttpResponse:
        catid = params.length(id, "/id", 14, 14)
        try:
            categories.bookmark_set(catid=catid)
        except CategoryError as exc:
            return plain("update_bookmark_link", success=0, status=exc.status, category_id=catid, error=exc.message)
        return plain("update_bookmark_link", category_id=catid)


class ArchiveCategoriesView(ApiView):
    operations = {"GET": "find_arc_categories"}

    def get(self, request: Request, id: str) -> HttpResponse:
        item = id if id.startswith("TANK_") and len(id) == 15 else self.arcid(id)
        return plain("find_arc_categories", categories=presenters.categories_of_json(item))
