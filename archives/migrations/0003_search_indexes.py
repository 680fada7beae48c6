"""Indexes shaped for the search queries, per database, and the backfill of the
search columns for archives that existed before them.

PostgreSQL: a GIN index on the tag-id array (tag searches are array overlaps) and
byte-order (COLLATE "C") indexes for the natural-sort keys, whatever the database's
own collation. SQLite compares text byte-wise already and searches tags through the
ArchiveTag (tag, archive) index.
"""

from django.db import migrations

from archives.search.keys import is_untagged
from archives.search.keys import namespace_sort_values
from archives.search.keys import title_keys

POSTGRES = [
    (
        'CREATE INDEX IF NOT EXISTS archive_title_sort_idx ON archives_archive (title_sort COLLATE "C", id)',
        "DROP INDEX IF EXISTS archive_title_sort_idx",
    ),
    (
        "CREATE INDEX IF NOT EXISTS archive_tag_ids_gin ON archives_archive USING gin (tag_ids)",
        "DROP INDEX IF EXISTS archive_tag_ids_gin",
    ),
    (
        'CREATE INDEX IF NOT EXISTS sortvalue_ns_value_c_idx ON archives_archivesortvalue (namespace, value_sort COLLATE "C")',
        "DROP INDEX IF EXISTS sortvalue_ns_value_c_idx",
    ),
]
# SQLite: covering indexes, so that a title-ordered page and a count read one narrow
# index instead of the wide table rows (which hold the tag strings and summaries).
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
]


def _statements(schema_editor, reverse: bool) -> list[str]:
    vendor = schema_editor.connection.vendor
    pairs = POSTGRES if vendor == "postgresql" else SQLITE if vendor == "sqlite" else []
    return [down if reverse else up for up, down in pairs]


def create_indexes(apps, schema_editor):
    for sql in _statements(schema_editor, reverse=False):
        schema_editor.execute(sql)


def drop_indexes(apps, schema_editor):
    for sql in _statements(schema_editor, reverse=True):
        schema_editor.execute(sql)


def backfill(apps, schema_editor):
    Archive = apps.get_model("archives", "Archive")
    ArchiveTag = apps.get_model("archives", "ArchiveTag")
    ArchiveSortValue = apps.get_model("archives", "ArchiveSortValue")
    for archive in Archive.objects.order_by("pk").iterator(chunk_size=1000):
        tags = [t for t in (archive.tags or "").split(",") if t.strip()]
        archive.title_sort, archive.title_lower = title_keys(archive.title or archive.filename)
        archive.untagged = is_untagged(tags)
        archive.tag_ids = list(ArchiveTag.objects.filter(archive_id=archive.pk).values_list("tag_id", flat=True))
        archive.save(update_fields=["title_sort", "title_lower", "untagged", "tag_ids"])
        ArchiveSortValue.objects.bulk_create(
            [
                ArchiveSortValue(archive_id=archive.pk, namespace=ns, value_sort=value)
                for ns, value in namespace_sort_values(tags).items()
            ]
        )


class Migration(migrations.Migration):
    dependencies = [("archives", "0002_search_and_organisation")]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
