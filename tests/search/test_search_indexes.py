"""The indexes the search plans are written for exist after every migration.

They are raw SQL (vendor-specific: covering indexes on SQLite, byte-order, GIN and
trigram indexes on PostgreSQL), so Django does not know them: a migration that makes
the SQLite schema editor rebuild the archive table (adding a column with a default
does) silently drops them, as 0007 did, and every search then reads whole rows.
"""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

SQLITE = {
    "archives_archive": {"archive_title_sort_cover_idx", "archive_count_cover_idx", "archive_title_lower_idx"},
}
POSTGRES = {
    "archives_archive": {
        "archive_title_sort_cover_idx",
        "archive_tag_ids_gin",
        "archive_title_lower_idx",
    },
    "archives_archivesortvalue": {"sortvalue_ns_value_c_idx"},
}


def _indexes(table: str) -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, table))


def test_search_indexes_exist():
    expected = POSTGRES if connection.vendor == "postgresql" else SQLITE
    for table, names in expected.items():
        assert names <= _indexes(table), (table, names - _indexes(table))


def test_the_title_index_serves_a_page_of_titles():
    """The default listing (title order, first page) reads the title index, not a sort."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The test library is tiny (no statistics): without these the planner rightly
            # prefers a scan and a sort. With them it still may not use an index that
            # cannot give this order.
            cursor.execute(
                "SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off"
            )
            cursor.execute(
                "EXPLAIN SELECT a.id FROM archives_archive a WHERE a.missing = false AND a.in_tank = false"
                ' ORDER BY a.title_sort COLLATE "C", a.id LIMIT 100'
            )
        else:
            cursor.execute(
                "EXPLAIN QUERY PLAN SELECT a.id FROM archives_archive a WHERE +a.missing = 0 AND +a.in_tank = 0"
                " ORDER BY a.title_sort, a.id LIMIT 100"
            )
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "archive_title_sort_cover_idx" in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
