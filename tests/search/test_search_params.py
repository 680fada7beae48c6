"""Search narrowing, sorting, paging, tanks in results, random picks and the cache."""

from __future__ import annotations

import pytest

from archives import categories
from archives import services
from archives import tankoubons
from archives.models import ServerConfig
from tests.library import make_archive

pytestmark = pytest.mark.django_db


def search(client, **params) -> dict:
    r = client.get("/api/search", {"start": "-1", **params})
    assert r.status_code == 200, r.content
    return r.json()


def ids(client, **params) -> list[str]:
    r = client.get("/api/search/ids", {"start": "-1", **params})
    assert r.status_code == 200, r.content
    return r.json()["data"]


def set_page_size(size: int) -> None:
    row, _ = ServerConfig.objects.get_or_create(pk=1)
    row.archives_per_page = size
    row.save()


def test_reply_shape_has_no_draw(client):
    make_archive("A", "x")
    data = search(client)
    assert set(data) == {"data", "recordsFiltered", "recordsTotal"}
    assert set(data["data"][0]) >= {"arcid", "title", "tags", "isnew", "pagecount", "progress", "toc", "size"}
    assert data["data"][0]["isnew"] is False


def test_title_sort_is_natural_ties_by_id_and_desc_reverses(client):
    a10 = make_archive("Vol 10")
    a9 = make_archive("vol 9")
    b1 = make_archive("B", arcid="b" * 40)
    b2 = make_archive("b", arcid="a" * 40)
    assert ids(client) == [b2, b1, a9, a10]
    assert ids(client, order="desc") == [a10, a9, b1, b2]
    assert ids(client, order="DESC") == [b2, b1, a9, a10]  # only exactly `desc`


def test_sort_by_namespace_uses_the_last_tag_and_puts_items_without_it_last(client):
    old = make_archive("Z old", "date_added:900")
    new = make_archive("A new", "date_added:1000000000")
    last = make_archive("M twice", "date_added:5,date_added:50")
    none_b = make_archive("B none")
    none_a = make_archive("A none")
    assert ids(client, sortby="date_added") == [last, old, new, none_a, none_b]
    assert ids(client, sortby="date_added", order="desc") == [new, old, last, none_a, none_b]


def test_sort_namespace_is_matched_literally(client):
    x = make_archive("X", "artist:b")
    y = make_archive("Y", "artist:a")
    assert ids(client, sortby="artist") == [y, x]
    assert ids(client, sortby="art.st") == [x, y]  # no such namespace: title order


def test_lastread_sort_is_newest_first_and_drops_unread(client):
    make_archive("Never")
    early = make_archive("Early", lastread=100)
    late = make_archive("Late", lastread=200)
    assert ids(client, sortby="lastread") == [late, early]
    assert ids(client, sortby="lastread", order="desc") == [early, late]


def test_paging_uses_the_page_size_and_start_is_an_offset(client):
    set_page_size(2)
    made = [make_archive(f"T{i}") for i in range(5)]
    assert search(client, start=0)["data"][0]["arcid"] == made[0]
    assert [d["arcid"] for d in search(client, start=1)["data"]] == made[1:3]
    page = search(client, start=4)
    assert [d["arcid"] for d in page["data"]] == made[4:]
    assert page["recordsFiltered"] == 5 and page["recordsTotal"] == 5
    assert search(client, start=9)["data"] == []
    assert len(search(client, start=-1)["data"]) == 5
    assert [d["arcid"] for d in search(client, start=-7)["data"]] == made[:2]  # other negatives: 0


def test_static_category_restricts_and_dynamic_ands_its_search(client):
    a = make_archive("A", "artist:x")
    b = make_archive("B", "artist:y")
    static = categories.category_create(name="S")
    categories.category_add(catid=static.pk, item_id=a)
    dynamic = categories.category_create(name="D", search="artist:y")
    assert ids(client, category=static.pk) == [a]
    assert ids(client, category=dynamic.pk) == [b]
    assert ids(client, category=dynamic.pk, filter="artist:x") == []
    assert ids(client, category="SET_0000000001") == []  # unknown: empty (LANraragi ignores it)
    assert search(client, category="SET_0000000001")["recordsTotal"] == 2


