"""Faults of the machine, not of the request: a full disk, a lost database connection.

Neither is a bug, so neither should be a 500. A full disk is a 507 ("Insufficient
Storage") with a message the operator can act on. A database connection that died
under a request (PostgreSQL restarted, a backend terminated, a proxy in between
dropped it) is retried once on a new connection when the request is safe to run
twice (GET, HEAD, OPTIONS); any other request gets a 503 with Retry-After, since
whether it was applied is unknown and only the client can decide to send it again.

API views answer these in archives.api.errors (they never leave DRF); the
middleware here answers the rest: the web pages, and faults raised outside any
view (another middleware's query, a session saved on the way out). It must come
first in MIDDLEWARE so that a retry runs the whole request again.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import sys
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from django.core.signals import got_request_exception
from django.db import DatabaseError
from django.db import InterfaceError
from django.db import OperationalError
from django.db import connections
from django.http import HttpRequest
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.urls import Resolver404
from django.urls import resolve

from archives.api import responses
from archives.api.middleware import is_api_path

logger = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRY_AFTER = 2  # seconds, for a request answered 503

_DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
# PostgreSQL: 53100 disk_full; class 08 connection exceptions; 57P01-57P03 the
# server shutting down, crashed, or not accepting connections yet.
_PG_DISK_FULL = "53100"
_PG_CONNECTION_GONE = ("08", "57P01", "57P02", "57P03")
_ATTRIBUTE = "hondana_fault"


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and what it was raised from (Django's database errors wrap the driver's)."""
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in found:
        found.append(current)
        current = current.__cause__
    return found


def disk_full(exc: BaseException) -> bool:
    """No space (or quota) left, for a file write or for the database's own files."""
    for item in _chain(exc):
        if isinstance(item, OSError) and item.errno in _DISK_FULL_ERRNOS:
            return True
        if getattr(item, "sqlstate", None) == _PG_DISK_FULL:
            return True
        if isinstance(item, sqlite3.Error) and getattr(item, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            return True
    return False


def connection_lost(exc: BaseException) -> bool:
    """The database connection died (or could not be made); not a query that failed.

    PostgreSQL reports terminations and shutdowns with an SQLSTATE. An error the
    server never reported (a socket closed under the driver: "server closed the
    connection unexpectedly", "the connection is lost") has none: psycopg gives an
    SQLSTATE only to errors the server sent. SQLite has no connection to lose.
    """
    if disk_full(exc):
        return False
    # Django wraps the driver's error, except where it calls the driver directly
    # (closing the server-side cursor of QuerySet.iterator()).
    driver = exc.__cause__ if isinstance(exc, (OperationalError, InterfaceError)) else exc
    if driver is None or not type(driver).__module__.startswith("psycopg"):
        return False
    if not any(base.__name__ in ("OperationalError", "InterfaceError") for base in type(driver).__mro__):
        return False
    sqlstate = getattr(driver, "sqlstate", None) or getattr(driver, "pgcode", None)
    return sqlstate is None or str(sqlstate).startswith(_PG_CONNECTION_GONE)


def remember(request: HttpRequest, exc: BaseException) -> None:
    """Mark `request` as hit by a fault, for FaultMiddleware to answer or retry."""
    setattr(request, _ATTRIBUTE, exc)


def _recorded(request: HttpRequest) -> BaseException | None:
    return getattr(request, _ATTRIBUTE, None)


def _forget(request: HttpRequest) -> None:
    request.__dict__.pop(_ATTRIBUTE, None)


def close_connections() -> None:
    """Drop every open database connection of this thread; the next query opens a new one."""
    for conn in connections.all(initialized_only=True):
        if conn.in_atomic_block:
            continue  # not at the top of a request (a test's transaction): leave it
        with suppress(DatabaseError):
            conn.close()


def _note_uncaught(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """Django is about to answer 500 for an exception no view or middleware handled."""
    exc = sys.exc_info()[1]
    if request is not None and exc is not None and (disk_full(exc) or connection_lost(exc)):
        remember(request, exc)


got_request_exception.connect(_note_uncaught, dispatch_uid="hondana-faults")


def _operation(request: HttpRequest) -> str:
    """The LANraragi operation name of the API view the request was for, if any."""
    try:
        match = request.resolver_match or resolve(request.path_info)
    except Resolver404:
        return ""
    operations = getattr(getattr(match.func, "view_class", None), "operations", None) or {}
    return str(operations.get(request.method, operations.get("GET", "")))


def fault_response(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """507 for a full disk, else 503 with Retry-After: JSON on the API, a page elsewhere."""
    full = disk_full(exc)
    if is_api_path(request.path):
        if full:
            return responses.insufficient_storage(_operation(request))
        return responses.service_unavailable(_operation(request), retry_after=RETRY_AFTER)
    if full:
        status, title, message = 507, "The disk is full", responses.DISK_FULL
    else:
        status, title, message = 503, "Try again", responses.DATABASE_LOST
    try:
        response = HttpResponse(render_to_string("fault.html", {"title": title, "message": message}), status=status)
    except Exception:  # the page that explains a fault must not become a 500 itself
        logger.exception("Rendering fault.html failed")
        response = HttpResponse(f"{title}. {message}", status=status, content_type="text/plain; charset=utf-8")
    if not full:
        response["Retry-After"] = str(RETRY_AFTER)
    return response


class _AnsweredFaults(logging.Filter):
    """Drops django.request's records ("Internal Server Error" with a traceback, then
    "Service Unavailable") for requests FaultMiddleware answers: it logs each once,
    and a read that succeeded on its retry is no error at all."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        return request is None or _recorded(request) is None


class FaultMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        request_logger = logging.getLogger("django.request")
        if not any(isinstance(f, _AnsweredFaults) for f in request_logger.filters):
            request_logger.addFilter(_AnsweredFaults())

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        exc = _recorded(request)
        if exc is None:
            return response
        if connection_lost(exc):
            close_connections()
            if request.method in SAFE_METHODS:
                logger.info(
                    "Database connection lost during %s %s (%s); retrying once.", request.method, request.path, exc
                )
                _forget(request)
                response = self.get_response(request)
                exc = _recorded(request)
                if exc is None:
                    return response
                close_connections()
        if response.status_code not in (503, 507):
            # Django's 500 for a fault raised outside any view, or the placeholder of
            # process_exception, or of the API's exception handler.
            response = fault_response(request, exc)
        what = "Disk full" if disk_full(exc) else "Database connection lost"
        logger.warning(
            "%s during %s %s (%s); answered %d.", what, request.method, request.path, exc, response.status_code
        )
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A view outside the API (DRF views answer in their own exception handler)."""
        if not (disk_full(exception) or connection_lost(exception)):
            return None
        remember(request, exception)
        return fault_response(request, exception)
