"""File-name rules: accepted archive extensions, the filename/extension fields, MIME types.

These look at names only; what a file really is comes from sniffing its bytes.
"""

from __future__ import annotations

import posixpath
import re

ACCEPTED_EXTENSIONS: frozenset[str] = frozenset(
    {
        "zip", "rar", "7z", "tar", "tar.gz", "lzma", "xz", "cbz", "cbr", "cb7", "cbt", "cbw",
        "pdf", "epub", "tar.zst", "zst",
    }
)  # fmt: skip

# LANraragi's is_archive: at least one character, a dot, an accepted extension.
# ".gz" and ".tgz" alone are not in the list, so "a.gz" is refused but "a.tar.gz" is not.
_ACCEPTED = re.compile(
    r".+\.(?:" + "|".join(re.escape(e) for e in sorted(ACCEPTED_EXTENSIONS)) + r")",
    re.IGNORECASE | re.ASCII | re.DOTALL,
)

_IMAGE_TYPES = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "jfif": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "avif": "image/avif",
    "jxl": "image/jxl",
    "bmp": "image/bmp",
    "heic": "image/heic",
    "heif": "image/heif",
}


def is_accepted_filename(filename: str) -> bool:
    """Whether an upload or scanned file has an archive extension (case-insensitive)."""
    return _ACCEPTED.fullmatch(filename) is not None


def split_name(filename: str) -> tuple[str, str]:
    """LANraragi's `filename` and `extension` fields for a file name or path.

    Directories are dropped, then the name is cut at its last ".":
    "My Comic.cbz" -> ("My Comic", "cbz"), "a.tar.gz" -> ("a.tar", "gz"),
    "noext" -> ("noext", ""). The extension is lower-cased, the name is not.
    """
    base = posixpath.basename(filename)
    stem, dot, ext = base.rpartition(".")
    if not dot:
        return base, ""
    return stem, ext.lower()


def content_type_for(name: str) -> str:
    """The image MIME type for a member name, or application/octet-stream."""
    ext = name.rpartition(".")[2].lower() if "." in name else ""
    return _IMAGE_TYPES.get(ext, "application/octet-stream")
