"""The Redis cache backend, degraded to "no cache" while Redis is unreachable.

Everything Hondana caches can be recomputed (search results, page lists), so an
outage of the cache must cost speed, never answers: while Redis refuses or stops
answering, reads are misses and writes are dropped. Only connection and timeout
errors count as an outage; a programming error (a bad key, a value that can't be
pickled) still raises.

Two things keep an outage cheap. Short socket timeouts (set in settings) bound a
single call against a Redis that accepts connections but never answers. And after
a failure, a breaker shared by every thread of the process skips Redis for
`outage_pause` seconds, then lets one call through to probe: a dead Redis costs
one request per pause a timeout, not every request.

An outage is logged once at WARNING when it starts and once at INFO when a call
succeeds again, per process.

A delete dropped during an outage is lost, so an entry can outlive its data once
Redis is back. Callers must tolerate that (today's do: search keys carry the
generation of the data they were made from, and page lists are keyed by archive
ID, a hash of the content).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import redis.exceptions
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache

from config.outage import Breaker

logger = logging.getLogger(__name__)

# Connection refused or reset, DNS failure, Redis still loading its data
# (BusyLoadingError), bad password (AuthenticationError), and socket timeouts.
OUTAGE_ERRORS: tuple[type[Exception], ...] = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
DEFAULT_OUTAGE_PAUSE = 5.0

_MISSING = object()


_breakers: dict[tuple[tuple[str, ...], float], Breaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(servers: list[str], pause: float) -> Breaker:
    """One breaker per server list and process: Django makes a cache object per thread."""
    key = (tuple(servers), pause)
    with _breakers_lock:
        if key not in _breakers:
            _breakers[key] = Breaker(
                f"The Redis cache at {', '.join(_display(url) for url in servers)}",
                pause,
                log=logger,
                while_down="running without a cache",
                when_back="caching again",
            )
        return _breakers[key]


def _display(url: str) -> str:
    """host:port/db without the password a REDIS_URL may carry."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return f"{parts.hostname}:{parts.port or 6379}{parts.path}"


class FallbackRedisCache(RedisCache):
    """RedisCache whose calls answer like an empty cache while Redis is unreachable.

    OPTIONS takes `outage_pause` (seconds to skip Redis after a failure) besides
    redis-py's connection options.
    """

    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS") or {})
        pause = float(options.pop("outage_pause", DEFAULT_OUTAGE_PAUSE))
        super().__init__(server, {**params, "OPTIONS": options})
        self.breaker = breaker_for(self._servers, pause)

    def _guard(self, fallback: Any, call: Callable[..., Any], *args: Any) -> Any:
        if not self.breaker.allow():
            return fallback
        try:
            result = call(*args)
        except OUTAGE_ERRORS as exc:
            self.breaker.failed(exc)
            return fallback
        self.breaker.succeeded()
        return result

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return bool(self._guard(False, super().add, key, value, timeout, version))

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._guard(default, super().get, key, default, version)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        self._guard(None, super().set, key, value, timeout, version)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return bool(self._guard(False, super().touch, key, timeout, version))

    def delete(self, key: Any, version: int | None = None) -> bool:
        return bool(self._guard(False, super().delete, key, version))

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        return self._guard({}, super().get_many, keys, version)  # type: ignore[no-any-return]

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return bool(self._guard(False, super().has_key, key, version))

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        # decr() and incr_version() come through here or through get(): an
        # unreachable cache answers them as a missing key does.
        result = self._guard(_MISSING, super().incr, key, delta, version)
        if result is _MISSING:
            raise ValueError(f"Key '{key}' not found (the cache is unreachable).")
        return result  # type: ignore[no-any-return]

    def set_many(self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> list[Any]:
        # The keys that could not be stored, as Django's contract says.
        return self._guard(list(data), super().set_many, data, timeout, version)  # type: ignore[no-any-return]

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        self._guard(None, super().delete_many, keys, version)

    def clear(self) -> bool:
        return bool(self._guard(False, super().clear))
