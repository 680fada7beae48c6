"""Register the files already in the archives storage: LANraragi's content-folder scan.

A scan runs in two passes. The first walks the storage and hashes every archive
file (the ID needs only its first 512,000 bytes). The second compares the files
with the records and writes: new files are added, records whose file has gone are
marked missing, and a known file whose content changed keeps its record, moved to
the new ID. Deciding on the whole picture first is what lets an edited file and a
backup copy of its old content both end up registered in one run.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from functools import partial
from typing import Any
from typing import Protocol

from django.conf import settings
from django.core.files.storage import Storage
from django.db import IntegrityError
from django.db import models
from django.db import transaction

from archives import formats
from archives.config import get_config
from archives.exceptions import Locked
from archives.exceptions import UnreadableArchive
from archives.locks import write_lock
from archives.models import Archive
from archives.models import ReadingState
from archives.plugins.config import plugins_enqueue_enabled
from archives.search.cache import invalidate_search_cache
from archives.services import archive_inspect
from archives.services import archive_set_tags
from archives.services import pages_forget
from archives.services import thumbnails_delete
from archives.storage import archives_storage
from archives.storage import local_copy
from archives.storage import modified_time
from archives.tasks import thumbnail_enqueue
from archives.uploads import EMPTY_ID
from archives.uploads import compute_id

logger = logging.getLogger(__name__)

# Inspecting a large PDF or a solid 7z can take a while; an upload holds the same
# lock for as long.
LOCK_TTL = 600.0
MAX_KEY_LENGTH = 1024  # Archive.file's max_length


class ScanProgress(Protocol):
    """What a scan reports progress to: a JobProgress, or a command's progress bar.

    Each stage starts with `note(stage=..., total=n, done=0)`, then `note(done=i)`.
    """

    def note(self, **notes: Any) -> None: ...


@dataclass
class ScanReport:
    """What a scan found and did (or, in a dry run, would do). Files are storage keys."""

    dry_run: bool = False
    files: int = 0
    ignored: int = 0
    known: int = 0
    added: list[str] = field(default_factory=list)
    moved: list[tuple[str, str, str]] = field(default_factory=list)  # (key, old ID, new ID)
    relocated: list[tuple[str, str]] = field(default_factory=list)  # (old key, new key)
    restored: list[str] = field(default_factory=list)
    marked_missing: list[str] = field(default_factory=list)
    refreshed: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (key, key of the file kept)
    busy: list[str] = field(default_factory=list)
    # Digest of every archive file's name, size and mtime as the scan saw them: the
    # file watcher compares it with library_fingerprint() to skip scans of nothing.
    fingerprint: str = ""


@dataclass(frozen=True)
class _File:
    key: str
    arcid: str
    size: int
    mtime: float = 0.0


@dataclass(frozen=True)
class _Record:
    id: str
    file: str
    missing: bool
    size: int
    mtime: float = 0.0


@dataclass
class _Plan:
    known: list[tuple[_Record, _File]] = field(default_factory=list)
    moves: list[tuple[_Record, _File]] = field(default_factory=list)
    relocations: list[tuple[_Record, _File]] = field(default_factory=list)
    adds: list[_File] = field(default_factory=list)
    gone: list[_Record] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)


def library_files(storage: Storage) -> tuple[list[str], int]:
    """Every key in `storage` with an accepted archive extension, sorted, and how many
    other files there were. Directories are walked recursively, following symlinks."""
    keys: list[str] = []
    ignored = 0
    # Following symlinks (as LANraragi does) means a link back up the tree would loop.
    seen_dirs: set[str] = set()
    spool = os.path.realpath(settings.FILE_UPLOAD_TEMP_DIR) if settings.FILE_UPLOAD_TEMP_DIR else None
    pending = [""]
    while pending:
        prefix = pending.pop()
        real = _real_dir(storage, prefix)
        if real is not None:
            # Half-received uploads are named "*.upload.cbz"; never register those.
            if real in seen_dirs or real == spool:
                continue
            seen_dirs.add(real)
        try:
            dirs, files = storage.listdir(prefix)
        except (FileNotFoundError, NotADirectoryError):
            continue
        pending.extend(f"{prefix}{name}/" for name in dirs)
        for name in files:
            if formats.is_accepted_filename(name):
                keys.append(f"{prefix}{name}")
            else:
                ignored += 1
    return sorted(keys), ignored


def _real_dir(storage: Storage, prefix: str) -> str | None:
    try:
        return os.path.realpath(storage.path(prefix))
    except NotImplementedError:
        return None


def library_scan(*, dry_run: bool = False, progress: ScanProgress | None = None, full: bool = False) -> ScanReport:
    """Bring the records in step with the files in the archives storage.

    New archive files are registered (title from the file name, a `date_added:` tag
    when the server setting asks for it, new flag set). A record whose file has gone
    is marked missing, and unmarked when the file is back. A known file whose
    content changed keeps its record, moved with every related row to the new ID.
    Unreadable files and duplicates (same ID as a file kept) are reported and
    skipped. Running it again changes nothing. With `dry_run`, nothing is written.

    A recorded file whose size and modification time are unchanged is not read
    again (its ID is taken from the record), which is what makes a periodic scan of
    a large library cheap; `full` reads every file anyway.
    """
    storage = archives_storage()
    report = ScanReport(dry_run=dry_run)
    keys, report.ignored = library_files(storage)
    report.files = len(keys)

    # Synthetic rows (generate_library) have no file to find.
    columns = ("id", "file", "missing", "size", "file_mtime")
    known = {} if full else {r.file: r for r in _records(columns)}
    scanned: list[_File] = []
    digest = hashlib.sha1()
    _stage(progress, "hashing", len(keys))
    for done, key in enumerate(keys, 1):
        stat = _stat(storage, key)
        _digest_add(digest, key, stat)
        found = _hash_file(storage, key, stat, known.get(key))
        if found is None:
            report.unreadable.append(key)
        else:
            scanned.append(found)
        _advance(progress, done)
    del known
    report.fingerprint = digest.hexdigest()

    # Read again: uploads may have finished while the files were being hashed.
    records = _records(columns)
    plan = _plan(scanned, records)
    report.duplicates.extend(plan.duplicates)
    report.known = len(plan.known)

    # Moves come before adds: an added file may carry the ID an edited file just left.
    steps: list[Callable[[], None]] = [
        *(partial(_keep, storage, record, found, report=report, dry_run=dry_run) for record, found in plan.known),
        *(partial(_move, storage, record, found, report=report, dry_run=dry_run) for record, found in plan.moves),
        *(
            partial(_relocate, storage, record, found, report=report, dry_run=dry_run)
            for record, found in plan.relocations
        ),
        *(partial(_add, storage, found, report=report, dry_run=dry_run) for found in plan.adds),
    ]
    _stage(progress, "registering", len(steps))
    for done, step in enumerate(steps, 1):
        step()
        _advance(progress, done)

    # The file list is a snapshot; one that appeared since (an upload) is not gone.
    gone = [r for r in plan.gone if not storage.exists(r.file)]
    if gone and not dry_run:
        Archive.objects.filter(pk__in=[r.id for r in gone]).update(missing=True)
    report.marked_missing.extend(r.file for r in gone)
    changed = report.added or report.moved or report.relocated or report.restored or report.refreshed or gone
    if changed and not dry_run:
        invalidate_search_cache()
    logger.info(
        "Library scan%s: %d files, %d added, %d moved, %d missing, %d unreadable, %d duplicates",
        " (dry run)" if dry_run else "",
        report.files,
        len(report.added),
        len(report.moved),
        len(report.marked_missing),
        len(report.unreadable),
        len(report.duplicates),
    )
    return report


def _records(columns: tuple[str, ...]) -> list[_Record]:
    rows = Archive.objects.filter(synthetic=False).values_list(*columns).order_by("file")
    return [_Record(*row) for row in rows]


def _stage(progress: ScanProgress | None, stage: str, total: int) -> None:
    if progress is not None:
        progress.note(stage=stage, total=total, done=0)


def _advance(progress: ScanProgress | None, done: int) -> None:
    if progress is not None:
        progress.note(done=done)


def library_fingerprint() -> str:
    """ScanReport.fingerprint of the archives storage as it is now, read without
    opening a file: a listing and a stat per file."""
    storage = archives_storage()
    keys, _ = library_files(storage)
    digest = hashlib.sha1()
    for key in keys:
        _digest_add(digest, key, _stat(storage, key))
    return digest.hexdigest()


def _digest_add(digest: Any, key: str, stat: tuple[int, float] | None) -> None:
    size, mtime = stat if stat is not None else (-1, 0.0)
    digest.update(f"{key}\0{size}\0{mtime!r}\n".encode("utf-8", "surrogateescape"))


def _stat(storage: Storage, key: str) -> tuple[int, float] | None:
    try:
        return storage.size(key), modified_time(storage, key)
    except OSError:
        return None


def _hash_file(
    storage: Storage, key: str, stat: tuple[int, float] | None, record: _Record | None = None
) -> _File | None:
    if len(key) > MAX_KEY_LENGTH:
        logger.warning("Skipping %s: its path is too long to record", key)
        return None
    if stat is None:
        logger.warning("Cannot read %s: no size or modification time", key)
        return None
    size, mtime = stat
    try:
        if record is not None and record.mtime and (record.size, record.mtime) == (size, mtime):
            # Unchanged since its ID was computed (the check rsync makes by default).
            return _File(key=key, arcid=record.id, size=size, mtime=mtime)
        with storage.open(key, "rb") as fileobj:
            arcid = compute_id(fileobj)
    except OSError as exc:
        logger.warning("Cannot read %s: %s", key, exc)
        return None
    if arcid == EMPTY_ID:
        return None
    return _File(key=key, arcid=arcid, size=size, mtime=mtime)


def _plan(files: list[_File], records: list[_Record]) -> _Plan:
    """Decide what each file and record becomes; `files` in the order that wins ties."""
    plan = _Plan()
    by_file = {r.file: r for r in records}
    by_id = {r.id: r for r in records}
    present = {f.key for f in files}
    held: dict[str, str] = {}  # ID -> key of the file that has it after the scan
    edited: list[tuple[_Record, _File]] = []
    for f in files:
        record = by_file.get(f.key)
        if record is None:
            continue
        if record.id == f.arcid:
            plan.known.append((record, f))
            held[f.arcid] = f.key
        else:
            edited.append((record, f))
    gone = {r.id: r for r in records if r.file not in present}
    for record, f in edited:
        if f.arcid in held or f.arcid in by_id:
            # The new content is another archive's. Moving onto an ID that a record
            # still has would need that record moved first; such chains are left to
            # the next scan, and a file that now copies another stays as it was.
            holder = held.get(f.arcid) or by_id[f.arcid].file
            plan.duplicates.append((f.key, holder))
            held[record.id] = f.key
        else:
            plan.moves.append((record, f))
            held[f.arcid] = f.key
    for f in files:
        if f.key in by_file:
            continue
        if f.arcid in held:
            plan.duplicates.append((f.key, held[f.arcid]))
        elif f.arcid in gone:
            plan.relocations.append((gone.pop(f.arcid), f))
            held[f.arcid] = f.key
        else:
            plan.adds.append(f)
            held[f.arcid] = f.key
    plan.gone = [r for r in gone.values() if not r.missing]
    return plan


def _inspect(storage: Storage, key: str) -> tuple[str, int] | None:
    try:
        with local_copy(storage, key) as path:
            return archive_inspect(str(path))
    except (UnreadableArchive, OSError) as exc:
        logger.warning("Skipping unreadable archive %s: %s", key, exc)
        return None


def _keep(storage: Storage, record: _Record, found: _File, *, report: ScanReport, dry_run: bool) -> None:
    """A known file: unmark it if it was missing, refresh size and pages if its tail changed."""
    if record.missing:
        report.restored.append(found.key)
        if not dry_run:
            Archive.objects.filter(pk=record.id).update(missing=False)
    if record.size == found.size:
        if record.mtime != found.mtime and not dry_run:
            Archive.objects.filter(pk=record.id).update(file_mtime=found.mtime)
        return
    # Same first 512,000 bytes, so the same ID, but pages may have been appended.
    inspected = _inspect(storage, found.key)
    if inspected is None:
        report.unreadable.append(found.key)
        return
    report.refreshed.append(found.key)
    if not dry_run:
        fmt, pagecount = inspected
        Archive.objects.filter(pk=record.id).update(
            format=fmt, pagecount=pagecount, size=found.size, file_mtime=found.mtime
        )


def _relocate(storage: Storage, record: _Record, found: _File, *, report: ScanReport, dry_run: bool) -> None:
    """A missing record's content found under another name: point the record at it."""
    report.relocated.append((record.file, found.key))
    if dry_run:
        return
    name, extension = formats.split_name(found.key)
    Archive.objects.filter(pk=record.id).update(
        file=found.key, filename=name, extension=extension, size=found.size, file_mtime=found.mtime, missing=False
    )


