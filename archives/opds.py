"""The OPDS 1.2 catalog with OPDS-PSE 1.1 page streaming, as LANraragi serves it.

The feed is built with ElementTree, so whatever titles and tags hold, the XML is
well-formed (LANraragi's template uses `thr:` without declaring it and leaves `&`
bare in links). Links are root-relative, carry the server's base path, and carry
the `key` a reader authenticated with, since OPDS readers cannot send headers.
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count

from archives.config import get_config
from archives.models import Archive
from archives.models import Category
from archives.search.query import SearchParams
from archives.search.selectors import search_page
from archives.selectors import with_shared_state

ATOM = "http://www.w3.org/2005/Atom"
NAMESPACES = {
    "dcterms": "http://purl.org/dc/terms/",
    "opds": "http://opds-spec.org/2010/catalog",
    "pse": "http://vaemendis.net/opds-pse/ns",
    "thr": "http://purl.org/syndication/thread/1.0",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
}

ACQUISITION = "application/atom+xml;profile=opds-catalog;kind=acquisition"
NAVIGATION = "application/atom+xml;profile=opds-catalog;kind=navigation"
ENTRY = "application/atom+xml;type=entry;profile=opds-catalog"
# By the sniffed container, not the file name: a reader opens what it is told.
MIMETYPES = {
    "zip": "application/x-cbz",
    "rar": "application/x-cbr",
    "7z": "application/x-cb7",
    "tar": "application/x-cbt",
    "pdf": "application/pdf",
    "epub": "application/epub+zip",
}


# Names are written with their prefixes and the root declares the namespaces
# itself: ElementTree's own namespace handling cannot make Atom the default
# namespace while attributes stay unqualified.
def _ns(prefix: str, name: str) -> str:
    return f"{prefix}:{name}"


@dataclass(frozen=True)
class Links:
    """Builds the catalog's root-relative links, with the reader's `key` carried along."""

    prefix: str = ""
    key: str | None = None

    def url(self, path: str, **query: Any) -> str:
        pairs = [(k, str(v)) for k, v in query.items() if v not in (None, "")]
        if self.key:
            pairs.append(("key", self.key))
        return f"{self.prefix}{path}" + (f"?{urlencode(pairs)}" if pairs else "")

    def pse(self, arcid: str) -> str:
        # {pageNumber} is PSE's template placeholder: it must reach the reader as is.
        tail = f"&{urlencode({'key': self.key})}" if self.key else ""
        return f"{self.prefix}/api/opds/{arcid}/pse?page={{pageNumber}}{tail}"


def _iso(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(max(epoch, 0)))


def _first(tags: str, namespace: str) -> str:
    """The value of the first `namespace:` tag, or ""."""
    for tag in tags.split(","):
        ns, sep, value = tag.partition(":")
        if sep and ns.strip() == namespace:
            return value.strip()
    return ""


# Characters XML 1.0 cannot hold even escaped (C0 controls but tab and newlines,
# lone surrogates, U+FFFE/U+FFFF): ElementTree writes them as they are, and one
# such character in a title makes the whole feed unreadable.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _sub(parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, name, {k: _clean(v) for k, v in attrs.items()})
    if text is not None:
        element.text = _clean(text)
    return element


def _link(parent: ET.Element, rel: str, href: str, type: str | None = None, **attrs: str) -> ET.Element:
    values = {"rel": rel, "href": href, **({"type": type} if type else {}), **attrs}
    return ET.SubElement(parent, "link", {k: _clean(v) for k, v in values.items()})


def _rows(ids: list[str]) -> dict[str, dict[str, Any]]:
    qs = with_shared_state(Archive.objects.filter(pk__in=ids, missing=False))
    columns = ("id", "title", "filename", "tags", "format", "pagecount", "state_isnew", "state_progress")
    return {row["id"]: row for row in qs.values(*columns, "state_lastreadtime")}


def _entry_body(entry: ET.Element, row: dict[str, Any], links: Links, *, alternate: bool) -> None:
    arcid, tags = row["id"], row["tags"] or ""
    try:
        added = int(_first(tags, "date_added") or 0)
    except ValueError:
        added = 0
    _sub(entry, "title", row["title"] or row["filename"])
    _sub(entry, "id", f"urn:lrr:{arcid}")
    _sub(entry, "updated", _iso(added))
    _sub(entry, "published", _iso(added))
    author = _sub(entry, "author")
    _sub(author, "name", _first(tags, "artist"))
    _sub(entry, "rights", "")
    _sub(entry, _ns("dcterms", "language"), _first(tags, "language"))
    _sub(entry, _ns("dcterms", "publisher"), _first(tags, "group"))
    _sub(entry, _ns("dcterms", "issued"), _first(tags, "event"))
    isnew = row["state_isnew"] is None or bool(row["state_isnew"])
    _sub(entry, "category", term="New Archive" if isnew else "Archive")
    _sub(entry, "summary", tags)
    if alternate:
        _link(entry, "alternate", links.url(f"/api/opds/{arcid}"), ENTRY)
    thumb = links.url(f"/api/archives/{arcid}/thumbnail")
    _link(entry, "http://opds-spec.org/image", thumb, "image/jpeg")
    _link(entry, "http://opds-spec.org/image/thumbnail", thumb, "image/jpeg")
    _link(
        entry,
        "http://opds-spec.org/acquisition",
        links.url(f"/api/archives/{arcid}/download"),
        MIMETYPES.get(row["format"], "application/x-cbz"),
        title="Download/Read",
    )
    stream = {_ns("pse", "count"): str(row["pagecount"])}
    if row["state_progress"]:
        stream[_ns("pse", "lastRead")] = str(row["state_progress"])
    if row["state_lastreadtime"]:
        stream[_ns("pse", "lastReadDate")] = _iso(row["state_lastreadtime"])
    _link(entry, "http://vaemendis.net/opds-pse/stream", links.pse(arcid), "image/jpeg", **stream)
    _link(entry, "alternate", links.url("/reader", id=arcid), "text/html", title="Open in LANraragi")


def _root(name: str) -> ET.Element:
    return ET.Element(name, {"xmlns": ATOM, **{f"xmlns:{p}": uri for p, uri in NAMESPACES.items()}})


def _xml(root: ET.Element) -> bytes:
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False)


def _head(feed: ET.Element) -> None:
    config = get_config()
    _sub(feed, "title", config.name)
    _sub(feed, "updated", _iso(int(time.time())))
    _sub(feed, "subtitle", config.motd)
    _sub(feed, "icon", "/favicon.ico")
    author = _sub(feed, "author")
    _sub(author, "name", settings.HONDANA_LRR_VERSION)
    _sub(author, "uri", "https://github.com/Difegue/LANraragi")


def opds_catalog(*, links: Links, category: str = "", start: int = 0) -> bytes:
    """The acquisition feed: one page of archives by title, with category facets."""
    pagesize = get_config().archives_per_page
    page = search_page(SearchParams(category=category, grouped=False), start=start, pagesize=pagesize)
    rows = _rows(page.ids)
    offset = max(start, 0)

    feed = _root("feed")
    _sub(feed, "id", "urn:lrr:0")
    _link(feed, "self", links.url("/api/opds", category=category, start=start or None), ACQUISITION)
    _link(feed, "start", links.url("/api/opds"), ACQUISITION)
    if start != -1 and offset + len(page.ids) < page.filtered:
        _link(feed, "next", links.url("/api/opds", category=category, start=offset + pagesize), ACQUISITION)
    if offset > 0 and start != -1:
        previous = max(offset - pagesize, 0)
        _link(feed, "previous", links.url("/api/opds", category=category, start=previous or None), ACQUISITION)
    _head(feed)
    _sub(feed, _ns("opensearch", "totalResults"), str(page.filtered))
    _sub(feed, _ns("opensearch", "itemsPerPage"), str(pagesize))
    _sub(feed, _ns("opensearch", "startIndex"), str(offset + 1))

    facets = {
        "title": "All Archives",
        _ns("opds", "facetGroup"): "Categories",
        **({_ns("opds", "activeFacet"): "true"} if not category else {}),
    }
    _link(feed, "http://opds-spec.org/facet", links.url("/api/opds"), ACQUISITION, **facets)
    categories = Category.objects.annotate(count=Count("items")).order_by()
    for cat in sorted(categories, key=lambda c: (c.name.lower(), c.pk)):
        attrs = {"title": cat.name, _ns("opds", "facetGroup"): "Categories"}
        if not cat.is_dynamic:
            attrs[_ns("thr", "count")] = str(cat.count)
        if cat.pk == category:
            attrs[_ns("opds", "activeFacet")] = "true"
        _link(feed, "http://opds-spec.org/facet", links.url("/api/opds", category=cat.pk), ACQUISITION, **attrs)

    for arcid in page.ids:
        if arcid in rows:
            _entry_body(_sub(feed, "entry"), rows[arcid], links, alternate=True)
    return _xml(feed)


def opds_entry(*, links: Links, arcid: str) -> bytes | None:
    """One archive as a standalone Atom entry document; None if there is no such archive."""
    row = _rows([arcid]).get(arcid)
    if row is None:
        return None
    entry = _root("entry")
    _link(entry, "start", links.url("/api/opds"), NAVIGATION)
    _link(entry, "self", links.url(f"/api/opds/{arcid}"), ENTRY)
    _entry_body(entry, row, links, alternate=False)
    return _xml(entry)
