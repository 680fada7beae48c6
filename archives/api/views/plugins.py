"""Plugins: /api/plugins/{type} (list), /api/plugins/use (run now), /api/plugins/queue (job)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from rest_framework.request import Request

from archives.api import params
from archives.api.base import ApiView
from archives.api.render import json_response
from archives.api.responses import plain
from archives.plugins import runs
from archives.plugins.registry import PLUGIN_TYPES
from archives.plugins.registry import plugin_infos
from archives.tasks import run_plugin_enqueue

TYPES = (*PLUGIN_TYPES, "all")


def _archive_id(request: Any) -> str:
    """`id` is optional, but 40 characters when given (the spec's validation)."""
    raw = params.raw_param(request, "id")
    return "" if raw is None else params.arcid(raw)


class PluginListView(ApiView):
    protected = frozenset({"GET", "HEAD"})
    operations = {"GET": "list_plugins"}

    def get(self, request: Request, type: str) -> HttpResponse:
        if type not in TYPES:
            raise params.ParamError(f"Not in enum list: {', '.join(TYPES)}.", "/type")
        return json_response([info.json() for info in plugin_infos(type)])


class PluginUseView(ApiView):
    protected = frozenset({"POST"})
    operations = {"POST": "use_plugin"}

    def post(self, request: Request) -> HttpResponse:
        arcid = _archive_id(request)
        run = runs.plugin_use(
            namespace=params.raw_param(request, "plugin") or "",
            arcid=arcid,
            oneshot=params.raw_param(request, "arg") or "",
        )
        # 200 either way, as LANraragi: the outcome is in `success` and `error`.
        return json_response({"operation": "use_plugin", **run.json()})


class PluginQueueView(ApiView):
    protected = frozenset({"POST"})
    operations = {"POST": "queue_plugin_exec"}

    def post(self, request: Request) -> HttpResponse:
        arcid = _archive_id(request)
        job = run_plugin_enqueue(
            namespace=params.raw_param(request, "plugin") or "",
            arcid=arcid,
            oneshot=params.raw_param(request, "arg"),
            priority=params.integer(request, "priority", default=0) or 0,
        )
        return plain("queue_plugin_exec", job=job.pk)
