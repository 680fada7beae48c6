"""The no_fallback flow and the page-thumbnail notes protocol through both PyPI clients."""

from __future__ import annotations

import asyncio

import pytest
from django.core.files.storage import storages
from lanraragi import LRRClient
from lanraragi.models.archive import GetArchiveThumbnailRequest
from lanraragi.models.archive import QueueArchiveThumbnailExtractionRequest
from lanraragi.models.archive import UploadArchiveRequest
from lanraragi.models.minion import GetMinionJobStatusRequest
from lanraragi_api import LANraragiAPI

from archives.storage import thumbnail_key
from tests.conftest import API_KEY
from tests.samples import cbz_bytes

pytestmark = pytest.mark.django_db(transaction=True)


def test_aio_lanraragi_thumbnail_flows(live_server):
    async def scenario() -> None:
        async with LRRClient(live_server.url, lrr_api_key=API_KEY) as lrr:
            up, err = await lrr.archive_api.upload_archive(
                UploadArchiveRequest(file=cbz_bytes(["1.jpg", "2.jpg", "3.jpg"]), filename="t.cbz")
            )
            assert err is None, err
            # The cover job ran when the upload committed (jobs run inline in tests).
            cover, err = await lrr.archive_api.get_archive_thumbnail(
                GetArchiveThumbnailRequest(arcid=up.arcid, nofallback=True)
            )
            assert err is None and cover.job is None and cover.content[:2] == b"\xff\xd8"

            queued, err = await lrr.archive_api.get_archive_thumbnail(
                GetArchiveThumbnailRequest(arcid=up.arcid, page=2, nofallback=True)
            )
            assert err is None and isinstance(queued.job, int)
            status, err = await lrr.minion_api.get_minion_job_status(GetMinionJobStatusRequest(job_id=queued.job))
            assert err is None and status.state == "finished" and status.task == "thumbnail_task"
            page, _ = await lrr.archive_api.get_archive_thumbnail(
                GetArchiveThumbnailRequest(arcid=up.arcid, page=2, nofallback=True)
            )
            assert page.job is None and page.content

            job, err = await lrr.archive_api.queue_archive_thumbnail_extraction(
                QueueArchiveThumbnailExtractionRequest(arcid=up.arcid)
            )
            assert err is None and isinstance(job.job, int)
            status, err = await lrr.minion_api.get_minion_job_status(GetMinionJobStatusRequest(job_id=job.job))
            assert err is None, err
            assert status.notes["total_pages"] == "3"
            assert all(status.notes[str(n)] == "processed" for n in (1, 2, 3))
            again, err = await lrr.archive_api.queue_archive_thumbnail_extraction(
                QueueArchiveThumbnailExtractionRequest(arcid=up.arcid)
            )
            assert err is None and again.job is None and again.message.startswith("No job queued")

    asyncio.run(scenario())


def test_lanraragi_api_thumbnail_flows(live_server):
    api = LANraragiAPI(live_server.url, key=API_KEY)
    arcid = api.archives.upload_archive(("u.cbz", cbz_bytes(["a.jpg", "b.jpg"], seed=5)))["id"]
    storages["thumbnails"].delete(thumbnail_key(arcid))
    r = api.archives.get_archive_thumbnail(arcid, page=0, no_fallback=True)
    assert r.status_code == 202
    job = r.json()["job"]
    assert api.minion.get_basic_status(job).state == "finished"
    assert api.archives.get_archive_thumbnail(arcid, page=0, no_fallback=True).headers["Content-Type"] == "image/jpeg"
    queued = api.archives.queue_extraction_of_page_thumbnails(arcid)
    assert queued.job is not None
    status = api.minion.get_basic_status(queued.job)
    assert status.notes == {"1": "processed", "2": "processed", "total_pages": "2", "id": arcid}
    assert api.archives.queue_extraction_of_page_thumbnails(arcid).job is None
    assert api.archives.update_thumbnail(arcid, page=2).success == 1


def test_aio_lanraragi_force_flags_sent_as_form_fields(live_server):
    """aio-lanraragi sends `force=True` (Python's spelling) in a form body; LANraragi's
    validator checks only the query string, so the handler takes it as set."""
    from lanraragi.models.minion import GetMinionJobDetailRequest
    from lanraragi.models.misc import RegenerateThumbnailRequest

    async def scenario() -> None:
        async with LRRClient(live_server.url, lrr_api_key=API_KEY) as lrr:
            up, err = await lrr.archive_api.upload_archive(
                UploadArchiveRequest(file=cbz_bytes(["1.jpg", "2.jpg"]), filename="f.cbz")
            )
            assert err is None, err
            regen, err = await lrr.misc_api.regenerate_thumbnails(RegenerateThumbnailRequest(force=True))
            assert err is None and isinstance(regen.job, int), err
            detail, err = await lrr.minion_api.get_minion_job_details(GetMinionJobDetailRequest(job_id=regen.job))
            assert err is None, err
            assert detail.task == "regen_all_thumbnails" and detail.args[-1] in (1, True)
            first, err = await lrr.archive_api.queue_archive_thumbnail_extraction(
                QueueArchiveThumbnailExtractionRequest(arcid=up.arcid)
            )
            assert err is None and isinstance(first.job, int), err
            forced, err = await lrr.archive_api.queue_archive_thumbnail_extraction(
                QueueArchiveThumbnailExtractionRequest(arcid=up.arcid, force=True)
            )
            assert err is None and isinstance(forced.job, int) and forced.job != first.job, (err, forced)

    asyncio.run(scenario())
