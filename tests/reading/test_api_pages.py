"""Page lists and page bytes over the API (behavior.md §4-5), every corpus format."""

from __future__ import annotations

import io
import json
import tracemalloc
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.files.storage import storages
from PIL import Image

from archives.models import PageCacheEntry
from archives.models import ServerConfig
from tests.formats.test_formats_corpus import independent_bytes
from tests.samples import cbz_bytes
from tests.samples import jpeg_bytes
from tests.samples import upload

pytestmark = pytest.mark.django_db

FORMAT_OF = {"cbz": "zip", "zip": "zip", "epub": "epub", "cbr": "rar", "cb7": "7z", "tar": "tar", "pdf": "pdf"}


def manifest(corpus: Path) -> dict:
    return json.loads((corpus / "manifest.json").read_text())


def put(client, auth_header, path: Path, name: str | None = None) -> str:
    r = upload(client, name or path.name, path.read_bytes(), headers=auth_header)
    assert r.status_code == 200, r.content
    return r.json()["id"]


def expected_names(entry: dict) -> list[str]:
    if entry["format"] == "pdf":
        return [f"{k}.jpg" for k in range(1, entry["pages"] + 1)]
    if entry["format"] == "epub":
        return [f"OEBPS/{n}" for n in entry["page_order"]]
    return entry["page_order"]


@pytest.mark.parametrize("fmt", ["cbz", "zip", "cbr", "cb7", "tar", "pdf", "epub"])
def test_every_format_lists_pages_in_order_and_serves_their_bytes(
    client, auth_header, corpus, fmt, django_capture_on_commit_callbacks
):
    entry = next(e for e in manifest(corpus)["archives"] if e["format"] == fmt)
    arcid = put(client, auth_header, corpus / entry["file"])
    r = client.get(f"/api/archives/{arcid}/files")
    assert r.status_code == 200
    assert list(r.json()) == ["pages"]
    names = expected_names(entry)
    assert r.json()["pages"] == [f"/api/archives/{arcid}/page?path={quote(n, safe='/')}" for n in names]
    expected = None if fmt == "pdf" else independent_bytes(corpus / entry["file"], FORMAT_OF[fmt], names)
    for url in r.json()["pages"]:
        with django_capture_on_commit_callbacks(execute=True):
            page = client.get(url)
        assert page.status_code == 200, page.getvalue()
        name = url.split("path=", 1)[1]
        data = page.getvalue()
        if fmt == "pdf":
            assert page["Content-Type"] == "image/jpeg"
            assert Image.open(io.BytesIO(data)).format == "JPEG"
        else:
            from urllib.parse import unquote

            assert data == expected[unquote(name)]
            assert (
                page["Content-Type"]
                == {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}[name.rsplit(".", 1)[1]]
            )
        assert page["Content-Disposition"] == 'inline;filename="page"'


def test_page_replies_carry_cache_headers_and_ranges(client, auth_header):
    arcid = upload(client, "a.cbz", cbz_bytes(), headers=auth_header).json()["id"]
    url = f"/api/archives/{arcid}/page?path=002.jpg"
    r = client.get(url)
    data = r.getvalue()
    assert data == jpeg_bytes(1)
    assert "max-age=31536000" in r["Cache-Control"] and r["ETag"] and r["Last-Modified"]
    assert client.get(url, HTTP_IF_NONE_MATCH=r["ETag"]).status_code == 304
    part = client.get(url, HTTP_RANGE="bytes=0-9")
    assert part.status_code == 206 and part.getvalue() == data[:10]
    assert part["Content-Range"] == f"bytes 0-9/{len(data)}"
    assert client.get(url, HTTP_RANGE=f"bytes={len(data) + 5}-").status_code == 416


def test_any_member_can_be_fetched_not_only_pages(client, auth_header):
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("001.jpg", jpeg_bytes())
        z.writestr("ComicInfo.xml", b"<ComicInfo/>")
    arcid = upload(client, "info.cbz", buf.getvalue(), headers=auth_header).json()["id"]
    r = client.get(f"/api/archives/{arcid}/page?path=ComicInfo.xml")
    assert r.status_code == 200 and r.getvalue() == b"<ComicInfo/>"


