"""Both PyPI clients read the plugin, OPDS, file watcher, download, stamp and backup
replies over real HTTP (jobs run inline in the live server)."""

from __future__ import annotations

import asyncio
import io
import json
import xml.etree.ElementTree as ET
import zipfile

import pytest
from lanraragi import LRRClient
from lanraragi.models.minion import GetMinionJobStatusRequest
from lanraragi.models.misc import GetAvailablePluginsRequest
from lanraragi.models.misc import GetOpdsCatalogRequest
from lanraragi.models.misc import QueueUrlDownloadRequest
from lanraragi.models.misc import UsePluginAsyncRequest
from lanraragi.models.misc import UsePluginRequest
from lanraragi_api import LANraragiAPI

from archives.models import Archive
from archives.watcher import watcher_tick
from tests.conftest import API_KEY
from tests.downloads.server import Route
from tests.downloads.server import file_server
from tests.samples import cbz_bytes
from tests.samples import jpeg_bytes
from tests.samples import lrr_id

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _downloads_from_loopback(settings):
    # The download server of these tests runs on this machine, which downloads refuse
    # unless the owner allows the network.
    settings.HONDANA_DOWNLOAD_ALLOW_NETWORKS = ["127.0.0.0/8"]


COMICINFO = "<ComicInfo><Title>CI Title</Title><Penciller>Pen</Penciller><Genre>romance</Genre></ComicInfo>"


def comic() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("01.jpg", jpeg_bytes(1))
        z.writestr("02.jpg", jpeg_bytes(2))
        z.writestr("ComicInfo.xml", COMICINFO)
    return buf.getvalue()


def test_aio_lanraragi_reads_plugins_opds_shinobu_and_downloads(live_server):
    book = cbz_bytes(seed=21)
    watcher_tick(worker="web:77")

    async def scenario(server_url: str) -> None:
        async with LRRClient(live_server.url, lrr_api_key=API_KEY) as lrr:
            plugins, err = await lrr.misc_api.get_available_plugins(GetAvailablePluginsRequest(type="metadata"))
            assert err is None, err
            assert {p.namespace for p in plugins.plugins} == {"regexplugin", "comicinfo"}

            from lanraragi.models.archive import UploadArchiveRequest

            up, err = await lrr.archive_api.upload_archive(UploadArchiveRequest(file=comic(), filename="[A] B.cbz"))
            assert err is None, err
            used, err = await lrr.misc_api.use_plugin(UsePluginRequest(plugin="comicinfo", arcid=up.arcid))
            assert err is None, err
            assert used.type == "metadata" and used.data["title"] == "CI Title"
            assert used.data["new_tags"] == " artist:Pen, romance"
            _, err = await lrr.misc_api.use_plugin(UsePluginRequest(plugin="nope", arcid=up.arcid))
            assert err is not None and err.error == "Plugin not found on system."
            queued, err = await lrr.misc_api.use_plugin_async(
                UsePluginAsyncRequest(plugin="regexplugin", arcid=up.arcid)
            )
            assert err is None, err
            status, err = await lrr.minion_api.get_minion_job_status(GetMinionJobStatusRequest(job_id=queued.job))
            assert err is None and status.state == "finished"

            catalog, err = await lrr.misc_api.get_opds_catalog(GetOpdsCatalogRequest())
            assert err is None, err
            assert ET.fromstring(catalog.result).tag == "{http://www.w3.org/2005/Atom}feed"
            entry, err = await lrr.misc_api.get_opds_catalog(GetOpdsCatalogRequest(arcid=up.arcid))
            assert err is None and f"urn:lrr:{up.arcid}" in entry.result

            alive, err = await lrr.shinobu_api.get_shinobu_status()
            assert err is None and (alive.is_alive, alive.pid) == (True, 77)
            _, err = await lrr.shinobu_api.stop_shinobu()
            assert err is None
            restarted, err = await lrr.shinobu_api.restart_shinobu()
            assert err is None and restarted.new_pid == 77

            download, err = await lrr.misc_api.queue_url_download(QueueUrlDownloadRequest(url=f"{server_url}/book.cbz"))
            assert err is None, err
            assert download.url == f"{server_url}/book.cbz"
            done, err = await lrr.minion_api.get_minion_job_status(GetMinionJobStatusRequest(job_id=download.job))
            assert err is None and done.state == "finished"

    with file_server({"/book.cbz": Route(book)}) as server:
        asyncio.run(scenario(server.url))
    assert Archive.objects.filter(pk=lrr_id(book)).exists()


def test_lanraragi_api_reads_plugins_opds_stamps_shinobu_backup_and_downloads(live_server):
    api = LANraragiAPI(live_server.url, key=API_KEY, raise_on_operation_error=True)
    arcid = api.archives.upload_archive(("(C1) [G (A)] Title [English].cbz", comic()))["id"]

    infos = api.plugins.get_available_plugins("all")
    regex = next(p for p in infos if p.namespace == "regexplugin")
    assert regex.parameters[2].default_value.startswith("(\\(")
    used = api.plugins.use_plugin("regexplugin", id=arcid)
    assert used.type == "metadata" and used.data["title"] == "Title"
    job = api.plugins.use_plugin_async("comicinfo", id=arcid).job
    assert api.minion.get_basic_status(job).state == "finished"

    feed = api.opds.get_opds_catalog()
    assert ET.fromstring(feed).find("{http://www.w3.org/2005/Atom}entry") is not None
    assert "<entry" in api.opds.get_opds_catalog(archive_id=arcid)
    page = api.opds.get_opds_page(arcid, page=2)
    assert page.status_code == 200 and page.content == jpeg_bytes(2)

    added = api.stamps.add_stamp(arcid, 1, content="hello", position="10,20")
    assert added.success == 1 and added.stamp_id
    assert api.stamps.get_stamped_pages(arcid).result == ["1"]
    assert [s.content for s in api.stamps.get_stamps_by_page(arcid, 1)] == ["hello"]
    assert api.stamps.update_stamp(added.stamp_id, content="bye").success == 1
    assert api.stamps.get_stamp(added.stamp_id).content == "bye"
    assert api.stamps.delete_stamp(added.stamp_id).success == 1

    watcher_tick(worker="web:88")
    assert api.shinobu.get_shinobu_status() == {"operation": "shinobu_status", "success": 1, "is_alive": 1, "pid": 88}
    assert api.shinobu.stop_shinobu().success == 1
    assert api.shinobu.restart_shinobu().success == 1
    rescan = api.shinobu.rescan_shinobu()
    assert rescan.success == 1 and rescan.model_extra["new_pid"] == 88

    backup_job = api.database.queue_backup().job
    backup = api.database.download_backup(backup_job, format="json").json()
    assert [a["arcid"] for a in backup["archives"]] == [arcid]
    assert json.loads(api.database.download_backup(backup_job).content) == backup

    book = cbz_bytes(seed=22)
    with file_server({"/dl/book.cbz": Route(book)}) as server:
        queued = api.misc.queue_url_to_download(f"{server.url}/dl/book.cbz", use_form_data=True)
        assert queued.success == 1 and queued.url == f"{server.url}/dl/book.cbz" and queued.category is None
        assert api.minion.get_basic_status(queued.job).state == "finished"
    assert Archive.objects.filter(pk=lrr_id(book)).exists()
