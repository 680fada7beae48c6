"""LANraragi's ComicInfo plugin: tags from the ComicInfo.xml inside the archive.

Writer -> group:, Penciller -> artist:, Web -> source:, Series -> series:,
Characters -> character:, Publisher -> publisher:, LanguageISO -> language:, Genre and
Tags -> tags without a namespace, Title -> the title. Comma-separated values become
separate tags.

The XML comes from the archive, so it is hostile: its size is capped and a document
with a DOCTYPE is refused outright, which leaves no way to declare an entity (no
billion laughs, no external entities) for the standard library's parser.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import ClassVar

from archives.plugins.base import MetadataInput
from archives.plugins.base import MetadataResult
from archives.plugins.base import PluginError
from archives.plugins.base import PluginInfo
from archives.plugins.base import split_values

MAX_XML_BYTES = 1024 * 1024
NOT_FOUND = "No ComicInfo.xml file found in the archive"

# (element, tag prefix), in the order LANraragi lists the tags.
NAMESPACED = (
    ("Writer", "group:"),
    ("Penciller", "artist:"),
    ("Web", "source:"),
    ("Series", "series:"),
    ("Characters", "character:"),
    ("Publisher", "publisher:"),
    ("LanguageISO", "language:"),
    ("Genre", ""),
    ("Tags", ""),
)

_DECLARATION = re.compile(rb"<!\s*(doctype|entity)", re.IGNORECASE)


def parse_comicinfo(data: bytes) -> dict[str, str]:
    """The text of each element of a ComicInfo document, by local name (first wins).

    Raises PluginError for a DOCTYPE/ENTITY declaration or malformed XML.
    """
    probe = data
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        probe = data.decode("utf-16", errors="replace").encode("utf-8")
    if _DECLARATION.search(probe):
        raise PluginError("ComicInfo.xml declares a DOCTYPE or entities; refused.")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise PluginError(f"ComicInfo.xml is not valid XML: {exc}") from None
    values: dict[str, str] = {}
    for element in root.iter():
        # Some writers put the elements in a namespace; match on the local name.
        local = element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""
        if local and local not in values and element.text is not None:
            values[local] = element.text.strip()
    return values


def comicinfo_tags(values: Mapping[str, str]) -> list[str]:
    tags: list[str] = []
    for element, prefix in NAMESPACED:
        tags.extend(prefix + value for value in split_values(values.get(element)))
    return tags


class ComicInfoPlugin:
    info: ClassVar[PluginInfo] = PluginInfo(
        name="ComicInfo",
        namespace="comicinfo",
        author="Gin-no-kami",
        version="1.1",
        description="Parses metadata from ComicInfo.xml embedded in the archive",
    )

    def get_tags(self, source: MetadataInput, params: Mapping[str, str]) -> MetadataResult:
        candidates = [n for n in source.content.member_names() if n.rsplit("/", 1)[-1].lower() == "comicinfo.xml"]
        if not candidates:
            raise PluginError(NOT_FOUND)
        # The one at the top of the archive wins over copies in sub-folders.
        name = min(candidates, key=lambda n: (n.count("/"), n))
        values = parse_comicinfo(source.content.read_member(name, max_bytes=MAX_XML_BYTES))
        title = values.get("Title") or None
        return MetadataResult(tags=comicinfo_tags(values), title=title)