def _move(storage: Storage, record: _Record, found: _File, *, report: ScanReport, dry_run: bool) -> None:
    """A known file whose content changed: the record and its related rows take the new ID."""
    inspected = _inspect(storage, found.key)
    if inspected is None:
        report.unreadable.append(found.key)
        return
    if dry_run:
        report.moved.append((found.key, record.id, found.arcid))
        return
    fmt, pagecount = inspected
    try:
        with write_lock(f"archive-write:{record.id}", ttl=LOCK_TTL, resource=record.id):
            # Unpacked pages and the page list describe the old content: drop them
            # before their rows would follow the record to the new ID.
            pages_forget(arcid=record.id)
            if not archive_move(old_id=record.id, new_id=found.arcid):
                return
            Archive.objects.filter(pk=found.arcid).update(
                format=fmt, pagecount=pagecount, size=found.size, file_mtime=found.mtime, thumbhash="", missing=False
            )
    except Locked:
        report.busy.append(found.key)
        return
    # The old thumbnails show the old content and are keyed by the old ID.
    thumbnails_delete(arcid=record.id)
    thumbnail_enqueue(arcid=found.arcid)
    report.moved.append((found.key, record.id, found.arcid))


def archive_move(*, old_id: str, new_id: str) -> bool:
    """Give an archive a new ID, keeping its metadata and every row that points at it.

    Related rows are found through the model's relations, so rows of models added
    later (categories, tankoubons...) move too. Returns False if `old_id` is gone.
    """
    with transaction.atomic():
        # Django creates foreign keys DEFERRABLE INITIALLY DEFERRED (PostgreSQL and
        # SQLite), so the children may point at the new ID only once it exists, and
        # are checked at commit.
        if not Archive.objects.filter(pk=old_id).update(id=new_id):
            return False
        for fk in archive_references():
            fk.model._base_manager.filter(**{fk.attname: old_id}).update(**{fk.attname: new_id})
    logger.info("Archive %s moved to %s after its file changed", old_id, new_id)
    return True


