"""POST /api/download_url: queue a download into the library."""

from __future__ import annotations

from django.http import HttpResponse
from rest_framework.request import Request

from archives.api import params
from archives.api.base import ApiView
from archives.api.responses import envelope
from archives.api.responses import plain
from archives.tasks import download_enqueue


class DownloadUrlView(ApiView):
    protected = frozenset({"POST"})
    operations = {"POST": "download_url"}

    def post(self, request: Request) -> HttpResponse:
        url = params.raw_param(request, "url")
        catid = params.raw_param(request, "catid")
        if catid is not None:
            params.length(catid, "/catid", 14, 14)
        if not url:
            return envelope("download_url", error="No URL specified.")
        job = download_enqueue(url=url, catid=catid)
        return plain("download_url", url=url, category=catid, job=job.pk)
