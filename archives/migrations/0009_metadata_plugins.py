"""Metadata plugins: which run on new archives, their parameters, and the tag rules."""

from django.db import migrations
from django.db import models

DEFAULT_TAG_RULES = "\n".join(
    f"-{word}"
    for word in (
        "already uploaded", "forbidden content", "incomplete", "ongoing", "complete", "various", "digital",
        "translated", "russian", "chinese", "portuguese", "french", "spanish", "italian", "vietnamese", "german",
        "indonesian",
    )
)  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [
        ("archives", "0008_stamps"),
    ]

    operations = [
        migrations.CreateModel(
            name="PluginSetting",
            fields=[
                ("namespace", models.CharField(max_length=100, primary_key=True, serialize=False)),
                (
                    "enabled",
                    models.BooleanField(
                        default=False,
                        help_text="Run on every uploaded, downloaded or scanned archive.",
                        verbose_name="run on new archives",
                    ),
                ),
                ("params", models.JSONField(blank=True, default=dict)),
            ],
            options={"verbose_name": "metadata plugin", "ordering": ["namespace"]},
        ),
        migrations.AddField(
            model_name="serverconfig",
            name="tagruleson",
            field=models.BooleanField(
                default=True, help_text="Rewrite the tags metadata plugins find.", verbose_name="apply tag rules"
            ),
        ),
        migrations.AddField(
            model_name="serverconfig",
            name="tagrules",
            field=models.TextField(
                blank=True,
                default=DEFAULT_TAG_RULES,
                help_text=(
                    "One rule a line, applied to tags from metadata plugins only: '-tag' removes, '-ns:*' removes "
                    "a namespace, '~ns' strips it, 'a -> b' replaces, 'ns:* -> new:*' renames a namespace, "
                    "'a => b' replaces after the other rules."
                ),
                verbose_name="tag rules",
            ),
        ),
        migrations.AddField(
            model_name="serverconfig",
            name="replacetitles",
            field=models.BooleanField(
                default=True,
                help_text="Metadata plugins that find a title replace the current one.",
                verbose_name="plugins may set titles",
            ),
        ),
    ]
