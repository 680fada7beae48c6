"""The settings form: ServerConfig's fields (what LANraragi keeps in its config)."""

from __future__ import annotations

import os
from dataclasses import fields as dataclass_fields
from typing import Any

from django import forms

from archives.config import Config
from archives.models import ServerConfig
from archives.plugins.config import plugins_enabled
from archives.plugins.config import plugins_set_enabled
from archives.plugins.registry import METADATA_PLUGINS

GROUPS: list[tuple[str, list[str]]] = [
    ("Server", ["name", "motd"]),
    ("Access", ["enablepass", "nofunmode", "enablecors"]),
    ("Reading", ["archives_per_page", "localprogress", "authprogress"]),
    ("Uploads and tags", ["usedateadded", "usedatemodified", "replacedupe", "excluded_namespaces"]),
    ("Metadata plugins", ["tagruleson", "tagrules", "replacetitles"]),
    ("Pages", ["enableresize", "sizethreshold", "readerquality", "tempmaxsize"]),
    ("Thumbnails", ["pagethumbnails", "hqthumbpages", "pagethumb_max_pages"]),
]


def config_field_names() -> list[str]:
    """Every setting the server reads (archives.config.Config), secrets left out."""
    return [f.name for f in dataclass_fields(Config) if f.name != "api_key_hash"]


def env_name(field: str) -> str:
    return f"HONDANA_{field.upper()}"


class SettingsForm(forms.ModelForm):
    class Meta:
        model = ServerConfig
        fields = config_field_names()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if env_name(name) in os.environ:
                # The environment wins over the row (archives.config), so editing it here
                # would change nothing; show it as fixed.
                field.disabled = True
                field.help_text = f"Set by the environment ({env_name(name)}). {field.help_text}".strip()
            if name == "archives_per_page":
                field.widget.attrs.update({"min": 1, "max": 1000})

    def clean_archives_per_page(self) -> int:
        value = self.cleaned_data["archives_per_page"]
        if not 1 <= value <= 1000:
            raise forms.ValidationError("Between 1 and 1000.")
        return int(value)

    def groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        placed: set[str] = set()
        out = []
        for title, names in GROUPS:
            bound = [self[n] for n in names if n in self.fields]
            placed.update(names)
            if bound:
                out.append((title, bound))
        rest = [self[n] for n in self.fields if n not in placed]
        if rest:
            out.append(("Other", rest))
        return out


class PluginsForm(forms.Form):
    """Which metadata plugins run on every new archive: one checkbox per plugin."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        enabled = {p.info.namespace for p in plugins_enabled()}
        for plugin in METADATA_PLUGINS:
            self.fields[f"plugin_{plugin.info.namespace}"] = forms.BooleanField(
                label=f"Run {plugin.info.name} on new archives",
                required=False,
                initial=plugin.info.namespace in enabled,
                help_text=plugin.info.description,
            )

    def save(self) -> None:
        plugins_set_enabled(
            namespaces=[p.info.namespace for p in METADATA_PLUGINS if self.cleaned_data[f"plugin_{p.info.namespace}"]]
        )
