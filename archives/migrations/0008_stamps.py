"""Stamps: notes pinned to a page of an archive."""

import django.db.models.deletion
from django.db import migrations
from django.db import models


class Migration(migrations.Migration):
    dependencies = [
        ("archives", "0007_archive_file_mtime"),
    ]

    operations = [
        migrations.CreateModel(
            name="Stamp",
            fields=[
                ("id", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("page", models.PositiveIntegerField()),
                ("content", models.TextField(blank=True, default="")),
                ("position", models.TextField(blank=True, default="")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "archive",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="stamps", to="archives.archive"
                    ),
                ),
            ],
            options={
                "ordering": ["archive", "page", "created_at", "id"],
                "indexes": [models.Index(fields=["archive", "page"], name="stamp_archive_page_idx")],
            },
        ),
    ]