def test_category_must_have_14_characters(client):
    r = client.get("/api/search", {"category": ""})
    assert r.status_code == 400
    assert r.json() == {"errors": [{"message": "String is too short: 0/14.", "path": "/category"}], "status": 400}
    assert (
        client.get("/api/search", {"category": "S" * 15}).json()["errors"][0]["message"] == "String is too long: 15/14."
    )


def test_newonly_keeps_new_archives(client):
    fresh = make_archive("Fresh", isnew=True)
    make_archive("Old")
    assert ids(client, newonly="true") == [fresh]
    assert len(ids(client, newonly="false")) == 2


def test_untaggedonly_keeps_archives_with_only_basic_tags(client):
    bare = make_archive("Bare", "artist:a,date_added:1,source:x.org")
    make_archive("Tagged", "artist:a,female:glasses")
    none = make_archive("None")
    assert set(ids(client, untaggedonly="1")) == {bare, none}
    assert set(client.get("/api/archives/untagged").json()) == {bare, none}


def test_hidecompleted_hides_progress_over_85_percent(client):
    done = make_archive("Done", pagecount=100, progress=86)
    edge = make_archive("Edge", pagecount=100, progress=85)
    empty = make_archive("Empty", pagecount=0, progress=3)
    assert done not in ids(client, hidecompleted="true")
    assert set(ids(client, hidecompleted="true")) == {edge, empty}


@pytest.mark.parametrize("name", ["newonly", "untaggedonly", "hidecompleted", "groupby_tanks"])
def test_boolean_flags_are_validated(client, name):
    r = client.get("/api/search", {name: "yes"})
    assert r.status_code == 400
    assert r.json()["errors"] == [{"message": "Expected boolean - got string.", "path": f"/{name}"}]


def test_start_must_be_an_integer(client):
    r = client.get("/api/search", {"start": "007"})
    assert r.json()["errors"] == [{"message": "Expected integer - got string.", "path": "/start"}]


def test_grouped_search_shows_tanks_instead_of_their_archives(client):
    one = make_archive("One", "artist:x,date_added:10", pagecount=10, isnew=True, lastread=50)
    two = make_archive("Two", "artist:y,female:z,date_added:20", pagecount=5, lastread=70)
    alone = make_archive("Alone", "artist:x")
    tank = tankoubons.tank_create(name="Big Tank")
    tankoubons.tank_update(tank_id=tank.pk, archives=[one, two], metadata={"tags": "series:big"})
    grouped = search(client)
    assert [d["arcid"] for d in grouped["data"]] == [alone, tank.pk]
    assert grouped["recordsTotal"] == 2
    row = grouped["data"][1]
    assert row == {
        "arcid": tank.pk,
        "title": "Big Tank",
        "filename": "",
        "extension": ".tank",
        "tags": "series:big,artist:x,artist:y,female:z,date_added:20",
        "summary": "Tankoubon containing: One,Two",
        "isnew": True,
        "progress": 0,
        "pagecount": 15,
        "lastreadtime": 70,
        "size": 2000,
        "archive_count": 2,
    }
    flat = search(client, groupby_tanks="false")
    assert {d["arcid"] for d in flat["data"]} == {one, two, alone}
    assert flat["recordsTotal"] == 3


def test_tanks_match_their_own_and_their_members_tags_but_never_page_counts(client):
    one = make_archive("One", "female:z", pagecount=10)
    make_archive("Other", "artist:q", pagecount=10)
    tank = tankoubons.tank_create(name="Tank")
    tankoubons.tank_update(tank_id=tank.pk, archives=[one], metadata={"tags": "series:own"})
    assert ids(client, filter="female:z") == [tank.pk]
    assert ids(client, filter="series:own") == [tank.pk]
    assert ids(client, filter="tank") == [tank.pk]  # by name
    assert tank.pk not in ids(client, filter="pages:10")
    assert tank.pk in ids(client, filter="-female:q")
    assert ids(client, filter="female:z", groupby_tanks="false") == [one]
    assert tank.pk not in ids(client, untaggedonly="true")