@pytest.mark.parametrize(
    "probe",
    ["../../etc/passwd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "..%2F..%2Fetc%2Fpasswd", "/etc/passwd",
     "%252e%252e%252fetc%252fpasswd", "001.jpg/../../../etc/passwd", "./001.jpg", "001.JPG", ""],
)  # fmt: skip
def test_path_probes_find_nothing(client, auth_header, probe):
    arcid = upload(client, "a.cbz", cbz_bytes(), headers=auth_header).json()["id"]
    r = client.get(f"/api/archives/{arcid}/page?path={probe}")
    assert r.status_code == 404
    assert r.json() == {"operation": "serve_page", "success": 0, "error": "File not found in archive."}


def test_traversal_members_are_only_names(client, auth_header, corpus, tmp_path):
    arcid = put(client, auth_header, corpus / "evil" / "traversal.cbz")
    pages = client.get(f"/api/archives/{arcid}/files").json()["pages"]
    assert len(pages) == 3
    r = client.get(f"/api/archives/{arcid}/page?path={quote('../../../../tmp/evil-escape.jpg', safe='/')}")
    assert r.status_code == 200 and r.getvalue()[:2] == b"\xff\xd8"
    assert not Path("/tmp/evil-escape.jpg").exists()


def test_path_is_required(client, auth_header):
    arcid = upload(client, "a.cbz", cbz_bytes(), headers=auth_header).json()["id"]
    r = client.get(f"/api/archives/{arcid}/page")
    assert r.json() == {"errors": [{"message": "Missing property.", "path": "/path"}], "status": 400}


def test_unknown_archive_is_400(client):
    r = client.get(f"/api/archives/{'0' * 40}/files")
    assert r.status_code == 400 and r.json()["operation"] == "get_file_list"
    r = client.get(f"/api/archives/{'0' * 40}/page?path=1.jpg")
    assert r.status_code == 400 and r.json()["operation"] == "serve_page"


def test_zip_bomb_member_is_refused_without_inflating_it(client, auth_header, corpus):
    arcid = put(client, auth_header, corpus / "evil" / "zipbomb.cbz")
    tracemalloc.start()
    try:
        r = client.get(f"/api/archives/{arcid}/page?path=002.jpg")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.status_code == 413
    assert peak < 64 * 1024 * 1024
    assert client.get(f"/api/archives/{arcid}/page?path=001.jpg").status_code == 200


def test_three_thousand_pages_in_natural_order(client, auth_header, corpus):
    arcid = put(client, auth_header, corpus / "evil" / "manypages.cbz")
    pages = client.get(f"/api/archives/{arcid}/files").json()["pages"]
    assert [p.rsplit("=", 1)[1] for p in pages] == [f"{i}.jpg" for i in range(1, 3001)]
    assert client.get(f"/api/archives/{arcid}/metadata").json()["pagecount"] == 3000


def test_unicode_names_round_trip_and_nfd_finds_nfc(client, auth_header, corpus):
    import unicodedata

    arcid = put(client, auth_header, corpus / "evil" / "unicode ページ 名前.cbz")
    pages = client.get(f"/api/archives/{arcid}/files").json()["pages"]
    assert pages[0].endswith("path=%E3%83%9A%E3%83%BC%E3%82%B81.jpg")
    assert client.get(pages[0]).status_code == 200
    nfd = quote(unicodedata.normalize("NFD", "ページ1.jpg"))
    assert client.get(f"/api/archives/{arcid}/page?path={nfd}").status_code == 200


