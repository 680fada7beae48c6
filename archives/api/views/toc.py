"""PUT and DELETE /api/archives/{id}/toc: chapter names by starting page."""

from __future__ import annotations

from django.http import HttpResponse
from rest_framework.request import Request

from archives import toc
from archives.api import params
from archives.api.base import ApiView
from archives.api.responses import envelope


class TocView(ApiView):
    protected = frozenset({"PUT", "DELETE"})
    operations = {"PUT": "add_toc", "DELETE": "remove_toc"}

    def put(self, request: Request, id: str) -> HttpResponse:
        arcid = self.arcid(id)
        page = params.integer(request, "page", required=True)
        title = params.string(request, "title", required=True)
        assert page is not None and title is not None
        toc.toc_set(arcid=arcid, page=page, title=title)
        return envelope("add_toc", message=f"Added ToC entry for page {page}.")

    def delete(self, request: Request, id: str) -> HttpResponse:
        arcid = self.arcid(id)
        page = params.integer(request, "page", required=True)
        assert page is not None
        toc.toc_remove(arcid=arcid, page=page)
        return envelope("remove_toc", message=f"Removed ToC entry for page {page}.")
