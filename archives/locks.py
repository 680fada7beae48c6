"""Named write locks that never wait: a held lock is a 423 for the caller.

LANraragi takes `archive-write:<id>`, `upload:<filename>` and similar locks with a
10-second lifetime, so a crashed request cannot block a resource for long. These
live in the database so that every web and worker process sees them.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError
from django.db import IntegrityError
from django.db import connection
from django.db import transaction

from archives.exceptions import Locked
from archives.models import WriteLock

DEFAULT_TTL = 10.0


@contextmanager
def write_lock(name: str, *, ttl: float = DEFAULT_TTL, resource: str | None = None) -> Iterator[None]:
    """Hold lock `name` for the block, or raise Locked(resource) at once."""
    token = secrets.token_hex(16)
    now = time.time()
    acquired = False
    try:
        with transaction.atomic():
            WriteLock.objects.create(name=name, token=token, expires_at=now + ttl)
        acquired = True
    except IntegrityError:
        # Held: take it over only if its holder's time is up.
        acquired = (
            WriteLock.objects.filter(name=name, expires_at__lt=now).update(token=token, expires_at=now + ttl) == 1
        )
    if not acquired:
        raise Locked(resource if resource is not None else name)
    try:
        yield
    finally:
        _release(name, token)


def _release(name: str, token: str) -> None:
    """Drop the lock; if the block lost its database connection, on a new one, so a
    dropped connection does not leave the resource locked (423) for the whole ttl."""
    try:
        WriteLock.objects.filter(name=name, token=token).delete()
    except DatabaseError:
        if connection.in_atomic_block:
            raise  # the caller's transaction is broken; its lock expires with its ttl
        connection.close()
        WriteLock.objects.filter(name=name, token=token).delete()
