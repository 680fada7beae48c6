"""The settings form: ServerConfig's editable fields (what LANraragi keeps in its config)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import MaxValueValidator
from django.core.validators import MinValueValidator

from archives.config import env_name
from archives.config import env_pins
from archives.config import setting_fields
from archives.models import ServerConfig
from archives.plugins.config import plugins_enabled
from archives.plugins.config import plugins_set_enabled
from archives.plugins.registry import METADATA_PLUGINS


class SettingsForm(forms.ModelForm):
    class Meta:
        model = ServerConfig
        fields = [f.name for f in setting_fields()]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        pinned = env_pins()
        for model_field in setting_fields():
            field = self.fields[model_field.name]
            if model_field.name in pinned:
                # The environment wins over the row (archives.config), so editing it here
                # would change nothing; show it as fixed.
                name = env_name(model_field.name)
                field.disabled = True
                field.help_text = f"Set by the environment ({name}). {field.help_text}".strip()
            # The model's bounds, for the number input too (the form checks them through the model).
            lows = [v.limit_value for v in model_field.validators if isinstance(v, MinValueValidator)]
            highs = [v.limit_value for v in model_field.validators if isinstance(v, MaxValueValidator)]
            if lows:
                field.widget.attrs["min"] = max(lows)
            if highs:
                field.widget.attrs["max"] = min(highs)

    def groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(title, [self[name] for name in names]) for title, names in ServerConfig.GROUPS.items()]


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
