"""POST /api/download_url and its job, against a real HTTP server on 127.0.0.1.

The server is on loopback, which downloads refuse unless it is allow-listed: these
tests allow 127.0.0.0/8 (test_download_guard.py covers the refusals).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote
from urllib.parse import urlencode

import pytest
from django.core.files.storage import storages

from archives.models import Archive
from archives.models import CategoryItem
from jobs.models import Job
from tests.downloads.server import Route
from tests.downloads.server import file_server
from tests.samples import cbz_bytes
from tests.samples import lrr_id

pytestmark = pytest.mark.django_db

BOOK = cbz_bytes(seed=11)
FAILED = "The URL could not be downloaded."


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    settings.HONDANA_DOWNLOAD_ALLOW_NETWORKS = ["127.0.0.0/8"]


@pytest.fixture
def server():
    routes = {
        "/files/get": Route(BOOK, headers={"Content-Disposition": 'attachment; filename="Real Name.cbz"'}),
        "/files/utf8": Route(
            cbz_bytes(seed=12), headers={"Content-Disposition": "attachment; filename*=UTF-8''%E6%9C%AC%20x.cbz"}
        ),
        "/plain/My%20Book.cbz": Route(cbz_bytes(seed=13)),
        "/redirect": Route(status=302, headers={"Location": "/plain/My%20Book.cbz"}),
        "/text.cbz": Route(b"not an archive at all"),
        "/to-ftp": Route(status=302, headers={"Location": "ftp://127.0.0.1/x.cbz"}),
    }
    with file_server(routes) as running:
        yield running


def queue(client, auth_header, capture, **query):
    with capture(execute=True):
        return client.post(f"/api/download_url?{urlencode(query)}", **auth_header)


def result(response) -> dict:
    return Job.objects.get(pk=response.json()["job"]).result


def test_a_download_becomes_an_archive_with_its_source(client, auth_header, server, django_capture_on_commit_callbacks):
    catid = client.put("/api/categories?name=Downloads", **auth_header).json()["category_id"]
    url = f"{server.url}/files/get?session=1"

    r = queue(client, auth_header, django_capture_on_commit_callbacks, url=url, catid=catid)

    assert r.status_code == 200
    body = r.json()
    assert {k: body[k] for k in ("operation", "url", "category", "success")} == {
        "operation": "download_url",
        "url": url,
        "category": catid,
        "success": 1,
    }
    job = Job.objects.get(pk=body["job"])
    assert (job.task, job.args, job.priority, job.attempts, job.state) == (
        "download_url",
        [url, catid],
        1,
        5,
        "finished",
    )
    source = f"{server.url.removeprefix('http://')}/files/get"
    assert job.result == {
        "success": 1,
        "url": source,
        "id": lrr_id(BOOK),
        "category": catid,
        "title": "Real Name",
        "message": "0 Plugins used successfully, 0 Plugins failed, 0 tags added. Added to Category 'Downloads'!",
    }
    archive = Archive.objects.get(pk=lrr_id(BOOK))
    assert (archive.file, archive.pagecount) == ("Real Name.cbz", 3)
    assert archive.tags.split(",")[0] == f"source:{source}"
    assert storages["archives"].open("Real Name.cbz").read() == BOOK
    assert CategoryItem.objects.filter(category_id=catid, archive=archive).exists()

    # The same URL, even spelt differently, is not fetched twice.
    hits = len(server.hits)
    again = queue(client, auth_header, django_capture_on_commit_callbacks, url=f"https://www.{source}/")
    assert result(again) == {"success": 0, "url": source, "id": archive.pk, "message": "URL already downloaded!"}
    assert len(server.hits) == hits


def test_file_names_come_from_the_header_or_the_url(client, auth_header, server, django_capture_on_commit_callbacks):
    utf8 = queue(client, auth_header, django_capture_on_commit_callbacks, url=f"{server.url}/files/utf8")
    assert result(utf8)["title"] == "本 x"
    redirected = queue(client, auth_header, django_capture_on_commit_callbacks, url=f"{server.url}/redirect")
    assert result(redirected)["success"] == 1
    assert Archive.objects.filter(file="My Book.cbz").exists()
    assert sorted(Archive.objects.values_list("file", flat=True)) == ["My Book.cbz", "本 x.cbz"]


def test_failures_are_job_results(client, auth_header, server, settings, django_capture_on_commit_callbacks):
    def fails(url: str) -> str:
        r = queue(client, auth_header, django_capture_on_commit_callbacks, url=url)
        outcome = result(r)
        assert outcome["success"] == 0, outcome
        return outcome["message"]

    # What went wrong on the network is not the caller's to know (it maps ports).
    assert fails(f"{server.url}/nothing-here.cbz") == FAILED
    assert fails(f"{server.url}/to-ftp") == FAILED
    assert fails("http://127.0.0.1:9/closed.cbz") == FAILED
    # What went wrong with the URL itself or the file it gave is.
    assert fails(f"{server.url}/text.cbz") == "Unreadable archive."
    assert fails("ftp://127.0.0.1/file.cbz") == "Not a proper URL"
    assert fails("http://[::1/file.cbz") == "Not a proper URL"
    settings.HONDANA_DOWNLOAD_MAX_BYTES = 1000
    assert fails(f"{server.url}/files/get") == "The file is larger than 1000 bytes."
    assert not Archive.objects.exists()
    # Nothing is left behind: not in the content folder, not in the upload spool.
    assert not any(Path(storages["archives"].location).glob("*"))
    assert list(Path(settings.FILE_UPLOAD_TEMP_DIR).iterdir()) == []


def test_the_request_is_checked(client, auth_header):
    r = client.post("/api/download_url", **auth_header)
    assert r.status_code == 400
    assert r.json() == {"operation": "download_url", "error": "No URL specified.", "success": 0, "successMessage": ""}
    assert client.post("/api/download_url?url=http://x/y.cbz").status_code == 401
    r = client.post("/api/download_url?url=http://x/y.cbz&catid=SET_1", **auth_header)
    assert r.json()["errors"][0] == {"message": "String is too short: 5/14.", "path": "/catid"}
    # A multipart form body works as well as the query (aio-lanraragi sends one).
    r = client.post("/api/download_url", {"url": f"http://127.0.0.1:9/{quote('a b')}.cbz"}, **auth_header)
    assert r.json()["success"] == 1 and r.json()["category"] is None
    assert not Job.objects.filter(state="finished").exists()
