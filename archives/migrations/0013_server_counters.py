"""Counters leave the settings row: total_pages_read moves to ServerCounters, which the
settings page and the admin never save; ServerConfig.cache_last_cleared was unused
(LibraryState keeps it). archives_per_page's 1-1000 bounds move onto the field."""

import django.core.validators
from django.db import migrations
from django.db import models


def counters_out(apps, schema_editor):
    ServerConfig = apps.get_model("archives", "ServerConfig")
    ServerCounters = apps.get_model("archives", "ServerCounters")
    total = ServerConfig.objects.filter(pk=1).values_list("total_pages_read", flat=True).first()
    ServerCounters.objects.update_or_create(pk=1, defaults={"total_pages_read": total or 0})


def counters_back(apps, schema_editor):
    ServerConfig = apps.get_model("archives", "ServerConfig")
    ServerCounters = apps.get_model("archives", "ServerCounters")
    total = ServerCounters.objects.filter(pk=1).values_list("total_pages_read", flat=True).first()
    ServerConfig.objects.filter(pk=1).update(total_pages_read=total or 0)


class Migration(migrations.Migration):
    dependencies = [
        ("archives", "0012_failed_attempts"),
    ]

    operations = [
        migrations.CreateModel(
            name="ServerCounters",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("total_pages_read", models.BigIntegerField(default=0)),
            ],
            options={"verbose_name_plural": "server counters"},
        ),
        migrations.RunPython(counters_out, counters_back),
        migrations.RemoveField(model_name="serverconfig", name="total_pages_read"),
        migrations.RemoveField(model_name="serverconfig", name="cache_last_cleared"),
        migrations.AlterField(
            model_name="serverconfig",
            name="archives_per_page",
            field=models.PositiveIntegerField(
                default=100,
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(1000),
                ],
            ),
        ),
    ]
