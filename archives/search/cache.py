"""The search cache: results keyed by a generation number that every write bumps.

The generation (a random number) lives in the database (LibraryState), not in the cache, so that a
write in any process (web workers, the Celery worker, a management command) is seen
by every other process at once, whatever the cache backend: LocMem is per process,
Redis is shared. A new generation makes every older entry unreachable; those age
out by TTL instead of being deleted one by one.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError
from django.db import transaction

from archives.models import LibraryState

TTL = 3600
_PREFIX = "hondana:search"


def invalidate_search_cache() -> None:
    """Make every cached search stale. Call it from every write that can change a result.

    Inside a transaction the bump commits with the write it belongs to, so no reader
    can see the new generation together with the old data.
    """
    now = int(time.time())
    # A random number, not a counter: a database restored from a copy (or a test's
    # rollback) must never meet cache entries made for another state under its number.
    generation = secrets.randbits(62)
    if not LibraryState.objects.filter(pk=1).update(search_generation=generation, cache_last_cleared=now):
        try:
            with transaction.atomic():
                LibraryState.objects.create(pk=1, search_generation=generation, cache_last_cleared=now)
        except IntegrityError:
            LibraryState.objects.filter(pk=1).update(search_generation=generation, cache_last_cleared=now)


def search_generation() -> int:
    return LibraryState.objects.filter(pk=1).values_list("search_generation", flat=True).first() or 0


def cache_last_cleared() -> int:
    """Epoch of the last invalidation (`/api/info`), or now if nothing was ever written."""
    value = LibraryState.objects.filter(pk=1).values_list("cache_last_cleared", flat=True).first()
    return value or int(time.time())


def cached[T](parts: dict[str, Any], compute: Callable[[], T], *, generation: int | None = None) -> T:
    """`compute()` once per generation for these parts (a JSON-able dict)."""
    gen = search_generation() if generation is None else generation
    digest = hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    key = f"{_PREFIX}:{gen}:{digest}"
    hit = cache.get(key)
    if hit is not None:
        return hit  # type: ignore[no-any-return]
    value = compute()
    cache.set(key, value, TTL)
    return value
