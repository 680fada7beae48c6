"""Both PyPI clients read search, category, tank and database replies over real HTTP."""

from __future__ import annotations

import asyncio

import pytest
from lanraragi import LRRClient
from lanraragi.models.category import AddArchiveToCategoryRequest
from lanraragi.models.category import CreateCategoryRequest
from lanraragi.models.category import GetCategoryRequest
from lanraragi.models.category import UpdateBookmarkLinkRequest
from lanraragi.models.database import GetDatabaseStatsRequest
from lanraragi.models.search import GetRandomArchivesRequest
from lanraragi.models.search import SearchArchiveIndexRequest
from lanraragi.models.tankoubon import AddArchiveToTankoubonRequest
from lanraragi.models.tankoubon import CreateTankoubonRequest
from lanraragi.models.tankoubon import GetAllTankoubonsRequest
from lanraragi.models.tankoubon import GetTankoubonFullRequest
from lanraragi.models.tankoubon import GetTankoubonRequest
from lanraragi.models.tankoubon import TankoubonMetadata
from lanraragi.models.tankoubon import UpdateTankoubonRequest
from lanraragi_api import LANraragiAPI

from tests.conftest import API_KEY
from tests.library import make_archive

pytestmark = pytest.mark.django_db(transaction=True)


def test_aio_lanraragi_reads_search_categories_tanks_and_stats(live_server):
    a = make_archive("Alpha", "artist:wada rco,female:glasses,date_added:10", isnew=True)
    b = make_archive("Beta", "artist:other,date_added:20")
    c = make_archive("Gamma", "artist:wada rco,date_added:30")

    async def scenario() -> None:
        async with LRRClient(live_server.url, lrr_api_key=API_KEY) as lrr:
            res, err = await lrr.search_api.search_archive_index(
                SearchArchiveIndexRequest(search_filter="artist:wada rco")
            )
            assert err is None, err
            assert [d.arcid for d in res.data] == [a, c] and res.records_filtered == 2 and res.records_total == 3
            res, _ = await lrr.search_api.search_archive_index(
                SearchArchiveIndexRequest(sortby="date_added", order="desc", newonly=False)
            )
            assert [d.arcid for d in res.data] == [c, b, a]
            rnd, err = await lrr.search_api.get_random_archives(GetRandomArchivesRequest(count=2))
            assert err is None and rnd.records_total == 2
            _, err = await lrr.search_api.discard_search_cache()
            assert err is None

            created, err = await lrr.category_api.create_category(CreateCategoryRequest(name="Shelf", pinned=True))
            assert err is None, err
            added, err = await lrr.category_api.add_archive_to_category(
                AddArchiveToCategoryRequest(category_id=created.category_id, arcid=a)
            )
            assert err is None and added.success_message.startswith("Added")
            got, err = await lrr.category_api.get_category(GetCategoryRequest(category_id=created.category_id))
            assert err is None and got.archives == [a] and got.pinned is True
            listed, err = await lrr.category_api.get_all_categories()
            assert err is None and created.category_id in {x.category_id for x in listed.data}
            link, err = await lrr.category_api.update_bookmark_link(
                UpdateBookmarkLinkRequest(category_id=created.category_id)
            )
            assert err is None and link.category_id == created.category_id
            res, _ = await lrr.search_api.search_archive_index(SearchArchiveIndexRequest(category=created.category_id))
            assert [d.arcid for d in res.data] == [a]

            tank, err = await lrr.tankoubon_api.create_tankoubon(CreateTankoubonRequest(name="Tank"))
            assert err is None, err
            for arcid in (b, c):
                _, err = await lrr.tankoubon_api.add_archive_to_tankoubon(
                    AddArchiveToTankoubonRequest(tank_id=tank.tank_id, arcid=arcid)
                )
                assert err is None, err
            _, err = await lrr.tankoubon_api.update_tankoubon(
                UpdateTankoubonRequest(tank_id=tank.tank_id, metadata=TankoubonMetadata(summary="S", tags="series:t"))
            )
            assert err is None, err
            one, err = await lrr.tankoubon_api.get_tankoubon(GetTankoubonRequest(tank_id=tank.tank_id))
            assert err is None and one.archives == [b, c] and one.tags == "series:t"
            full, err = await lrr.tankoubon_api.get_tankoubon_full(GetTankoubonFullRequest(tank_id=tank.tank_id))
            assert err is None and [d.arcid for d in full.result.full_data] == [b, c] and full.total == 2
            page, err = await lrr.tankoubon_api.get_all_tankoubons(GetAllTankoubonsRequest(page=0))
            assert err is None and page.total == 1
            res, err = await lrr.search_api.search_archive_index(SearchArchiveIndexRequest(groupby_tanks=True))
            assert err is None and [d.arcid for d in res.data] == [a, tank.tank_id] and res.records_total == 2

            stats, err = await lrr.database_api.get_database_stats(GetDatabaseStatsRequest(minweight=2))
            assert err is None and {(s.namespace, s.text) for s in stats.data} == {("artist", "wada rco")}
            backup, err = await lrr.database_api.get_database_backup()
            assert err is None and len(backup.archives) == 3 and backup.tankoubons[0].archives == [b, c]
            cleaned, err = await lrr.database_api.clean_database()
            assert err is None and cleaned.deleted == 0

    asyncio.run(scenario())


def test_lanraragi_api_reads_search_categories_tanks_and_database(live_server):
    a = make_archive("Alpha", "artist:x,date_added:5")
    b = make_archive("Beta", "artist:y,date_added:6")
    api = LANraragiAPI(live_server.url, key=API_KEY, raise_on_operation_error=True)

    result = api.search.search(filter="artist:x")
    assert [d.arcid for d in result.data] == [a] and result.recordsFiltered == 1 and result.recordsTotal == 2
    assert api.search.search_archive_ids(sortby="date_added", order="desc").data == [b, a]
    assert len(api.search.get_random_archives(count=1)) == 1
    assert api.search.discard_search_cache().success == 1

    created = api.categories.create_category("Shelf")
    catid = created["category_id"]
    assert api.categories.add_archive_to_category(catid, a).success == 1
    assert api.categories.get_category(catid).archives == [a]
    assert catid in {c.id for c in api.categories.get_all_categories()}

    tank_id = api.tankoubons.create_tankoubon("Tank")["tankoubon_id"]
    assert api.tankoubons.add_archive_to_tankoubon(tank_id, b).success == 1
    assert [t.tankid for t in api.tankoubons.get_all_tankoubons()] == [tank_id]
    full = api.tankoubons.get_tankoubon_full(tank_id)
    assert [d.arcid for d in full.result.full_data] == [b]

    stats = api.database.get_tag_statistics()
    assert {s.text for s in stats} >= {"x", "y"}
    backup = api.database.get_backup()
    assert {x.arcid for x in backup.archives} == {a, b} and backup.tankoubons[0].tankid == tank_id
    assert api.database.clean_database().success == 1
