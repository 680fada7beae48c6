"""PUT /api/archives/upload: every status of behavior.md §6, and nothing left behind."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from django.core.files.storage import storages

from archives.locks import write_lock
from archives.models import Archive
from archives.models import ArchiveTag
from archives.models import ReadingState
from archives.models import ServerConfig
from tests.samples import cbz_bytes
from tests.samples import lrr_id
from tests.samples import sha1
from tests.samples import upload

pytestmark = pytest.mark.django_db

FORMAT_OF = {"cbz": "zip", "zip": "zip", "cbr": "rar", "cb7": "7z", "tar": "tar", "pdf": "pdf", "epub": "epub"}


def stored_files() -> list[str]:
    root = Path(storages["archives"].location)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def assert_nothing_left(settings) -> None:
    assert stored_files() == []
    assert Archive.objects.count() == 0
    assert ReadingState.objects.count() == 0
    assert os.listdir(settings.FILE_UPLOAD_TEMP_DIR) == []


def test_upload_stores_the_file_and_answers_with_its_id(client, auth_header, settings):
    data = cbz_bytes()
    r = upload(client, "My Comic.cbz", data, headers=auth_header)
    assert r.status_code == 200, r.content
    assert r.json() == {"operation": "upload", "success": 1, "id": lrr_id(data)}
    archive = Archive.objects.get()
    assert (archive.title, archive.filename, archive.extension) == ("My Comic", "My Comic", "cbz")
    assert (archive.pagecount, archive.size, archive.format) == (3, len(data), "zip")
    assert stored_files() == ["My Comic.cbz"]
    assert Path(storages["archives"].path("My Comic.cbz")).read_bytes() == data
    assert os.listdir(settings.FILE_UPLOAD_TEMP_DIR) == []
    state = ReadingState.objects.get(archive=archive, user=None)
    assert (state.isnew, state.progress, state.lastreadtime) == (True, 0, 0)


@pytest.mark.parametrize("fmt", ["cbz", "zip", "cbr", "cb7", "tar", "pdf", "epub"])
def test_every_corpus_format_uploads_with_its_page_count(client, auth_header, corpus, fmt):
    manifest = json.loads((corpus / "manifest.json").read_text())
    entry = next(e for e in manifest["archives"] if e["format"] == fmt)
    data = (corpus / entry["file"]).read_bytes()
    r = upload(client, entry["file"], data, headers=auth_header)
    assert r.status_code == 200, r.content
    archive = Archive.objects.get(pk=lrr_id(data))
    assert archive.pagecount == entry["pages"]
    assert archive.size == entry["size"]
    assert archive.format == FORMAT_OF[fmt]
    assert archive.extension == fmt
    assert archive.title == entry["title_stem"]


def test_id_is_sha1_of_the_first_512000_bytes(client, auth_header):
    small = cbz_bytes(seed=1)
    big = cbz_bytes(seed=2, padding=700_000)
    assert len(small) < 512_000 < len(big)
    for name, data in [("small.cbz", small), ("big.cbz", big)]:
        r = upload(client, name, data, headers=auth_header)
        assert r.json()["id"] == lrr_id(data)
    # Two files that share their first 512,000 bytes share an ID, as in LANraragi.
    assert lrr_id(big) == lrr_id(big[:512_000] + b"different tail")
    assert lrr_id(big) != sha1(big)


def test_fields_set_title_summary_and_tags_with_date_added(client, auth_header):
    before = int(time.time())
    r = upload(
        client,
        "x.cbz",
        cbz_bytes(),
        headers=auth_header,
        title="  Real Title ",
        summary="A summary\nover lines",
        tags="artist:Foo, bar ,,bar,Baz",
    )
    assert r.status_code == 200
    archive = Archive.objects.get()
    assert archive.title == "Real Title"
    assert archive.summary == "A summary\nover lines"
    tags = archive.tags.split(",")
    assert tags[:3] == ["artist:Foo", "bar", "Baz"]
    assert tags[3].startswith("date_added:") and before <= int(tags[3].split(":")[1]) <= time.time()
    assert sorted(ArchiveTag.objects.values_list("tag__name", flat=True)) == sorted(
        ["artist:foo", "bar", "baz", tags[3]]
    )


def test_title_zero_counts_as_empty_and_date_added_can_be_off(client, auth_header):
    ServerConfig.objects.update_or_create(pk=1, defaults={"usedateadded": False})
    upload(client, "Name.cbz", cbz_bytes(), headers=auth_header, title="0", summary="0")
    archive = Archive.objects.get()
    assert (archive.title, archive.summary, archive.tags) == ("Name", "", "")


def test_upper_case_checksum_is_accepted(client, auth_header):
    data = cbz_bytes()
    r = upload(client, "a.cbz", data, headers=auth_header, file_checksum=sha1(data).upper())
    assert r.status_code == 200


def test_wrong_checksum_is_417_and_nothing_is_stored(client, auth_header, settings):
    data = cbz_bytes()
    r = upload(client, "a.cbz", data, headers=auth_header, file_checksum="0" * 40)
    assert r.status_code == 417
    assert r.json() == {
        "operation": "upload",
        "success": 0,
        "error": f"Checksum mismatch: expected {'0' * 40}, got {sha1(data)}.",
    }
    assert_nothing_left(settings)


def test_no_file_part_is_400(client, auth_header):
    from tests.samples import multipart

    body, ctype = multipart({"title": "x"})
    r = client.put("/api/archives/upload", data=body, content_type=ctype, **auth_header)
    assert r.status_code == 400
    assert r.json() == {"operation": "upload", "success": 0, "error": "No file attached"}


def test_no_body_and_wrong_content_type_fail_validation(client, auth_header):
    r = client.put("/api/archives/upload", **auth_header)
    assert r.status_code == 400
    assert r.json() == {"errors": [{"message": "Missing property.", "path": "/body"}], "status": 400}
    r = client.put("/api/archives/upload", data=b"{}", content_type="application/json", **auth_header)
    assert r.status_code == 400
    assert r.json()["errors"][0]["message"] == "Expected multipart/form-data - got application/json."


def test_upload_needs_the_key(client):
    r = upload(client, "a.cbz", cbz_bytes())
    assert r.status_code == 401
    assert r.json() == {"errors": [{"message": "Unauthorized", "path": "/security/0/api_key"}], "status": 401}
    assert Archive.objects.count() == 0


@pytest.mark.parametrize("name", ["readme.txt", "comic.gz", "comic.tgz", "comic", "archive.rar.txt"])
def test_unsupported_extension_is_415(client, auth_header, settings, name):
    r = upload(client, name, cbz_bytes(), headers=auth_header)
    assert r.status_code == 415
    assert r.json() == {"operation": "upload", "success": 0, "error": f"Unsupported file extension ({name})"}
    assert_nothing_left(settings)


def test_same_content_is_409_with_the_existing_id(client, auth_header):
    data = cbz_bytes()
    first = upload(client, "one.cbz", data, headers=auth_header).json()["id"]
    r = upload(client, "two.cbz", data, headers=auth_header)
    assert r.status_code == 409
    assert r.json()["id"] == first
    assert r.json()["error"].startswith("This file already exists in the Library.")
    assert stored_files() == ["one.cbz"]


def test_same_name_is_409_with_the_new_id(client, auth_header):
    upload(client, "same.cbz", cbz_bytes(seed=1), headers=auth_header)
    other = cbz_bytes(seed=2)
    r = upload(client, "same.cbz", other, headers=auth_header)
    assert r.status_code == 409
    assert r.json()["id"] == lrr_id(other)
    assert r.json()["error"].startswith("A file with the same name is present in the Library.")
    assert Archive.objects.count() == 1


def test_replace_duplicates_setting_replaces_the_old_archive(client, auth_header):
    ServerConfig.objects.update_or_create(pk=1, defaults={"replacedupe": True})
    upload(client, "same.cbz", cbz_bytes(seed=1), headers=auth_header)
    other = cbz_bytes(seed=2)
    r = upload(client, "same.cbz", other, headers=auth_header)
    assert r.status_code == 200
    assert list(Archive.objects.values_list("pk", flat=True)) == [lrr_id(other)]
    assert Path(storages["archives"].path("same.cbz")).read_bytes() == other


def test_a_record_whose_file_has_gone_is_replaced_by_a_new_upload(client, auth_header):
    data = cbz_bytes()
    upload(client, "gone.cbz", data, headers=auth_header)
    storages["archives"].delete("gone.cbz")
    r = upload(client, "back.cbz", data, headers=auth_header)
    assert r.status_code == 200
    assert Archive.objects.get().file == "back.cbz"


@pytest.mark.parametrize("case", ["notanarchive.cbz", "truncated.cbz"])
def test_unreadable_archives_are_422_and_leave_nothing(client, auth_header, settings, corpus, case):
    r = upload(client, case, (corpus / "evil" / case).read_bytes(), headers=auth_header)
    assert r.status_code == 422
    assert r.json() == {"operation": "upload", "success": 0, "error": "Unreadable archive."}
    assert_nothing_left(settings)


def test_empty_file_is_422(client, auth_header, settings):
    r = upload(client, "empty.zip", b"", headers=auth_header)
    assert r.status_code == 422
    assert_nothing_left(settings)


def test_archive_without_pages_is_kept_with_pagecount_zero(client, auth_header, corpus):
    r = upload(client, "empty.cbz", (corpus / "evil" / "empty.cbz").read_bytes(), headers=auth_header)
    assert r.status_code == 200
    assert Archive.objects.get().pagecount == 0


def test_text_file_named_txt_is_415(client, auth_header, settings, corpus):
    r = upload(client, "readme.txt", (corpus / "evil" / "readme.txt").read_bytes(), headers=auth_header)
    assert r.status_code == 415
    assert_nothing_left(settings)


def test_long_and_non_ascii_names_are_kept(client, auth_header, corpus):
    evil = corpus / "evil"
    long_name = next(p.name for p in evil.iterdir() if p.name.startswith("xxxx"))
    for name in [long_name, "unicode ページ 名前.cbz"]:
        r = upload(client, name, (evil / name).read_bytes(), headers=auth_header)
        assert r.status_code == 200, r.content
    assert sorted(stored_files()) == sorted([long_name, "unicode ページ 名前.cbz"])
    assert Archive.objects.get(file="unicode ページ 名前.cbz").title == "unicode ページ 名前"


def test_a_name_too_long_for_the_filesystem_is_cut_keeping_the_extension(client, auth_header):
    name = "あ" * 120 + ".cbz"  # 360 bytes of UTF-8
    r = upload(client, name, cbz_bytes(), headers=auth_header)
    assert r.status_code == 200
    stored = Archive.objects.get().file
    assert stored.endswith(".cbz") and len((stored + ".upload").encode()) <= 255
    assert stored_files() == [stored]


def test_directory_parts_of_the_name_are_dropped(client, auth_header):
    r = upload(client, "../../escape.cbz", cbz_bytes(), headers=auth_header)
    assert r.status_code == 200
    assert stored_files() == ["escape.cbz"]


def test_upload_of_a_name_being_uploaded_is_423(client, auth_header, settings):
    with write_lock("upload:busy.cbz"):
        r = upload(client, "busy.cbz", cbz_bytes(), headers=auth_header)
    assert r.status_code == 423
    assert r.json() == {"operation": "upload", "success": 0, "error": "Locked resource: busy.cbz."}
    assert_nothing_left(settings)


def test_zip_bomb_is_accepted_without_inflating_it(client, auth_header, corpus):
    r = upload(client, "zipbomb.cbz", (corpus / "evil" / "zipbomb.cbz").read_bytes(), headers=auth_header)
    assert r.status_code == 200
    assert Archive.objects.get().pagecount == 2
