"""Pages stored unencoded (a stored zip member, a plain tar's member, a page-cache
file) are sent straight from the file: by sendfile() under gunicorn, read in
slices elsewhere. Either way exactly the member's bytes go out, ranges included,
and a kept-alive connection stays in step."""

from __future__ import annotations

import base64
import http.client
import io
import tarfile
import urllib.parse
import zipfile

import pytest

from archives import formats
from archives.fileslice import FileSlice
from tests.conftest import API_KEY
from tests.samples import cbz_bytes
from tests.samples import jpeg_bytes
from tests.samples import upload
from tests.workers import web_server


def tar_bytes(pages: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in pages.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def zip_bytes(pages: dict[str, bytes], compression: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in pages.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = compression
            z.writestr(info, data)
    return buf.getvalue()


PAGES = {f"{i:03d}.jpg": jpeg_bytes(i, size=(200, 300)) for i in range(1, 6)}


@pytest.mark.parametrize(
    ("maker", "stored"),
    [
        (lambda: zip_bytes(PAGES, zipfile.ZIP_STORED), True),
        (lambda: zip_bytes(PAGES, zipfile.ZIP_DEFLATED), False),
        (lambda: tar_bytes(PAGES), True),
    ],
    ids=["stored zip", "deflated zip", "tar"],
)
def test_spans_point_at_the_members_bytes(tmp_path, maker, stored):
    path = tmp_path / "book"
    data = maker()
    path.write_bytes(data)
    with formats.open_archive(path, limits=formats.Limits()) as reader:
        for name, page in PAGES.items():
            span = reader.span(name)
            if not stored:
                assert span is None
                continue
            assert data[span.offset : span.offset + span.length] == page
            with FileSlice(path, span.offset, span.length) as sliced:
                assert sliced.read() == page
        if stored:
            with pytest.raises(formats.MemberTooLarge):
                reader.span("001.jpg", max_bytes=10)
        with pytest.raises(formats.MemberNotFound):
            reader.span("../001.jpg")


@pytest.mark.parametrize("kind", ["rar4 stored", "rar5 stored", "rar5 compressed"])
def test_rar_spans_only_for_stored_members(tmp_path, kind):
    from tests.formats import rarbuild

    path = tmp_path / "book.cbr"
    members = list(PAGES.items())
    if kind == "rar4 stored":
        rarbuild.write_rar4_stored(path, members)
    elif kind == "rar5 stored":
        rarbuild.rar5.write_rar5(path, members)
    else:
        rarbuild.write_rar5_compressed(path, members)
    data = path.read_bytes()
    with formats.open_archive(path, limits=formats.Limits()) as reader:
        for name, page in PAGES.items():
            span = reader.span(name)
            if kind == "rar5 compressed":
                assert span is None
            else:
                assert data[span.offset : span.offset + span.length] == page


def test_local_header_extra_field_is_skipped(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        info = zipfile.ZipInfo("001.jpg")
        info.extra = b"\x99\x99\x04\x00abcd"  # an unknown extra block, 8 bytes
        z.writestr(info, PAGES["001.jpg"])
    data = buf.getvalue()
    (tmp_path / "x.cbz").write_bytes(data)
    with formats.open_archive(tmp_path / "x.cbz", limits=formats.Limits()) as reader:
        span = reader.span("001.jpg")
    assert data[span.offset : span.offset + span.length] == PAGES["001.jpg"]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_gunicorn_sends_exactly_the_member_over_one_connection(client, auth_header, tmp_path):
    cbz = cbz_bytes(["001.jpg", "002.jpg", "003.jpg"], seed=7, padding=300_000)
    tar = tar_bytes(PAGES)
    ids = [
        upload(client, name, data, headers=auth_header).json()["id"] for name, data in [("a.cbz", cbz), ("b.tar", tar)]
    ]
    expected = {
        ids[0]: {f"00{i + 1}.jpg": jpeg_bytes(7000 + i) for i in range(3)},
        ids[1]: PAGES,
    }
    token = base64.b64encode(API_KEY.encode()).decode()
    with web_server(tmp_path) as url:
        host = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
        headers = {"Authorization": f"Bearer {token}"}
        for arcid, pages in expected.items():
            for name, page in pages.items():
                conn.request("GET", f"/api/archives/{arcid}/page?path={name}", headers=headers)
                r = conn.getresponse()
                body = r.read()
                assert (r.status, r.getheader("Content-Type"), body) == (200, "image/jpeg", page)
                assert int(r.getheader("Content-Length")) == len(page)
            name, page = next(iter(pages.items()))
            conn.request(
                "GET", f"/api/archives/{arcid}/page?path={name}", headers={**headers, "Range": "bytes=100-199"}
            )
            r = conn.getresponse()
            assert (r.status, r.read(), r.getheader("Content-Range")) == (
                206,
                page[100:200],
                f"bytes 100-199/{len(page)}",
            )
        # The connection is still in step: the next reply parses.
        conn.request("GET", "/api/info", headers=headers)
        r = conn.getresponse()
        assert r.status == 200 and b'"version"' in r.read()
        conn.close()
