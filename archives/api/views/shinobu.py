"""The file watcher: /api/shinobu (status), /stop, /restart, /rescan."""

from __future__ import annotations

from django.http import HttpResponse
from rest_framework.request import Request

from archives import watcher
from archives.api.base import ApiView
from archives.api.responses import envelope
from archives.api.responses import plain


class StatusView(ApiView):
    protected = frozenset({"GET", "HEAD"})
    operations = {"GET": "shinobu_status"}

    def get(self, request: Request) -> HttpResponse:
        status = watcher.watcher_status()
        return plain("shinobu_status", is_alive=int(status.alive), pid=status.pid)


class StopView(ApiView):
    protected = frozenset({"POST"})
    operations = {"POST": "shinobu_stop"}

    def post(self, request: Request) -> HttpResponse:
        watcher.watcher_stop()
        return envelope("shinobu_stop")


class RestartView(ApiView):
    protected = frozenset({"POST"})
    operations = {"POST": "shinobu_restart"}

    def post(self, request: Request) -> HttpResponse:
        status = watcher.watcher_restart()
        # As LANraragi: success says whether a watcher is running now.
        return plain("shinobu_restart", success=int(status.alive), new_pid=status.pid)


class RescanView(ApiView):
    protected = frozenset({"POST"})
    operations = {"POST": "shinobu_rescan"}

    def post(self, request: Request) -> HttpResponse:
        job = watcher.watcher_rescan()
        # `job` is ours: the full scan runs as a job rather than in a new watcher process.
        return plain("shinobu_rescan", new_pid=watcher.watcher_status().pid, job=job.pk)
