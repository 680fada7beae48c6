"""Stamps: /api/archives/{id}/stamps[/{index}] and /api/stamps/{id}."""

from __future__ import annotations

from django.http import HttpResponse
from rest_framework.request import Request

from archives import stamps
from archives.api import params
from archives.api.base import ApiView
from archives.api.render import json_response
from archives.api.responses import envelope
from archives.api.responses import plain


class StampedPagesView(ApiView):
    operations = {"GET": "get_stamped_pages"}

    def get(self, request: Request, id: str) -> HttpResponse:
        pages = stamps.stamped_pages(arcid=id)
        return json_response({"result": pages})


class PageStampsView(ApiView):
    protected = frozenset({"PUT"})
    operations = {"GET": "get_stamps_by_page", "PUT": "add_stamp"}

    def get(self, request: Request, id: str, index: str) -> HttpResponse:
        page = params.parse_integer(index, "index")
        found = stamps.page_stamps(arcid=id, page=page)
        return json_response({"result": [stamps.stamp_json(s) for s in found]})

    def put(self, request: Request, id: str, index: str) -> HttpResponse:
        page = params.parse_integer(index, "index")
        stamp = stamps.stamp_add(
            arcid=id,
            page=page,
            content=params.raw_param(request, "content") or "",
            position=params.raw_param(request, "position") or "",
        )
        return plain("add_stamp", stamp_id=stamp.pk)


class StampView(ApiView):
    protected = frozenset({"PUT", "DELETE"})
    operations = {"GET": "get_stamp", "PUT": "update_stamp", "DELETE": "delete_stamp"}

    def get(self, request: Request, id: str) -> HttpResponse:
        stamp = stamps.stamp_get(stamp_id=id)
        return json_response(stamps.stamp_json(stamp))

    def put(self, request: Request, id: str) -> HttpResponse:
        stamp = stamps.stamp_update(
            stamp_id=id,
            content=params.raw_param(request, "content"),
            position=params.raw_param(request, "position"),
        )
        return envelope("update_stamp", message=f'Updated stamp "{stamp.pk}"!')

    def delete(self, request: Request, id: str) -> HttpResponse:
        stamps.stamp_delete(stamp_id=id)
        return envelope("delete_stamp")
