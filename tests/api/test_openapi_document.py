"""GET /api/openapi.json: LANraragi's document plus Hondana's routes, and no drift from the URL table."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import schemathesis
from django.urls import URLPattern
from django.urls import URLResolver
from django.urls import get_resolver
from django.urls import resolve

from archives.api import openapi
from archives.api.openapi import openapi_document
from archives.config import config_changed
from archives.models import ServerConfig
from tests.conftest import bearer

pytestmark = pytest.mark.django_db

METHODS = ("get", "put", "post", "delete", "patch")
DOCUMENTS = Path(openapi.__file__).parent


def _template(pattern: str) -> str:
    """One URL pattern, route or regex, in OpenAPI's form: `archives/<str:id>` -> `archives/{id}`."""
    if not pattern.startswith("^"):
        return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", pattern)
    out, i = [], 1
    while i < len(pattern):
        if pattern.startswith("(?P<", i):
            end = pattern.index(">", i)
            out.append("{" + pattern[i + 4 : end] + "}")
            depth, i = 1, end + 1
            while depth:  # skip the group's body, nested groups included
                depth += {"(": 1, ")": -1}.get(pattern[i], 0) if pattern[i - 1] != "\\" else 0
                i += 1
        else:
            out.append(pattern[i])
            i += 1
    return "".join(out).removesuffix("$")


def _api_routes() -> dict[str, type]:
    """Every route under /api/, as an OpenAPI path relative to /api, with its view class."""
    routes: dict[str, type] = {}

    def walk(patterns: list[URLPattern | URLResolver], prefix: str) -> None:
        for entry in patterns:
            path = prefix + _template(str(entry.pattern))
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, path)
            elif path.startswith("api/"):
                routes[path.removeprefix("api")] = entry.callback.view_class  # type: ignore[attr-defined]

    walk(get_resolver().url_patterns, "")
    return routes


def test_the_document_is_served_with_this_servers_api_as_its_server(client):
    r = client.get("/api/openapi.json")
    assert r.status_code == 200
    assert r["Content-Type"] == "application/json;charset=UTF-8"
    body = r.json()
    assert body["openapi"] == "3.1.0"
    assert body["info"]["title"] == "LANraragi API" and body["info"]["license"]["identifier"] == "MIT"
    assert body["servers"] == [{"url": "/api"}]
    assert body["paths"]["/openapi.json"]["get"]["operationId"] == "getOpenApiDocument"
    assert body["paths"]["/archives/{id}/files"]["get"]["operationId"] == "getFiles"


def test_the_document_follows_a_script_prefix(client):
    r = client.get("/api/openapi.json", SCRIPT_NAME="/lrr")
    assert r.json()["servers"] == [{"url": "/lrr/api"}]


def test_the_document_is_public_unless_nofun_mode(client):
    ServerConfig.objects.update_or_create(pk=1, defaults={"nofunmode": True})
    config_changed()
    r = client.get("/api/openapi.json")
    assert r.status_code == 401
    assert r.json() == {"error": "This API is protected and requires login or an API Key."}
    assert client.get("/api/openapi.json", HTTP_AUTHORIZATION=bearer()).status_code == 200


def test_the_document_is_valid_openapi_3_1():
    schemathesis.openapi.from_dict(copy.deepcopy(openapi_document())).validate()


def test_hondana_routes_never_replace_lanraragis():
    lanraragi = json.loads((DOCUMENTS / "lanraragi.json").read_text(encoding="utf-8"))
    hondana = json.loads((DOCUMENTS / "hondana.json").read_text(encoding="utf-8"))
    assert not lanraragi["paths"].keys() & hondana["paths"].keys()
    merged = openapi_document()
    assert merged["paths"].keys() == lanraragi["paths"].keys() | hondana["paths"].keys()
    assert merged["info"] == lanraragi["info"]


def test_every_documented_path_is_routed_and_every_api_route_documented():
    documented = openapi_document()["paths"]
    routes = _api_routes()
    assert sorted(set(documented) - set(routes)) == [], "documented but not routed"
    assert sorted(set(routes) - set(documented)) == [], "routed under /api/ but not documented"


def test_every_documented_operation_has_a_handler_and_every_handler_is_documented():
    documented = openapi_document()["paths"]
    for path, view in _api_routes().items():
        handled = {method for method in METHODS if hasattr(view, method)}
        listed = {method for method in METHODS if method in documented[path]}
        assert handled == listed, f"{path}: {view.__name__} handles {sorted(handled)}, document has {sorted(listed)}"


def test_every_documented_path_resolves_to_its_own_route():
    """No route shadows another: `/archives/upload` reaches the upload view, not `/archives/{id}`."""
    routes = _api_routes()
    for path in openapi_document()["paths"]:
        concrete = "/api" + re.sub(r"\{\w+\}", "1", path)
        assert resolve(concrete).func.view_class is routes[path], path  # type: ignore[attr-defined]


def test_route_templates():
    assert _template("archives/<str:id>/files") == "archives/{id}/files"
    assert _template(r"^archives/(?P<id>[^/]+)/progress/(?P<page>[^/.]+)$") == "archives/{id}/progress/{page}"
    assert _template(r"^t/(?P<id>[^/]+)/(?P<archive>(?!thumbnail$|full$)[^/]+)$") == "t/{id}/{archive}"
