"""A write lock whose holder lost its database connection is released at once, not
left to block the resource (423) for its whole lifetime."""

from __future__ import annotations

import psycopg
import pytest
from django.db import OperationalError
from django.db import connection

from archives.locks import write_lock
from archives.models import Archive
from archives.models import WriteLock
from tests.workers import database_url

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_lock_held_when_the_connection_dies_is_released(settings):
    if connection.vendor != "postgresql":
        pytest.skip("terminates a PostgreSQL backend; runs in the suite's PostgreSQL pass (DATABASE_URL set)")
    with pytest.raises(OperationalError), write_lock("archive-write:x", ttl=600):
        pid = connection.cursor().connection.info.backend_pid
        with psycopg.connect(database_url(), autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [pid])
        Archive.objects.count()
    assert not WriteLock.objects.filter(name="archive-write:x").exists()
    with write_lock("archive-write:x"):
        pass
