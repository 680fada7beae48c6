"""A full disk is a 507 in LANraragi's error shape, and leaves nothing half-written.

The disk is real: a 4 MB tmpfs mounted for the test holds the archives, the
thumbnails, the page cache and the upload spool, and is filled before the writes.
"""

from __future__ import annotations

import errno
import os
import pwd
import random
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import AbstractContextManager
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.db import DatabaseError
from django.db import connection
from psycopg import sql

from archives.models import Archive
from tests.samples import cbz_bytes
from tests.samples import upload

pytestmark = pytest.mark.django_db

DISK_FULL = "The server's disk is full"


def mount_tmpfs(folder: Path, size: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill up needs root")
    if shutil.which("mount") is None:
        pytest.skip("needs mount(8)")
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"this machine refuses to mount a tmpfs: {done.stderr.decode(errors='replace').strip()}")


def unmount(folder: Path) -> None:
    subprocess.run(["umount", "-l", str(folder)], check=False, capture_output=True)


def fill(path: Path, *, leave: int = 0) -> None:
    """Write `path` until the file system has at most `leave` bytes free."""
    chunk = b"\0" * (64 * 1024)
    with path.open("ab") as fh:
        while True:
            stat = os.statvfs(path.parent)
            free = stat.f_bavail * stat.f_frsize
            if free <= leave:
                return
            try:
                fh.write(chunk[: max(min(len(chunk), free - leave), 1)])
                fh.flush()
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                return


