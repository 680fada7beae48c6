"""Which members are pages, and in which order (behavior.md section 4).

The rules copy LANraragi's Utils/Archive.pm (get_filelist, expand,
is_apple_signature*) and Utils/Generic.pm (is_image), with the two fixes that
behavior.md asks for: a name ending in a bare "." is not a page, and a page that
is both cover and credit is listed once, as a cover.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {"png", "jpg", "jpeg", "jfif", "gif", "bmp", "webp", "avif", "heif", "heic", "jxl"}
)

# LANraragi matches these against raw byte strings, so case folding is ASCII-only.
_FLAGS = re.IGNORECASE | re.ASCII
_PAGE = re.compile(r".+\.(?:" + "|".join(sorted(IMAGE_EXTENSIONS)) + r")", _FLAGS | re.DOTALL)
_DIGITS = re.compile(r"[0-9]+")
# Whole path, folders included: "Covers/back.jpg" is not a cover.
_COVER = re.compile(r"^(?!.*(?:back|end|rear|recover|discover)).*cover", _FLAGS)
# Anchored ones test the whole path, so "ch1/999_credits.jpg" is not a credit but
# "999_credits.jpg" is. LANraragi's bare "^999" also sends page 999.jpg of a long
# numbered gallery to the end (its 3000-page galleries read 998, 1000, ..., 999), so
# a name that is only a number stays in natural order here.
_CREDIT = re.compile(
    r"^end_card_save_file|notes\.[^.]*$|note\.[^.]*$|^artist_info|credit|^999(?![0-9]*\.[^./]+$)", _FLAGS
)
_APPLE_MAGIC = (b"\x00\x05\x16\x00", b"\x00\x05\x16\x07")  # AppleSingle, AppleDouble
_MACOSX = re.compile(r"(?:^|/)__MACOSX/")


def is_page_name(name: str) -> bool:
    """An image member: something, a dot, then an image extension (any case).

    Directories ("x.jpg/") and names ending in a bare "." are never pages.
    """
    return _PAGE.fullmatch(name) is not None


def natural_key(path: str) -> str:
    """Sort key: every ASCII digit run as its integer padded to 4 digits, lower-cased.

    Runs longer than 4 digits keep their length, so "img12345" sorts before
    "img9999", as in LANraragi.
    """
    # Not int(): CPython refuses to parse digit runs past 4300 characters.
    return _DIGITS.sub(lambda m: (m.group().lstrip("0") or "0").zfill(4), path).lower()


def order_pages(names: Iterable[str]) -> list[str]:
    """Natural order, then covers first and credit pages last, each group stable."""
    ordered = sorted(names, key=natural_key)
    covers = [n for n in ordered if _COVER.search(n)]
    credits = [n for n in ordered if _CREDIT.search(n) and not _COVER.search(n)]
    moved = set(covers) | set(credits)
    return covers + [n for n in ordered if n not in moved] + credits


def looks_like_appledouble(name: str) -> bool:
    """Under a __MACOSX/ folder, or a base name starting with "._"."""
    return _MACOSX.search(name) is not None or name.rpartition("/")[2].startswith("._")


def is_appledouble_junk(name: str, head: bytes) -> bool:
    """A macOS resource-fork file: its path looks like one AND its bytes say so.

    A real JPEG that happens to sit under __MACOSX/ stays a page.
    """
    return looks_like_appledouble(name) and head[:4] in _APPLE_MAGIC
