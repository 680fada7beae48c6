"""Put back the SQLite search indexes that 0007 lost.

Adding a column with a default makes Django's SQLite schema editor rebuild the
table, and the rebuilt table gets only the indexes Django knows about: the raw
covering indexes of 0003 and 0006 went with the old table, and every SQLite search
read whole rows from then on. They are created again here (IF NOT EXISTS: a
database made before 0007 still has them); tests/search/test_search_indexes.py
fails if a later migration loses them again.
"""

from django.db import migrations

SQLITE = [
    (
        "CREATE INDEX IF NOT EXISTS archive_title_sort_cover_idx ON archives_archive"
        " (title_sort, id, missing, in_tank, untagged, title_lower, pagecount)",
        "DROP INDEX IF EXISTS archive_title_sort_cover_idx",
    ),
    (
        "CREATE INDEX IF NOT EXISTS archive_count_cover_idx ON archives_archive"
        " (missing, in_tank, untagged, id, title_lower, pagecount)",
        "DROP INDEX IF EXISTS archive_count_cover_idx",
    ),
    (
        "CREATE INDEX IF NOT EXISTS archive_title_lower_idx ON archives_archive (title_lower, id)",
        "DROP INDEX IF EXISTS archive_title_lower_idx",
    ),
]


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for up, _ in SQLITE:
            schema_editor.execute(up)


class Migration(migrations.Migration):
    dependencies = [
        ("archives", "0010_watcher_state"),
    ]

    # No reverse: going back past this point must keep the indexes 0003 and 0006 made.
    operations = [migrations.RunPython(create_indexes, migrations.RunPython.noop)]
