"""OPDS 1.2 with PSE: the catalog, one entry, and page streaming."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from archives.models import ServerConfig
from tests.samples import cbz_bytes
from tests.samples import jpeg_bytes
from tests.samples import upload

pytestmark = pytest.mark.django_db

A = "{http://www.w3.org/2005/Atom}"
OPDS = "{http://opds-spec.org/2010/catalog}"
PSE = "{http://vaemendis.net/opds-pse/ns}"
THR = "{http://purl.org/syndication/thread/1.0}"
DC = "{http://purl.org/dc/terms/}"


def feed(client, url: str, **headers) -> ET.Element:
    r = client.get(url, **headers)
    assert r.status_code == 200, r.content
    assert r["Content-Type"].startswith("application/xml")
    assert r.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(r.content)


def links(element: ET.Element, rel: str) -> list[dict[str, str]]:
    return [dict(link.attrib) for link in element.findall(f"{A}link") if link.get("rel") == rel]


@pytest.fixture
def library(client, auth_header) -> dict[str, str]:
    ids = {}
    for name, tags, seed in [
        ("Beta & <Co>.cbz", "artist:wada rco,group:circle,language:english,event:c99,date_added:1700000000", 1),
        ("Alpha.cbz", "artist:other", 2),
    ]:
        data = cbz_bytes([f"{i}.jpg" for i in range(3)], seed=seed)
        ids[name] = upload(client, name, data, headers=auth_header, tags=tags).json()["id"]
    return ids


def test_catalog_lists_archives_with_pse_links(client, auth_header, library):
    beta, alpha = library["Beta & <Co>.cbz"], library["Alpha.cbz"]
    client.put(f"/api/archives/{beta}/progress/2")
    client.delete(f"/api/archives/{alpha}/isnew")

    root = feed(client, "/api/opds")

    assert root.tag == f"{A}feed" and root.findtext(f"{A}id") == "urn:lrr:0"
    assert root.findtext(f"{A}title") == "Hondana"
    assert links(root, "self")[0]["type"] == "application/atom+xml;profile=opds-catalog;kind=acquisition"
    entries = root.findall(f"{A}entry")
    assert [e.findtext(f"{A}title") for e in entries] == ["Alpha", "Beta & <Co>"]
    entry = entries[1]
    assert entry.findtext(f"{A}id") == f"urn:lrr:{beta}"
    assert entry.findtext(f"{A}updated") == entry.findtext(f"{A}published") == "2023-11-14T22:13:20Z"
    assert entry.findtext(f"{A}author/{A}name") == "wada rco"
    assert (entry.findtext(f"{DC}language"), entry.findtext(f"{DC}publisher"), entry.findtext(f"{DC}issued")) == (
        "english",
        "circle",
        "c99",
    )
    assert entry.find(f"{A}category").get("term") == "New Archive"
    assert entries[0].find(f"{A}category").get("term") == "Archive"
    assert entry.findtext(f"{A}summary").startswith("artist:wada rco,group:circle")
    stream = links(entry, "http://vaemendis.net/opds-pse/stream")[0]
    assert stream["href"] == f"/api/opds/{beta}/pse?page={{pageNumber}}"
    assert (stream[f"{PSE}count"], stream[f"{PSE}lastRead"]) == ("3", "2")
    assert f"{PSE}lastRead" not in links(entries[0], "http://vaemendis.net/opds-pse/stream")[0]
    acquisition = links(entry, "http://opds-spec.org/acquisition")[0]
    assert (acquisition["href"], acquisition["type"]) == (f"/api/archives/{beta}/download", "application/x-cbz")
    assert links(entry, "http://opds-spec.org/image")[0]["href"] == f"/api/archives/{beta}/thumbnail"
    alternates = links(entry, "alternate")
    assert [a["href"] for a in alternates] == [f"/api/opds/{beta}", f"/reader?id={beta}"]


def test_category_facets_filter_the_catalog(client, auth_header, library):
    beta = library["Beta & <Co>.cbz"]
    catid = client.put("/api/categories?name=Shelf%20%26%20co", **auth_header).json()["category_id"]
    client.put(f"/api/categories/{catid}/{beta}", **auth_header)
    client.put("/api/categories?name=Dynamic&search=artist:other", **auth_header)

    root = feed(client, "/api/opds")
    facets = links(root, "http://opds-spec.org/facet")
    # By name, case-insensitively (the emoji of the built-in Favorites sorts last).
    assert [f["title"] for f in facets] == ["All Archives", "Dynamic", "Shelf & co", "🔖 Favorites"]
    shelf = next(f for f in facets if f["title"] == "Shelf & co")
    assert (shelf[f"{THR}count"], shelf[f"{OPDS}facetGroup"]) == ("1", "Categories")
    assert f"{THR}count" not in next(f for f in facets if f["title"] == "Dynamic")
    assert facets[0][f"{OPDS}activeFacet"] == "true"

    filtered = feed(client, shelf["href"])
    assert [e.findtext(f"{A}title") for e in filtered.findall(f"{A}entry")] == ["Beta & <Co>"]
    active = [f for f in links(filtered, "http://opds-spec.org/facet") if f.get(f"{OPDS}activeFacet")]
    assert [f["title"] for f in active] == ["Shelf & co"]


def test_start_pages_through_the_catalog(client, auth_header, library):
    ServerConfig.objects.update_or_create(pk=1, defaults={"archives_per_page": 1})
    first = feed(client, "/api/opds")
    assert [e.findtext(f"{A}title") for e in first.findall(f"{A}entry")] == ["Alpha"]
    assert links(first, "previous") == []
    nxt = links(first, "next")[0]["href"]
    assert parse_qs(urlsplit(nxt).query) == {"start": ["1"]}
    second = feed(client, nxt)
    assert [e.findtext(f"{A}title") for e in second.findall(f"{A}entry")] == ["Beta & <Co>"]
    assert links(second, "next") == [] and links(second, "previous")[0]["href"] == "/api/opds"
    assert second.findtext("{http://a9.com/-/spec/opensearch/1.1/}totalResults") == "2"


def test_the_key_is_carried_into_every_link(client, library):
    ServerConfig.objects.update_or_create(pk=1, defaults={"nofunmode": True})
    assert client.get("/api/opds").status_code == 401

    root = feed(client, "/api/opds?key=hondana-test-key")

    hrefs = [link.get("href") for link in root.iter(f"{A}link")]
    assert hrefs and all("key=hondana-test-key" in h for h in hrefs)
    stream = next(h for h in hrefs if "/pse?" in h)
    assert stream.endswith("/pse?page={pageNumber}&key=hondana-test-key")
    # Each link works as given.
    entry_href = next(h for h in hrefs if h.startswith("/api/opds/") and "/pse" not in h)
    assert client.get(entry_href).status_code == 200
    assert client.get(stream.replace("{pageNumber}", "2")).status_code == 200


def test_one_entry_and_unknown_ids(client, library):
    beta = library["Beta & <Co>.cbz"]
    entry = feed(client, f"/api/opds/{beta}")
    assert entry.tag == f"{A}entry" and entry.findtext(f"{A}title") == "Beta & <Co>"
    assert links(entry, "self")[0]["href"] == f"/api/opds/{beta}"
    assert links(entry, "start")[0]["type"] == "application/atom+xml;profile=opds-catalog;kind=navigation"
    r = client.get(f"/api/opds/{'f' * 40}")
    assert r.status_code == 400 and r.json()["error"] == "This ID doesn&#39;t exist on the server."


def test_pse_serves_pages_and_falls_back_to_the_first(client, auth_header):
    pages = [jpeg_bytes(seed, size=(40 + seed, 50)) for seed in range(3)]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i, data in enumerate(pages, 1):
            z.writestr(f"{i:02d}.jpg", data)
    arcid = upload(client, "p.cbz", buf.getvalue(), headers=auth_header).json()["id"]

    def page(query: str) -> bytes:
        r = client.get(f"/api/opds/{arcid}/pse{query}")
        assert r.status_code == 200 and r["Content-Type"] == "image/jpeg"
        return r.getvalue()

    assert page("?page=2") == pages[1]
    assert page("?page=3") == pages[2]
    for out_of_range in ("?page=4", "?page=0", "?page=-1", ""):
        assert page(out_of_range) == pages[0], out_of_range
    assert client.get(f"/api/opds/{arcid}/pse?page=x").json()["errors"][0]["path"] == "/page"
    assert client.get(f"/api/opds/{'f' * 40}/pse?page=1").status_code == 400


def test_control_characters_in_titles_and_names_keep_the_feed_well_formed(client, auth_header):
    arcid = upload(client, "a.cbz", cbz_bytes(), headers=auth_header).json()["id"]
    form = "title=A%01B%1F%EF%BF%BE&summary=s%02&tags=artist:x%0By"
    r = client.put(
        f"/api/archives/{arcid}/metadata", form, content_type="application/x-www-form-urlencoded", **auth_header
    )
    assert r.status_code == 200
    category = client.put("/api/categories?name=Cat%07", **auth_header).json()["category_id"]
    for url in ("/api/opds", f"/api/opds/{arcid}", f"/api/opds?category={category}", "/api/opds?key=k%08"):
        root = feed(client, url, **auth_header)
        titles = [t.text for t in root.iter(f"{A}title")]
        assert "AB" in titles or url.startswith("/api/opds?category"), (url, titles)
    # The stored title is untouched; only the feed leaves the characters out.
    assert client.get(f"/api/archives/{arcid}/metadata").json()["title"] == "A\x01B\x1f\ufffe"
