"""The PyPI LANraragi clients drive the archive store over real HTTP (a live server)."""

from __future__ import annotations

import asyncio
import json

import pytest
from lanraragi import LRRClient
from lanraragi.models.archive import ClearNewArchiveFlagRequest
from lanraragi.models.archive import DeleteArchiveRequest
from lanraragi.models.archive import DownloadArchiveRequest
from lanraragi.models.archive import GetArchiveMetadataRequest
from lanraragi.models.archive import UpdateArchiveMetadataRequest
from lanraragi.models.archive import UploadArchiveRequest
from lanraragi_api import LANraragiAPI

from tests.conftest import API_KEY
from tests.samples import lrr_id
from tests.samples import sha1

pytestmark = pytest.mark.django_db(transaction=True)


def corpus_files(corpus):
    manifest = json.loads((corpus / "manifest.json").read_text())
    return [(e, (corpus / e["file"]).read_bytes()) for e in manifest["archives"]]


def test_aio_lanraragi_uploads_lists_edits_downloads_and_deletes_every_format(live_server, corpus):
    files = corpus_files(corpus)

    async def scenario() -> None:
        async with LRRClient(live_server.url, lrr_api_key=API_KEY) as lrr:
            info, err = await lrr.misc_api.get_server_info()
            assert err is None, err
            assert info.version == "0.9.81"

            for entry, data in files:
                resp, err = await lrr.archive_api.upload_archive(
                    UploadArchiveRequest(file=data, filename=entry["file"], file_checksum=sha1(data), tags="aio:yes")
                )
                assert err is None, (entry["file"], err)
                assert resp.arcid == lrr_id(data)

            resp, err = await lrr.archive_api.upload_archive(
                UploadArchiveRequest(file=files[0][1], filename="again.cbz")
            )
            assert err is not None and err.status == 409 and resp.arcid == lrr_id(files[0][1])

            listing, err = await lrr.archive_api.get_all_archives()
            assert err is None, err
            assert sorted(a.arcid for a in listing.data) == sorted(lrr_id(d) for _, d in files)

            for entry, data in files:
                arcid = lrr_id(data)
                meta, err = await lrr.archive_api.get_archive_metadata(GetArchiveMetadataRequest(arcid=arcid))
                assert err is None, err
                assert meta.pagecount == entry["pages"] and meta.title == entry["title_stem"]
                assert meta.tags.startswith("aio:yes,date_added:")

                _, err = await lrr.archive_api.update_archive_metadata(
                    UpdateArchiveMetadataRequest(arcid=arcid, title=f"Edited {entry['format']}", tags="a:b,c")
                )
                assert err is None, err
                meta, _ = await lrr.archive_api.get_archive_metadata(GetArchiveMetadataRequest(arcid=arcid))
                assert (meta.title, meta.tags) == (f"Edited {entry['format']}", "a:b,c")

                got, err = await lrr.archive_api.download_archive(DownloadArchiveRequest(arcid=arcid))
                assert err is None, err
                assert got.data == data

                cleared, err = await lrr.archive_api.clear_new_archive_flag(ClearNewArchiveFlagRequest(arcid=arcid))
                assert err is None and cleared.arcid == arcid

                deleted, err = await lrr.archive_api.delete_archive(DeleteArchiveRequest(arcid=arcid))
                assert err is None, err
                assert deleted.filename.endswith(entry["file"])

            listing, _ = await lrr.archive_api.get_all_archives()
            assert listing.data == []

    asyncio.run(scenario())


def test_lanraragi_api_uploads_lists_edits_downloads_and_deletes_every_format(live_server, corpus):
    files = corpus_files(corpus)
    api = LANraragiAPI(live_server.url, key=API_KEY, raise_on_operation_error=True)
    assert api.misc.get_server_information().version == "0.9.81"

    for entry, data in files:
        result = api.archives.upload_archive(
            (entry["file"], data), title=f"T {entry['file']}", file_checksum=sha1(data)
        )
        assert result.success == 1
        assert result["id"] == lrr_id(data)

    archives = api.archives.get_all_archives()
    assert sorted(a.arcid for a in archives) == sorted(lrr_id(d) for _, d in files)
    for entry, data in files:
        arcid = lrr_id(data)
        meta = api.archives.get_archive_metadata(arcid)
        assert meta is not None and meta.title == f"T {entry['file']}" and meta.pagecount == entry["pages"]
        assert api.archives.update_archive_metadata(arcid, title="Renamed", tags="x:y").success == 1
        assert api.archives.get_archive(arcid).tags == "x:y"
        assert api.archives.download_archive(arcid).content == data
        assert api.archives.delete_archive(arcid).success == 1
        assert api.archives.get_archive_metadata(arcid) is None

    untagged = LANraragiAPI(live_server.url).archives.get_untagged_archives()
    assert untagged == []


def test_lanraragi_api_with_the_key_as_query_parameter(live_server, corpus):
    from lanraragi_api.entity.base import Auth

    entry, data = corpus_files(corpus)[0]
    api = LANraragiAPI(live_server.url, key=API_KEY, auth_way=Auth.QUERY_PARAM)
    assert api.archives.upload_archive((entry["file"], data)).success == 1
    assert api.database.clear_all_new_flags().success == 1
    assert api.archives.get_archive_metadata(lrr_id(data)).isnew is False
