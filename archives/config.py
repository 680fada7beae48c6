"""The server's settings as code sees them: the ServerConfig row, with environment pins.

Reads are cached in the process for a couple of seconds, since every API request
looks at the auth settings; saving the row clears the cache at once here, and other
processes see the change within CONFIG_TTL.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
from dataclasses import dataclass
from dataclasses import fields

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from config.env import env_bool
from config.env import env_int

CONFIG_TTL = 2.0


@dataclass(frozen=True)
class Config:
    name: str
    motd: str
    enablepass: bool
    nofunmode: bool
    enablecors: bool
    localprogress: bool
    authprogress: bool
    archives_per_page: int
    usedateadded: bool
    usedatemodified: bool
    replacedupe: bool
    excluded_namespaces: str
    tagruleson: bool
    tagrules: str
    replacetitles: bool
    tempmaxsize: int
    enableresize: bool
    sizethreshold: int
    readerquality: int
    pagethumbnails: bool
    hqthumbpages: bool
    pagethumb_max_pages: int
    api_key_hash: str

    @property
    def excluded_namespace_list(self) -> list[str]:
        return [ns.strip() for ns in self.excluded_namespaces.split(",") if ns.strip()]

    @property
    def server_tracks_progress(self) -> bool:
        # Authenticated progress forces server-side tracking on (LANraragi does the same).
        return not self.localprogress or self.authprogress


_lock = threading.Lock()
_cached: tuple[float, Config] | None = None


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _load() -> Config:
    from archives.models import ServerConfig

    row, _ = ServerConfig.objects.get_or_create(pk=1)
    values: dict[str, object] = {}
    for f in fields(Config):
        model_field = ServerConfig._meta.get_field(f.name)
        value = getattr(row, f.name)
        env_name = f"HONDANA_{f.name.upper()}"
        if f.name != "api_key_hash" and env_name in os.environ:
            if isinstance(model_field, models.BooleanField):
                value = env_bool(env_name)
            elif isinstance(model_field, models.IntegerField):
                value = env_int(env_name, int(value), minimum=0)
            else:
                value = os.environ[env_name]
        values[f.name] = value
    if settings.HONDANA_API_KEY:
        values["api_key_hash"] = hash_key(settings.HONDANA_API_KEY)
    return Config(**values)  # type: ignore[arg-type]


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
    from archives.models import ServerConfig

    if not raw:
        raise ImproperlyConfigured("An API key cannot be empty.")
    row, _ = ServerConfig.objects.get_or_create(pk=1)
    row.api_key_hash = hash_key(raw)
    row.save()


def api_key_configured() -> bool:
    return bool(get_config().api_key_hash)


def _on_setting_changed(**kwargs: object) -> None:
    config_changed()


def connect_signals() -> None:
    from django.core.signals import setting_changed

    setting_changed.connect(_on_setting_changed, dispatch_uid="hondana-config")
