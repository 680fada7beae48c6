"""Thumbnails over the API: covers, page thumbnails, and the jobs that make them."""

from __future__ import annotations

from django.http import HttpResponse
from rest_framework.request import Request

from archives import reading
from archives import thumbnails
from archives.api import params
from archives.api.base import ApiView
from archives.api.ranges import ranged_bytes_response
from archives.api.responses import envelope
from archives.api.responses import plain
from archives.api.responses import unknown_archive
from archives.exceptions import ArchiveNotFound
from archives.models import Archive
from archives.tasks import page_thumbnails_enqueue
from archives.tasks import regen_thumbnails_enqueue
from archives.tasks import tank_thumbnail_enqueue
from archives.tasks import thumbnail_enqueue

ALL_EXIST = "No job queued, all thumbnails already exist."


def _image(request: Request, data: bytes, content_type: str, etag: str) -> HttpResponse:
    # Thumbnails can be remade (PUT, regeneration): clients revalidate by ETag.
    headers = {"ETag": etag, "Cache-Control": "no-cache", "Content-Disposition": 'inline;filename="thumbnail"'}
    if etag in request.headers.get("If-None-Match", ""):
        return HttpResponse(status=304, headers=headers)
    return ranged_bytes_response(request, data, content_type=content_type, headers=headers)


def _placeholder(request: Request) -> HttpResponse:
    data = thumbnails.placeholder_png()
    return _image(request, data, "image/png", '"placeholder"')


class ThumbnailView(ApiView):
    protected = frozenset({"PUT"})
    operations = {"GET": "serve_thumbnail", "PUT": "update_thumbnail"}

    def get(self, request: Request, id: str) -> HttpResponse:
        arcid = self.arcid(id)
        page = params.integer(request, "page", minimum=0, default=0) or 0
        no_fallback = params.boolean(request, "no_fallback", enum=True)
        stored = thumbnails.thumbnail_bytes(arcid, page)
        if stored is not None:
            return _image(request, stored[0], "image/jpeg", stored[1])
        if not no_fallback:
            return _placeholder(request)  # LANraragi serves it even for unknown IDs
        archive = Archive.objects.filter(pk=arcid, missing=False).first()
        if archive is None:
            return unknown_archive("serve_thumbnail")
        if page > 0 and (page > archive.pagecount or page > thumbnails.page_thumbnail_count(archive)):
            # Nothing a job could make: the page does not exist or page thumbnails are off.
            return _placeholder(request)
        job = thumbnail_enqueue(arcid=arcid, page=page)
        return plain("serve_thumbnail", status=202, job=job.pk)

    def put(self, request: Request, id: str) -> HttpResponse:
        arcid = self.arcid(id)
        page = params.integer(request, "page", default=1) or 1
        page = max(page, 1)
        try:
            location = thumbnails.thumbnail_make(arcid=arcid, page=0, source_page=page)
        except (ArchiveNotFound, thumbnails.PageOutOfRange):
            return envelope("update_thumbnail", error=f"Requested image not found: {arcid} page {page}")
        except reading.ArchiveUnreadable as exc:
            return envelope("update_thumbnail", error=f"Requested image not found: {arcid} page {page} ({exc.message})")
        return plain("update_thumbnail", new_thumbnail=location)


class PageThumbnailsView(ApiView):
    operations = {"POST": "generate_page_thumbnails"}

    def post(self, request: Request, id: str) -> HttpResponse:
        arcid = self.arcid(id)
        force = params.boolean(request, "force")
        archive = Archive.objects.filter(pk=arcid, missing=False).first()
        if archive is None or thumbnails.page_thumbnail_count(archive) == 0:
            return plain("generate_page_thumbnails", message=ALL_EXIST)
        if not force and not thumbnails.page_thumbnails_missing(archive):
            return plain("generate_page_thumbnails", message=ALL_EXIST)
        # A job still queued or running for this archive is answered again, not doubled.
        job = page_thumbnails_enqueue(arcid=arcid, force=force)
        return plain("generate_page_thumbnails", status=202, job=job.pk)


class RegenerateView(ApiView):
    protected = frozenset({"POST"})
    operations = {"POST": "regen_thumbnails"}

    def post(self, request: Request) -> HttpResponse:
        force = params.boolean(request, "force")
        job = regen_thumbnails_enqueue(force=force)
        return plain("regen_thumbnails", job=job.pk)


class TankThumbnailView(ApiView):
    protected = frozenset({"PUT"})
    operations = {"GET": "serve_tankoubon_thumbnail", "PUT": "update_tankoubon_thumbnail"}

    def get(self, request: Request, id: str) -> HttpResponse:
        no_fallback = params.boolean(request, "no_fallback", enum=True)
        stored = thumbnails.thumbnail_bytes(id, 0) if id.startswith("TANK_") else None
        if stored is not None:
            return _image(request, stored[0], "image/jpeg", stored[1])
        if not no_fallback:
            return _placeholder(request)
        from archives.models import Tankoubon

        if not Tankoubon.objects.filter(pk=id).exists():
            return envelope("serve_tankoubon_thumbnail", error="The given tankoubon does not exist.")
        job = tank_thumbnail_enqueue(tank_id=id)
        return plain("serve_tankoubon_thumbnail", status=202, job=job.pk)

    def put(self, request: Request, id: str) -> HttpResponse:
        page = params.integer(request, "page", required=True, minimum=1) or 1
        try:
            location = thumbnails.tank_thumbnail_make(tank_id=id, page=page)
        except thumbnails.PageOutOfRange:
            return envelope("update_tankoubon_thumbnail", error=f"Requested image not found: {id} page {page}")
        return plain("update_tankoubon_thumbnail", new_thumbnail=location)
