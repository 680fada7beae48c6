"""The admin: every page opens, and edits go through the services."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from archives.models import Archive
from archives.models import ArchiveTag
from archives.models import Category
from jobs.models import Job
from tests.samples import cbz_bytes
from tests.samples import upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("boss", password="pw-12345678")
    client.force_login(user)
    return client


def test_every_admin_page_opens(admin_client, auth_header):
    arcid = upload(admin_client, "a.cbz", cbz_bytes(), headers=auth_header, tags="artist:x").json()["id"]
    admin_client.put("/api/tankoubons", "name=T", content_type="application/x-www-form-urlencoded", **auth_header)
    for url in [
        "/admin/", "/admin/archives/archive/", f"/admin/archives/archive/{arcid}/change/", "/admin/archives/tag/",
        "/admin/archives/category/", "/admin/archives/tankoubon/", "/admin/jobs/job/",
    ]:  # fmt: skip
        assert admin_client.get(url).status_code == 200, url
    assert admin_client.get("/admin/archives/serverconfig/").status_code == 302
    assert admin_client.get("/admin/archives/serverconfig/1/change/").status_code == 200


def test_editing_an_archive_updates_its_tag_index_and_new_flag(admin_client, auth_header):
    arcid = upload(admin_client, "a.cbz", cbz_bytes(), headers=auth_header, tags="old").json()["id"]
    r = admin_client.post(
        f"/admin/archives/archive/{arcid}/change/", {"title": "Renamed", "tags": "new, artist:Y", "summary": "s"}
    )
    assert r.status_code == 302
    assert Archive.objects.get(pk=arcid).title == "Renamed"
    assert sorted(ArchiveTag.objects.values_list("tag__name", flat=True)) == ["artist:y", "new"]
    assert admin_client.get(f"/api/archives/{arcid}/metadata").json()["isnew"] is False


def test_cover_action_queues_jobs_and_categories_are_made_through_the_service(admin_client, auth_header):
    arcid = upload(admin_client, "a.cbz", cbz_bytes(), headers=auth_header).json()["id"]
    Job.objects.all().delete()
    r = admin_client.post("/admin/archives/archive/", {"action": "remake_covers", "_selected_action": [arcid]})
    assert r.status_code == 302
    assert list(Job.objects.values_list("task", "args")) == [("thumbnail_task", ["", arcid, 0])]
    admin_client.post("/admin/archives/category/add/", {"name": "Mine", "search": "", "pinned": "on"})
    category = Category.objects.get(name="Mine")
    assert category.pk.startswith("SET_") and category.pinned
