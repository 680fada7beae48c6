"""Both PyPI clients read every corpus format page by page and save progress."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import unquote

import pytest
from lanraragi import LRRClient
from lanraragi.models.archive import ExtractArchiveRequest
from lanraragi.models.archive import GetArchiveMetadataRequest
from lanraragi.models.archive import GetArchivePageRequest
from lanraragi.models.archive import UpdateReadingProgressionRequest
from lanraragi.models.archive import UploadArchiveRequest
from lanraragi_api import LANraragiAPI

from tests.conftest import API_KEY
from tests.formats.test_formats_corpus import independent_bytes
from tests.reading.test_api_pages import FORMAT_OF
from tests.reading.test_api_pages import expected_names

pytestmark = pytest.mark.django_db(transaction=True)


def entries(corpus):
    return json.loads((corpus / "manifest.json").read_text())["archives"][:7]


def check_page(entry, corpus, name: str, data: bytes) -> None:
    if entry["format"] == "pdf":
        assert data[:2] == b"\xff\xd8"
    else:
        assert data == independent_bytes(corpus / entry["file"], FORMAT_OF[entry["format"]], [name])[name]


def test_aio_lanraragi_reads_every_format(live_server, corpus):
    async def scenario() -> None:
        async with LRRClient(live_server.url, lrr_api_key=API_KEY) as lrr:
            for entry in entries(corpus):
                data = (corpus / entry["file"]).read_bytes()
                up, err = await lrr.archive_api.upload_archive(UploadArchiveRequest(file=data, filename=entry["file"]))
                assert err is None, err
                files, err = await lrr.archive_api.extract_archive(ExtractArchiveRequest(arcid=up.arcid))
                assert err is None, err
                names = [unquote(p.split("path=", 1)[1]) for p in files.pages]
                assert names == expected_names(entry)
                for url, name in zip(files.pages, names, strict=True):
                    page, err = await lrr.archive_api.get_archive_page(GetArchivePageRequest(page_url=url))
                    assert err is None, err
                    check_page(entry, corpus, name, page.data)
                last = len(names)
                progress, err = await lrr.archive_api.update_reading_progression(
                    UpdateReadingProgressionRequest(arcid=up.arcid, page=last)
                )
                assert err is None and progress.page == last
                meta, _ = await lrr.archive_api.get_archive_metadata(GetArchiveMetadataRequest(arcid=up.arcid))
                assert meta.progress == last and meta.lastreadtime == progress.lastreadtime

    asyncio.run(scenario())


def test_lanraragi_api_reads_every_format(live_server, corpus):
    api = LANraragiAPI(live_server.url, key=API_KEY)
    for entry in entries(corpus):
        arcid = api.archives.upload_archive((entry["file"], (corpus / entry["file"]).read_bytes()))["id"]
        pages = api.archives.extract_archive(arcid)["pages"]
        names = [unquote(p.split("path=", 1)[1]) for p in pages]
        assert names == expected_names(entry)
        for name in names:
            check_page(entry, corpus, name, api.archives.get_archive_page(arcid, name).content)
        assert api.archives.update_reading_progression(arcid, 1).success == 1
        assert api.archives.get_archive_metadata(arcid).progress == 1
