"""Archive records, their tags and reading state, and the server's own settings."""

from __future__ import annotations

from typing import Any
from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.core.validators import MinValueValidator
from django.db import IntegrityError
from django.db import models
from django.db import transaction
from django.db.models import F
from django.db.models import Q


class ArchiveQuerySet(models.QuerySet["Archive"]):
    def present(self) -> ArchiveQuerySet:
        """Archives whose file is still in storage; the others are hidden from lists."""
        return self.filter(missing=False)


class TagIdsField(models.Field):
    """The archive's Tag ids: `integer[]` on PostgreSQL, where a GIN index answers tag
    searches (`tag_ids && ARRAY[...]`); unused NULL on SQLite, which searches through
    the ArchiveTag index instead."""

    description = "Tag ids (PostgreSQL integer[])"

    def db_type(self, connection: Any) -> str:
        return "integer[]" if connection.vendor == "postgresql" else "text"

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if value is None or connection.vendor != "postgresql":
            return None
        return sorted(int(v) for v in value)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return value if isinstance(value, list) else None


class SearchColumnsMixin(models.Model):
    """Columns that only exist to answer searches fast; written by services, never by hand."""

    # Natural-sort key of the lower-cased title (archives.search.keys.natural_key),
    # compared byte-wise (COLLATE "C" on PostgreSQL).
    title_sort = models.TextField(blank=True, default="", editable=False)
    # The lower-cased, trimmed title that title tokens are matched against.
    title_lower = models.TextField(blank=True, default="", editable=False)

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        from archives.search.keys import title_keys

        self.title_sort, self.title_lower = title_keys(self.search_title())
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "title_sort", "title_lower"}
        super().save(*args, **kwargs)

    def search_title(self) -> str:
        raise NotImplementedError


