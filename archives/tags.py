"""Tag strings: LANraragi's normalisation and the lower-cased index form."""

from __future__ import annotations


def normalize_tags(raw: str) -> list[str]:
    """Split on commas, drop CR/LF, trim, drop empty items and exact duplicates.

    Case is kept and duplicates are compared case-sensitively ("Foo" and "foo" both
    stay), as LANraragi does. Unlike LANraragi, empty items (`a,,b`) are dropped.
    """
    seen: set[str] = set()
    out: list[str] = []
    for item in raw.split(","):
        tag = one_line(item)
        if tag and tag not in seen:
            seen.add(tag)
            out.append(tag)
    return out


def one_line(value: str) -> str:
    """CR and LF dropped, then trimmed: how LANraragi cleans titles and tags."""
    return value.replace("\r", "").replace("\n", "").strip()


def join_tags(tags: list[str]) -> str:
    return ",".join(tags)


def index_form(tag: str) -> str:
    """The form used by search and stats: lower-cased."""
    return tag.lower()


def split_namespace(tag: str) -> tuple[str, str]:
    """`artist:wada rco` -> ("artist", "wada rco"); a bare tag has namespace ""."""
    namespace, sep, value = tag.partition(":")
    if not sep:
        return "", tag
    return namespace, value
