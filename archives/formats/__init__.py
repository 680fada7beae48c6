"""Archive formats: sniff a file's bytes, open it with the matching reader, list and read pages.

Format modules never import Django; they take a path or a binary file object.
"""

from .base import ArchiveError
from .base import ArchiveReader
from .base import CorruptArchive
from .base import Limits
from .base import Member
from .base import MemberNotFound
from .base import MemberTooLarge
from .base import UnsupportedFormat
from .extensions import ACCEPTED_EXTENSIONS
from .extensions import content_type_for
from .extensions import is_accepted_filename
from .extensions import split_name
from .pages import IMAGE_EXTENSIONS
from .pages import is_appledouble_junk
from .pages import is_page_name
from .pages import natural_key
from .pages import order_pages
from .rar import rar_tool
from .registry import open_archive
from .registry import page_count
from .registry import sniff

__all__ = [
    "ACCEPTED_EXTENSIONS",
    "IMAGE_EXTENSIONS",
    "ArchiveError",
    "ArchiveReader",
    "CorruptArchive",
    "Limits",
    "Member",
    "MemberNotFound",
    "MemberTooLarge",
    "UnsupportedFormat",
    "content_type_for",
    "is_accepted_filename",
    "is_appledouble_junk",
    "is_page_name",
    "natural_key",
    "open_archive",
    "order_pages",
    "page_count",
    "rar_tool",
    "sniff",
    "split_name",
]