class Archive(SearchColumnsMixin):
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
    # The file's modification time (epoch seconds) when its ID was last computed: a
    # scan re-hashes only files whose size or mtime differ (0 = not known yet).
    file_mtime = models.FloatField(default=0, editable=False)
    missing = models.BooleanField(default=False, help_text="The file has gone from storage.")
    # A row made by `manage.py generate_library`: it has no file and is never marked missing.
    synthetic = models.BooleanField(default=False, editable=False)
    # No tag outside LANraragi's basic namespaces (kept by services.archive_set_tags).
    untagged = models.BooleanField(default=True, editable=False)
    # Member of at least one tank, so hidden from grouped searches (kept by archives.tankoubons).
    in_tank = models.BooleanField(default=False, editable=False)
    tag_ids = TagIdsField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ArchiveQuerySet.as_manager()

    class Meta:
        ordering = ["title"]
        indexes = [
            models.Index(fields=["missing"], name="archive_missing_idx"),
            # Counts of the base sets of a search (grouped or not) read only this index.
            models.Index(fields=["missing", "in_tank", "untagged"], name="archive_search_flags_idx"),
            # Joins from reading states (hidecompleted) need only the page count.
            models.Index(fields=["id", "pagecount"], name="archive_id_pagecount_idx"),
        ]

    def __str__(self) -> str:
        return self.title or self.filename

    @property
    def display_title(self) -> str:
        return self.title or self.filename

    def search_title(self) -> str:
        return self.display_title


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
        indexes = [
            # Searches: `sortby=lastread` walks this in order, `newonly` counts the not-new.
            models.Index(fields=["lastreadtime"], condition=Q(user__isnull=True), name="readingstate_lastread_idx"),
            models.Index(fields=["isnew", "archive"], condition=Q(user__isnull=True), name="readingstate_isnew_idx"),
            # `hidecompleted` looks only at the rows with some progress.
            models.Index(
                fields=["progress", "archive"],
                condition=Q(user__isnull=True, progress__gt=0),
                name="readingstate_progress_idx",
            ),
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


# LANraragi's default tag rules: drop words that describe a release, not its content.
DEFAULT_TAG_RULES = "\n".join(
    f"-{word}"
    for word in (
        "already uploaded", "forbidden content", "incomplete", "ongoing", "complete", "various", "digital",
        "translated", "russian", "chinese", "portuguese", "french", "spanish", "italian", "vietnamese", "german",
        "indonesian",
    )
)  # fmt: skip


class ServerConfig(models.Model):
    """What LANraragi keeps in its config; one row, editable on the settings page and in the admin.

    The fields are the only description of the settings: archives.config builds the
    runtime view and the environment pins from them, reader.forms the settings page.
    A new setting is a field, its migration, and its place in GROUPS. Any editable
    field can be pinned by the environment as HONDANA_<FIELD> (upper case); a pinned
    value wins over the row (see archives.config).

    Counters do not belong here (ServerCounters): this row is saved whole.
    """

    # Where the settings page and the admin show each editable field, in order; a
    # field in no group fails tests/archives/test_config_settings.py.
    GROUPS: ClassVar[dict[str, tuple[str, ...]]] = {
        "Server": ("name", "motd"),
        "Access": ("enablepass", "nofunmode", "enablecors"),
        "Reading": ("archives_per_page", "localprogress", "authprogress"),
        "Uploads and tags": ("usedateadded", "usedatemodified", "replacedupe", "excluded_namespaces"),
        "Metadata plugins": ("tagruleson", "tagrules", "replacetitles"),
        "Pages": ("enableresize", "sizethreshold", "readerquality", "tempmaxsize"),
        "Thumbnails": ("pagethumbnails", "hqthumbpages", "pagethumb_max_pages"),
    }

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
    archives_per_page = models.PositiveIntegerField(
        default=100, validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    usedateadded = models.BooleanField("add date_added tags", default=True)
    usedatemodified = models.BooleanField("date_added from file mtime", default=False)
    replacedupe = models.BooleanField("replace duplicate uploads", default=False)
    excluded_namespaces = models.CharField(max_length=500, default="source,date_added", blank=True)
    tagruleson = models.BooleanField(
        "apply tag rules", default=True, help_text="Rewrite the tags metadata plugins find."
    )
    tagrules = models.TextField(
        "tag rules",
        blank=True,
        default=DEFAULT_TAG_RULES,
        help_text=(
            "One rule a line, applied to tags from metadata plugins only: '-tag' removes, '-ns:*' removes "
            "a namespace, '~ns' strips it, 'a -> b' replaces, 'ns:* -> new:*' renames a namespace, "
            "'a => b' replaces after the other rules."
        ),
    )
    replacetitles = models.BooleanField(
        "plugins may set titles", default=True, help_text="Metadata plugins that find a title replace the current one."
    )
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


class ServerCounters(models.Model):
    """One row of running totals (LANraragi's `total_pages_read`).

    Kept out of ServerConfig: the settings page and the admin save that row whole,
    which would write an old count back, and a count bumped on every page turn would
    make the settings row the hottest row in the database.
    """

    total_pages_read = models.BigIntegerField(default=0)

    class Meta:
        verbose_name_plural = "server counters"

    def __str__(self) -> str:
        return "Server counters"

    @classmethod
    def current(cls) -> ServerCounters:
        return cls.objects.filter(pk=1).first() or cls(pk=1)

    @classmethod
    def bump(cls, **amounts: int) -> None:
        """Add to counters in one UPDATE each, so concurrent bumps never lose one another."""
        changes = {name: F(name) + amount for name, amount in amounts.items()}
        if cls.objects.filter(pk=1).update(**changes):
            return
        # The migration creates the row; only an emptied database lacks it.
        try:
            with transaction.atomic():
                cls.objects.create(pk=1, **amounts)
        except IntegrityError:
            cls.objects.filter(pk=1).update(**changes)


class Category(models.Model):
    """LANraragi's category: static (a list of archives and tanks) or dynamic (a saved search)."""

    id = models.CharField(primary_key=True, max_length=14)
    name = models.TextField()
    # Non-empty makes the category dynamic.
    search = models.TextField(blank=True, default="")
    pinned = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name

    @property
    def is_dynamic(self) -> bool:
        return self.search != ""


class Tankoubon(SearchColumnsMixin):
    """An ordered group of archives shown as one item in grouped searches."""

    id = models.CharField(primary_key=True, max_length=15)
    name = models.TextField()
    summary = models.TextField(blank=True, default="")
    # The tank's own tags (comma string, normalised); members' tags are added when searched.
    tags = models.TextField(blank=True, default="")
    progress = models.PositiveIntegerField(default=0)
    lastreadtime = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "tankoubon"

    def __str__(self) -> str:
        return self.name

    def search_title(self) -> str:
        return self.name


class CategoryItem(models.Model):
    """One member of a static category: an archive or a tank. Deleting either drops the link."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="items")
    archive = models.ForeignKey(Archive, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    tank = models.ForeignKey(Tankoubon, null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["id"]  # insertion order, as LANraragi's JSON list
        constraints = [
            models.CheckConstraint(
                condition=Q(archive__isnull=False, tank__isnull=True) | Q(archive__isnull=True, tank__isnull=False),
                name="categoryitem_one_target",
            ),
            models.UniqueConstraint(fields=["category", "archive"], name="categoryitem_archive_unique"),
            models.UniqueConstraint(fields=["category", "tank"], name="categoryitem_tank_unique"),
        ]
        indexes = [
            models.Index(fields=["archive", "category"], name="categoryitem_archive_idx"),
            models.Index(fields=["tank", "category"], name="categoryitem_tank_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.category_id}: {self.archive_id or self.tank_id}"

    @property
    def item_id(self) -> str:
        return self.archive_id or self.tank_id or ""


class TankoubonArchive(models.Model):
    tank = models.ForeignKey(Tankoubon, on_delete=models.CASCADE, related_name="members")
    archive = models.ForeignKey(Archive, on_delete=models.CASCADE, related_name="tank_links")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["tank", "position"]
        constraints = [models.UniqueConstraint(fields=["tank", "archive"], name="tankarchive_unique")]
        indexes = [models.Index(fields=["archive", "tank"], name="tankarchive_archive_idx")]

    def __str__(self) -> str:
        return f"{self.tank_id} #{self.position}: {self.archive_id}"


class TankoubonTag(models.Model):
    """The lower-cased index of a tank's own tags (members' tags are reached through them)."""

    tank = models.ForeignKey(Tankoubon, on_delete=models.CASCADE, related_name="tag_links")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="tank_links")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tank", "tag"], name="tanktag_unique")]
        indexes = [models.Index(fields=["tag", "tank"], name="tanktag_tag_tank_idx")]

    def __str__(self) -> str:
        return f"{self.tank_id}: {self.tag_id}"


class ArchiveSortValue(models.Model):
    """Natural-sort key of the last `<namespace>:` tag of an archive, for `sortby=<namespace>`."""

    archive = models.ForeignKey(Archive, on_delete=models.CASCADE, related_name="sort_values")
    namespace = models.TextField()
    value_sort = models.TextField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["archive", "namespace"], name="sortvalue_unique")]
        indexes = [
            models.Index(fields=["namespace", "value_sort"], name="sortvalue_ns_value_idx"),
            # The archives with a tag in a namespace (a bare `female:` search token).
            models.Index(fields=["namespace", "archive"], name="sortvalue_ns_archive_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.archive_id} {self.namespace}: {self.value_sort}"


class LibraryState(models.Model):
    """One row: the bookmark link and the search cache generation.

    Kept out of ServerConfig on purpose: the admin saves that row whole, which would
    write an old generation back over a newer one.
    """

    bookmark_category = models.CharField(max_length=14, blank=True, default="")
    search_generation = models.BigIntegerField(default=0)
    cache_last_cleared = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return "Library state"


class PendingRestore(models.Model):
    """An uploaded backup waiting for its restore job (the database is what every worker shares)."""

    payload = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Backup uploaded {self.created_at:%Y-%m-%d %H:%M}"


class PageCacheEntry(models.Model):
    """Pages of one slow-to-read archive (solid 7z, PDF, remote storage) unpacked
    once into the "pagecache" storage; the least recently read are evicted."""

    class State(models.TextChoices):
        FILLING = "filling"
        COMPLETE = "complete"

    archive = models.OneToOneField(Archive, primary_key=True, on_delete=models.CASCADE, related_name="page_cache")
    state = models.CharField(max_length=10, choices=State.choices, default=State.FILLING)
    pages = models.PositiveIntegerField(default=0)
    bytes = models.BigIntegerField(default=0)
    last_access = models.FloatField(db_index=True)

    def __str__(self) -> str:
        return f"{self.archive_id}: {self.pages} pages, {self.bytes} bytes ({self.state})"


class Stamp(models.Model):
    """A note pinned to a position on one page of an archive (LANraragi's stamps)."""

    # LANraragi's key: STAMPS_<page>_<creation time in milliseconds>.
    id = models.CharField(primary_key=True, max_length=64)
    archive = models.ForeignKey(Archive, on_delete=models.CASCADE, related_name="stamps")
    page = models.PositiveIntegerField()
    content = models.TextField(blank=True, default="")
    # Normalised coordinates as the client sent them ("12,34"); never interpreted.
    position = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["archive", "page", "created_at", "id"]
        indexes = [models.Index(fields=["archive", "page"], name="stamp_archive_page_idx")]

    def __str__(self) -> str:
        return self.id


class PluginSetting(models.Model):
    """A metadata plugin's settings: whether it runs on every new archive, and its parameters."""

    namespace = models.CharField(primary_key=True, max_length=100)
    enabled = models.BooleanField(
        "run on new archives", default=False, help_text="Run on every uploaded, downloaded or scanned archive."
    )
    # Parameter values by name; a missing name takes the plugin's default.
    params = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["namespace"]
        verbose_name = "metadata plugin"

    def __str__(self) -> str:
        return self.namespace


class WatcherState(models.Model):
    """One row: the content-folder watcher (LANraragi's Shinobu), shared by every process.

    `enabled` is what /api/shinobu/stop and /restart toggle; the worker that runs the
    watcher loop stamps `heartbeat` and `watcher` (host:pid), and claims each periodic
    scan by moving `next_scan_at` with a conditional UPDATE.
    """

    enabled = models.BooleanField(default=True)
    next_scan_at = models.FloatField(default=0)
    watcher = models.CharField(max_length=200, blank=True, default="")
    heartbeat = models.FloatField(null=True, blank=True)
    # What the last complete scan saw (ScanReport.fingerprint): no new scan while the
    # content folder still looks the same.
    fingerprint = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        verbose_name = "file watcher state"

    def __str__(self) -> str:
        return "File watcher"


class FailedAttempts(models.Model):
    """Wrong passwords or API keys counted against one user name or client address.

    archives.throttle owns the rows. They live in the database, not the cache, so that
    every web process counts the same attempts (LocMemCache is per process) and a Redis
    outage does not lift a lockout.
    """

    key = models.CharField(primary_key=True, max_length=200)
    failures = models.PositiveIntegerField(default=0)
    window_ends = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "failed attempts"
        verbose_name_plural = "failed attempts"

    def __str__(self) -> str:
        return f"{self.key}: {self.failures}"
