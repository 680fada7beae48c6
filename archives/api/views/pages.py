"""Reading over the API: page lists, page bytes, progress, and the page cache."""

from __future__ import annotations

import hashlib
from urllib.parse import quote

from django.http import HttpResponse
from django.http import HttpResponseBase
from django.utils.http import http_date
from rest_framework.request import Request

from archives import reading
from archives.api import params
from archives.api.base import ApiView
from archives.api.errors import ApiError
from archives.api.render import json_response
from archives.api.responses import envelope
from archives.api.responses import plain
from archives.api.responses import unknown_archive
from archives.config import get_config
from archives.exceptions import ArchiveNotFound
from archives.models import Archive
from archives.pagecache import pagecache_clear

# Page bytes never change for an ID (the ID is a hash of the file), so clients and
# proxies may keep them for good.
IMMUTABLE = "max-age=31536000, immutable"


def _archive(arcid: str, operation: str) -> Archive:
    archive = reading.archive_for_reading(arcid)
    if archive is None:
        raise ApiError(unknown_archive(operation))
    return archive


def page_url(prefix: str, arcid: str, name: str) -> str:
    """LANraragi's page URL: the member name percent-encoded (RFC 3986), '/' kept."""
    return f"{prefix}/api/archives/{arcid}/page?path={quote(name, safe='/')}"


class FilesView(ApiView):
    operations = {"GET": "get_file_list"}

    def get(self, request: Request, id: str) -> HttpResponse:
        arcid = self.arcid(id)
        params.boolean(request, "force")  # accepted and ignored, as LANraragi does
        archive = _archive(arcid, "get_file_list")
        try:
            names = reading.page_list(archive=archive)
        except ArchiveNotFound:
            return unknown_archive("get_file_list")
        except reading.ArchiveUnreadable as exc:
            return envelope("get_file_list", error=exc.message)
        prefix = request.META.get("SCRIPT_NAME", "").rstrip("/")
        return json_response({"pages": [page_url(prefix, arcid, name) for name in names]})


class PageView(ApiView):
    operations = {"GET": "serve_page"}

    def get(self, request: Request, id: str) -> HttpResponseBase:
        arcid = self.arcid(id)
        path = params.string(request, "path", required=True) or ""
        return page_response(request, _archive(arcid, "serve_page"), path)


def _cache_control() -> str:
    return ("private, " if get_config().nofunmode else "public, ") + IMMUTABLE


def page_response(request: Request, archive: Archive, path: str) -> HttpResponseBase:
    """One member's bytes as /page serves them (also OPDS-PSE's page stream)."""
    etag = '"' + hashlib.sha1(f"{archive.pk}/{path}/{get_config().enableresize}".encode()).hexdigest()[:32] + '"'
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponse(status=304)
        response["ETag"] = etag
        response["Cache-Control"] = _cache_control()
        return response
    try:
        page = reading.page_get(archive=archive, path=path)
    except reading.PageNotFound:
        # LANraragi leaves the connection hanging here.
        return plain("serve_page", success=0, status=404, error="File not found in archive.")
    except reading.PageTooLarge:
        return plain("serve_page", success=0, status=413, error="This file is too large to serve.")
    except ArchiveNotFound:
        return unknown_archive("serve_page")
    except reading.ArchiveUnreadable as exc:
        return plain("serve_page", success=0, status=422, error=f"Unreadable archive: {exc.message}")
    return _bytes_response(request, page, etag, _cache_control(), archive)


def _bytes_response(
    request: Request, page: reading.Page, etag: str, cache_control: str, archive: Archive
) -> HttpResponseBase:
    from archives.api.ranges import ranged_bytes_response
    from archives.api.ranges import ranged_slice_response

    headers = {
        "ETag": etag,
        "Cache-Control": cache_control,
        "Last-Modified": http_date(archive.created_at.timestamp()),
        "Content-Disposition": 'inline;filename="page"',
    }
    if page.file is not None:
        return ranged_slice_response(request, page.file, content_type=page.content_type, headers=headers)
    return ranged_bytes_response(request, page.data, content_type=page.content_type, headers=headers)


def _progress_refused(request: Request, operation: str) -> HttpResponse | None:
    """The reply when this request may not record progress: 401 with authenticated
    progress and no key, an error when the server does not track progress at all."""
    from archives.api.auth import is_authenticated

    config = get_config()
    if config.authprogress and not is_authenticated(request._request):
        return plain(operation, success=0, status=401, error="This operation requires authentication.")
    if not config.server_tracks_progress:
        return envelope(operation, error="Server-side Progress Tracking is disabled on this instance.")
    return None


class ProgressView(ApiView):
    operations = {"PUT": "update_progress"}

    def put(self, request: Request, id: str, page: str) -> HttpResponse:
        arcid = self.arcid(id)
        number = params.parse_integer(page, "page")
        if refused := _progress_refused(request, "update_progress"):
            return refused
        try:
            saved, when = reading.archive_set_progress(arcid=arcid, page=number, force=params.truthy(request, "force"))
        except reading.ProgressRefused as exc:
            return envelope("update_progress", error=exc.message)
        return plain("update_progress", id=arcid, page=saved, lastreadtime=when)


class TankProgressView(ApiView):
    operations = {"PUT": "update_tank_progress"}

    def put(self, request: Request, id: str, page: str) -> HttpResponse:
        params.tank_id(id)
        number = params.parse_integer(page, "page", minimum=1)
        if refused := _progress_refused(request, "update_tank_progress"):
            return refused
        try:
            saved, when = reading.tank_set_progress(tank_id=id, page=number)
        except reading.ProgressRefused as exc:
            return envelope("update_tank_progress", error=exc.message)
        return plain("update_tank_progress", id=id, page=saved, lastreadtime=when)


class TempFolderView(ApiView):
    protected = frozenset({"DELETE"})
    operations = {"DELETE": "cleantemp"}

    def delete(self, request: Request) -> HttpResponse:
        pagecache_clear()
        return plain("cleantemp", error="", newsize=0)