def tree(root: Path) -> dict[str, bytes]:
    """Every file under `root` (hidden ones included) with its bytes, dummies aside."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith("dummy")
    }


@pytest.fixture
def small_disk(settings, tmp_path: Path) -> Iterator[Path]:
    """Archives, thumbnails, page cache and spool on one 4 MB tmpfs (a real file system)."""
    disk = tmp_path / "disk"
    mount_tmpfs(disk, "4m")
    try:
        storages = {name: dict(conf) for name, conf in settings.STORAGES.items()}
        for name in ("archives", "thumbnails", "pagecache"):
            (disk / name).mkdir()
            storages[name] = {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(disk / name), "allow_overwrite": name != "archives"},
            }
        settings.STORAGES = storages
        (disk / "spool").mkdir()
        settings.FILE_UPLOAD_TEMP_DIR = str(disk / "spool")
        yield disk
    finally:
        unmount(disk)


def test_upload_onto_a_full_disk_is_507_and_leaves_nothing(
    client, auth_header, small_disk, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        r = upload(client, "Before.cbz", cbz_bytes(seed=1), headers=auth_header)
    assert r.status_code == 200, r.content
    arcid = r.json()["id"]
    fill(small_disk / "dummy", leave=256 * 1024)
    before = tree(small_disk)
    assert any(name.startswith("thumbnails/") for name in before), "the cover was made before the disk filled"

    big = cbz_bytes(seed=2, padding=1024 * 1024)  # four times the free space
    r = upload(client, "Too Big.cbz", big, headers=auth_header)

    assert r.status_code == 507, r.content
    assert r["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["operation"] == "upload"
    assert body["success"] == 0
    assert body["error"].startswith(DISK_FULL)
    assert tree(small_disk) == before, "no partial spool or archive file is left"
    assert list((small_disk / "spool").iterdir()) == []
    assert list(Archive.objects.values_list("pk", flat=True)) == [arcid]

    # Reads go on.
    assert client.get("/api/archives").status_code == 200
    assert client.get("/api/search?filter=before").json()["recordsFiltered"] == 1
    files = client.get(f"/api/archives/{arcid}/files")
    assert files.status_code == 200
    assert client.get(files.json()["pages"][0]).status_code == 200
    assert client.get(f"/api/archives/{arcid}/thumbnail").status_code == 200
    # The database is not on the full disk: edits go on too.
    r = client.put(f"/api/archives/{arcid}/metadata?title=Still%20Editable", **auth_header)
    assert r.status_code == 200, r.content


def test_cover_change_onto_a_full_disk_is_507_and_keeps_the_old_cover(
    client, auth_header, small_disk, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        r = upload(client, "Cover.cbz", cbz_bytes(seed=3), headers=auth_header)
    arcid = r.json()["id"]
    cover = client.get(f"/api/archives/{arcid}/thumbnail").getvalue()
    fill(small_disk / "dummy")
    before = tree(small_disk)

    r = client.put(f"/api/archives/{arcid}/thumbnail?page=2", **auth_header)

    assert r.status_code == 507, r.content
    assert r.json()["operation"] == "update_thumbnail"
    assert r.json()["success"] == 0
    assert r.json()["error"].startswith(DISK_FULL)
    assert tree(small_disk) == before, "no temporary thumbnail file is left"
    assert client.get(f"/api/archives/{arcid}/thumbnail").getvalue() == cover


def test_archive_copy_onto_a_full_disk_leaves_no_partial_file(client, auth_header, settings, small_disk, tmp_path):
    """The spool has room but the archives folder (another file system) is full: the
    upload is read whole, and the copy into the archives fails half-way."""
    (tmp_path / "roomy-spool").mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "roomy-spool")
    fill(small_disk / "dummy", leave=256 * 1024)
    before = tree(small_disk)

    r = upload(client, "Copied.cbz", cbz_bytes(seed=4, padding=1024 * 1024), headers=auth_header)

    assert r.status_code == 507, r.content
    assert r.json()["error"].startswith(DISK_FULL)
    assert tree(small_disk) == before, "no partial archive is left"
    assert list((tmp_path / "roomy-spool").iterdir()) == []
    assert not Archive.objects.exists()


def big_summary(size: int = 1024 * 1024) -> str:
    """Text that neither compresses nor fits in the free pages of a small database."""
    return random.Random(0).randbytes(size // 2).hex()


def edit_summary(client, auth_header, arcid: str):
    body = urlencode({"title": "Should Not Stick", "summary": big_summary()})
    return client.put(
        f"/api/archives/{arcid}/metadata", data=body, content_type="application/x-www-form-urlencoded", **auth_header
    )


@pytest.fixture
def full_database() -> Iterator[Callable[..., AbstractContextManager[None]]]:
    """`with full_database("table", ...)`: the database can't grow inside the block.

    SQLite: PRAGMA max_page_count pinned to the file's size, which SQLite answers with
    SQLITE_FULL as it does for a full disk (the disk the test database lives on is
    not filled). PostgreSQL: the tables moved to a tablespace on a full 4 MB tmpfs,
    which it answers with SQLSTATE 53100; the server must run on this machine.

    Either way the test runs outside a transaction, as requests do: SQLite may roll
    back a whole transaction on SQLITE_FULL, and moving tables is committed DDL.
    """
    if connection.vendor == "sqlite":

        @contextmanager
        def sqlite_full(*tables: str) -> Iterator[None]:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA page_count")
                cursor.execute(f"PRAGMA max_page_count = {cursor.fetchone()[0]}")
            try:
                yield
            finally:
                with connection.cursor() as cursor:
                    cursor.execute("PRAGMA max_page_count = 1073741823")

        yield sqlite_full
        return

    try:
        owner = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no postgres user here: PostgreSQL runs on another machine")
    # Not under pytest's temporary folder, which only root may enter.
    folder = Path(tempfile.mkdtemp(prefix="hondana-pgfull-"))
    mount_tmpfs(folder, "4m")
    name = sql.Identifier(f"hondana_full_{uuid.uuid4().hex[:8]}")

    def execute(statement: sql.Composed) -> None:
        with connection.cursor() as cursor:
            cursor.execute(statement.as_string())

    @contextmanager
    def postgresql_full(*tables: str) -> Iterator[None]:
        for table in tables:
            execute(sql.SQL("ALTER TABLE {} SET TABLESPACE {}").format(sql.Identifier(table), name))
        fill(folder / "dummy")
        try:
            yield
        finally:
            (folder / "dummy").unlink()
            for table in tables:
                execute(sql.SQL("ALTER TABLE {} SET TABLESPACE pg_default").format(sql.Identifier(table)))

    try:
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        folder.chmod(0o700)
        try:
            execute(sql.SQL("CREATE TABLESPACE {} LOCATION {}").format(name, sql.Literal(str(folder))))
        except DatabaseError as exc:
            pytest.skip(f"PostgreSQL can't use a folder of this machine: {exc}")
        yield postgresql_full
    finally:
        try:
            execute(sql.SQL("DROP TABLESPACE IF EXISTS {}").format(name))
        finally:
            unmount(folder)
            folder.rmdir()


@pytest.mark.django_db(transaction=True)
def test_metadata_edit_on_a_full_database_is_507_and_changes_nothing(client, auth_header, full_database):
    arcid = upload(client, "Database.cbz", cbz_bytes(seed=5), headers=auth_header).json()["id"]

    with full_database("archives_archive"):
        r = edit_summary(client, auth_header, arcid)
        meta = client.get(f"/api/archives/{arcid}/metadata")

    assert r.status_code == 507, r.content
    assert r.json() == {"operation": "update_metadata", "success": 0, "error": r.json()["error"]}
    assert r.json()["error"].startswith(DISK_FULL)
    assert meta.status_code == 200
    assert (meta.json()["title"], meta.json()["summary"]) == ("Database", "")


@pytest.mark.django_db(transaction=True)
def test_login_page_on_a_full_database_is_a_507_page(client, django_user_model, full_database):
    """The session is saved on the way out, after the view: a fault outside any view."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite keeps the first session in a page it has already: a full file can't refuse it")
    django_user_model.objects.create_user(username="reader", password="correct horse")
    client.raise_request_exception = False
    with full_database("django_session"):
        r = client.post("/login", {"username": "reader", "password": "correct horse"})
    assert r.status_code == 507
    assert r["Content-Type"].startswith("text/html")
    assert b"The server&#x27;s disk is full" in r.content
