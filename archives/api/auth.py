"""Who is asking: LANraragi's rules for the API key, the session, and open servers.

A request is authenticated by (a) `Authorization: Bearer <base64(key)>`, exactly,
(b) `?key=<key>`, (c) a logged-in session, or (d) a server with password
protection turned off. Keys are compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
from typing import Literal

from django.http import HttpRequest

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


def authenticate(request: HttpRequest) -> AuthMethod | None:
    if not get_config().enablepass:
        return "open"
    key = _bearer_key(request.META.get("HTTP_AUTHORIZATION", ""))
    if key is not None and api_key_matches(key):
        return "key"
    query_key = request.GET.get("key")
    if query_key and api_key_matches(query_key):
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
