"""The page helpers that need no database: query strings, pager links, job progress."""

from __future__ import annotations

from django.http import QueryDict

from reader.selectors import LibraryQuery
from reader.selectors import job_progress
from reader.selectors import pager


def test_library_query_reads_and_writes_the_apis_parameter_names():
    query = LibraryQuery.from_get(
        QueryDict("filter=a%2C-b&category=SET_1234567890&sortby=Artist&order=desc&newonly=1&start=200")
    )
    assert query == LibraryQuery("a,-b", "SET_1234567890", "artist", "desc", True, 200)
    params = query.search_params()
    assert (params.filter, params.category, params.sortby, params.desc, params.newonly) == (
        "a,-b",
        "SET_1234567890",
        "artist",
        True,
        True,
    )
    assert query.querystring(start=0) == "filter=a%2C-b&category=SET_1234567890&sortby=artist&order=desc&newonly=1"
    assert LibraryQuery().querystring() == ""
    assert LibraryQuery.from_get(QueryDict("start=-5&category=short&order=up")) == LibraryQuery()


def test_pager_shows_the_ends_and_two_pages_either_side():
    p = pager(LibraryQuery(filter="x", start=1000), pagesize=100, filtered=100_000)
    assert (p.page, p.pages) == (11, 1000)
    assert [link.label for link in p.links] == ["1", "9", "10", "11", "12", "13", "1000"]
    assert [link.gap_before for link in p.links] == [False, True, False, False, False, False, True]
    assert p.previous == "?filter=x&start=900" and p.next == "?filter=x&start=1100"
    assert next(link for link in p.links if link.current).href == "?filter=x&start=1000"
    assert p.links[0].href == "?filter=x"
    single = pager(LibraryQuery(), pagesize=100, filtered=5)
    assert (single.pages, single.previous, single.next) == (1, None, None)


def test_job_progress_from_notes():
    assert job_progress({"done": "3", "total": "10"}) == (3, 10)
    assert job_progress({"1": "processed", "2": "processed", "id": "x", "total_pages": "5"}) == (2, 5)
    assert job_progress({"total_pages": 2, "1": "processed", "2": "processed", "3": "processed"}) == (2, 2)
    assert job_progress({}) is None and job_progress(None) is None
    assert job_progress({"total": "lots"}) is None
