"""GET /api/search, /api/search/ids, /api/search/random and DELETE /api/search/cache."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from rest_framework.request import Request

from archives.api import params
from archives.api.base import ApiView
from archives.api.presenters import items_json
from archives.api.render import json_response
from archives.api.responses import envelope
from archives.config import get_config
from archives.search.cache import invalidate_search_cache
from archives.search.parser import parse_filter
from archives.search.query import SearchParams
from archives.search.selectors import random_page
from archives.search.selectors import search_page


def category_id(request: Any) -> str:
    """`category` is a 14-character string in LANraragi's spec, checked before anything."""
    raw = params.raw_param(request, "category")
    if raw is None:
        return ""
    if len(raw) < 14:
        raise params.ParamError(f"String is too short: {len(raw)}/14.", "/category")
    if len(raw) > 14:
        raise params.ParamError(f"String is too long: {len(raw)}/14.", "/category")
    return raw


# LANraragi takes any number of tokens; here each is a clause of one SQL query, and
# SQLite refuses past about 1000. No real search comes near this.
MAX_TOKENS = 256
# Each token becomes a LIKE pattern, and SQLite refuses patterns past 50,000 bytes.
MAX_FILTER_LENGTH = 10_000


def filter_text(request: Any, name: str = "filter") -> str:
    raw = params.length(params.raw_param(request, name) or "", f"/{name}", 0, MAX_FILTER_LENGTH)
    count = len(parse_filter(raw))
    if count > MAX_TOKENS:
        raise params.ParamError(f"Too many search terms: {count}/{MAX_TOKENS}.", f"/{name}")
    return raw


def search_params(request: Any, *, sorted_: bool = True) -> SearchParams:
    category = category_id(request)
    return SearchParams(
        filter=filter_text(request),
        category=category,
        sortby=(params.raw_param(request, "sortby") or "title") if sorted_ else "title",
        desc=sorted_ and params.raw_param(request, "order") == "desc",
        newonly=params.boolean(request, "newonly"),
        untaggedonly=params.boolean(request, "untaggedonly"),
        hidecompleted=params.boolean(request, "hidecompleted"),
        grouped=params.boolean(request, "groupby_tanks", default=True),
    )


def _start(request: Any) -> int:
    start = params.integer(request, "start", default=0) or 0
    # -1 means everything; other negatives are treated as 0.
    return start if start >= -1 else 0


class SearchView(ApiView):
    operations = {"GET": "search"}

    def get(self, request: Request) -> HttpResponse:
        query = search_params(request)
        page = search_page(query, start=_start(request), pagesize=get_config().archives_per_page)
        return json_response(
            {"data": items_json(page.ids), "recordsFiltered": page.filtered, "recordsTotal": page.total}
        )


class SearchIdsView(ApiView):
    operations = {"GET": "search"}

    def get(self, request: Request) -> HttpResponse:
        query = search_params(request)
        page = search_page(query, start=_start(request), pagesize=get_config().archives_per_page)
        return json_response({"data": page.ids, "recordsFiltered": page.filtered, "recordsTotal": page.total})


class RandomView(ApiView):
    operations = {"GET": "get_random_archives"}

    def get(self, request: Request) -> HttpResponse:
        query = search_params(request, sorted_=False)
        count = params.integer(request, "count", default=5)
        count = 5 if count == 0 else max(count or 0, 0)
        data = items_json(random_page(query, count=count))
        return json_response({"data": data, "recordsTotal": len(data)})


class SearchCacheView(ApiView):
    protected = frozenset({"DELETE"})
    operations = {"DELETE": "clear_cache"}

    def delete(self, request: Request) -> HttpResponse:
        invalidate_search_cache()
        return envelope("clear_cache")


def _lenient_start(raw: str | None) -> int:
    """`start` on /search is not validated: anything but an integer counts as 0."""
    try:
        start = int(raw or 0)
    except ValueError:
        return 0
    return start if -1 <= start <= 2**62 else 0


class DataTablesView(ApiView):
    """GET /search: LANraragi's undocumented DataTables endpoint (its own web UI's).

    Not validated by the spec. `search[value]` is the filter, the sort key is the name
    of the column that `order[0][column]` points at, and a `tags` column search picks a
    category (or NEW_ONLY / UNTAGGED_ONLY). The reply echoes `draw` and, unlike /api/*,
    sends `isnew` as the strings "true"/"false" (behavior.md §1).
    """

    operations = {"GET": "search"}

    def get(self, request: Request) -> HttpResponse:
        get = request.query_params.get
        for key in request.query_params:
            params.raw_param(request, key)  # NUL anywhere is a 400
        sortindex = get("order[0][column]") or ""
        category, newonly, untaggedonly = "", False, False
        i = 0
        while get(f"columns[{i}][name]"):
            if get(f"columns[{i}][name]") == "tags":
                category = get(f"columns[{i}][search][value]") or ""
                if category == "NEW_ONLY":
                    category, newonly = "", True
                elif category == "UNTAGGED_ONLY":
                    category, untaggedonly = "", True
            i += 1
        raw_filter = filter_text(request, "search[value]")
        query = SearchParams(
            filter=raw_filter,
            category=category,
            sortby=get(f"columns[{sortindex}][name]") or "title",
            desc=get("order[0][dir]") == "desc",
            newonly=newonly,
            untaggedonly=untaggedonly,
            hidecompleted=(get("hidecompleted") or "false") == "true",
            grouped=(get("grouptanks") or "true") == "true",
        )
        page = search_page(query, start=_lenient_start(get("start")), pagesize=get_config().archives_per_page)
        data = items_json(page.ids)
        for item in data:
            item["isnew"] = "true" if item.get("isnew") else "false"
        return json_response(
            {"draw": get("draw"), "data": data, "recordsFiltered": page.filtered, "recordsTotal": page.total}
        )
