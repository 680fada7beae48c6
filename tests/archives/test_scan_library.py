"""scan_library: registering the files already in the content folder."""

from __future__ import annotations

import io
import json
import os
import shutil
import time
from pathlib import Path

import pytest
from django.apps import apps
from django.core.files.storage import storages
from django.core.management import call_command

from archives import services
from archives.locks import write_lock
from archives.models import Archive
from archives.models import ArchiveTag
from archives.models import ReadingState
from archives.models import ServerConfig
from archives.scanning import archive_references
from archives.scanning import library_scan
from archives.search.cache import search_generation
from tests.samples import cbz_bytes
from tests.samples import lrr_id

pytestmark = pytest.mark.django_db

FORMAT_OF = {"cbz": "zip", "zip": "zip", "cbr": "rar", "cb7": "7z", "tar": "tar", "pdf": "pdf", "epub": "epub"}


@pytest.fixture
def library() -> Path:
    root = Path(storages["archives"].location)
    root.mkdir(parents=True, exist_ok=True)
    return root


def put(library: Path, key: str, data: bytes) -> Path:
    path = library / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def scan(*args: str) -> str:
    out = io.StringIO()
    call_command("scan_library", *args, stdout=out, verbosity=0)
    return out.getvalue()


def listed_ids(client, auth_header) -> list[str]:
    response = client.get("/api/archives", **auth_header)
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return [a["arcid"] for a in json.loads(body)]


def snapshot() -> list[tuple]:
    return list(
        Archive.objects.order_by("pk").values_list("pk", "title", "file", "tags", "missing", "pagecount", "updated_at")
    )


def test_it_registers_every_format_with_its_page_count(library, corpus):
    manifest = json.loads((corpus / "manifest.json").read_text())
    entries = {e["format"]: e for e in reversed(manifest["archives"])}.values()
    before = int(time.time())
    for entry in entries:
        shutil.copy(corpus / entry["file"], library / entry["file"])

    out = scan()

    assert f"added: {len(entries)}" in out
    for entry in entries:
        archive = Archive.objects.get(pk=lrr_id((corpus / entry["file"]).read_bytes()))
        assert archive.file == entry["file"]
        assert (archive.title, archive.filename) == (entry["title_stem"], entry["title_stem"])
        assert archive.extension == entry["format"]
        assert (archive.format, archive.pagecount, archive.size) == (
            FORMAT_OF[entry["format"]],
            entry["pages"],
            entry["size"],
        )
        assert archive.tags.startswith("date_added:") and int(archive.tags.split(":")[1]) >= before
        assert ArchiveTag.objects.filter(archive=archive, tag__name=archive.tags).exists()
        assert ReadingState.objects.get(archive=archive, user=None).isnew is True


def test_a_second_scan_changes_nothing(library):
    put(library, "a.cbz", cbz_bytes(seed=1))
    put(library, "sub/b.cbz", cbz_bytes(seed=2))
    scan()
    before = snapshot()

    report = library_scan()

    assert (report.added, report.moved, report.marked_missing, report.known) == ([], [], [], 2)
    assert snapshot() == before
    assert ReadingState.objects.count() == 2


def test_nested_folders_are_walked_and_other_files_ignored(library):
    data = cbz_bytes(seed=3)
    put(library, "a/b/c/Deep One.cbz", data)
    put(library, "notes.txt", b"hello")
    put(library, "a/cover.jpg", b"\xff\xd8")
    put(library, "a/b/archive.zip.part", data)

    report = library_scan()

    assert report.added == ["a/b/c/Deep One.cbz"]
    assert report.ignored == 3
    archive = Archive.objects.get()
    assert (archive.pk, archive.file, archive.title) == (lrr_id(data), "a/b/c/Deep One.cbz", "Deep One")


def test_an_edited_file_keeps_its_metadata_under_its_new_id(library):
    old = cbz_bytes(seed=4)
    path = put(library, "Edited.cbz", old)
    scan()
    services.archive_update_metadata(arcid=lrr_id(old), title="My Title", tags="artist:me, series:x", summary="Nice")
    Archive.objects.filter(pk=lrr_id(old)).update(toc=[{"page": 2, "name": "Chapter 2"}])
    ReadingState.objects.filter(archive_id=lrr_id(old)).update(isnew=False, progress=2, lastreadtime=1_700_000_000)

    new = cbz_bytes(["1.jpg", "2.jpg", "3.jpg", "4.jpg"], seed=5)
    path.write_bytes(new)
    report = library_scan()

    assert report.moved == [("Edited.cbz", lrr_id(old), lrr_id(new))]
    assert not Archive.objects.filter(pk=lrr_id(old)).exists()
    archive = Archive.objects.get(pk=lrr_id(new))
    assert (archive.title, archive.tags, archive.summary) == ("My Title", "artist:me,series:x", "Nice")
    assert archive.toc == [{"page": 2, "name": "Chapter 2"}]
    assert (archive.pagecount, archive.size, archive.file) == (4, len(new), "Edited.cbz")
    assert sorted(ArchiveTag.objects.filter(archive=archive).values_list("tag__name", flat=True)) == [
        "artist:me",
        "series:x",
    ]
    assert ArchiveTag.objects.count() == 2
    state = ReadingState.objects.get()
    assert (state.archive_id, state.isnew, state.progress, state.lastreadtime) == (
        lrr_id(new),
        False,
        2,
        1_700_000_000,
    )
    assert library_scan().moved == []