def archive_references() -> list[models.ForeignKey[Any, Any]]:
    """Every foreign key (or one-to-one) that points at an Archive's ID, in any model."""
    found = []
    # Hidden relations (related_name="+", many-to-many through tables) count too.
    for relation in Archive._meta.get_fields(include_hidden=True):
        if not (relation.auto_created and not relation.concrete):
            continue
        if not (relation.one_to_many or relation.one_to_one):
            continue
        fk = relation.field  # type: ignore[union-attr]
        # A key to another column of Archive needs no change when the ID changes.
        if fk.target_field is Archive._meta.pk:
            found.append(fk)
    return found


def _add(storage: Storage, found: _File, *, report: ScanReport, dry_run: bool) -> None:
    inspected = _inspect(storage, found.key)
    if inspected is None:
        report.unreadable.append(found.key)
        return
    if dry_run:
        report.added.append(found.key)
        return
    fmt, pagecount = inspected
    try:
        # The lock an upload of the same name holds while it stores and records the
        # file: without it, the scan could record a file the upload then removes.
        with write_lock(f"upload:{found.key}", ttl=LOCK_TTL, resource=found.key):
            created = _create(storage, found, fmt=fmt, pagecount=pagecount)
    except Locked:
        report.busy.append(found.key)
        return
    if created:
        report.added.append(found.key)
    else:
        report.known += 1


def _create(storage: Storage, found: _File, *, fmt: str, pagecount: int) -> bool:
    config = get_config()
    name, extension = formats.split_name(found.key)
    tags: list[str] = []
    if config.usedateadded:
        added = storage.get_modified_time(found.key).timestamp() if config.usedatemodified else time.time()
        tags.append(f"date_added:{int(added)}")
    try:
        with transaction.atomic():
            archive = Archive.objects.create(
                id=found.arcid,
                title=name,
                filename=name,
                extension=extension,
                file=found.key,
                format=fmt,
                pagecount=pagecount,
                size=found.size,
                file_mtime=found.mtime,
            )
            ReadingState.objects.create(archive=archive)
            archive_set_tags(archive=archive, tags=tags)
            thumbnail_enqueue(arcid=archive.pk)
            plugins_enqueue_enabled(arcid=archive.pk)
    except IntegrityError:
        # Recorded since the scan looked (an upload of the same file finished).
        return False
    return True
