"""A fresh install has LANraragi's "🔖 Favorites" category, linked to the bookmark."""

import time

from django.db import migrations

FAVORITES = "🔖 Favorites"


def create_favorites(apps, schema_editor):
    Category = apps.get_model("archives", "Category")
    LibraryState = apps.get_model("archives", "LibraryState")
    if Category.objects.exists():
        return
    catid = f"SET_{int(time.time()):010d}"
    Category.objects.create(id=catid, name=FAVORITES, search="", pinned=False)
    state, _ = LibraryState.objects.get_or_create(pk=1)
    state.bookmark_category = catid
    state.save(update_fields=["bookmark_category"])


class Migration(migrations.Migration):
    dependencies = [("archives", "0003_search_indexes")]

    operations = [migrations.RunPython(create_favorites, migrations.RunPython.noop)]
