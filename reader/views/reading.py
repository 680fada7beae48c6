"""The reader at /reader?id=<id>: the URL every Mihon library stores, so it stays put."""

from __future__ import annotations

from django.http import HttpRequest
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from archives.config import get_config
from archives.selectors import archive_detail
from archives.tankoubons import tank_detail
from archives.tankoubons import tank_get
from reader.access import is_member
from reader.access import public_page


def _start_page(request: HttpRequest) -> int:
    try:
        return max(int(request.GET.get("p", "0")), 0)
    except ValueError:
        return 0


@require_safe  # a page to look at: writing methods are 405
@public_page
def reader(request: HttpRequest) -> HttpResponse:
    item_id = request.GET.get("id", "").strip()
    if item_id.startswith("TANK_"):
        return _tankoubon(request, item_id)
    archive = archive_detail(item_id) if len(item_id) == 40 else None
    if archive is None:
        return render(request, "reader/not_found.html", {"item_id": item_id}, status=404)
    config = get_config()
    return render(
        request,
        "reader/reader.html",
        {
            "archive": archive,
            "member": is_member(request),
            "reader_data": {
                "id": archive.arcid,
                "title": archive.title,
                "pagecount": archive.pagecount,
                "progress": archive.progress,
                "isnew": archive.isnew,
                "toc": archive.toc,
                "startPage": _start_page(request),
                # The same values /api/info sends as server_tracks_progress and
                # authenticated_progress, and whether this visitor counts as authenticated.
                "serverTracksProgress": config.server_tracks_progress,
                "authenticatedProgress": config.authprogress,
                "member": is_member(request),
            },
        },
    )


def _tankoubon(request: HttpRequest, tank_id: str) -> HttpResponse:
    tank = tank_get(tank_id=tank_id)
    if tank is None:
        return render(request, "reader/not_found.html", {"item_id": tank_id}, status=404)
    # What the page shows of each member, in the tank's order.
    members = [
        {"arcid": m.arcid, "title": m.title, "pagecount": m.pagecount, "progress": m.progress}
        for m in tank_detail(tank=tank, page=-1, pagesize=0).archives
    ]
    # Continue with the first member not read to the end, else start over.
    resume = next((m for m in members if m["progress"] < m["pagecount"]), members[0] if members else None)
    return render(request, "reader/tankoubon.html", {"tank": tank, "members": members, "resume": resume})
