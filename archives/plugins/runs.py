"""Running metadata plugins: on request (POST /api/plugins/use, run_plugin jobs), which
only reports what a plugin found, and on new archives, which stores it.

Found tags go through the tag rules, then any tag already in the archive's tag
string (a case-insensitive substring test, as LANraragi does) is left out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from archives import formats
from archives.config import get_config
from archives.exceptions import Locked
from archives.locks import write_lock
from archives.models import Archive
from archives.plugins.base import MetadataInput
from archives.plugins.base import MetadataPlugin
from archives.plugins.base import PluginError
from archives.plugins.config import plugin_params
from archives.plugins.config import plugins_enabled
from archives.plugins.registry import plugin_get
from archives.reading import ArchiveUnreadable
from archives.reading import open_reader
from archives.search.cache import invalidate_search_cache
from archives.services import archive_set_tags
from archives.tagrules import apply_rules
from archives.tagrules import parse_rules
from archives.tags import normalize_tags
from archives.tags import one_line

logger = logging.getLogger(__name__)

NOT_FOUND = "Plugin not found on system."
NO_ID = "Tried to call a metadata plugin without providing an id."
UNKNOWN_ID = "This ID doesn't exist on the server."


@dataclass(frozen=True)
class PluginRun:
    """The outcome of one plugin run, in LANraragi's terms."""

    type: str | None
    error: str | None
    data: dict[str, Any]

    def json(self) -> dict[str, Any]:
        """`{type, success, error, data}`: the run_plugin job result and the body of
        /api/plugins/use (which adds its operation). `type` is left out when the
        plugin does not exist."""
        out: dict[str, Any] = {"success": 0 if self.error else 1, "error": self.error, "data": self.data}
        if self.type is not None:
            out["type"] = self.type
        return out


def _failed(plugin_type: str | None, message: str) -> PluginRun:
    return PluginRun(plugin_type, message, {"error": message})


class _ArchiveContent:
    """The members of an archive, opened on first use (a filename plugin never opens it)."""

    def __init__(self, archive: Archive, stack: ExitStack) -> None:
        self.archive = archive
        self.stack = stack
        self.reader: formats.ArchiveReader | None = None

    def _open(self) -> formats.ArchiveReader:
        if self.reader is None:
            try:
                self.reader = self.stack.enter_context(open_reader(self.archive, cached=False))
            except FileNotFoundError:
                raise PluginError("The archive's file is missing.") from None
            except ArchiveUnreadable as exc:
                raise PluginError(f"Unreadable archive: {exc.message}") from None
        return self.reader

    def member_names(self) -> list[str]:
        try:
            return [m.name for m in self._open().members()]
        except formats.ArchiveError as exc:
            raise PluginError(f"Unreadable archive: {exc}") from None

    def read_member(self, name: str, *, max_bytes: int) -> bytes:
        try:
            return self._open().read(name, max_bytes=max_bytes)
        except formats.MemberTooLarge:
            raise PluginError(f"{name} is too large.") from None
        except formats.ArchiveError as exc:
            raise PluginError(f"Cannot read {name}: {exc}") from None


@contextmanager
def _content(archive: Archive) -> Iterator[_ArchiveContent]:
    with ExitStack() as stack:
        yield _ArchiveContent(archive, stack)


def new_tags(found: list[str], existing: str) -> list[str]:
    """Tags a plugin found, rewritten by the tag rules, minus those already present."""
    config = get_config()
    tags = [one_line(t) for t in found]
    if config.tagruleson:
        tags = apply_rules(tags, parse_rules(config.tagrules))
    present = existing.upper()
    # LANraragi's test is a substring one: "art" counts as present next to "artist:x".
    # An empty tag is always "present", so it is dropped too.
    return [t for t in tags if t.upper() not in present]


