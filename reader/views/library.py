"""The library: a grid of covers for one page of a search, and a random pick."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.http import HttpResponse
from django.shortcuts import redirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from archives.config import get_config
from archives.search.selectors import random_page
from archives.search.selectors import search_items
from archives.search.selectors import search_page
from archives.selectors import ArchiveItem
from archives.tankoubons import TankItem
from reader import selectors
from reader.access import is_member
from reader.access import public_page


@require_safe  # a page to look at: writing methods are 405
@public_page
def library(request: HttpRequest) -> HttpResponse:
    query = selectors.LibraryQuery.from_get(request.GET)
    config = get_config()
    pagesize = config.archives_per_page
    member = is_member(request)
    # Offset paging through the search selector: one LIMIT/OFFSET page and a count,
    # whatever the size of the library.
    page = search_page(query.search_params(), start=query.start, pagesize=pagesize)
    items = [_card(item) for item in search_items(page.ids)]
    tabs = [{**tab, "href": _href(query.querystring(category=tab["id"], start=0))} for tab in selectors.category_tabs()]
    return render(
        request,
        "reader/library.html",
        {
            "items": items,
            "query": query,
            "pager": selectors.pager(query, pagesize=pagesize, filtered=page.filtered),
            "all_href": _href(query.querystring(category="", start=0)),
            "first_shown": query.start + 1 if items else 0,
            "last_shown": query.start + len(items),
            "filtered": page.filtered,
            "total": page.total,
            "tabs": tabs,
            "sort_choices": selectors.sort_choices(query.sortby),
            "member": member,
            "suggest_minweight": selectors.suggest_minweight(),
            "library_data": {
                "pagesize": pagesize,
                "member": member,
                # Where the reader keeps progress in the browser (reader.js), the cards
                # show that progress too.
                "localProgress": not config.server_tracks_progress or (config.authprogress and not member),
            },
        },
    )


def _href(querystring: str) -> str:
    return "?" + querystring if querystring else "?"


def _card(item: ArchiveItem | TankItem) -> dict[str, Any]:
    """An item of the grid: what the card shows (library.js mirrors it from the API JSON)."""
    pages, progress = item.pagecount, item.progress
    tank = isinstance(item, TankItem)
    return {
        "arcid": item.arcid,
        "title": item.title,
        "isnew": item.isnew,
        "pagecount": pages,
        "progress": progress,
        "archive_count": item.archive_count if isinstance(item, TankItem) else 0,
        "is_tank": tank,
        "cover_url": f"/api/{'tankoubons' if tank else 'archives'}/{item.arcid}/thumbnail",
        "read_percent": min(round(100 * progress / pages), 100) if pages and progress else 0,
    }


@require_safe  # a page to look at: writing methods are 405
@public_page
def random_pick(request: HttpRequest) -> HttpResponse:
    """Open one random match of the library's current search (a link that works without JS)."""
    query = selectors.LibraryQuery.from_get(request.GET)
    picked = random_page(query.search_params(), count=1)
    if not picked:
        return redirect(reverse("library") + ("?" + query.querystring() if query.querystring() else ""))
    return redirect(reverse("reader") + "?id=" + picked[0])
