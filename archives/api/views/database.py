"""/api/database: tag statistics, backup, restore, clean and drop."""

from __future__ import annotations

from django.http import FileResponse
from django.http import HttpResponse
from django.http import StreamingHttpResponse
from rest_framework.request import Request

from archives import backups
from archives import database
from archives.api import params
from archives.api.base import ApiView
from archives.api.render import json_response
from archives.api.responses import envelope
from archives.api.responses import plain
from archives.config import get_config
from archives.storage import backup_key
from archives.tasks import backup_enqueue
from archives.tasks import restore_enqueue


class StatsView(ApiView):
    operations = {"GET": "serve_tag_stats"}

    def get(self, request: Request) -> HttpResponse:
        minweight = params.integer(request, "minweight", default=1) or 1
        hide = params.raw_param(request, "hide_excluded_namespaces") == "true"
        excluded = get_config().excluded_namespace_list if hide else []
        return json_response(database.tag_stats(minweight=minweight, hide_namespaces=excluded))


class BackupView(ApiView):
    protected = frozenset({"GET", "POST"})
    operations = {"GET": "serve_backup", "POST": "queue_backup"}

    def get(self, request: Request) -> HttpResponse:
        # Streamed: a 100,000-archive backup is never held whole in memory.
        chunks = (chunk.encode("utf-8") for chunk in database.backup_chunks())
        return StreamingHttpResponse(chunks, content_type="application/json;charset=UTF-8")

    def post(self, request: Request) -> HttpResponse:
        job = backup_enqueue()
        return plain("queue_backup", job=job.pk)


class BackupDownloadView(ApiView):
    protected = frozenset({"GET", "HEAD"})
    operations = {"GET": "download_backup"}

    def get(self, request: Request, jobid: str) -> HttpResponse:
        job_id = params.parse_integer(jobid, "jobid")
        form = params.raw_param(request, "format") or "file"
        if form not in ("json", "file"):
            raise params.ParamError("Not in enum list: json, file.", "/format")
        try:
            opened = backups.backup_open(job_id=job_id)
        except database.BackupError as exc:
            return plain("download_backup", success=0, status=400, error=str(exc))
        if form == "json":
            # The JSON as a plain reply: no attachment header, unlike the file form.
            response = FileResponse(opened, content_type="application/json;charset=UTF-8")
            del response["Content-Disposition"]
            return response
        return FileResponse(opened, as_attachment=True, filename=backup_key(job_id), content_type="application/json")


class RestoreView(ApiView):
    protected = frozenset({"POST"})
    operations = {"POST": "queue_restore"}

    def post(self, request: Request) -> HttpResponse:
        upload = request.FILES.get("file")
        if upload is None:
            return plain("queue_restore", success=0, status=400, error="No file provided")
        payload = upload.read()
        try:
            pending = database.restore_queue(payload=payload.decode("utf-8"))
        except (database.BackupError, UnicodeDecodeError):
            return plain("queue_restore", success=0, status=400, error="File must be JSON")
        job = restore_enqueue(pending_id=pending)
        return plain("queue_restore", job=job.pk)


class CleanView(ApiView):
    protected = frozenset({"POST"})
    operations = {"POST": "clean_database"}

    def post(self, request: Request) -> HttpResponse:
        deleted, unlinked = database.database_clean()
        return plain("clean_database", deleted=deleted, unlinked=unlinked)


class DropView(ApiView):
    protected = frozenset({"POST"})
    operations = {"POST": "drop_database"}

    def post(self, request: Request) -> HttpResponse:
        database.database_drop()
        return envelope("drop_database")
