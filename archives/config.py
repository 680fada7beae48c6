"""The server's settings as code sees them: the ServerConfig row, with environment pins.

Both are derived from the model's fields, so a new setting is a model field and
nothing here. The pins (HONDANA_<FIELD>) are parsed once per process, when the app
starts: archives.checks reports a bad one at start-up (manage.py check, migrate,
serve), and get_config() never parses the environment again.

Reads are cached in the process for a couple of seconds, since every API request
looks at the auth settings; saving the row clears the cache at once here, and other
processes see the change within CONFIG_TTL.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import threading
import time
from dataclasses import make_dataclass
from typing import TYPE_CHECKING
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import ValidationError
from django.db import models

from archives.models import ServerConfig
from config.env import env_bool
from config.env import env_int

CONFIG_TTL = 2.0


class ConfigFacts:
    """What callers read off the settings besides the fields themselves."""

    excluded_namespaces: str
    localprogress: bool
    authprogress: bool

    @property
    def excluded_namespace_list(self) -> list[str]:
        return [ns.strip() for ns in self.excluded_namespaces.split(",") if ns.strip()]

    @property
    def server_tracks_progress(self) -> bool:
        # Authenticated progress forces server-side tracking on (LANraragi does the same).
        return not self.localprogress or self.authprogress


# The model field types a setting may have, and what the environment's text becomes.
_PYTHON_TYPES: tuple[tuple[type[models.Field[Any, Any]], type], ...] = (
    (models.BooleanField, bool),
    (models.IntegerField, int),
    (models.CharField, str),
    (models.TextField, str),
)


def _python_type(field: models.Field[Any, Any]) -> type:
    for model_type, python_type in _PYTHON_TYPES:
        if isinstance(field, model_type):
            return python_type
    raise TypeError(f"ServerConfig.{field.name}: archives.config cannot read a {type(field).__name__} setting")


def config_fields() -> list[models.Field[Any, Any]]:
    """Every column of the settings row: the settings and the stored API key hash."""
    return [f for f in ServerConfig._meta.concrete_fields if not f.primary_key]


def setting_fields() -> list[models.Field[Any, Any]]:
    """The settings an admin edits and the environment can pin (never the key hash)."""
    return [f for f in config_fields() if f.editable]


def env_name(field_name: str) -> str:
    return f"HONDANA_{field_name.upper()}"


if TYPE_CHECKING:

    class Config(ServerConfig, ConfigFacts):
        """Type checkers see the model's own fields; at run time this is the frozen
        dataclass built from them below."""

else:
    Config = make_dataclass(
        "Config",
        [(f.name, _python_type(f)) for f in config_fields()],
        bases=(ConfigFacts,),
        frozen=True,
        module=__name__,
    )


_lock = threading.Lock()
_cached: tuple[float, Config] | None = None


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _parse_pin(field: models.Field[Any, Any]) -> Any:
    """HONDANA_<FIELD> read as the field's type and checked by the field's own validators."""
    name = env_name(field.name)
    raw = os.environ[name]
    python_type = _python_type(field)
    if python_type is bool:
        value: Any = env_bool(name)
    elif python_type is int:
        value = env_int(name, 0)
    else:
        value = raw
    try:
        return field.clean(value, None)
    except ValidationError as exc:
        raise ImproperlyConfigured(f"{name}: {' '.join(exc.messages)} Got {raw!r}.") from None


@functools.cache
def _env_pins() -> tuple[dict[str, Any], tuple[str, ...]]:
    values: dict[str, Any] = {}
    errors: list[str] = []
    for field in setting_fields():
        name = env_name(field.name)
        # An empty number is no pin, as env_int reads an empty value everywhere else.
        if name not in os.environ or (_python_type(field) is int and not os.environ[name].strip()):
            continue
        try:
            values[field.name] = _parse_pin(field)
        except ImproperlyConfigured as exc:
            errors.append(str(exc))
    return values, tuple(errors)


def env_pin_errors() -> tuple[str, ...]:
    """One message per HONDANA_<FIELD> whose value its setting cannot take."""
    return _env_pins()[1]


def env_pins() -> dict[str, Any]:
    """The settings the environment pins, by field name, parsed once per process."""
    values, errors = _env_pins()
    if errors:
        raise ImproperlyConfigured("; ".join(errors))
    return values


def forget_env_pins() -> None:
    """Parse the environment again on the next read (tests that change it)."""
    _env_pins.cache_clear()
    config_changed()


def _load() -> Config:
    row, _ = ServerConfig.objects.get_or_create(pk=1)
    values = {f.name: getattr(row, f.name) for f in config_fields()}
    values.update(env_pins())
    if settings.HONDANA_API_KEY:
        values["api_key_hash"] = hash_key(settings.HONDANA_API_KEY)
    return Config(**values)


def get_config() -> Config:
    global _cached
    now = time.monotonic()
    cached = _cached
    if cached is not None and now - cached[0] < CONFIG_TTL:
        return cached[1]
    with _lock:
        config = _load()
        _cached = (now, config)
    return config


def config_changed() -> None:
    global _cached
    _cached = None


def api_key_matches(raw: str) -> bool:
    """Compare a presented key with the configured one in constant time."""
    expected = get_config().api_key_hash
    if not expected or not raw:
        return False
    return hmac.compare_digest(hash_key(raw), expected)


def set_api_key(raw: str) -> None:
    """Store a new API key (its hash only). HONDANA_API_KEY, when set, still wins."""
    if not raw:
        raise ImproperlyConfigured("An API key cannot be empty.")
    row, _ = ServerConfig.objects.get_or_create(pk=1)
    row.api_key_hash = hash_key(raw)
    row.save(update_fields=["api_key_hash"])  # never an older copy of the settings


def api_key_configured() -> bool:
    return bool(get_config().api_key_hash)


def _on_setting_changed(**kwargs: object) -> None:
    config_changed()


def connect_signals() -> None:
    from django.core.signals import setting_changed

    setting_changed.connect(_on_setting_changed, dispatch_uid="hondana-config")
