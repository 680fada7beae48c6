"""The reply shapes of LANraragi's API."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse

from archives.api.render import json_response

_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})


def xml_escape(text: str) -> str:
    """LANraragi escapes envelope messages for HTML; clients render them as HTML."""
    return text.translate(_XML_ESCAPES)


def envelope(
    operation: str, *, error: str = "", message: str = "", status: int | None = None, **extra: Any
) -> HttpResponse:
    """`{"operation","error","success","successMessage"}`, both messages XML-escaped.

    Success is 200 and failure 400 unless `status` says otherwise.
    """
    success = 0 if error else 1
    body = {
        "operation": operation,
        "error": xml_escape(error),
        "success": success,
        "successMessage": xml_escape(message),
        **extra,
    }
    return json_response(body, status if status is not None else (400 if error else 200))


def plain(operation: str, *, success: int = 1, status: int = 200, **extra: Any) -> HttpResponse:
    """A body a LANraragi handler builds itself: no escaping, only the keys given."""
    return json_response({"operation": operation, "success": success, **extra}, status)


def validation_error(message: str, path: str, status: int = 400) -> HttpResponse:
    return json_response({"errors": [{"message": message, "path": path}], "status": status}, status)


UNKNOWN_ID = "This ID doesn't exist on the server."


def unknown_archive(operation: str) -> HttpResponse:
    return envelope(operation, error=UNKNOWN_ID)


def bad_request(status: int = 400) -> HttpResponse:
    """A request Django refused before any view saw it (413: body too large)."""
    message = "Request body too large." if status == 413 else "Bad Request."
    return validation_error(message, "/body" if status == 413 else "/", status)


def not_found() -> HttpResponse:
    return validation_error("Not Found.", "/", 404)


def server_error() -> HttpResponse:
    return validation_error("Internal Server Error.", "/", 500)


DISK_FULL = "The server's disk is full. Free some space on the server, then try again."
DATABASE_LOST = "The server lost its connection to the database. Please try again."


def insufficient_storage(operation: str) -> HttpResponse:
    """507: a write found no space left, for files or for the database."""
    return plain(operation, success=0, status=507, error=DISK_FULL)


def service_unavailable(operation: str, *, retry_after: int) -> HttpResponse:
    """503: the database connection died under the request; the client may send it again."""
    response = plain(operation, success=0, status=503, error=DATABASE_LOST)
    response["Retry-After"] = str(retry_after)
    return response


def unauthorized(nofun: bool) -> HttpResponse:
    if nofun:
        return json_response({"error": "This API is protected and requires login or an API Key."}, 401)
    return validation_error("Unauthorized", "/security/0/api_key", 401)


def too_many_wrong_keys(nofun: bool, *, retry_after: int) -> HttpResponse:
    """429: this address sent too many wrong API keys (archives.throttle); 401's shape."""
    message = f"Too many wrong API keys from this address. Try again in {retry_after} seconds."
    if nofun:
        response = json_response({"error": message}, 429)
    else:
        response = validation_error(message, "/security/0/api_key", 429)
    response["Retry-After"] = str(retry_after)
    return response
