"""What the pages show: the first page of results, tabs, sorting, paging, escaping."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from archives.categories import category_add
from archives.categories import category_create
from archives.models import Archive
from archives.tankoubons import tank_create
from archives.tankoubons import tank_update
from tests.library import make_archive

pytestmark = pytest.mark.django_db

XSS = "<script>alert(1)</script>"


def cards(response) -> list[str]:
    """Titles of the cards of a library page, in order."""
    return re.findall(r'<span class="card-title" title="[^"]*">([^<]*)</span>', response.content.decode())


def test_the_first_page_is_rendered_on_the_server(client):
    make_archive("Beta", "artist:bob")
    make_archive("Alpha", "artist:ann", isnew=True, pagecount=12, progress=6)
    response = client.get("/")
    html = response.content.decode()
    assert cards(response) == ["Alpha", "Beta"]
    assert "1\u20132 of 2" in html
    assert html.count("badge-new") == 1
    assert "12 pages" in html and "read 6" in html and 'data-percent="50"' in html
    # Covers wait for the page's lazy loader (data-src) in a fixed box.
    assert 'data-src="/api/archives/' in html and 'width="203" height="280"' in html


def test_search_sort_order_and_new_only(client):
    make_archive("Old", "date_added:100,artist:x")
    make_archive("New", "date_added:200,artist:x", isnew=True)
    make_archive("Other", "date_added:300,artist:y")
    assert cards(client.get("/?filter=artist:x")) == ["New", "Old"]
    assert cards(client.get("/?sortby=date_added&order=desc")) == ["Other", "New", "Old"]
    assert cards(client.get("/?newonly=1")) == ["New"]
    page = client.get("/?filter=artist:x&sortby=date_added&order=desc").content.decode()
    assert '<option value="date_added" selected>' in page and '<option value="desc" selected>' in page


def test_any_namespace_is_offered_as_a_sort(client):
    make_archive("A", "series:zeta,artist:bob")
    page = client.get("/").content.decode()
    assert '<option value="series">series</option>' in page and '<option value="artist">artist</option>' in page
    page = client.get("/?sortby=volume").content.decode()
    assert '<option value="volume" selected>volume</option>' in page


def test_category_tabs_pinned_first_and_filtering(client):
    inside = make_archive("Inside")
    make_archive("Outside")
    plain = category_create(name="A plain one")
    pinned = category_create(name="Z pinned", pinned=True)
    category_add(catid=pinned.pk, item_id=inside)
    page = client.get("/").content.decode()
    assert page.index("Z pinned") < page.index("A plain one")
    assert cards(client.get(f"/?category={pinned.pk}")) == ["Inside"]
    assert cards(client.get(f"/?category={plain.pk}")) == []
    # A category id of the wrong length is ignored rather than answered with an error.
    assert cards(client.get("/?category=nope")) == ["Inside", "Outside"]


def test_paging_by_offset(client, server_config):
    server_config(archives_per_page=10)
    for i in range(25):
        make_archive(f"Book {i:02d}")
    first = client.get("/")
    assert cards(first) == [f"Book {i:02d}" for i in range(10)]
    assert "1\u201310 of 25" in first.content.decode()
    last = client.get("/?start=20")
    assert cards(last) == [f"Book {i:02d}" for i in range(20, 25)]
    html = last.content.decode()
    assert 'href="?start=10" rel="prev"' in html and 'rel="next"' not in html
    assert '<a href="?start=20" aria-current="page">' in html
    assert cards(client.get("/?start=junk")) == cards(first)
    assert cards(client.get("/?start=500")) == []


def _archive_row_queries(queries: list[dict]) -> list[str]:
    table = Archive._meta.db_table
    return [q["sql"] for q in queries if f'FROM "{table}"' in q["sql"] or f"FROM {table}" in q["sql"]]


def test_a_library_page_reads_one_page_whatever_the_library_size(client, server_config):
    """Offset paging: the page costs the same queries at 30 archives as at 90, and no
    query reads archive rows without a LIMIT, a COUNT or the page's ids."""
    server_config(archives_per_page=10)

    def measure() -> tuple[int, list[str]]:
        client.get("/?start=10")  # warm the caches that do not depend on the size
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/?start=10&sortby=title")
        assert len(cards(response)) == 10
        return len(ctx.captured_queries), _archive_row_queries(ctx.captured_queries)

    for i in range(30):
        make_archive(f"Small {i:03d}", "artist:a")
    small_count, _ = measure()
    for i in range(60):
        make_archive(f"Large {i:03d}", "artist:b")
    large_count, archive_queries = measure()
    assert large_count == small_count
    for sql in archive_queries:
        upper = sql.upper()
        assert "LIMIT" in upper or "COUNT(" in upper or " IN (" in upper, sql


def test_titles_and_tags_are_escaped_everywhere(client, admin_client):
    arcid = make_archive(XSS, f'artist:{XSS},"quoted"')
    category_create(name=XSS)
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for path in ("/", "/?filter=script", f"/reader?id={arcid}"):
        html = client.get(path).content.decode()
        assert XSS not in html, path
        assert escaped in html, path
    for path in (f"/edit?id={arcid}", "/batch?filter=script", "/categories", "/upload"):
        html = admin_client.get(path).content.decode()
        assert XSS not in html, path
        assert escaped in html, path


