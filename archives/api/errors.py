"""One exception handler that gives every API failure LANraragi's JSON shape."""

from __future__ import annotations

import logging
from contextlib import suppress
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import SuspiciousOperation
from django.core.exceptions import TooManyFieldsSent
from django.http import Http404
from django.http import HttpResponse
from rest_framework import exceptions as drf

from archives.api.auth import KeyRefused
from archives.api.params import ParamError
from archives.api.render import json_response
from archives.api.responses import bad_request
from archives.api.responses import envelope
from archives.api.responses import insufficient_storage
from archives.api.responses import not_found
from archives.api.responses import server_error
from archives.api.responses import service_unavailable
from archives.api.responses import unauthorized
from archives.api.responses import unknown_archive
from archives.api.responses import validation_error
from archives.exceptions import ArchiveNotFound
from archives.exceptions import Locked
from archives.exceptions import UploadRejected
from archives.stamps import StampError
from config import faults

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """Carries a finished reply out of a view."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


class NotAuthenticated(Exception):
    pass


def _operation(context: dict[str, Any]) -> str:
    view = context.get("view")
    request = context.get("request")
    ops = getattr(view, "operations", {}) or {}
    method = getattr(request, "method", "GET")
    return str(ops.get(method, ops.get("GET", "")))


def _discard_spool(request: Any) -> None:
    """Delete the spool files of a body that could not be read whole (the disk filled
    up under it). Django deletes a request's upload files when it ends, but only those
    of a body it finished parsing; a half-written one would keep its space until the
    garbage collector got to it."""
    raw = getattr(request, "_request", request)
    for handler in getattr(raw, "_upload_handlers", None) or []:
        spooled = getattr(handler, "file", None)
        if spooled is not None:
            with suppress(OSError):
                spooled.close()  # a temporary file: closing deletes it


def exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse:
    if isinstance(exc, (ApiError, KeyRefused)):
        return exc.response
    if isinstance(exc, ParamError):
        return validation_error(exc.message, exc.path)
    if isinstance(exc, NotAuthenticated):
        return unauthorized(nofun=False)
    if isinstance(exc, Locked):
        return json_response(
            {"operation": _operation(context), "success": 0, "error": f"Locked resource: {exc.resource}."}, 423
        )
    if isinstance(exc, ArchiveNotFound):
        return unknown_archive(_operation(context))
    if isinstance(exc, StampError):
        return envelope(_operation(context), error=exc.message)
    if isinstance(exc, UploadRejected):
        body: dict[str, Any] = {"operation": "upload", "success": 0, "error": exc.message}
        if exc.arcid:
            body["id"] = exc.arcid
        return json_response(body, exc.status)
    if isinstance(exc, drf.UnsupportedMediaType):
        request = context.get("request")
        content_type = (getattr(request, "content_type", "") or "").split(";")[0].strip()
        return validation_error(f"Expected multipart/form-data - got {content_type}.", "/body")
    if isinstance(exc, drf.ParseError):
        return validation_error("Missing property.", "/body")
    if isinstance(exc, RequestDataTooBig):
        return bad_request(413)
    if isinstance(exc, TooManyFieldsSent):
        return validation_error("Too many parameters.", "/")
    if isinstance(exc, SuspiciousOperation):
        return bad_request(400)
    if isinstance(exc, (drf.MethodNotAllowed, Http404, drf.NotFound)):
        return not_found()
    if faults.disk_full(exc) or faults.connection_lost(exc):
        # config.faults.FaultMiddleware logs it, and runs a safe request that lost its
        # database connection again on a new one.
        request = context.get("request")
        faults.remember(getattr(request, "_request", request), exc)
        if faults.disk_full(exc):
            _discard_spool(request)
            return insufficient_storage(_operation(context))
        return service_unavailable(_operation(context), retry_after=faults.RETRY_AFTER)
    logger.exception("Unhandled error in %s", context.get("view").__class__.__name__, exc_info=exc)
    return server_error()
