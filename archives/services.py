"""Writes to the archive store. Views, tasks and commands call these; nothing else
creates, edits or deletes archives."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.db import IntegrityError
from django.db import transaction

from archives import formats
from archives.config import get_config
from archives.exceptions import ArchiveNotFound
from archives.exceptions import ChecksumMismatch
from archives.exceptions import DuplicateArchive
from archives.exceptions import DuplicateFilename
from archives.exceptions import UnreadableArchive
from archives.exceptions import UnsupportedExtension
from archives.locks import write_lock
from archives.models import Archive
from archives.models import ArchiveSortValue
from archives.models import ArchiveTag
from archives.models import ReadingState
from archives.models import Tag
from archives.plugins.config import plugins_enqueue_enabled
from archives.search.cache import invalidate_search_cache
from archives.search.keys import is_untagged
from archives.search.keys import namespace_sort_values
from archives.storage import absolute_path
from archives.storage import archives_storage
from archives.storage import modified_time
from archives.storage import thumbnails_storage
from archives.storage import upload_key
from archives.tags import index_form
from archives.tags import join_tags
from archives.tags import normalize_tags
from archives.tags import one_line
from archives.tags import split_namespace
from archives.tasks import thumbnail_enqueue
from archives.uploads import EMPTY_ID
from archives.uploads import HashedUpload

logger = logging.getLogger(__name__)


def format_limits() -> formats.Limits:
    return formats.Limits(
        max_members=settings.HONDANA_MAX_MEMBERS,
        max_member_bytes=settings.HONDANA_MAX_MEMBER_BYTES,
        max_pdf_pixels=settings.HONDANA_MAX_IMAGE_PIXELS,
    )


def archive_inspect(path: str) -> tuple[str, int]:
    """Open a local file as an archive: (format, page count), or UnreadableArchive."""
    try:
        with formats.open_archive(path, limits=format_limits()) as reader:
            return reader.format, len(reader.page_names())
    except formats.ArchiveError as exc:
        logger.info("Refusing unreadable archive %s: %s", path, exc)
        raise UnreadableArchive() from exc


def archive_set_tags(*, archive: Archive, tags: list[str]) -> None:
    """Store the tag string and keep every index derived from it in step: the
    lower-cased Tag links, the tag-id array, the untagged flag and the sort values."""
    archive.tags = join_tags(tags)
    names = {index_form(t) for t in tags}
    if names:
        Tag.objects.bulk_create([Tag(name=n, namespace=split_namespace(n)[0]) for n in names], ignore_conflicts=True)
    tag_ids = set(Tag.objects.filter(name__in=names).values_list("id", flat=True)) if names else set()
    Archive.objects.filter(pk=archive.pk).update(tags=archive.tags, untagged=is_untagged(tags), tag_ids=tag_ids)
    ArchiveTag.objects.filter(archive_id=archive.pk).exclude(tag_id__in=tag_ids).delete()
    ArchiveTag.objects.bulk_create(
        [ArchiveTag(archive_id=archive.pk, tag_id=i) for i in tag_ids], ignore_conflicts=True
    )
    ArchiveSortValue.objects.filter(archive_id=archive.pk).delete()
    ArchiveSortValue.objects.bulk_create(
        [
            ArchiveSortValue(archive_id=archive.pk, namespace=ns, value_sort=value)
            for ns, value in namespace_sort_values(tags).items()
        ]
    )
    invalidate_search_cache()


def archive_create_from_upload(
    *,
    upload: HashedUpload,
    checksum: str = "",
    title: str = "",
    tags: str = "",
    summary: str = "",
    queue_plugins: bool = True,
) -> Archive:
    """Check, store and record an uploaded file (LANraragi's order of checks).

    The file is only moved into the archives storage once every check has passed,
    so a refused upload leaves nothing behind. The enabled metadata plugins run in a
    job queued here, unless `queue_plugins` is off (a caller that runs them itself).
    """
    if checksum and checksum.strip().lower() != upload.sha1:
        # LANraragi compares case-sensitively, refusing a correct upper-case checksum;
        # any case is accepted here.
        raise ChecksumMismatch(checksum, upload.sha1)
    key = upload_key(upload.name or "")
    with write_lock(f"upload:{key}", ttl=600, resource=key):
        if not formats.is_accepted_filename(key):
            raise UnsupportedExtension(key)
        arcid = upload.arcid
        if upload.size == 0 or arcid == EMPTY_ID:
            raise UnreadableArchive()
        storage = archives_storage()
        config = get_config()

        existing = Archive.objects.filter(pk=arcid).first()
        if existing is not None:
            if storage.exists(existing.file) and not config.replacedupe:
                raise DuplicateArchive(arcid)
            archive_delete(arcid=arcid)
        if storage.exists(key):
            if not config.replacedupe:
                raise DuplicateFilename(arcid)
            other = Archive.objects.filter(file=key).first()
            if other is not None:
                archive_delete(arcid=other.pk)
            else:
                storage.delete(key)

        fmt, pagecount = archive_inspect(upload.temporary_file_path())
        name, extension = formats.split_name(key)
        try:
            stored = storage.save(key, upload)
        except BaseException:
            # A copy that failed half-way (a full disk) leaves no partial file; the
            # name was free when the lock was taken, so what is there now is ours.
            if storage.exists(key):
                storage.delete(key)
            raise
        # Until the row is committed the stored file is ours to remove; once it is,
        # nothing here deletes it (jobs are published after the commit, and a publish
        # that fails leaves them waiting in the database, see jobs.services).
        committed = False
        try:
            with transaction.atomic():
                archive = _archive_record(
                    arcid=arcid, stored=stored, name=name, extension=extension, fmt=fmt, pagecount=pagecount,
                    size=upload.size, title=title, summary=summary, tags=tags, config=config,
                )  # fmt: skip
                # The cover is made by a job, so the upload answers at once.
                thumbnail_enqueue(arcid=arcid)
                if queue_plugins:
                    plugins_enqueue_enabled(arcid=arcid)
            committed = True
        except IntegrityError:
            # The same content finished uploading under another name meanwhile.
            raise DuplicateArchive(arcid) from None
        finally:
            if not committed:
                storage.delete(stored)
    return archive


def _archive_record(
    *, arcid: str, stored: str, name: str, extension: str, fmt: str, pagecount: int, size: int,
    title: str, summary: str, tags: str, config: Any,
) -> Archive:  # fmt: skip
    storage = archives_storage()
    archive = Archive.objects.create(
        id=arcid,
        title=name,
        filename=name,
        extension=extension,
        file=stored,
        format=fmt,
        summary="",
        pagecount=pagecount,
        size=size,
        file_mtime=modified_time(storage, stored),
    )
    ReadingState.objects.create(archive=archive)
    if title.strip() and title.strip() != "0":
        archive.title = one_line(title)
    if summary and summary != "0":
        archive.summary = summary
    archive.save(update_fields=["title", "summary"])
    # Deliberately unlike LANraragi, the upload `tags` field is normalised even with
    # date_added off (it stores it as typed, empty items and duplicates included), and
    # a date_added the uploader gave is kept instead of getting a second one.
    tag_list = normalize_tags(tags)
    if config.usedateadded and not any(t.lower().startswith("date_added:") for t in tag_list):
        tag_list.append(f"date_added:{int(time.time())}")
    archive_set_tags(archive=archive, tags=tag_list)
    return archive


def archive_get(*, arcid: str) -> Archive:
    """An archive whose file is present; a record whose file has gone counts as absent."""
    archive = Archive.objects.filter(pk=arcid).first()
    if archive is None or archive.missing:
        raise ArchiveNotFound(arcid)
    if not archive.synthetic and not archives_storage().exists(archive.file):
        Archive.objects.filter(pk=arcid).update(missing=True)
        invalidate_search_cache()
        raise ArchiveNotFound(arcid)
    return archive


def archive_update_metadata(
    *, arcid: str, title: str | None = None, tags: str | None = None, summary: str | None = None
) -> Archive:
    """PUT /metadata: an empty title is ignored, empty tags clear, summary is verbatim."""
    with write_lock(f"archive-write:{arcid}", resource=arcid):
        archive = archive_get(arcid=arcid)
        with transaction.atomic():
            fields = []
            if title is not None and one_line(title):
                archive.title = one_line(title)
                fields.append("title")
            if summary is not None:
                archive.summary = summary
                fields.append("summary")
            if fields:
                archive.save(update_fields=[*fields, "updated_at"])
                invalidate_search_cache()
            if tags is not None:
                archive_set_tags(archive=archive, tags=normalize_tags(tags))
    return archive


def thumbnails_delete(*, arcid: str) -> None:
    storage = thumbnails_storage()
    shard = arcid[:2]
    try:
        _, files = storage.listdir(f"{shard}/{arcid}")
    except (FileNotFoundError, NotADirectoryError):
        files = []
    for name in files:
        storage.delete(f"{shard}/{arcid}/{name}")
    storage.delete(f"{shard}/{arcid}.jpg")


def pages_forget(*, arcid: str) -> None:
    """Drop what was derived from an ID's pages: the unpacked pages, the cached page list,
    and this process's idle open readers (other processes close theirs within seconds)."""
    from archives.pagecache import pagecache_drop
    from archives.reading import close_readers
    from archives.reading import forget_page_list

    pagecache_drop(arcid)
    forget_page_list(arcid)
    close_readers(arcid)


def archive_delete(*, arcid: str) -> str | None:
    """Remove the file, its thumbnails and the record; return where the file was, "0" if
    it was already gone (LANraragi's answer for a failed unlink), or None for an unknown ID.

    Takes the archive's write lock (Locked if another write holds it), as LANraragi does.
    """
    with write_lock(f"archive-write:{arcid}", resource=arcid):
        archive = Archive.objects.filter(pk=arcid).first()
        if archive is None:
            return None
        storage = archives_storage()
        location = absolute_path(storage, archive.file) if storage.exists(archive.file) else "0"
        storage.delete(archive.file)
        thumbnails_delete(arcid=arcid)
        pages_forget(arcid=arcid)
        archive.delete()
    invalidate_search_cache()
    return location


def archive_set_new(*, arcid: str, isnew: bool) -> Archive:
    """The new flag is reading state: one UPDATE, never `archive-write:<id>` (see
    archives.reading), so the public DELETE cannot make a metadata edit a 423."""
    from archives.reading import reading_state_update

    archive = Archive.objects.filter(pk=arcid, missing=False).first()
    if archive is None:
        raise ArchiveNotFound(arcid)
    reading_state_update(arcid=arcid, isnew=isnew)
    invalidate_search_cache()
    return archive


def archives_clear_new() -> int:
    cleared = ReadingState.objects.filter(user__isnull=True, isnew=True).update(isnew=False)
    invalidate_search_cache()
    return cleared


def tags_rebuild_index(*, progress: Any = None) -> int:
    """Re-derive every archive's tag index from its tag string; drop unused tags.

    Safe to run twice. `progress` (a JobProgress) gets `done`/`total` notes.
    """
    total = Archive.objects.count()
    if progress is not None:
        progress.note(total=total, done=0)
    done = 0
    # Batches of ids rather than one streaming cursor: on SQLite an open read cursor
    # pins a snapshot, and a write from it fails once another process has written.
    pks = list(Archive.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(pks), 500):
        for archive in Archive.objects.filter(pk__in=pks[start : start + 500]).only("pk", "tags"):
            with transaction.atomic():
                archive_set_tags(archive=archive, tags=normalize_tags(archive.tags))
            done += 1
            if progress is not None:
                progress.note(done=done)
    # Tags still used by a tankoubon stay, with their links.
    Tag.objects.filter(archive_links__isnull=True, tank_links__isnull=True).delete()
    return done