def test_reader_data_is_json_that_cannot_close_its_script(client):
    arcid = make_archive(XSS)
    Archive.objects.filter(pk=arcid).update(toc=[{"page": 2, "name": "</script><b>x</b>"}])
    html = client.get(f"/reader?id={arcid}").content.decode()
    raw = re.search(r'<script id="reader-data" type="application/json">(.*?)</script>', html, re.S).group(1)
    assert "<" not in raw
    data = json.loads(raw)
    assert data["title"] == XSS and data["toc"] == [{"page": 2, "name": "</script><b>x</b>"}]
    assert data["serverTracksProgress"] is True and data["id"] == arcid


def test_the_reader_passes_the_progress_rules(client, server_config):
    arcid = make_archive("Tracked", progress=7)
    data = _reader_data(client.get(f"/reader?id={arcid}&p=3"))
    assert (data["progress"], data["startPage"], data["serverTracksProgress"]) == (7, 3, True)
    server_config(localprogress=True)
    assert _reader_data(client.get(f"/reader?id={arcid}"))["serverTracksProgress"] is False


def _reader_data(response) -> dict:
    html = response.content.decode()
    return json.loads(
        re.search(r'<script id="reader-data" type="application/json">(.*?)</script>', html, re.S).group(1)
    )


def test_an_unknown_archive_is_a_404_page(client):
    response = client.get("/reader?id=" + "0" * 40)
    assert response.status_code == 404 and b"Not found" in response.content
    assert client.get("/reader").status_code == 404
    assert client.get("/reader?id=%3Cscript%3E").status_code == 404


def test_a_tankoubon_lists_its_members(client):
    first = make_archive("Volume 1", progress=20, pagecount=20)
    second = make_archive("Volume 2")
    tank = tank_create(name="The series")
    tank_update(tank_id=tank.pk, archives=[first, second], metadata=None)
    response = client.get(f"/reader?id={tank.pk}")
    assert [m["arcid"] for m in response.context["members"]] == [first, second]
    html = response.content.decode()
    assert "The series" in html and "1. Volume 1" in html and "2. Volume 2" in html
    # Volume 1 is read to the end: carry on with volume 2.
    assert f'href="/reader?id={second}">Start reading' in html
    assert client.get("/reader?id=TANK_0000000000").status_code == 404


def test_random_opens_a_match(client):
    arcid = make_archive("Only one", "artist:solo")
    make_archive("Another", "artist:other")
    response = client.get("/random?filter=artist:solo")
    assert response.status_code == 302 and response["Location"] == f"/reader?id={arcid}"
    nothing = client.get("/random?filter=artist:nobody")
    assert nothing["Location"] == "/?filter=artist%3Anobody"


def test_edit_page_shows_metadata_and_category_membership(admin_client):
    arcid = make_archive("Editable", "artist:me,fun")
    member = category_create(name="Member")
    category_create(name="Not member")
    category_create(name="Dynamic", search="fun")
    category_add(catid=member.pk, item_id=arcid)
    response = admin_client.get(f"/edit?id={arcid}")
    shown = [(c["name"], c["member"]) for c in response.context["categories"] if "Favorites" not in c["name"]]
    assert shown == [("Member", True), ("Not member", False)]  # static ones only
    html = response.content.decode()
    assert ">artist:me,fun</textarea>" in html and 'value="Editable"' in html
    assert admin_client.get("/edit?id=" + "f" * 40).status_code == 404


def test_batch_page_counts_the_archives_a_search_matches(admin_client):
    for i in range(3):
        make_archive(f"Match {i}", "wip")
    make_archive("Other", "done")
    first = make_archive("Grouped", "wip")
    tank = tank_create(name="Tank")
    tank_update(tank_id=tank.pk, archives=[first], metadata=None)
    response = admin_client.get("/batch?filter=wip")
    # Tanks are expanded: every archive gets the edit.
    assert response.context["filtered"] == 4
    assert "Apply to 4 archives" in response.content.decode()


def test_jobs_page_lists_running_and_recent_jobs_with_progress(admin_client):
    from jobs.models import Job

    arcid = make_archive("Thumbed")
    Job.objects.create(
        task="page_thumbnails",
        celery_id="a",
        args=[arcid, False],
        state="active",
        notes={"1": "processed", "2": "processed", "total_pages": "4", "id": arcid},
    )
    Job.objects.create(task="build_stat_hashes", celery_id="b", state="finished", notes={"done": "10", "total": "10"})
    Job.objects.create(task="restore_backup", celery_id="c", state="failed", result={"errors": ["bad <file>"]})
    response = admin_client.get("/jobs")
    running, recent = response.context["running"], response.context["recent"]
    assert [(j["task"], j["done"], j["total"]) for j in running] == [("page_thumbnails", 2, 4)]
    assert running[0]["archive_title"] == "Thumbed"
    assert [(j["task"], j["state"]) for j in recent] == [
        ("restore_backup", "failed"),
        ("build_stat_hashes", "finished"),
    ]
    html = response.content.decode()
    assert "bad &lt;file&gt;" in html and 'value="2"' in html
