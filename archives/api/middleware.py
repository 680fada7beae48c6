"""Gatekeeping shared by every /api/ route: No-Fun mode, CORS, and JSON errors."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest
from django.http import HttpResponse

from archives.api.auth import KeyRefused
from archives.api.auth import is_authenticated
from archives.api.params import NUL_MESSAGE
from archives.api.render import json_response
from archives.api.responses import bad_request
from archives.api.responses import not_found
from archives.api.responses import server_error
from archives.api.responses import unauthorized
from archives.api.responses import validation_error
from archives.config import get_config

logger = logging.getLogger(__name__)

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, OPTIONS, POST, DELETE, PUT",
    "Access-Control-Allow-Headers": "Authorization",
}


def is_api_path(path: str) -> bool:
    return path.startswith("/api/") or path == "/api" or path == "/search"


def _refusal(request: HttpRequest) -> HttpResponse | None:
    """No-Fun mode's answer to a request that is not authenticated, or None."""
    try:
        if is_authenticated(request):
            return None
    except SuspiciousOperation:
        pass  # a query string Django refuses to parse carries no key
    except KeyRefused as exc:
        return exc.response  # 429: too many wrong keys (archives.throttle)
    return unauthorized(nofun=True)


class ApiGateMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_api_path(request.path):
            return self.get_response(request)
        config = get_config()
        # Deliberately not copied from LANraragi: it sets an `lrr_baseurl` cookie on every reply
        # for its own web UI's scripts (no API client reads it, and a Set-Cookie would keep
        # shared caches from storing page replies), and OPTIONS answers with the allowed
        # methods rather than a fragment of its OpenAPI spec.
        if request.method == "OPTIONS":
            # CORS preflight: always allowed, never behind auth.
            response = json_response({"methods": CORS_HEADERS["Access-Control-Allow-Methods"]})
        elif config.nofunmode and (refusal := _refusal(request)) is not None:
            response = refusal
        elif "\x00" in request.path:
            # An ID or name with NUL in it can't name anything, and PostgreSQL refuses it.
            response = validation_error(NUL_MESSAGE, "/")
        else:
            response = self.get_response(request)
            if response.status_code >= 400 and response.get("Content-Type", "").startswith("text/html"):
                # Django's own error pages (unrouted paths, refused request bodies) in JSON.
                response = not_found() if response.status_code == 404 else bad_request(response.status_code)
        if config.enablecors:
            for name, value in CORS_HEADERS.items():
                response[name] = value
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, SuspiciousOperation):
            return None  # Django answers 400 or 413; __call__ turns it into JSON
        if not is_api_path(request.path):
            return None
        logger.exception("Unhandled error on %s %s", request.method, request.path, exc_info=exception)
        return server_error()
