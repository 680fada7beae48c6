"""Who is asking: LANraragi's rules for the API key, the session, and open servers.

A request is authenticated by (a) `Authorization: Bearer <base64(key)>`, exactly,
(b) `?key=<key>`, (c) a logged-in session, or (d) a server with password
protection turned off. Keys are compared in constant time.

A presented key that is wrong counts against the client's address
(archives.throttle); an address past its limit gets 429 for any key it presents,
the right one too, until its window ends. Requests without a key are not counted.
"""

from __future__ import annotations

import base64
import binascii
from typing import Literal

from django.http import HttpRequest
from django.http import HttpResponse

from archives import throttle
from archives.api.responses import too_many_wrong_keys
from archives.config import api_key_matches
from archives.config import get_config

AuthMethod = Literal["open", "key", "session"]


def _bearer_key(header: str) -> str | None:
    if not header.startswith("Bearer "):
        return None
    token = header[len("Bearer ") :]
    try:
        raw = base64.b64decode(token, validate=True)
    except (binascii.Error, ValueError):
        return None
    # Only the canonical encoding with padding matches, as in LANraragi, which
    # compares the whole header string.
    if base64.b64encode(raw).decode("ascii") != token:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


class KeyRefused(Exception):
    """Carries the 429 for a client that sent too many wrong keys and presents another."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


def key_matches(request: HttpRequest, raw: str) -> bool:
    """Whether `raw` is the API key; raises KeyRefused when this client sent too many
    wrong ones. Each key is judged and counted once per request."""
    judged: dict[str, bool] = request.__dict__.setdefault("_hondana_keys", {})
    if raw in judged:
        return judged[raw]
    wait = throttle.api_key_refused(request)
    if wait is not None:
        raise KeyRefused(too_many_wrong_keys(get_config().nofunmode, retry_after=wait))
    matches = judged[raw] = api_key_matches(raw)
    if not matches:
        throttle.api_key_failed(request)
    return matches


def authenticate(request: HttpRequest) -> AuthMethod | None:
    """How the request is authenticated, or None. Raises KeyRefused for a client that
    sent too many wrong keys and presents another."""
    if not get_config().enablepass:
        return "open"
    key = _bearer_key(request.META.get("HTTP_AUTHORIZATION", ""))
    if key and key_matches(request, key):
        return "key"
    query_key = request.GET.get("key")
    if query_key and key_matches(request, query_key):
        return "key"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return "session"
    return None


def is_authenticated(request: HttpRequest) -> bool:
    cached = getattr(request, "_hondana_auth", False)
    if cached is False:
        cached = authenticate(request)
        request._hondana_auth = cached  # type: ignore[attr-defined]
    return cached is not None
