"""Archive records over the API: list, metadata, edit, delete, download, new flag."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.storage import storages

from archives.locks import write_lock
from archives.models import Archive
from archives.models import ReadingState
from tests.samples import cbz_bytes
from tests.samples import upload

pytestmark = pytest.mark.django_db

UNKNOWN = "f" * 40
UNKNOWN_ERROR = "This ID doesn&#39;t exist on the server."


@pytest.fixture
def arcid(client, auth_header) -> str:
    r = upload(client, "Sample Book.cbz", cbz_bytes(), headers=auth_header, tags="artist:wada rco,female:glasses")
    assert r.status_code == 200
    return r.json()["id"]


def test_metadata_has_every_field_with_lrr_types(client, arcid):
    data = client.get(f"/api/archives/{arcid}/metadata").json()
    assert set(data) == {
        "arcid",
        "title",
        "filename",
        "extension",
        "tags",
        "summary",
        "isnew",
        "pagecount",
        "progress",
        "lastreadtime",
        "size",
        "toc",
    }
    assert data["arcid"] == arcid
    assert data["title"] == data["filename"] == "Sample Book"
    assert data["extension"] == "cbz"
    assert data["tags"].startswith("artist:wada rco,female:glasses,date_added:")
    assert data["summary"] == ""
    assert data["isnew"] is True
    assert (data["pagecount"], data["progress"], data["lastreadtime"]) == (3, 0, 0)
    assert isinstance(data["size"], int) and data["size"] > 0
    assert data["toc"] == []


def test_deprecated_alias_answers_the_same(client, arcid):
    assert client.get(f"/api/archives/{arcid}").json() == client.get(f"/api/archives/{arcid}/metadata").json()


def test_json_keys_are_sorted(client, arcid):
    body = client.get(f"/api/archives/{arcid}/metadata").content.decode()
    keys = [k for k in ("arcid", "extension", "filename", "isnew", "lastreadtime", "pagecount")]
    positions = [body.index(f'"{k}"') for k in keys]
    assert positions == sorted(positions)


def test_unknown_id_is_the_escaped_400_envelope(client):
    r = client.get(f"/api/archives/{UNKNOWN}/metadata")
    assert r.status_code == 400
    assert r.json() == {"operation": "metadata", "error": UNKNOWN_ERROR, "success": 0, "successMessage": ""}


@pytest.mark.parametrize(
    ("arcid", "message"), [("123", "String is too short: 3/40."), ("a" * 41, "String is too long: 41/40.")]
)
def test_ids_of_the_wrong_length_fail_validation(client, arcid, message):
    r = client.get(f"/api/archives/{arcid}/metadata")
    assert r.status_code == 400
    assert r.json() == {"errors": [{"message": message, "path": "/id"}], "status": 400}


def test_list_has_every_archive_and_hides_missing_files(client, auth_header, arcid):
    other = upload(client, "Other.cbz", cbz_bytes(seed=9), headers=auth_header).json()["id"]
    listing = client.get("/api/archives").json()
    assert sorted(a["arcid"] for a in listing) == sorted([arcid, other])
    assert all(isinstance(a["isnew"], bool) for a in listing)
    storages["archives"].delete("Other.cbz")
    assert client.get(f"/api/archives/{other}/metadata").status_code == 400
    assert [a["arcid"] for a in client.get("/api/archives").json()] == [arcid]


def test_put_metadata_needs_the_key(client, arcid):
    r = client.put(f"/api/archives/{arcid}/metadata", data="title=x", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 401


def test_put_metadata_edits_title_tags_summary(client, auth_header, arcid):
    r = client.put(
        f"/api/archives/{arcid}/metadata",
        data="title=%20New%20%22Title%22%0A&tags=a,%20b%20,a,&summary=%20keep%20me%0A",
        content_type="application/x-www-form-urlencoded",
        **auth_header,
    )
    assert r.status_code == 200
    assert r.json() == {
        "operation": "update_metadata",
        "error": "",
        "success": 1,
        "successMessage": "Updated metadata for &quot;New &quot;Title&quot;&quot;!",
    }
    data = client.get(f"/api/archives/{arcid}/metadata").json()
    assert (data["title"], data["tags"], data["summary"]) == ('New "Title"', "a,b", " keep me\n")


def test_put_metadata_from_query_string_and_empty_rules(client, auth_header, arcid):
    r = client.put(f"/api/archives/{arcid}/metadata?title=&tags=", **auth_header)
    assert r.status_code == 200
    data = client.get(f"/api/archives/{arcid}/metadata").json()
    assert data["title"] == "Sample Book"  # an empty title is ignored
    assert data["tags"] == ""  # empty tags clear


def test_put_metadata_with_only_summary_is_refused(client, auth_header, arcid):
    r = client.put(f"/api/archives/{arcid}/metadata?summary=x", **auth_header)
    assert r.status_code == 400
    assert r.json()["error"] == "No metadata parameters (Please supply title, tags or summary)"


def test_put_metadata_on_unknown_id_leaves_no_ghost(client, auth_header):
    r = client.put(f"/api/archives/{UNKNOWN}/metadata?title=x", **auth_header)
    assert r.status_code == 400
    assert r.json()["error"] == UNKNOWN_ERROR
    assert not Archive.objects.filter(pk=UNKNOWN).exists()


def test_put_metadata_while_locked_is_423(client, auth_header, arcid):
    with write_lock(f"archive-write:{arcid}", resource=arcid):
        r = client.put(f"/api/archives/{arcid}/metadata?title=x", **auth_header)
    assert r.status_code == 423
    assert r.json() == {"operation": "update_metadata", "success": 0, "error": f"Locked resource: {arcid}."}


# The new flag is reading state and never takes the lock (tests/security/test_reading_state_locks.py).
@pytest.mark.parametrize(("method", "suffix", "operation"), [("delete", "", "delete_archive")])
def test_delete_while_locked_is_423(client, auth_header, arcid, method, suffix, operation):
    ReadingState.objects.update(isnew=False)
    with write_lock(f"archive-write:{arcid}", resource=arcid):
        r = getattr(client, method)(f"/api/archives/{arcid}{suffix}", **auth_header)
    assert r.status_code == 423
    assert r.json() == {"operation": operation, "success": 0, "error": f"Locked resource: {arcid}."}
    assert Path(storages["archives"].path("Sample Book.cbz")).exists()
    assert ReadingState.objects.get().isnew is False


def test_clean_skips_an_archive_being_written(client, auth_header, arcid):
    storages["archives"].delete("Sample Book.cbz")
    with write_lock(f"archive-write:{arcid}", resource=arcid):
        r = client.post("/api/database/clean", **auth_header)
    assert r.status_code == 200 and r.json()["deleted"] == 0
    assert client.post("/api/database/clean", **auth_header).json()["deleted"] == 1


def test_delete_removes_file_and_record(client, auth_header, arcid):
    path = storages["archives"].path("Sample Book.cbz")
    assert client.delete(f"/api/archives/{arcid}").status_code == 401
    r = client.delete(f"/api/archives/{arcid}", **auth_header)
    assert r.status_code == 200
    assert r.json() == {"operation": "delete_archive", "id": arcid, "filename": path, "success": 1}
    assert not Path(path).exists()
    assert not Archive.objects.exists() and not ReadingState.objects.exists()


def test_delete_of_unknown_id_is_200_with_success_zero(client, auth_header):
    r = client.delete(f"/api/archives/{UNKNOWN}", **auth_header)
    assert r.status_code == 200
    assert r.json() == {"operation": "delete_archive", "id": UNKNOWN, "filename": "0", "success": 0}


def test_untagged_lists_archives_with_only_basic_tags(client, auth_header, arcid):
    plain = upload(client, "plain.cbz", cbz_bytes(seed=3), headers=auth_header, tags="artist:x,series:y").json()["id"]
    assert client.get("/api/archives/untagged").json() == [plain]
    client.delete(f"/api/archives/{plain}", **auth_header)
    assert client.get("/api/archives/untagged").json() == []


def test_download_sends_the_file_with_ranges(client, arcid):
    data = Path(storages["archives"].path("Sample Book.cbz")).read_bytes()
    r = client.get(f"/api/archives/{arcid}/download")
    assert r.status_code == 200
    assert b"".join(r.streaming_content) == data
    assert r["Content-Type"] == 'application/x-download;name="Sample Book.cbz"'
    assert r["Content-Disposition"] == 'attachment;filename="Sample Book.cbz"'
    r = client.get(f"/api/archives/{arcid}/download", HTTP_RANGE="bytes=10-19")
    assert r.status_code == 206
    assert b"".join(r.streaming_content) == data[10:20]
    assert r["Content-Range"] == f"bytes 10-19/{len(data)}"
    r = client.get(f"/api/archives/{arcid}/download", HTTP_RANGE="bytes=-5")
    assert b"".join(r.streaming_content) == data[-5:]
    r = client.get(f"/api/archives/{arcid}/download", HTTP_RANGE=f"bytes={len(data)}-")
    assert r.status_code == 416
    assert r["Content-Range"] == f"bytes */{len(data)}"


def test_download_of_non_ascii_name_uses_rfc6266(client, auth_header):
    arcid = upload(client, "ページ.cbz", cbz_bytes(seed=4), headers=auth_header).json()["id"]
    r = client.get(f"/api/archives/{arcid}/download")
    assert r.status_code == 200
    assert "filename*=UTF-8''%E3%83%9A%E3%83%BC%E3%82%B8.cbz" in r["Content-Disposition"]


def test_download_of_unknown_id_is_400(client):
    r = client.get(f"/api/archives/{UNKNOWN}/download")
    assert r.status_code == 400
    assert r.json()["operation"] == "download_archive"


def test_new_flag_put_is_protected_and_delete_is_public(client, auth_header, arcid):
    r = client.delete(f"/api/archives/{arcid}/isnew")
    assert r.status_code == 200
    assert r.json() == {"operation": "clear_new", "id": arcid, "success": 1}
    assert client.get(f"/api/archives/{arcid}/metadata").json()["isnew"] is False
    assert client.put(f"/api/archives/{arcid}/isnew").status_code == 401
    r = client.put(f"/api/archives/{arcid}/isnew", **auth_header)
    assert r.status_code == 200 and r.json()["success"] == 1 and r.json()["operation"] == "add_new"
    assert client.get(f"/api/archives/{arcid}/metadata").json()["isnew"] is True


def test_new_flag_on_unknown_id_is_400(client, auth_header):
    assert client.delete(f"/api/archives/{UNKNOWN}/isnew").status_code == 400
    assert client.put(f"/api/archives/{UNKNOWN}/isnew", **auth_header).json()["error"] == UNKNOWN_ERROR


def test_clear_all_new(client, auth_header, arcid):
    upload(client, "b.cbz", cbz_bytes(seed=5), headers=auth_header)
    assert client.delete("/api/database/isnew").status_code == 401
    r = client.delete("/api/database/isnew", **auth_header)
    assert r.status_code == 200
    assert r.json()["operation"] == "clear_new_all" and r.json()["success"] == 1
    assert not any(a["isnew"] for a in client.get("/api/archives").json())


def test_head_works_where_get_does(client, arcid):
    r = client.head(f"/api/archives/{arcid}/metadata")
    assert r.status_code == 200
    r = client.head(f"/api/archives/{arcid}/download")
    assert r.status_code == 200 and int(r["Content-Length"]) == Archive.objects.get().size


def test_info_reports_a_lanraragi_version_and_counts(client, arcid):
    info = client.get("/api/info").json()
    assert tuple(int(x) for x in info["version"].split(".")) >= (0, 9, 40)
    assert info["total_archives"] == 1
    for key in (
        "has_password",
        "nofun_mode",
        "server_tracks_progress",
        "authenticated_progress",
        "debug_mode",
        "server_resizes_images",
    ):
        assert isinstance(info[key], bool), key
    for key in ("archives_per_page", "total_pages_read", "cache_last_cleared", "total_archives"):
        assert isinstance(info[key], int), key
    assert info["excluded_namespaces"] == ["source", "date_added"]


NUL_ERROR = "String contains a NUL character."


@pytest.mark.parametrize(
    ("method", "url", "param"),
    [
        ("put", "/api/archives/{a}/metadata?title=a%00b", "/title"),
        ("put", "/api/archives/{a}/metadata?title=x&summary=%00", "/summary"),
        ("put", "/api/archives/{a}/toc?page=1&title=%00", "/title"),
        ("get", "/api/archives/{a}/page?path=001.jpg%00", "/path"),
        ("get", "/api/search?filter=a%00", "/filter"),
        ("get", "/api/search?sortby=a%00", "/sortby"),
        ("put", "/api/categories?name=a%00", "/name"),
        ("put", "/api/tankoubons?name=a%00", "/name"),
        ("post", "/api/download_url?url=http://127.0.0.1/%00", "/url"),
        ("get", "/api/archives/{a}/metadata".replace("{a}", "0" * 39 + "%00"), "/"),
        ("get", "/api/categories/SET_000000000%00", "/"),
        ("get", "/api/tankoubons/TANK_000000000%00", "/"),
        ("post", '/api/minion/run_plugin/queue?args=["x","{a}","%5Cu0000"]', "/args/2"),
    ],
)  # fmt: skip
def test_nul_characters_are_a_400_not_a_postgresql_500(client, auth_header, arcid, method, url, param):
    r = getattr(client, method)(url.replace("{a}", arcid), **auth_header)
    assert r.status_code == 400, r.content
    assert r.json() == {"errors": [{"message": NUL_ERROR, "path": param}], "status": 400}
    assert client.get(f"/api/archives/{arcid}/metadata").json()["title"] == "Sample Book"


def test_nul_in_upload_fields_and_json_bodies_is_a_400(client, auth_header, arcid):
    import json

    r = upload(client, "b.cbz", cbz_bytes(seed=3), headers=auth_header, title="a\x00b")
    assert r.status_code == 400
    assert r.json()["errors"][0] == {"message": NUL_ERROR, "path": "/title"}
    assert Archive.objects.count() == 1
    tank = client.put("/api/tankoubons?name=T", **auth_header).json()["tankoubon_id"]
    body = json.dumps({"archives": [arcid], "metadata": {"name": "x\x00"}})
    r = client.put(f"/api/tankoubons/{tank}", body, content_type="application/json", **auth_header)
    assert r.status_code == 400
    assert r.json()["errors"][0] == {"message": NUL_ERROR, "path": "/body/metadata/name"}
    assert client.get(f"/api/tankoubons/{tank}").json()["name"] == "T"


def test_object_values_in_a_json_body_are_no_parameters(client, auth_header, arcid):
    r = client.put(
        f"/api/archives/{arcid}/metadata", '{"title": {"a": 1}}', content_type="application/json", **auth_header
    )
    assert r.status_code == 400
    assert r.json()["error"] == "No metadata parameters (Please supply title, tags or summary)"
    assert client.get(f"/api/archives/{arcid}/metadata").json()["title"] == "Sample Book"


def test_unpaired_surrogates_in_json_bodies_are_a_400(client, auth_header, arcid):
    r = client.put(
        f"/api/archives/{arcid}/metadata", '{"title": "a\\ud800"}', content_type="application/json", **auth_header
    )
    assert r.status_code == 400
    assert r.json()["errors"][0] == {"message": "String contains an unpaired surrogate.", "path": "/title"}
    tank = client.put("/api/tankoubons?name=T", **auth_header).json()["tankoubon_id"]
    r = client.put(
        f"/api/tankoubons/{tank}",
        '{"metadata": {"summary": "\\udfff"}}',
        content_type="application/json",
        **auth_header,
    )
    assert r.status_code == 400 and r.json()["errors"][0]["path"] == "/body/metadata/summary"
    r = client.post(f'/api/minion/run_plugin/queue?args=["x","{arcid}","%5Cud800"]', **auth_header)
    assert r.status_code == 400 and r.json()["errors"][0]["path"] == "/args/2"
    # Nothing was stored that would break later replies.
    assert client.get(f"/api/archives/{arcid}/metadata").status_code == 200
    assert client.get(f"/api/tankoubons/{tank}").status_code == 200


def test_bodies_and_query_strings_django_refuses_get_json_4xx(client, auth_header, arcid, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    big = "title=" + "x" * 20_000
    r = client.put(
        f"/api/archives/{arcid}/metadata", big, content_type="application/x-www-form-urlencoded", **auth_header
    )
    assert r.status_code == 413
    assert r.json() == {"errors": [{"message": "Request body too large.", "path": "/body"}], "status": 413}
    tank = client.put("/api/tankoubons?name=T", **auth_header).json()["tankoubon_id"]
    body = '{"archives": [' + ",".join(['"' + "0" * 40 + '"'] * 500) + "]}"
    r = client.put(f"/api/tankoubons/{tank}", body, content_type="application/json", **auth_header)
    assert r.status_code == 413 and r.json()["status"] == 413
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
    many = "&".join(f"f{i}=1" for i in range(2000))
    r = client.get(f"/api/search?{many}")
    assert r.status_code == 400
    assert r.json() == {"errors": [{"message": "Too many parameters.", "path": "/"}], "status": 400}
    r = client.put(
        f"/api/archives/{arcid}/metadata",
        many + "&title=x",
        content_type="application/x-www-form-urlencoded",
        **auth_header,
    )
    assert r.status_code == 400 and r.json()["errors"][0]["message"] == "Too many parameters."
    assert client.get(f"/api/archives/{arcid}/metadata").json()["title"] == "Sample Book"


def test_deleting_a_record_whose_file_is_gone_answers_filename_0(client, auth_header, arcid):
    storages["archives"].delete("Sample Book.cbz")
    r = client.delete(f"/api/archives/{arcid}", **auth_header)
    assert r.status_code == 200
    assert r.json() == {"operation": "delete_archive", "id": arcid, "filename": "0", "success": 0}
    assert not Archive.objects.exists()


FORM = "application/x-www-form-urlencoded"


def test_huge_titles_are_kept_with_capped_index_keys_and_huge_tags_are_a_400(client, auth_header, arcid):
    # PostgreSQL refuses btree index entries past 2,704 bytes (random text doesn't compress).
    import json
    import random
    import string
    from urllib.parse import urlencode

    rng = random.Random(5)
    title = "".join(rng.choice(string.ascii_lowercase + "0123456789 ") for _ in range(5000))
    r = client.put(f"/api/archives/{arcid}/metadata", urlencode({"title": title}), content_type=FORM, **auth_header)
    assert r.status_code == 200, r.content
    assert client.get(f"/api/archives/{arcid}/metadata").json()["title"] == title.strip()
    row = Archive.objects.get()
    assert len(row.title_sort.encode()) <= 1200 and len(row.title_lower.encode()) <= 1200
    long_value = "".join(rng.choice(string.ascii_lowercase) for _ in range(900))
    r = client.put(
        f"/api/archives/{arcid}/metadata", urlencode({"tags": f"series:{long_value}"}), content_type=FORM, **auth_header
    )
    assert r.status_code == 200, r.content  # 907 bytes: under the cap, its sort value capped
    too_long = "x" * 1001
    r = client.put(
        f"/api/archives/{arcid}/metadata", urlencode({"tags": f"a,{too_long}"}), content_type=FORM, **auth_header
    )
    assert r.status_code == 400
    assert r.json() == {"errors": [{"message": "Tag too long: 1001/1000 bytes.", "path": "/tags"}], "status": 400}
    assert upload(client, "b.cbz", cbz_bytes(seed=9), headers=auth_header, tags=too_long).status_code == 400
    tank = client.put("/api/tankoubons?name=T", **auth_header).json()["tankoubon_id"]
    body = json.dumps({"metadata": {"tags": too_long}})
    r = client.put(f"/api/tankoubons/{tank}", body, content_type="application/json", **auth_header)
    assert r.status_code == 400 and r.json()["errors"][0]["path"] == "/body/metadata/tags"
    assert client.get(f"/api/archives/{arcid}/metadata").json()["tags"] == f"series:{long_value}"