def test_an_edited_file_and_a_copy_of_its_old_content_are_both_kept(library):
    old = cbz_bytes(seed=6)
    path = put(library, "b.cbz", old)
    scan()
    path.write_bytes(cbz_bytes(seed=7))
    put(library, "a-backup.cbz", old)

    report = library_scan()

    assert [key for key, _, _ in report.moved] == ["b.cbz"]
    assert report.added == ["a-backup.cbz"]
    assert Archive.objects.get(pk=lrr_id(old)).file == "a-backup.cbz"
    again = library_scan()
    assert (again.added, again.moved, again.duplicates) == ([], [], [])


def test_a_gone_file_is_marked_missing_and_unmarked_when_back(library, tmp_path, client, auth_header):
    data = cbz_bytes(seed=8)
    path = put(library, "Away.cbz", data)
    scan()
    aside = tmp_path / "aside.cbz"
    path.rename(aside)
    generation = search_generation()

    assert "marked missing: 1" in scan()
    assert Archive.objects.get().missing is True
    assert search_generation() != generation
    assert list(Archive.objects.present()) == []
    assert listed_ids(client, auth_header) == []

    aside.rename(path)
    assert "back from missing: 1" in scan()
    assert Archive.objects.get().missing is False
    assert listed_ids(client, auth_header) == [lrr_id(data)]


def test_a_renamed_file_keeps_its_record(library):
    data = cbz_bytes(seed=9)
    path = put(library, "Old Name.cbz", data)
    scan()
    services.archive_update_metadata(arcid=lrr_id(data), title="Kept")
    path.rename(library / "New Name.cbz")

    report = library_scan()

    assert report.relocated == [("Old Name.cbz", "New Name.cbz")]
    assert (report.added, report.marked_missing) == ([], [])
    archive = Archive.objects.get()
    assert (archive.file, archive.filename, archive.title, archive.missing) == (
        "New Name.cbz",
        "New Name",
        "Kept",
        False,
    )


def test_unreadable_files_are_reported_and_skipped(library, corpus):
    good = cbz_bytes(seed=10)
    put(library, "good.cbz", good)
    for name in ["notanarchive.cbz", "truncated.cbz"]:
        shutil.copy(corpus / "evil" / name, library / name)
    put(library, "empty.zip", b"")

    out = scan()

    assert list(Archive.objects.values_list("pk", flat=True)) == [lrr_id(good)]
    assert "unreadable, skipped: 3" in out
    for name in ["notanarchive.cbz", "truncated.cbz", "empty.zip"]:
        assert f"    {name}\n" in out
    assert library_scan().unreadable == ["empty.zip", "notanarchive.cbz", "truncated.cbz"]


def test_duplicates_keep_the_first_file(library):
    data = cbz_bytes(seed=11)
    put(library, "a.cbz", data)
    put(library, "z/copy.cbz", data)

    out = scan()

    assert Archive.objects.get().file == "a.cbz"
    assert "duplicates, skipped: 1" in out
    assert "z/copy.cbz (same ID as a.cbz)" in out


def test_dry_run_writes_nothing(library):
    put(library, "new.cbz", cbz_bytes(seed=12))
    known = put(library, "known.cbz", cbz_bytes(seed=13))
    scan()
    Archive.objects.filter(file="new.cbz").delete()
    known.unlink()

    out = scan("--dry-run")

    assert "would be added: 1" in out and "would be marked missing: 1" in out
    assert "Dry run: nothing was written." in out
    assert list(Archive.objects.values_list("file", "missing")) == [("known.cbz", False)]


def test_date_added_follows_the_server_settings(library):
    path = put(library, "old.cbz", cbz_bytes(seed=14))
    os.utime(path, (1_600_000_000, 1_600_000_000))
    ServerConfig.objects.update_or_create(pk=1, defaults={"usedatemodified": True})
    put(library, "untagged.cbz", cbz_bytes(seed=15))

    library_scan()
    assert Archive.objects.get(file="old.cbz").tags == "date_added:1600000000"

    ServerConfig.objects.update_or_create(pk=1, defaults={"usedateadded": False})
    Archive.objects.filter(file="untagged.cbz").delete()
    library_scan()
    assert Archive.objects.get(file="untagged.cbz").tags == ""


def test_a_file_being_uploaded_is_left_to_the_upload(library):
    put(library, "busy.cbz", cbz_bytes(seed=16))
    with write_lock("upload:busy.cbz"):
        report = library_scan()
    assert report.busy == ["busy.cbz"]
    assert not Archive.objects.exists()


def test_symlinked_folders_are_followed_without_looping(library, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "linked.cbz").write_bytes(cbz_bytes(seed=17))
    (library / "shelf").symlink_to(outside)
    (outside / "up").symlink_to(library)

    report = library_scan()

    assert report.added == ["shelf/linked.cbz"]
    assert report.duplicates == []


def test_every_key_that_points_at_an_archive_is_moved():
    # Models added later (categories, tanks...) must move with their archive too.
    expected = {
        (f.model._meta.label, f.name)
        for model in apps.get_models(include_auto_created=True)
        for f in model._meta.get_fields()
        if f.concrete and (f.many_to_one or f.one_to_one) and f.related_model is Archive
    }
    assert {(f.model._meta.label, f.name) for f in archive_references()} == expected
    assert {("archives.ArchiveTag", "archive"), ("archives.ReadingState", "archive")} <= expected


def test_synthetic_rows_are_never_marked_missing(library):
    Archive.objects.create(id="f" * 40, title="Generated", filename="Generated", file="nowhere.cbz", synthetic=True)
    report = library_scan()
    assert report.marked_missing == []
    assert Archive.objects.get().missing is False
