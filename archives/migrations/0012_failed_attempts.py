"""Counters of wrong passwords and API keys (archives.throttle)."""

from django.db import migrations
from django.db import models


class Migration(migrations.Migration):
    dependencies = [
        ("archives", "0011_search_indexes_again"),
    ]

    operations = [
        migrations.CreateModel(
            name="FailedAttempts",
            fields=[
                ("key", models.CharField(max_length=200, primary_key=True, serialize=False)),
                ("failures", models.PositiveIntegerField(default=0)),
                ("window_ends", models.DateTimeField(db_index=True)),
            ],
            options={"verbose_name": "failed attempts", "verbose_name_plural": "failed attempts"},
        ),
    ]
