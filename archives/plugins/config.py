"""Plugin settings as stored in PluginSetting rows: parameters, and which plugins run
on every new archive. Kept apart from runs.py so that the upload and scan services
can queue the automatic run without importing the plugin machinery."""

from __future__ import annotations

from typing import Any

from archives.models import PluginSetting
from archives.plugins.base import MetadataPlugin
from archives.plugins.registry import METADATA_PLUGINS
from archives.tasks import auto_plugins_enqueue


def plugin_params(plugin: MetadataPlugin) -> dict[str, str]:
    """Every parameter of the plugin: the stored value, else its default, as strings."""
    row = PluginSetting.objects.filter(namespace=plugin.info.namespace).first()
    stored: dict[str, Any] = row.params if row is not None and isinstance(row.params, dict) else {}
    out = {}
    for param in plugin.info.parameters:
        value = stored.get(param.name, param.default)
        if isinstance(value, bool):
            value = "1" if value else ""
        out[param.name] = "" if value is None else str(value)
    return out


def plugins_enabled() -> list[MetadataPlugin]:
    """The plugins that run on new archives, in run order."""
    enabled = set(PluginSetting.objects.filter(enabled=True).values_list("namespace", flat=True))
    return [p for p in METADATA_PLUGINS if p.info.namespace in enabled]


def plugins_set_enabled(*, namespaces: list[str]) -> None:
    """Run exactly these plugins on new archives (unknown namespaces are ignored)."""
    for namespace in (p.info.namespace for p in METADATA_PLUGINS):
        row, _ = PluginSetting.objects.get_or_create(namespace=namespace)
        if row.enabled != (namespace in namespaces):
            row.enabled = namespace in namespaces
            row.save(update_fields=["enabled"])


def plugins_enqueue_enabled(*, arcid: str) -> None:
    """Queue the run of the enabled plugins on a new archive, if any are enabled.

    A job, not inline: an upload answers at once, and a scan of many files does not
    wait for every archive's plugins. Runs once the current transaction commits.
    """
    namespaces = [p.info.namespace for p in METADATA_PLUGINS]
    if PluginSetting.objects.filter(enabled=True, namespace__in=namespaces).exists():
        auto_plugins_enqueue(arcid=arcid)
