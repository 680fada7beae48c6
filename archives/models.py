"""Archive records, their tags and reading state, and the server's own settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q


class ArchiveQuerySet(models.QuerySet["Archive"]):
    def present(self) -> ArchiveQuerySet:
        """Archives whose file is still in storage; the others are hidden from lists."""
        return self.filter(missing=False)


class Archive(models.Model):
    """One archive file. Its primary key is LANraragi's ID: SHA-1 of the first 512,000 bytes."""

    id = models.CharField(primary_key=True, max_length=40)
    title = models.TextField()
    # LANraragi's `filename`: base name without its last extension; `extension` the rest.
    filename = models.TextField()
    extension = models.CharField(max_length=16, blank=True)
    # Key of the file in the "archives" storage (only archives/storage.py builds keys).
    file = models.CharField(max_length=1024, unique=True)
    format = models.CharField(max_length=8, help_text="Container format found by its magic bytes.")
    # The canonical comma string, in the order and case it was written; the Tag rows
    # below are its lower-cased index.
    tags = models.TextField(blank=True, default="")
    summary = models.TextField(blank=True, default="")
    pagecount = models.PositiveIntegerField(default=0)
    size = models.BigIntegerField(default=0)
    toc = models.JSONField(default=list, blank=True)
    thumbhash = models.CharField(max_length=40, blank=True, default="")
    missing = models.BooleanField(default=False, help_text="The file has gone from storage.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ArchiveQuerySet.as_manager()

    class Meta:
        ordering = ["title"]
        indexes = [models.Index(fields=["missing"], name="archive_missing_idx")]

    def __str__(self) -> str:
        return self.title or self.filename

    @property
    def display_title(self) -> str:
        return self.title or self.filename


class Tag(models.Model):
    """A distinct tag, lower-cased: `namespace:value`, or a bare value with namespace ''."""

    # Text, not varchar: a source: URL can be long, and PostgreSQL would refuse an
    # over-long varchar instead of storing it.
    name = models.TextField(unique=True)
    namespace = models.TextField(blank=True, db_index=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ArchiveTag(models.Model):
    archive = models.ForeignKey(Archive, on_delete=models.CASCADE, related_name="tag_links")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="archive_links")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["archive", "tag"], name="archivetag_unique")]
        indexes = [models.Index(fields=["tag", "archive"], name="archivetag_tag_archive_idx")]

    def __str__(self) -> str:
        return f"{self.archive_id}: {self.tag_id}"


class ReadingState(models.Model):
    """Progress, last read time and the "new" flag of one archive.

    The row with user=None is the server-wide state that the LANraragi API shows;
    per-user rows can be added beside it without touching Archive.
    """

    archive = models.ForeignKey(Archive, on_delete=models.CASCADE, related_name="reading_states")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="reading_states"
    )
    isnew = models.BooleanField(default=True)
    progress = models.PositiveIntegerField(default=0)
    lastreadtime = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["archive", "user"], name="readingstate_archive_user"),
            # NULLs are distinct in unique indexes, so the shared row needs its own.
            models.UniqueConstraint(fields=["archive"], condition=Q(user__isnull=True), name="readingstate_shared"),
        ]

    def __str__(self) -> str:
        return f"{self.archive_id} for {self.user_id or 'everyone'}: page {self.progress}"


class WriteLock(models.Model):
    """A named, expiring lock (LANraragi's `archive-write:<id>` and friends)."""

    name = models.CharField(primary_key=True, max_length=300)
    token = models.CharField(max_length=32)
    expires_at = models.FloatField()

    def __str__(self) -> str:
        return self.name


class ServerConfig(models.Model):
    """What LANraragi keeps in its config; one row, editable in the admin.

    Any field can be pinned by the environment as HONDANA_<FIELD> (upper case); a
    pinned value wins over the row (see archives.config).
    """

    name = models.CharField(max_length=200, default="Hondana")
    motd = models.CharField("message of the day", max_length=500, default="Welcome to Hondana!")
    enablepass = models.BooleanField(
        "password protection", default=True, help_text="Off: every endpoint and page is open to anyone."
    )
    nofunmode = models.BooleanField(
        "No-Fun mode", default=False, help_text="Everything, reading included, needs a login or the API key."
    )
    enablecors = models.BooleanField("CORS headers", default=False)
    localprogress = models.BooleanField(
        "client-side progress", default=False, help_text="Clients keep reading progress; the server does not."
    )
    authprogress = models.BooleanField(
        "authenticated progress", default=False, help_text="Saving progress needs a login or the API key."
    )
    archives_per_page = models.PositiveIntegerField(default=100)
    usedateadded = models.BooleanField("add date_added tags", default=True)
    usedatemodified = models.BooleanField("date_added from file mtime", default=False)
    replacedupe = models.BooleanField("replace duplicate uploads", default=False)
    excluded_namespaces = models.CharField(max_length=500, default="source,date_added", blank=True)
    tempmaxsize = models.PositiveIntegerField(
        "page cache size (MB)", default=500, help_text="Unpacked pages of slow formats (solid 7z, PDF) kept on disk."
    )
    enableresize = models.BooleanField("resize large pages", default=False)
    sizethreshold = models.PositiveIntegerField("resize pages above (KB)", default=1000)
    readerquality = models.PositiveIntegerField("resized page JPEG quality", default=50)
    pagethumbnails = models.BooleanField("make page thumbnails", default=True)
    hqthumbpages = models.BooleanField("high-quality page thumbnails", default=False)
    pagethumb_max_pages = models.PositiveIntegerField(
        "page thumbnails per archive", default=0, help_text="0 means every page."
    )
    api_key_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    total_pages_read = models.BigIntegerField(default=0, editable=False)
    cache_last_cleared = models.BigIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = "server settings"
        verbose_name_plural = "server settings"

    def __str__(self) -> str:
        return "Server settings"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = 1
        super().save(*args, **kwargs)
        from archives.config import config_changed

        config_changed()
