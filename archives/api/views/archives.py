"""Archive records: list, metadata, edit, delete, download and the new flag."""

from __future__ import annotations

import io
from typing import Any

from django.http import HttpResponse
from rest_framework.request import Request

from archives import selectors
from archives import services
from archives.api import params
from archives.api import presenters
from archives.api.base import ApiView
from archives.api.errors import ApiError
from archives.api.ranges import ranged_file_response
from archives.api.render import json_response
from archives.api.responses import envelope
from archives.api.responses import plain
from archives.api.responses import unknown_archive
from archives.exceptions import ArchiveNotFound
from archives.storage import archives_storage


class ArchiveListView(ApiView):
    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().dispatch(request, *args, **kwargs)
        # DRF keeps the response on the view, which its request points back to: a cycle
        # that only the garbage collector frees, holding the 50 MB body of 100,000
        # archives for as long as it takes (one per thread, RSS growing by as many).
        self.response = None
        return response

    def get(self, request: Request) -> HttpResponse:
        # Built from per-batch pieces: only the finished bytes, never 100,000 dicts, are held.
        # BytesIO grows one buffer and hands it over without a copy, where b"".join would
        # hold every piece and the joined body at once (twice the memory at the end).
        body = io.BytesIO()
        for chunk in presenters.archive_list_chunks():
            body.write(chunk)
        return HttpResponse(body.getvalue(), content_type="application/json;charset=UTF-8")


class UntaggedView(ApiView):
    def get(self, request: Request) -> HttpResponse:
        return json_response(selectors.untagged_ids())


class _MetadataGet(ApiView):
    def get(self, request: Request, id: str) -> HttpResponse:
        arcid = self.arcid(id)
        try:
            services.archive_get(arcid=arcid)
        except ArchiveNotFound:
            return unknown_archive("metadata")
        data = presenters.archive_detail_json(arcid)
        if data is None:
            return unknown_archive("metadata")
        return json_response(data)


class ArchiveView(_MetadataGet):
    """GET is the deprecated alias of /metadata; DELETE removes the archive."""

    protected = frozenset({"DELETE"})
    operations = {"GET": "metadata", "DELETE": "delete_archive"}

    def delete(self, request: Request, id: str) -> HttpResponse:
        arcid = self.arcid(id)
        location = services.archive_delete(arcid=arcid)
        # Always 200, as LANraragi: success 0 and filename "0" for an unknown ID, or for a
        # record whose file was already gone (the record is removed all the same).
        if location is None or location == "0":
            return plain("delete_archive", success=0, id=arcid, filename="0")
        return plain("delete_archive", id=arcid, filename=location)


class MetadataView(_MetadataGet):
    protected = frozenset({"PUT"})
    operations = {"GET": "metadata", "PUT": "update_metadata"}

    def put(self, request: Request, id: str) -> HttpResponse:
        arcid = self.arcid(id)
        title = params.raw_param(request, "title")
        tags = params.raw_param(request, "tags")
        params.check_tags(tags, "/tags")
        summary = params.raw_param(request, "summary")
        if title is None and tags is None:
            return envelope("update_metadata", error="No metadata parameters (Please supply title, tags or summary)")
        archive = services.archive_update_metadata(arcid=arcid, title=title, tags=tags, summary=summary)
        return envelope("update_metadata", message=f'Updated metadata for "{archive.display_title}"!')


class NewFlagView(ApiView):
    protected = frozenset({"PUT"})
    operations = {"PUT": "add_new", "DELETE": "clear_new"}

    def put(self, request: Request, id: str) -> HttpResponse:
        arcid = self.arcid(id)
        archive = services.archive_set_new(arcid=arcid, isnew=True)
        return envelope("add_new", message=f'Marked "{archive.display_title}" as new.', id=arcid)

    def delete(self, request: Request, id: str) -> HttpResponse:
        arcid = self.arcid(id)
        services.archive_set_new(arcid=arcid, isnew=False)
        return plain("clear_new", id=arcid)


class DownloadView(ApiView):
    operations = {"GET": "download_archive"}

    def get(self, request: Request, id: str) -> HttpResponse:
        arcid = self.arcid(id)
        try:
            archive = services.archive_get(arcid=arcid)
        except ArchiveNotFound:
            raise ApiError(unknown_archive("download_archive")) from None
        storage = archives_storage()
        name = archive.file.rsplit("/", 1)[-1]
        response = ranged_file_response(
            request._request,
            opener=lambda: storage.open(archive.file, "rb"),
            size=storage.size(archive.file),
            content_type=f'application/x-download;name="{_header_safe(name)}"',
            etag=f'"{archive.pk}"',
        )
        response["Content-Disposition"] = _attachment(name)
        return response


def _header_safe(name: str) -> str:
    return name.replace('"', "'").encode("latin-1", "replace").decode("latin-1").replace("?", "_")


def _attachment(name: str) -> str:
    """`attachment;filename=...` with an RFC 6266 UTF-8 form for non-ASCII names."""
    from urllib.parse import quote

    ascii_name = _header_safe(name)
    if ascii_name == name:
        return f'attachment;filename="{name}"'
    return f"attachment;filename=\"{ascii_name}\";filename*=UTF-8''{quote(name)}"
