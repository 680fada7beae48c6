"""GET /api/archives writes its rows without archive_json(); the bytes must not differ."""

from __future__ import annotations

import json

import pytest

from archives.api.presenters import archive_json
from archives.api.presenters import archive_list_chunks
from archives.api.render import dumps
from archives.models import Archive
from archives.models import ReadingState
from archives.selectors import archive_rows
from tests.library import make_archive

pytestmark = pytest.mark.django_db


def test_listing_is_byte_for_byte_the_archive_json_of_every_row():
    make_archive('Quote " back\\slash\ttab\nnewline', "artist:ü,female:\u2028line,x:\x01ctl", progress=3, lastread=9)
    make_archive("日本語 タイトル", "", isnew=True)
    odd = make_archive("", "a:b")  # empty title: the filename stands in
    Archive.objects.filter(pk=odd).update(
        filename="file name", summary="sum\u00e9", toc=[{"page": 9, "name": "b"}, {"name": "a", "page": 2}]
    )
    stateless = make_archive("No state")
    ReadingState.objects.filter(archive_id=stateless).delete()
    Archive.objects.filter(pk=make_archive("Gone")).update(missing=True)

    body = b"".join(archive_list_chunks(chunk_size=2))
    order = [item["arcid"] for item in json.loads(body)]
    rows = {row["id"]: row for row in archive_rows(Archive.objects.present())}
    assert sorted(order) == sorted(rows)
    assert body == dumps([archive_json(rows[arcid]) for arcid in order])


def test_an_empty_library_lists_as_an_empty_array():
    assert b"".join(archive_list_chunks()) == b"[]"
