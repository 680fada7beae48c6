"""The /api/tankoubons surface (progress and thumbnail live with reading and thumbnails)
and GET /api/archives/{id}/tankoubons."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from rest_framework.request import Request

from archives import tankoubons
from archives.api import params
from archives.api import presenters
from archives.api.base import ApiView
from archives.api.render import json_response
from archives.api.responses import envelope
from archives.api.responses import plain
from archives.config import get_config
from archives.tankoubons import TankError

NOT_FOUND = "The given tankoubon does not exist."


class TankListView(ApiView):
    protected = frozenset({"PUT"})
    operations = {"GET": "get_tankoubon_list", "PUT": "create_tankoubon"}

    def get(self, request: Request) -> HttpResponse:
        page = params.integer(request, "page", default=0) or 0
        tanks, total = tankoubons.tank_list(page=page, pagesize=get_config().archives_per_page)
        result = presenters.tank_list_json(tanks)
        # LANraragi's `filtered` here is the number of tanks, not of the page.
        return json_response({"result": result, "total": total, "filtered": total})

    def put(self, request: Request) -> HttpResponse:
        name = params.raw_param(request, "name") or ""
        if not name:
            return envelope("create_tankoubon", error="Tankoubon name not specified.")
        tank = tankoubons.tank_create(name=name, tankid=params.raw_param(request, "tankid") or "")
        return plain("create_tankoubon", tankoubon_id=tank.pk)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), "null")


def _expect(value: Any, kind: type, name: str, path: str) -> None:
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise params.ParamError(f"Expected {name} - got {_json_type(value)}.", path)


def _json_body(request: Request) -> dict[str, Any]:
    """The body checked against the spec's schema, as LANraragi's validator does: an
    object, `archives` an array of 40-character IDs, `metadata` an object of strings
    (and the `append` boolean)."""
    params.require_body(request, "application/json")
    data = request.data
    params.check_json(data)
    _expect(data, dict, "object", "/body")
    if "archives" in data:
        _expect(data["archives"], list, "array", "/body/archives")
        for i, arcid in enumerate(data["archives"]):
            _expect(arcid, str, "string", f"/body/archives/{i}")
            params.arcid(arcid, f"/body/archives/{i}")
    if "metadata" in data:
        _expect(data["metadata"], dict, "object", "/body/metadata")
        for key in ("name", "summary", "tags"):
            if key in data["metadata"]:
                _expect(data["metadata"][key], str, "string", f"/body/metadata/{key}")
        params.check_tags(data["metadata"].get("tags"), "/body/metadata/tags")
        if "append" in data["metadata"]:
            _expect(data["metadata"]["append"], bool, "boolean", "/body/metadata/append")
    return data


class TankView(ApiView):
    protected = frozenset({"PUT", "DELETE"})
    operations = {"GET": "get_tankoubon", "PUT": "update_tankoubon", "DELETE": "delete_tankoubon"}

    def get(self, request: Request, id: str) -> HttpResponse:
        tank = tankoubons.tank_get(tank_id=id)
        if tank is None:
            return envelope("get_tankoubon", error=NOT_FOUND)
        return json_response(presenters.tank_object(tank, tankoubons.tank_member_ids(tank.pk)))

    def put(self, request: Request, id: str) -> HttpResponse:
        body = _json_body(request)
        archives = body.get("archives")
        metadata = body.get("metadata")
        try:
            tank = tankoubons.tank_update(tank_id=id, archives=archives, metadata=metadata)
        except TankError as exc:
            return envelope("update_tankoubon", error=str(exc))
        return envelope("update_tankoubon", message=f'Updated tankoubon "{tank.name}"!')

    def delete(self, request: Request, id: str) -> HttpResponse:
        if not tankoubons.tank_delete(tank_id=id):
            return envelope("delete_tankoubon", error=NOT_FOUND)
        return envelope("delete_tankoubon")


class TankFullView(ApiView):
    operations = {"GET": "get_tankoubon"}

    def get(self, request: Request, id: str) -> HttpResponse:
        tank = tankoubons.tank_get(tank_id=id)
        if tank is None:
            return envelope("get_tankoubon", error=NOT_FOUND)
        page = params.integer(request, "page", default=-1)
        detail = tankoubons.tank_detail(
            tank=tank, page=-1 if page is None else page, pagesize=get_config().archives_per_page
        )
        result, total, shown = presenters.tank_full(detail)
        return json_response({"result": result, "total": total, "filtered": shown})


class TankMemberView(ApiView):
    protected = frozenset({"PUT", "DELETE"})
    operations = {"PUT": "add_to_tankoubon", "DELETE": "remove_from_tankoubon"}

    def put(self, request: Request, id: str, archive: str) -> HttpResponse:
        arcid = params.arcid(archive, "/archive")
        try:
            tank, item = tankoubons.tank_add_archive(tank_id=id, arcid=arcid)
        except TankError as exc:
            return envelope("add_to_tankoubon", error=str(exc))
        return envelope("add_to_tankoubon", message=f'Added "{item.display_title}" to tankoubon "{tank.name}"!')

    def delete(self, request: Request, id: str, archive: str) -> HttpResponse:
        arcid = params.arcid(archive, "/archive")
        try:
            tank, item = tankoubons.tank_remove_archive(tank_id=id, arcid=arcid)
        except TankError as exc:
            return envelope("remove_from_tankoubon", error=str(exc))
        return envelope(
            "remove_from_tankoubon", message=f'Removed "{item.display_title}" from tankoubon "{tank.name}"!'
        )


class ArchiveTanksView(ApiView):
    operations = {"GET": "find_arc_tankoubons"}

    def get(self, request: Request, id: str) -> HttpResponse:
        return plain("find_arc_tankoubons", tankoubons=tankoubons.tanks_containing(self.arcid(id)))