def test_solid_7z_is_unpacked_once_into_the_page_cache(client, auth_header, corpus, django_capture_on_commit_callbacks):
    entry = next(e for e in manifest(corpus)["archives"] if e["format"] == "cb7")
    arcid = put(client, auth_header, corpus / entry["file"])
    first = f"/api/archives/{arcid}/page?path={quote(entry['page_order'][-1])}"
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get(first).status_code == 200  # read directly; queues the unpack
    cache_entry = PageCacheEntry.objects.get(archive_id=arcid)
    assert cache_entry.state == "complete" and cache_entry.pages == entry["pages"]
    # Later pages come from the cache: the archive file is no longer needed for them.
    archive_path = Path(storages["archives"].path(entry["file"]))
    original = archive_path.read_bytes()
    archive_path.write_bytes(b"")
    try:
        for name in entry["page_order"]:
            assert client.get(f"/api/archives/{arcid}/page?path={quote(name)}").status_code == 200
    finally:
        archive_path.write_bytes(original)
    from jobs.models import Job

    assert Job.objects.filter(task="extract_pages").count() == 1


def test_tempfolder_clears_the_page_cache(client, auth_header, corpus, django_capture_on_commit_callbacks):
    entry = next(e for e in manifest(corpus)["archives"] if e["format"] == "pdf")
    arcid = put(client, auth_header, corpus / entry["file"])
    with django_capture_on_commit_callbacks(execute=True):
        client.get(f"/api/archives/{arcid}/page?path=1.jpg")
    assert PageCacheEntry.objects.filter(archive_id=arcid).exists()
    assert client.delete("/api/tempfolder").status_code == 401
    r = client.delete("/api/tempfolder", **auth_header)
    assert r.json() == {"operation": "cleantemp", "success": 1, "error": "", "newsize": 0}
    assert not PageCacheEntry.objects.exists()
    root = Path(storages["pagecache"].location)
    assert not any(p.is_file() for p in root.rglob("*"))


def test_page_cache_evicts_least_recently_read(client, auth_header, corpus, django_capture_on_commit_callbacks):
    ServerConfig.objects.update_or_create(pk=1, defaults={"tempmaxsize": 1})
    pdfs = [e for e in manifest(corpus)["archives"] if e["format"] in ("pdf", "cb7")]
    ids = []
    for entry in pdfs:
        arcid = put(client, auth_header, corpus / entry["file"])
        ids.append(arcid)
        name = "1.jpg" if entry["format"] == "pdf" else entry["page_order"][0]
        with django_capture_on_commit_callbacks(execute=True):
            client.get(f"/api/archives/{arcid}/page?path={quote(name)}")
    remaining = PageCacheEntry.objects.values_list("bytes", flat=True)
    assert sum(remaining) <= 1024 * 1024 or len(remaining) == 1
    assert PageCacheEntry.objects.filter(archive_id=ids[-1]).exists()


def test_ranges_with_thousands_of_digits_are_416_or_the_whole_reply(client, auth_header):
    arcid = upload(client, "a.cbz", cbz_bytes(), headers=auth_header).json()["id"]
    huge = "9" * 5000
    for url in (f"/api/archives/{arcid}/page?path=002.jpg", f"/api/archives/{arcid}/download",
                f"/api/archives/{arcid}/thumbnail"):  # fmt: skip
        assert client.get(url, HTTP_RANGE=f"bytes={huge}-").status_code == 416, url
        whole = client.get(url)
        suffix = client.get(url, HTTP_RANGE=f"bytes=-{huge}")
        assert suffix.status_code == 206, url
        body = b"".join(suffix.streaming_content) if suffix.streaming else suffix.content
        assert body == (b"".join(whole.streaming_content) if whole.streaming else whole.content)


def test_a_pdf_page_name_of_thousands_of_digits_is_404(client, auth_header, corpus):
    entry = next(e for e in manifest(corpus)["archives"] if e["format"] == "pdf")
    arcid = put(client, auth_header, corpus / entry["file"])
    r = client.get(f"/api/archives/{arcid}/page?path={'9' * 5000}.jpg")
    assert r.status_code == 404
    assert r.json() == {"operation": "serve_page", "success": 0, "error": "File not found in archive."}
