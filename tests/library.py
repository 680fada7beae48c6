"""Archive rows made directly through the services, without files (fast search fixtures)."""

from __future__ import annotations

import hashlib
import itertools

from archives.models import Archive
from archives.models import ReadingState
from archives.services import archive_set_tags
from archives.tags import normalize_tags

_counter = itertools.count()


def make_archive(
    title: str,
    tags: str = "",
    *,
    pagecount: int = 20,
    progress: int = 0,
    lastread: int = 0,
    isnew: bool = False,
    arcid: str | None = None,
) -> str:
    """A synthetic archive (no file, never marked missing) with its reading state."""
    arcid = arcid or hashlib.sha1(f"{title}:{next(_counter)}".encode()).hexdigest()
    archive = Archive.objects.create(
        id=arcid,
        title=title,
        filename=title,
        extension="cbz",
        file=f"synthetic/{arcid}.cbz",
        format="zip",
        pagecount=pagecount,
        size=1000,
        synthetic=True,
    )
    ReadingState.objects.create(archive=archive, isnew=isnew, progress=progress, lastreadtime=lastread)
    archive_set_tags(archive=archive, tags=normalize_tags(tags))
    return arcid
