"""Covers and page thumbnails (behavior.md §7, §9), jobs run inline."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.files.storage import storages
from PIL import Image

from archives.config import config_changed
from archives.models import Archive
from archives.models import PageCacheEntry
from archives.models import ServerConfig
from archives.storage import thumbnail_key
from archives.thumbnails import placeholder_jpeg
from archives.thumbnails import placeholder_png
from jobs.models import Job
from tests.samples import cbz_bytes
from tests.samples import jpeg_bytes
from tests.samples import upload

pytestmark = pytest.mark.django_db


def add(client, auth_header, name: str, data: bytes, capture) -> str:
    with capture(execute=True):
        r = upload(client, name, data, headers=auth_header)
    assert r.status_code == 200, r.content
    return r.json()["id"]


def image(response) -> Image.Image:
    return Image.open(io.BytesIO(response.content))


def configure(**fields) -> None:
    ServerConfig.objects.update_or_create(pk=1, defaults=fields)
    config_changed()


@pytest.mark.parametrize("fmt", ["cbz", "zip", "cbr", "cb7", "tar", "pdf", "epub"])
def test_every_format_gets_a_cover_on_upload(client, auth_header, corpus, fmt, django_capture_on_commit_callbacks):
    entry = next(e for e in json.loads((corpus / "manifest.json").read_text())["archives"] if e["format"] == fmt)
    arcid = add(
        client, auth_header, entry["file"], (corpus / entry["file"]).read_bytes(), django_capture_on_commit_callbacks
    )
    r = client.get(f"/api/archives/{arcid}/thumbnail")
    assert r.status_code == 200
    assert r["Content-Type"] == "image/jpeg" and r["ETag"]
    cover = image(r)
    assert cover.format == "JPEG" and cover.size[0] <= 500 and cover.size[1] <= 1000
    assert max(cover.size[0] / 500, cover.size[1] / 1000) > 0.99  # fitted to the box
    assert len(Archive.objects.get(pk=arcid).thumbhash) == 40
    job = Job.objects.get(task="thumbnail_task")
    assert (job.state, job.args) == ("finished", ["", arcid, 0])


def test_missing_thumbnail_is_the_placeholder_even_for_unknown_ids(client):
    r = client.get(f"/api/archives/{'a' * 40}/thumbnail")
    assert r.status_code == 200 and r["Content-Type"] == "image/png"
    assert r.content == placeholder_png() and image(r).size == (203, 280)


def test_no_fallback_queues_a_job_then_serves_the_image(client, auth_header, django_capture_on_commit_callbacks):
    arcid = add(client, auth_header, "a.cbz", cbz_bytes(), django_capture_on_commit_callbacks)
    storages["thumbnails"].delete(thumbnail_key(arcid))
    assert client.get(f"/api/archives/{arcid}/thumbnail")["Content-Type"] == "image/png"
    with django_capture_on_commit_callbacks(execute=True):
        r = client.get(f"/api/archives/{arcid}/thumbnail?no_fallback=true")
    assert r.status_code == 202
    body = r.json()
    assert body["operation"] == "serve_thumbnail" and body["success"] == 1 and isinstance(body["job"], int)
    assert client.get(f"/api/minion/{body['job']}").json()["state"] == "finished"
    assert client.get(f"/api/archives/{arcid}/thumbnail?no_fallback=true").status_code == 200


def test_page_thumbnail_is_separate_from_the_cover(client, auth_header, django_capture_on_commit_callbacks):
    arcid = add(client, auth_header, "a.cbz", cbz_bytes(), django_capture_on_commit_callbacks)
    r = client.get(f"/api/archives/{arcid}/thumbnail?page=1&no_fallback=true")
    assert r.status_code == 202  # page 1 is a page thumbnail, not the cover
    assert (
        client.get(f"/api/archives/{arcid}/thumbnail?page=0").content
        == client.get(f"/api/archives/{arcid}/thumbnail").content
    )


@pytest.mark.parametrize(
    ("query", "message", "path"),
    [("no_fallback=1", "Not in enum list: true, false.", "/no_fallback"), ("page=-1", "-1 < minimum(0)", "/page"),
     ("page=x", "Expected integer - got string.", "/page")],
)  # fmt: skip
def test_thumbnail_parameters_are_validated(client, query, message, path):
    r = client.get(f"/api/archives/{'a' * 40}/thumbnail?{query}")
    assert r.status_code == 400
    assert r.json() == {"errors": [{"message": message, "path": path}], "status": 400}


def test_page_thumbnail_job_reports_each_page_then_all_exist(client, auth_header, django_capture_on_commit_callbacks):
    arcid = upload(client, "a.cbz", cbz_bytes(["1.jpg", "2.jpg", "10.jpg"]), headers=auth_header).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"/api/archives/{arcid}/files/thumbnails")
    assert r.status_code == 202
    job = r.json()["job"]
    status = client.get(f"/api/minion/{job}").json()
    assert status["task"] == "page_thumbnails" and status["state"] == "finished"
    assert status["notes"] == {"1": "processed", "2": "processed", "3": "processed", "total_pages": "3", "id": arcid}
    for page in (1, 2, 3):
        thumb = client.get(f"/api/archives/{arcid}/thumbnail?page={page}&no_fallback=true")
        assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"
    r = client.post(f"/api/archives/{arcid}/files/thumbnails")
    assert r.status_code == 200
    assert r.json() == {
        "operation": "generate_page_thumbnails",
        "success": 1,
        "message": "No job queued, all thumbnails already exist.",
    }
    assert client.post(f"/api/archives/{arcid}/files/thumbnails?force=true").status_code == 202


def test_a_queued_page_thumbnail_job_is_reused(client, auth_header):
    arcid = upload(client, "a.cbz", cbz_bytes(), headers=auth_header).json()["id"]
    first = client.post(f"/api/archives/{arcid}/files/thumbnails").json()["job"]  # stays queued: no commit here
    assert client.post(f"/api/archives/{arcid}/files/thumbnails").json()["job"] == first


def test_unknown_or_empty_archives_need_no_page_thumbnails(client, auth_header, corpus):
    r = client.post(f"/api/archives/{'b' * 40}/files/thumbnails")
    assert r.status_code == 200 and r.json()["message"].startswith("No job queued")
    arcid = upload(client, "empty.cbz", (corpus / "evil" / "empty.cbz").read_bytes(), headers=auth_header).json()["id"]
    assert client.post(f"/api/archives/{arcid}/files/thumbnails").status_code == 200


@pytest.mark.parametrize("case", ["pixelbomb.cbz", "corruptpage.cbz"])
def test_bad_pages_get_placeholders_and_the_job_finishes(
    client, auth_header, corpus, case, django_capture_on_commit_callbacks
):
    arcid = add(client, auth_header, case, (corpus / "evil" / case).read_bytes(), django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        job = client.post(f"/api/archives/{arcid}/files/thumbnails").json()["job"]
    status = client.get(f"/api/minion/{job}").json()
    assert status["state"] == "finished"
    pages = Archive.objects.get(pk=arcid).pagecount
    assert all(status["notes"][str(n)] == "processed" for n in range(1, pages + 1))
    bad = 1  # the first page of both is the broken one
    stored = Path(storages["thumbnails"].path(thumbnail_key(arcid, bad))).read_bytes()
    assert stored == placeholder_jpeg()
    good = Path(storages["thumbnails"].path(thumbnail_key(arcid, pages))).read_bytes()
    assert good != placeholder_jpeg()
    # The cover job survived the bad first page too.
    assert client.get(f"/api/archives/{arcid}/thumbnail")["Content-Type"] == "image/jpeg"


def test_solid_7z_page_thumbnails_come_from_the_page_cache(
    client, auth_header, corpus, django_capture_on_commit_callbacks
):
    entry = next(e for e in json.loads((corpus / "manifest.json").read_text())["archives"] if e["format"] == "cb7")
    arcid = add(
        client, auth_header, entry["file"], (corpus / entry["file"]).read_bytes(), django_capture_on_commit_callbacks
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = client.post(f"/api/archives/{arcid}/files/thumbnails").json()["job"]
    assert client.get(f"/api/minion/{job}").json()["notes"]["total_pages"] == str(entry["pages"])
    assert PageCacheEntry.objects.get(archive_id=arcid).state == "complete"


def test_put_thumbnail_sets_the_cover_from_a_page(client, auth_header, django_capture_on_commit_callbacks):
    data = cbz_bytes()
    arcid = add(client, auth_header, "a.cbz", data, django_capture_on_commit_callbacks)
    before = client.get(f"/api/archives/{arcid}/thumbnail").content
    assert client.put(f"/api/archives/{arcid}/thumbnail?page=2").status_code == 401
    r = client.put(f"/api/archives/{arcid}/thumbnail?page=2", **auth_header)
    assert r.status_code == 200
    assert r.json() == {
        "operation": "update_thumbnail",
        "success": 1,
        "new_thumbnail": storages["thumbnails"].path(thumbnail_key(arcid)),
    }
    after = client.get(f"/api/archives/{arcid}/thumbnail").content
    assert after != before
    import hashlib

    assert Archive.objects.get(pk=arcid).thumbhash == hashlib.sha1(jpeg_bytes(1)).hexdigest()
    r = client.put(f"/api/archives/{arcid}/thumbnail?page=9", **auth_header)
    assert r.status_code == 400 and r.json()["error"] == f"Requested image not found: {arcid} page 9"
    r = client.put(f"/api/archives/{'c' * 40}/thumbnail", **auth_header)
    assert r.status_code == 400


def test_regenerate_makes_missing_covers_and_all_with_force(client, auth_header, django_capture_on_commit_callbacks):
    ids = [upload(client, f"{i}.cbz", cbz_bytes(seed=i), headers=auth_header).json()["id"] for i in range(3)]
    assert client.post("/api/regen_thumbs").status_code == 401
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/api/regen_thumbs", **auth_header)
    assert r.status_code == 200 and r.json()["operation"] == "regen_thumbnails"
    status = client.get(f"/api/minion/{r.json()['job']}").json()
    assert status["state"] == "finished" and status["notes"] == {"total": "3", "done": "3"}
    for arcid in ids:
        assert client.get(f"/api/archives/{arcid}/thumbnail")["Content-Type"] == "image/jpeg"


def test_page_thumbnails_can_be_turned_off_or_capped(client, auth_header, django_capture_on_commit_callbacks):
    arcid = upload(client, "a.cbz", cbz_bytes(["1.jpg", "2.jpg", "3.jpg", "4.jpg"]), headers=auth_header).json()["id"]
    configure(pagethumbnails=False)
    assert client.post(f"/api/archives/{arcid}/files/thumbnails").status_code == 200
    assert client.get(f"/api/archives/{arcid}/thumbnail?page=2&no_fallback=true")["Content-Type"] == "image/png"
    configure(pagethumbnails=True, pagethumb_max_pages=2)
    with django_capture_on_commit_callbacks(execute=True):
        job = client.post(f"/api/archives/{arcid}/files/thumbnails").json()["job"]
    assert client.get(f"/api/minion/{job}").json()["notes"]["total_pages"] == "2"
    assert client.post(f"/api/archives/{arcid}/files/thumbnails").status_code == 200


def test_page_thumbnails_are_lower_quality_than_covers(client, auth_header, django_capture_on_commit_callbacks):
    arcid = add(client, auth_header, "a.cbz", cbz_bytes(["1.jpg"]), django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/api/archives/{arcid}/files/thumbnails")
    cover = client.get(f"/api/archives/{arcid}/thumbnail").content
    page = client.get(f"/api/archives/{arcid}/thumbnail?page=1").content
    assert len(page) < len(cover)


def test_thumbnails_support_ranges_like_every_binary_reply(client, auth_header, django_capture_on_commit_callbacks):
    arcid = add(client, auth_header, "a.cbz", cbz_bytes(), django_capture_on_commit_callbacks)
    whole = client.get(f"/api/archives/{arcid}/thumbnail")
    assert whole.status_code == 200 and whole["Content-Type"] == "image/jpeg"
    part = client.get(f"/api/archives/{arcid}/thumbnail", HTTP_RANGE="bytes=0-9")
    assert part.status_code == 206 and part.content == whole.content[:10]
    assert part["Content-Range"] == f"bytes 0-9/{len(whole.content)}"
    assert client.get(f"/api/archives/{arcid}/thumbnail", HTTP_RANGE="bytes=999999-").status_code == 416
    placeholder = client.get(f"/api/archives/{'a' * 40}/thumbnail", HTTP_RANGE="bytes=-4")
    assert placeholder.status_code == 206 and placeholder.content == placeholder_png()[-4:]


def test_put_thumbnail_on_an_archive_without_pages_is_a_400(
    client, auth_header, corpus, django_capture_on_commit_callbacks
):
    arcid = add(
        client,
        auth_header,
        "empty.cbz",
        (corpus / "evil" / "empty.cbz").read_bytes(),
        django_capture_on_commit_callbacks,
    )
    cover = client.get(f"/api/archives/{arcid}/thumbnail?no_fallback=true")
    assert cover.status_code == 200  # its cover is the placeholder, made at upload
    for query in ("", "?page=1", "?page=2"):
        r = client.put(f"/api/archives/{arcid}/thumbnail{query}", **auth_header)
        page = query.rsplit("=", 1)[-1] if query else "1"
        assert r.status_code == 400, r.content
        assert r.json()["error"] == f"Requested image not found: {arcid} page {page}"
    assert client.get(f"/api/archives/{arcid}/thumbnail?no_fallback=true").content == cover.content


def test_put_thumbnail_on_an_unreadable_archive_is_a_400(client, auth_header, django_capture_on_commit_callbacks):
    arcid = add(client, auth_header, "a.cbz", cbz_bytes(), django_capture_on_commit_callbacks)
    key = Archive.objects.get(pk=arcid).file
    with storages["archives"].open(key, "wb") as fh:
        fh.write(b"no longer a zip" * 100)
    from django.core.cache import cache

    from archives.reading import forget_readers

    forget_readers()
    cache.clear()  # the page list
    r = client.put(f"/api/archives/{arcid}/thumbnail?page=1", **auth_header)
    assert r.status_code == 400, r.content
    assert r.json()["operation"] == "update_thumbnail" and r.json()["success"] == 0
    assert r.json()["error"].startswith(f"Requested image not found: {arcid} page 1")
