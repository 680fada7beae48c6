"""GET /api/openapi.json: the OpenAPI document of this API."""

from __future__ import annotations

from django.http import HttpResponse
from rest_framework.request import Request

from archives.api.base import ApiView
from archives.api.openapi import openapi_bytes


class DocumentView(ApiView):
    # Public like the other reads; No-Fun mode puts it behind auth with the rest of /api/.
    def get(self, request: Request) -> HttpResponse:
        prefix = request.META.get("SCRIPT_NAME", "").rstrip("/")
        return HttpResponse(openapi_bytes(f"{prefix}/api"), content_type="application/json;charset=UTF-8")
