"""The content-folder watcher's shared state (LANraragi's Shinobu)."""

from django.db import migrations
from django.db import models


class Migration(migrations.Migration):
    dependencies = [
        ("archives", "0009_metadata_plugins"),
    ]

    operations = [
        migrations.CreateModel(
            name="WatcherState",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("enabled", models.BooleanField(default=True)),
                ("next_scan_at", models.FloatField(default=0)),
                ("watcher", models.CharField(blank=True, default="", max_length=200)),
                ("heartbeat", models.FloatField(blank=True, null=True)),
                ("fingerprint", models.CharField(blank=True, default="", max_length=40)),
            ],
            options={"verbose_name": "file watcher state"},
        ),
    ]