def test_a_tank_is_new_when_a_member_is(client):
    one = make_archive("One", isnew=False)
    tank = tankoubons.tank_create(name="Tank")
    tankoubons.tank_update(tank_id=tank.pk, archives=[one], metadata=None)
    assert ids(client, newonly="true") == []
    services.archive_set_new(arcid=one, isnew=True)
    assert ids(client, newonly="true") == [tank.pk]


def test_tanks_merge_into_every_sort_order(client):
    a = make_archive("A", "date_added:100")
    c = make_archive("C", "date_added:300", lastread=5)
    member = make_archive("member", "date_added:200", lastread=9)
    tank = tankoubons.tank_create(name="B tank")
    tankoubons.tank_update(tank_id=tank.pk, archives=[member], metadata=None)
    assert ids(client) == [a, tank.pk, c]
    assert ids(client, order="desc") == [c, tank.pk, a]
    assert ids(client, sortby="date_added", order="desc") == [c, tank.pk, a]
    assert ids(client, sortby="lastread") == [tank.pk, c]
    set_page_size(1)
    assert search(client, start=1)["data"][0]["arcid"] == tank.pk


def test_random_picks_count_items_from_the_result(client):
    made = {make_archive(f"R{i}", "artist:r") for i in range(8)}
    r = client.get("/api/search/random", {"count": 3, "filter": "artist:r"}).json()
    assert r["recordsTotal"] == 3 and len(r["data"]) == 3 and {d["arcid"] for d in r["data"]} <= made
    assert client.get("/api/search/random").json()["recordsTotal"] == 5
    assert client.get("/api/search/random", {"count": 0}).json()["recordsTotal"] == 5
    assert client.get("/api/search/random", {"count": -2}).json() == {"data": [], "recordsTotal": 0}
    assert client.get("/api/search/random", {"count": 50}).json()["recordsTotal"] == 8


def test_every_write_changes_the_next_search(client, auth_header):
    a = make_archive("A", "artist:one")
    assert ids(client, filter="artist:two") == []
    services.archive_update_metadata(arcid=a, tags="artist:two")
    assert ids(client, filter="artist:two") == [a]
    services.archive_update_metadata(arcid=a, title="Renamed")
    assert ids(client, filter="renamed") == [a]
    services.archive_set_new(arcid=a, isnew=True)
    assert ids(client, newonly="true") == [a]
    services.archives_clear_new()
    assert ids(client, newonly="true") == []
    services.archive_delete(arcid=a)
    assert ids(client) == []


def test_clearing_the_cache_needs_the_key(client, auth_header):
    r = client.delete("/api/search/cache")
    assert r.status_code == 401
    assert r.json() == {"errors": [{"message": "Unauthorized", "path": "/security/0/api_key"}], "status": 401}
    r = client.delete("/api/search/cache", **auth_header)
    assert r.json() == {"operation": "clear_cache", "error": "", "success": 1, "successMessage": ""}


def test_info_counts_tanks_and_archives_in_no_tank(client):
    one = make_archive("One")
    make_archive("Two")
    tank = tankoubons.tank_create(name="T")
    tankoubons.tank_update(tank_id=tank.pk, archives=[one], metadata=None)
    info = client.get("/api/info").json()
    assert info["total_archives"] == 2
    assert info["cache_last_cleared"] > 0


def test_huge_numbers_in_page_and_read_tokens_match_nothing_bigger(client):
    a = make_archive("A", "x", pagecount=20, progress=3)
    huge = "99999999999999999999999"
    assert ids(client, filter=f"pages:>{huge}") == []
    assert ids(client, filter=f"read:{huge}") == []
    assert ids(client, filter=f"pages:<{huge}") == [a]


def test_repeated_tokens_count_once_and_too_many_terms_are_a_400(client):
    a = make_archive("A", "x")
    assert ids(client, filter=",".join(["x"] * 3000)) == [a]
    assert ids(client, filter=",".join(f"-t{i}" for i in range(256))) == [a]
    r = client.get("/api/search", {"filter": ",".join(f"t{i}" for i in range(1000))})
    assert r.status_code == 400
    assert r.json() == {"errors": [{"message": "Too many search terms: 1000/256.", "path": "/filter"}], "status": 400}
    assert client.get("/api/search/ids", {"filter": ",".join(f"t{i}" for i in range(300))}).status_code == 400
    assert client.get("/api/search/random", {"filter": ",".join(f"t{i}" for i in range(300))}).status_code == 400


