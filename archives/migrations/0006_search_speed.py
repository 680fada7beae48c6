"""Indexes for the search plans of archives.search.query: namespace members, the
shared reading state (last read order, not-new rows) and title/tag-name matching.

Every token is matched against every title. SQLite scans a narrow (title_lower, id)
index instead of the wide archive rows; so does PostgreSQL for patterns with no
trigram, and its title order gets a covering index for index-only walks. PostgreSQL uses trigram GIN indexes for the
`LIKE '%…%'` patterns of titles and tag names when pg_trgm can be installed (a
trusted extension); without it the same queries scan the tables, only slower.
"""

from django.db import migrations, models
from django.db import transaction

SQLITE = [
    (
        "CREATE INDEX IF NOT EXISTS archive_title_lower_idx ON archives_archive (title_lower, id)",
        "DROP INDEX IF EXISTS archive_title_lower_idx",
    ),
]
POSTGRES = [
    # Index-only walks of the title order (start=50000 skips 50,000 entries, not rows).
    (
        'CREATE INDEX IF NOT EXISTS archive_title_sort_cover_idx ON archives_archive (title_sort COLLATE "C", id)'
        " INCLUDE (missing, in_tank)",
        "DROP INDEX IF EXISTS archive_title_sort_cover_idx",
    ),
    (
        "DROP INDEX IF EXISTS archive_title_sort_idx",
        'CREATE INDEX IF NOT EXISTS archive_title_sort_idx ON archives_archive (title_sort COLLATE "C", id)',
    ),
    (
        "CREATE INDEX IF NOT EXISTS archive_title_lower_idx ON archives_archive (title_lower, id)",
        "DROP INDEX IF EXISTS archive_title_lower_idx",
    ),
]
POSTGRES_TRIGRAM = [
    (
        "CREATE INDEX IF NOT EXISTS archive_title_trgm_idx ON archives_archive USING gin (title_lower gin_trgm_ops)",
        "DROP INDEX IF EXISTS archive_title_trgm_idx",
    ),
    (
        "CREATE INDEX IF NOT EXISTS tag_name_trgm_idx ON archives_tag USING gin (name gin_trgm_ops)",
        "DROP INDEX IF EXISTS tag_name_trgm_idx",
    ),
]


def create_indexes(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for up, _ in SQLITE:
            schema_editor.execute(up)
    elif vendor == "postgresql":
        for up, _ in POSTGRES:
            schema_editor.execute(up)
        try:
            with transaction.atomic(using=schema_editor.connection.alias):
                schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception:  # noqa: BLE001 - no privilege or not installed: searches scan instead
            return
        for up, _ in POSTGRES_TRIGRAM:
            schema_editor.execute(up)


def drop_indexes(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    pairs = SQLITE if vendor == "sqlite" else POSTGRES + POSTGRES_TRIGRAM if vendor == "postgresql" else []
    for _, down in reversed(pairs):
        schema_editor.execute(down)


class Migration(migrations.Migration):
    dependencies = [
        ("archives", "0005_pagecache"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="archivesortvalue",
            index=models.Index(fields=["namespace", "archive"], name="sortvalue_ns_archive_idx"),
        ),
        migrations.AddIndex(
            model_name="readingstate",
            index=models.Index(
                condition=models.Q(("user__isnull", True)), fields=["lastreadtime"], name="readingstate_lastread_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="readingstate",
            index=models.Index(
                condition=models.Q(("user__isnull", True)), fields=["isnew", "archive"], name="readingstate_isnew_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="readingstate",
            index=models.Index(
                condition=models.Q(("progress__gt", 0), ("user__isnull", True)),
                fields=["progress", "archive"],
                name="readingstate_progress_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="archive",
            index=models.Index(fields=["id", "pagecount"], name="archive_id_pagecount_idx"),
        ),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