def metadata_plugin_run(*, plugin: MetadataPlugin, archive: Archive, oneshot: str = "") -> dict[str, Any]:
    """What the plugin finds for the archive, as LANraragi's plugin data:
    `new_tags` (" a, b", LANraragi's spacing), and `title`/`summary` when found.
    Raises PluginError. Writes nothing."""
    params = plugin_params(plugin)
    with _content(archive) as content:
        source = MetadataInput(
            archive_id=archive.pk,
            title=archive.display_title,
            filename=archive.filename,
            existing_tags=archive.tags,
            oneshot=oneshot,
            content=content,
        )
        try:
            result = plugin.get_tags(source, params)
        except PluginError:
            raise
        except Exception as exc:
            # A plugin bug must not take the request or job down; it is this run's error.
            logger.exception("Plugin %s failed on %s", plugin.info.namespace, archive.pk)
            raise PluginError(f"{type(exc).__name__}: {exc}") from exc
    added = new_tags(result.tags, archive.tags)
    data: dict[str, Any] = {"new_tags": (" " + ", ".join(added)) if added else ""}
    if result.title is not None and get_config().replacetitles:
        data["title"] = result.title.strip()
    if result.summary is not None:
        data["summary"] = result.summary
    return data


def plugin_use(*, namespace: str, arcid: str, oneshot: str = "") -> PluginRun:
    """Run one plugin on one archive and report what it found; nothing is stored
    (LANraragi's clients then save the tags they want with PUT /metadata)."""
    plugin = plugin_get(namespace)
    if plugin is None:
        return _failed(None, NOT_FOUND)
    if not arcid or arcid == "0":
        return _failed(plugin.info.type, NO_ID)
    archive = Archive.objects.filter(pk=arcid, missing=False).first()
    if archive is None:
        return _failed(plugin.info.type, UNKNOWN_ID)
    try:
        data = metadata_plugin_run(plugin=plugin, archive=archive, oneshot=oneshot)
    except PluginError as exc:
        return _failed(plugin.info.type, exc.message)
    return PluginRun(plugin.info.type, None, data)


@dataclass
class AutoRunReport:
    successes: int = 0
    failures: int = 0
    added: int = 0
    title: str = ""

    def message(self) -> str:
        return f"{self.successes} Plugins used successfully, {self.failures} Plugins failed, {self.added} tags added. "


def plugins_run_enabled(*, arcid: str) -> AutoRunReport:
    """Run every enabled metadata plugin on a new archive and store what they find:
    new tags are appended, and a title replaces the current one when `replacetitles`
    is on. Each plugin's result is written under the archive's write lock."""
    report = AutoRunReport()
    for plugin in plugins_enabled():
        archive = Archive.objects.filter(pk=arcid, missing=False).first()
        if archive is None:
            break
        try:
            data = metadata_plugin_run(plugin=plugin, archive=archive)
        except PluginError as exc:
            logger.info("Plugin %s found nothing for %s: %s", plugin.info.namespace, arcid, exc.message)
            report.failures += 1
            continue
        try:
            with write_lock(f"archive-write:{arcid}", resource=arcid), transaction.atomic():
                _store(arcid, data, report)
        except Locked:
            logger.warning(
                "Plugin %s results for %s dropped: the archive is being written", plugin.info.namespace, arcid
            )
            report.failures += 1
            continue
        report.successes += 1
    return report


def _store(arcid: str, data: dict[str, Any], report: AutoRunReport) -> None:
    archive = Archive.objects.filter(pk=arcid).first()
    if archive is None:
        return
    added = normalize_tags(data["new_tags"])
    if added:
        archive_set_tags(archive=archive, tags=normalize_tags(f"{archive.tags},{data['new_tags']}"))
        report.added += len(added)
    fields = []
    title = one_line(data.get("title", ""))
    if title:
        # A blank title is ignored, as LANraragi's set_title does.
        archive.title = title
        report.title = title
        fields.append("title")
    if "summary" in data:
        archive.summary = data["summary"]
        fields.append("summary")
    if fields:
        archive.save(update_fields=[*fields, "updated_at"])
        invalidate_search_cache()
