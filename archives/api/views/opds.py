"""OPDS: /api/opds (the catalog), /api/opds/{id} (one entry), /api/opds/{id}/pse (pages)."""

from __future__ import annotations

from django.http import HttpResponse
from django.http import HttpResponseBase
from rest_framework.request import Request

from archives import opds
from archives import reading
from archives.api import params
from archives.api.base import ApiView
from archives.api.responses import plain
from archives.api.responses import unknown_archive
from archives.api.views.pages import page_response
from archives.exceptions import ArchiveNotFound

XML = "application/xml;charset=UTF-8"


def _start(request: Request) -> int:
    # An offset as in searches: -1 is everything, other negatives count as 0.
    start = params.integer(request, "start", default=0) or 0
    return start if start >= -1 else 0


def _links(request: Request) -> opds.Links:
    return opds.Links(
        prefix=request.META.get("SCRIPT_NAME", "").rstrip("/"),
        key=params.raw_param(request, "key") or None,
    )


class CatalogView(ApiView):
    operations = {"GET": "serve_opds_catalog"}

    def get(self, request: Request) -> HttpResponse:
        category = params.raw_param(request, "category") or ""
        body = opds.opds_catalog(links=_links(request), category=category, start=_start(request))
        return HttpResponse(body, content_type=XML)


class EntryView(ApiView):
    operations = {"GET": "serve_opds_item"}

    def get(self, request: Request, id: str) -> HttpResponse:
        body = opds.opds_entry(links=_links(request), arcid=id)
        if body is None:
            # LANraragi renders an entry with empty fields for an unknown ID.
            return unknown_archive("serve_opds_item")
        return HttpResponse(body, content_type=XML)


class PageStreamView(ApiView):
    operations = {"GET": "serve_opds_page"}

    def get(self, request: Request, id: str) -> HttpResponseBase:
        number = params.integer(request, "page", default=1) or 1
        archive = reading.archive_for_reading(id)
        if archive is None:
            return unknown_archive("serve_opds_page")
        try:
            names = reading.page_list(archive=archive)
        except ArchiveNotFound:
            return unknown_archive("serve_opds_page")
        except reading.ArchiveUnreadable as exc:
            return plain("serve_page", success=0, status=422, error=f"Unreadable archive: {exc.message}")
        # Out of range (and LANraragi's negative indexes, which count from the end): page 1.
        if not 1 <= number <= len(names):
            number = 1
        return page_response(request, archive, names[number - 1] if names else "")
