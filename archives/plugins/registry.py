"""The plugins this server has, by namespace (LANraragi matches namespaces case-insensitively)."""

from __future__ import annotations

from archives.plugins.base import MetadataPlugin
from archives.plugins.base import PluginInfo
from archives.plugins.comicinfo import ComicInfoPlugin
from archives.plugins.regexparse import RegexParsePlugin

PLUGIN_TYPES = ("download", "login", "metadata", "script")

# The filename plugin comes first: LANraragi runs it before the others on new
# archives, so that a later plugin's tags and title have the last word.
METADATA_PLUGINS: tuple[MetadataPlugin, ...] = (RegexParsePlugin(), ComicInfoPlugin())
_BY_NAMESPACE = {p.info.namespace.lower(): p for p in METADATA_PLUGINS}


def plugin_get(namespace: str) -> MetadataPlugin | None:
    return _BY_NAMESPACE.get((namespace or "").lower())


def plugin_infos(plugin_type: str) -> list[PluginInfo]:
    """Plugins of one type ("all" for every type), in run order."""
    return [p.info for p in METADATA_PLUGINS if plugin_type in ("all", p.info.type)]