@pytest.mark.parametrize("value", ["9223372036854775808", "-9223372036854775809", "99999999999999999999999"])
def test_integers_past_64_bits_are_a_validation_error(client, value):
    make_archive("A", "x")
    for url, name in [("/api/search", "start"), ("/api/search/random", "count"), ("/api/database/stats", "minweight"),
                      ("/api/tankoubons", "page")]:  # fmt: skip
        r = client.get(url, {name: value})
        assert r.status_code == 400, (url, r.content)
        assert r.json() == {
            "errors": [{"message": "Expected integer - got number.", "path": f"/{name}"}],
            "status": 400,
        }
    biggest = "9223372036854775807"
    assert client.get("/api/search", {"start": biggest}).json()["data"] == []
    assert len(client.get("/api/search/random", {"count": biggest}).json()["data"]) == 1
    assert client.get("/api/database/stats", {"minweight": biggest}).json() == []


def test_datatables_search_endpoint_echoes_draw_and_sends_isnew_as_strings(client):
    old = make_archive("Alpha", "artist:wada")
    new = make_archive("Beta", "artist:wada", isnew=True)
    make_archive("Gamma", "other:x")
    columns = {"columns[0][name]": "title", "columns[1][name]": "tags", "columns[1][search][value]": ""}
    r = client.get("/search", {"draw": "3", "start": "0", "search[value]": "artist:wada", **columns,
                               "order[0][column]": "0", "order[0][dir]": "desc"})  # fmt: skip
    assert r.status_code == 200
    body = r.json()
    assert body["draw"] == "3" and body["recordsFiltered"] == 2 and body["recordsTotal"] == 3
    assert [(d["arcid"], d["isnew"]) for d in body["data"]] == [(new, "true"), (old, "false")]
    newonly = client.get("/search", {**columns, "columns[1][search][value]": "NEW_ONLY"}).json()
    assert [d["arcid"] for d in newonly["data"]] == [new]
    assert client.get("/search", {"start": "garbage"}).json()["recordsFiltered"] == 3
    # /api/search stays boolean and has no draw.
    api = client.get("/api/search").json()
    assert "draw" not in api and {d["isnew"] for d in api["data"]} == {True, False}


def test_datatables_search_is_behind_nofun_mode(client, auth_header):
    make_archive("Alpha", "x")
    ServerConfig.objects.update_or_create(pk=1, defaults={"nofunmode": True})
    from archives.config import config_changed

    config_changed()
    r = client.get("/search")
    assert r.status_code == 401
    assert r.json() == {"error": "This API is protected and requires login or an API Key."}
    assert client.get("/search", **auth_header).status_code == 200


def test_very_long_filters_and_numbers_are_a_400_or_capped_never_a_500(client):
    a = make_archive("A", "x", pagecount=20)
    r = client.get("/api/search", {"filter": "a" * 60_000})
    assert r.status_code == 400
    assert r.json() == {"errors": [{"message": "String is too long: 60000/10000.", "path": "/filter"}], "status": 400}
    assert client.get("/search", {"search[value]": "a" * 60_000}).status_code == 400
    assert ids(client, filter="a" * 9_000) == []
    assert ids(client, filter="pages:<" + "9" * 9_000) == [a]
    r = client.get("/api/search", {"start": "9" * 5_000})
    assert r.status_code == 400 and r.json()["errors"][0]["message"] == "Expected integer - got number."


def test_a_date_tag_of_thousands_of_digits_in_a_tank_does_not_break_search(client):
    member = make_archive("M", "date_added:" + "9" * 5000)
    tank = tankoubons.tank_create(name="T", tankid="")
    tankoubons.tank_update(tank_id=tank.pk, archives=[member], metadata=None)
    for params in ({}, {"sortby": "date_added"}, {"sortby": "date_added", "order": "desc"}):
        assert [d["arcid"] for d in search(client, **params)["data"]] == [tank.pk]
    assert client.get("/search").status_code == 200
