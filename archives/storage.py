"""The only place that names storages and builds keys in them.

Archives keep their uploaded file name at the top of the "archives" storage, like
LANraragi's content folder; thumbnails are sharded by the first two characters of
the ID (`ab/<id>.jpg`, `ab/<id>/7.jpg`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from contextlib import suppress
from pathlib import Path

from django.core.files.storage import Storage
from django.core.files.storage import storages

# LANraragi cuts names so that name + ".upload" fits a 255-byte file-name limit.
MAX_NAME_BYTES = 255 - len(".upload")


def archives_storage() -> Storage:
    return storages["archives"]


def thumbnails_storage() -> Storage:
    return storages["thumbnails"]


def pagecache_storage() -> Storage:
    return storages["pagecache"]


def backups_storage() -> Storage:
    return storages["backups"]


def backup_key(job_id: int) -> str:
    """The JSON backup written by backup_json job `job_id` (LANraragi's file name)."""
    return f"backup_{job_id}.json"


def pagecache_key(arcid: str, index: int) -> str:
    """Page `index` (its place in the page list) of an unpacked archive."""
    return f"{arcid[:2]}/{arcid}/{index:05d}"


def pagecache_dir(arcid: str) -> str:
    return f"{arcid[:2]}/{arcid}"


def save_atomic(storage: Storage, key: str, data: bytes) -> None:
    """Write a file so that readers never see it half-written.

    On disk: a temporary file in the same folder, then a rename. Object stores
    make a PUT visible whole, so the plain save is already atomic there.
    """
    try:
        path = Path(storage.path(key))
    except NotImplementedError:
        from django.core.files.base import ContentFile

        storage.save(key, ContentFile(data))
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    name = ""
    try:
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".tmp-", delete=False) as tmp:
            name = tmp.name
            tmp.write(data)
        os.replace(name, path)
    except BaseException:
        # A write that failed half-way (a full disk) leaves no partial file behind.
        if name:
            with suppress(OSError):
                os.unlink(name)
        raise


def _fit_name(stem: str, ext: str) -> str:
    budget = MAX_NAME_BYTES - len(ext.encode("utf-8"))
    data = stem.encode("utf-8")[: max(budget, 1)]
    # Cutting bytes can split a multi-byte character; drop the broken tail.
    return data.decode("utf-8", errors="ignore") + ext


def upload_key(client_filename: str) -> str:
    """The stored name for an uploaded file: its base name, cleaned and cut to fit.

    Directory parts are dropped (`../x.zip` -> `x.zip`), control characters removed,
    and the name cut from the end of the stem so that the extension survives.
    """
    base = client_filename.replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    if base in {"", ".", ".."}:
        base = "upload"
    stem, dot, ext = base.partition(".")
    # Keep multi-part extensions such as .tar.gz whole when cutting.
    ext = dot + ext if dot else ""
    if len(base.encode("utf-8")) <= MAX_NAME_BYTES:
        return base
    if len(ext.encode("utf-8")) > 32:
        stem, ext = os.path.splitext(base)
    return _fit_name(stem or "upload", ext)


def thumbnail_key(arcid: str, page: int = 0) -> str:
    """Cover (page 0) or page-N thumbnail key for an archive or tank ID."""
    shard = arcid[:2]
    if page <= 0:
        return f"{shard}/{arcid}.jpg"
    return f"{shard}/{arcid}/{page}.jpg"


def modified_time(storage: Storage, key: str) -> float:
    """The file's modification time in epoch seconds, or 0 where the backend has none."""
    try:
        return storage.get_modified_time(key).timestamp()
    except (NotImplementedError, OSError):
        return 0.0


def absolute_path(storage: Storage, key: str) -> str:
    """A human-readable location of a stored file (the path on disk when there is one)."""
    try:
        return storage.path(key)
    except NotImplementedError:
        return key


@contextmanager
def local_copy(storage: Storage, key: str) -> Iterator[Path]:
    """Yield a local path for a stored file: the file itself on disk, else a temp copy."""
    try:
        path = storage.path(key)
    except NotImplementedError:
        path = None
    if path is not None:
        yield Path(path)
        return
    with tempfile.NamedTemporaryFile(prefix="hondana-", suffix=Path(key).suffix) as tmp:
        with storage.open(key, "rb") as src:
            shutil.copyfileobj(src, tmp, 1024 * 1024)
        tmp.flush()
        yield Path(tmp.name)
