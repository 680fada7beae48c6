"""PUT /api/archives/upload: a streamed multipart upload."""

from __future__ import annotations

from django.http import HttpResponse
from rest_framework.request import Request

from archives import services
from archives.api import params
from archives.api.base import ApiView
from archives.api.responses import plain
from archives.categories import category_add_uploaded
from archives.exceptions import NoFileAttached
from archives.uploads import HashedUpload
from archives.uploads import HashingUploadHandler


class UploadView(ApiView):
    protected = frozenset({"PUT"})
    operations = {"PUT": "upload"}

    def initialize_request(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        # Must be in place before anything reads the body.
        request.upload_handlers = [HashingUploadHandler(request)]
        return super().initialize_request(request, *args, **kwargs)

    def put(self, request: Request) -> HttpResponse:
        params.require_body(request, "multipart/form-data")
        upload = request.FILES.get("file")
        if not isinstance(upload, HashedUpload):
            raise NoFileAttached()
        params.check_tags(params.raw_param(request, "tags"), "/tags")
        archive = services.archive_create_from_upload(
            upload=upload,
            checksum=params.raw_param(request, "file_checksum") or "",
            title=params.raw_param(request, "title") or "",
            tags=params.raw_param(request, "tags") or "",
            summary=params.raw_param(request, "summary") or "",
        )
        category_add_uploaded(catid=params.raw_param(request, "category_id") or "", arcid=archive.pk)
        return plain("upload", id=archive.pk)
