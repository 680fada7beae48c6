"""Refusing logins and API keys from whoever keeps getting them wrong.

Every wrong password counts against the user name it was tried for and against the
client address it came from; every wrong API key against the address. Counts are
kept in fixed windows: the first failure opens a window (HONDANA_LOGIN_WINDOW or
HONDANA_API_KEY_WINDOW seconds), and once a name or address has reached its limit
inside it, every attempt is refused until the window ends, the right password or
key included. A refusal is decided before any password is hashed or key compared,
so refused attempts cost the server one indexed read.

The counters are rows of archives.models.FailedAttempts: the database is the one
store every process shares on every setup (the embedded cache is per process, and
the Redis cache is skipped while Redis is down), so N web processes do not give an
attacker N times the attempts.

The client address is REMOTE_ADDR unless HONDANA_TRUSTED_PROXIES says how many
proxies in front of the server append to X-Forwarded-For. IPv6 addresses count by
their /64, the block one machine usually gets.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from datetime import datetime
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from archives.models import FailedAttempts

logger = logging.getLogger(__name__)

KEY_LENGTH = FailedAttempts._meta.get_field("key").max_length or 200


def _now() -> datetime:
    return timezone.now()


# --- Who is asking -----------------------------------------------------------------


def _parse(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _subject(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def client_address(request: HttpRequest) -> str:
    """Where a request came from, as the throttle counts it.

    With HONDANA_TRUSTED_PROXIES = N, the N-th X-Forwarded-For entry from the right:
    each trusted proxy appends the address it was reached from, so that entry was
    written by the outermost trusted proxy and everything left of it may be forged.
    Otherwise, and when the header is missing or unreadable, REMOTE_ADDR.
    """
    hops = settings.HONDANA_TRUSTED_PROXIES
    if hops:
        forwarded = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if forwarded:
            address = _parse(forwarded[-min(hops, len(forwarded))])
            if address is not None:
                return _subject(address)
    remote = _parse(request.META.get("REMOTE_ADDR", ""))
    # No address at all (a Unix socket with no proxy header): one shared counter.
    return _subject(remote) if remote is not None else "unknown"


# --- Counting ----------------------------------------------------------------------


def _key(kind: str, subject: str) -> str:
    return f"{kind}:{subject}"[:KEY_LENGTH]


def _refused(limits: dict[str, int]) -> int | None:
    """Seconds until the last of these keys that reached its limit is let go, or None."""
    now = _now()
    rows = FailedAttempts.objects.filter(key__in=list(limits), window_ends__gt=now).values_list(
        "key", "failures", "window_ends"
    )
    waits = [math.ceil((ends - now).total_seconds()) for key, failures, ends in rows if failures >= limits[key]]
    return max(waits, default=None)


def _failed(key: str, limit: int, window: int) -> None:
    now = _now()
    with transaction.atomic():
        if FailedAttempts.objects.filter(key=key, window_ends__gt=now).update(failures=F("failures") + 1):
            failures = FailedAttempts.objects.values_list("failures", flat=True).get(key=key)
        else:
            # No open window for this key: forget every closed one, and open a new one.
            FailedAttempts.objects.filter(window_ends__lte=now).delete()
            FailedAttempts.objects.update_or_create(
                key=key, defaults={"failures": 1, "window_ends": now + timedelta(seconds=window)}
            )
            failures = 1
    if failures == limit:
        logger.warning("%r: %d failures; refused until its window of %d s ends.", key, failures, window)


def _forget(key: str) -> None:
    FailedAttempts.objects.filter(key=key).delete()


# --- Logins ------------------------------------------------------------------------


def _login_limits(request: HttpRequest, username: str) -> dict[str, int]:
    return {
        _key("login-user", username): settings.HONDANA_LOGIN_FAILURES_PER_USER,
        _key("login-address", client_address(request)): settings.HONDANA_LOGIN_FAILURES_PER_ADDRESS,
    }


def login_refused(request: HttpRequest, username: str) -> int | None:
    """Seconds to wait before this user name may be tried from this client, or None."""
    return _refused(_login_limits(request, username))


def login_failed(request: HttpRequest, username: str) -> None:
    for key, limit in _login_limits(request, username).items():
        _failed(key, limit, settings.HONDANA_LOGIN_WINDOW)


def login_succeeded(username: str) -> None:
    """The right password clears its user name's count (not its address's: one right
    password must not buy another round of guesses at every other account)."""
    _forget(_key("login-user", username))


# --- API keys ----------------------------------------------------------------------


def _api_key_limits(request: HttpRequest) -> dict[str, int]:
    return {_key("api-key-address", client_address(request)): settings.HONDANA_API_KEY_FAILURES_PER_ADDRESS}


def api_key_refused(request: HttpRequest) -> int | None:
    """Seconds to wait before this client may present an API key again, or None."""
    return _refused(_api_key_limits(request))


def api_key_failed(request: HttpRequest) -> None:
    for key, limit in _api_key_limits(request).items():
        _failed(key, limit, settings.HONDANA_API_KEY_WINDOW)


def wait_text(seconds: int) -> str:
    """`15 minutes`, `1 minute`, `30 seconds`: how long a refused client waits."""
    if seconds >= 60:
        minutes = math.ceil(seconds / 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def lockouts_lift(subjects: list[str] | None = None) -> int:
    """Forget the counts against these user names or client addresses (every count with
    None); return how many were forgotten. For `manage.py hondana_unlock`."""
    rows = FailedAttempts.objects.all()
    if subjects is not None:
        kinds = ("login-user", "login-address", "api-key-address")
        rows = rows.filter(key__in=[_key(kind, subject) for subject in subjects for kind in kinds])
    return rows.delete()[0]
