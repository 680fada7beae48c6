"""The file's mtime next to its size, so that a scan re-hashes only changed files."""

from django.db import migrations
from django.db import models


class Migration(migrations.Migration):
    dependencies = [
        ("archives", "0006_search_speed"),
    ]

    operations = [
        migrations.AddField(
            model_name="archive",
            name="file_mtime",
            field=models.FloatField(default=0, editable=False),
        ),
    ]
