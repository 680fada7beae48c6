"""Precomputed keys that let the database sort and match without reading tag strings.

Everything here is plain Python so that services, migrations and the synthetic
library generator compute exactly the same values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_DIGITS = re.compile(r"\d+")
# Wide enough for epoch seconds (date_added) and any page or volume number.
NUMBER_WIDTH = 12

# A tag is "basic" (does not make its archive tagged) if it contains one of these,
# case-sensitively, as LANraragi's update_indexes tests it.
BASIC_TAG_MARKERS = (
    "artist:",
    "parody:",
    "series:",
    "language:",
    "event:",
    "group:",
    "date_added:",
    "timestamp:",
    "source:",
)


# PostgreSQL refuses a btree index entry past 2,704 bytes, and titles and sort values
# are indexed: keys are cut to this many bytes (at a character boundary), so an absurd
# title or tag value is stored all the same; only its order and title matches past
# that point are lost. Real titles are far shorter.
KEY_BYTES = 1200


def _capped(key: str) -> str:
    raw = key.encode("utf-8")
    return key if len(raw) <= KEY_BYTES else raw[:KEY_BYTES].decode("utf-8", "ignore")


def natural_key(text: str) -> str:
    """A string whose code-point order is the natural order of `text`, lower-cased.

    Digit runs become their number zero-padded to NUMBER_WIDTH, so "vol 9" sorts
    before "vol 10"; longer numbers keep all their digits.
    """
    return _DIGITS.sub(lambda m: m.group().lstrip("0").rjust(NUMBER_WIDTH, "0"), text.lower())


def title_keys(title: str) -> tuple[str, str]:
    """(natural sort key, match form) of a title: LANraragi matches `lc(trim(title))`."""
    lowered = title.replace("\r", "").replace("\n", "").strip().lower()
    return _capped(natural_key(lowered)), _capped(lowered)


def is_untagged(tags: Iterable[str]) -> bool:
    """True when every tag is basic (LANraragi's LRR_UNTAGGED set)."""
    return all(any(marker in tag for marker in BASIC_TAG_MARKERS) for tag in tags)


def namespace_sort_values(tags: Iterable[str]) -> dict[str, str]:
    """Namespace -> natural key of the value of its *last* tag, as `sortby=<namespace>` uses."""
    values: dict[str, str] = {}
    for tag in tags:
        namespace, sep, value = tag.lower().partition(":")
        if sep and namespace:
            values.pop(namespace, None)  # keep insertion order = last occurrence
            values[namespace] = _capped(natural_key(value.strip()))
    return values
