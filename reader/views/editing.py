"""Pages that change the library: upload, edit one archive, batch tags, categories.

They render forms and data; the writes go from the page's JavaScript to the API
(with the session and its CSRF token), so the browser and every other client take
the same, single path through the services.
"""

from __future__ import annotations

from dataclasses import replace

from django.http import HttpRequest
from django.http import HttpResponse
from django.shortcuts import render

from archives.search.selectors import search_items
from archives.search.selectors import search_page
from archives.selectors import archive_detail
from reader import selectors
from reader.access import member_page

BATCH_PREVIEW = 24


@member_page
def upload(request: HttpRequest) -> HttpResponse:
    categories = [t for t in selectors.category_tabs() if not t["dynamic"]]
    return render(request, "reader/upload.html", {"categories": categories})


@member_page
def edit(request: HttpRequest) -> HttpResponse:
    arcid = request.GET.get("id", "").strip()
    archive = archive_detail(arcid) if len(arcid) == 40 else None
    if archive is None:
        return render(request, "reader/not_found.html", {"item_id": arcid}, status=404)
    categories = selectors.archive_categories(arcid)
    return render(
        request,
        "reader/edit.html",
        {
            "archive": archive,
            "categories": categories,
            "suggest_minweight": selectors.suggest_minweight(),
            "edit_data": {
                "id": arcid,
                "title": archive.title,
                "pagecount": archive.pagecount,
            },
        },
    )


@member_page
def batch(request: HttpRequest) -> HttpResponse:
    """Add or remove tags on every archive a search matches (tanks are expanded)."""
    query = selectors.LibraryQuery.from_get(request.GET)
    params = query.search_params()
    # Tanks are counted as their member archives here: every archive gets the edit.
    params = replace(params, grouped=False)
    page = search_page(params, start=0, pagesize=BATCH_PREVIEW)
    return render(
        request,
        "reader/batch.html",
        {
            "query": query,
            "preview": search_items(page.ids),
            "filtered": page.filtered,
            "tabs": selectors.category_tabs(),
            "suggest_minweight": selectors.suggest_minweight(),
            "batch_data": {
                "filter": query.filter,
                "category": query.category,
                "newonly": query.newonly,
                "filtered": page.filtered,
            },
        },
    )


@member_page
def categories(request: HttpRequest) -> HttpResponse:
    return render(request, "reader/categories.html", {"categories": selectors.category_tabs(with_counts=True)})
