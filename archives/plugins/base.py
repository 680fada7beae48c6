"""The metadata plugin contract.

A plugin derives tags (and maybe a title or summary) for one archive from what it
is given: the archive's record and a read-only view of its members. Plugins never
import Django and never write; the services in runs.py apply tag rules and store
what they return. This mirrors LANraragi's `get_tags($lrr_info, $params)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import ClassVar
from typing import Literal
from typing import Protocol

ParamType = Literal["bool", "int", "string"]
PluginType = Literal["download", "login", "metadata", "script"]


class PluginError(Exception):
    """The plugin found nothing usable; `message` is shown to the client as the error."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class PluginParameter:
    name: str
    type: ParamType
    desc: str
    # Strings only: lanraragi-api reads default_value as a string (or its absence).
    default: str | None = None

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type, "desc": self.desc}
        if self.default is not None:
            out["default_value"] = self.default
        return out


@dataclass(frozen=True)
class PluginInfo:
    """What GET /api/plugins/{type} lists (LANraragi's plugin_info)."""

    name: str
    namespace: str
    author: str
    version: str
    description: str
    type: PluginType = "metadata"
    parameters: tuple[PluginParameter, ...] = ()
    oneshot_arg: str | None = None

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "namespace": self.namespace,
            "author": self.author,
            "version": self.version,
            "description": self.description,
            "parameters": [p.json() for p in self.parameters],
        }
        if self.oneshot_arg is not None:
            out["oneshot_arg"] = self.oneshot_arg
        return out


class ArchiveContent(Protocol):
    """Read-only access to the members of the archive a plugin runs on."""

    def member_names(self) -> list[str]:
        """Every regular file in the archive, in archive order."""
        ...

    def read_member(self, name: str, *, max_bytes: int) -> bytes:
        """One member's bytes; PluginError if it is missing, too large or unreadable."""
        ...


@dataclass(frozen=True)
class MetadataInput:
    """LANraragi's `$lrr_info`: what a metadata plugin knows about the archive."""

    archive_id: str
    title: str
    filename: str  # the file's base name without its last extension
    existing_tags: str
    oneshot: str
    content: ArchiveContent


@dataclass
class MetadataResult:
    tags: list[str] = field(default_factory=list)
    title: str | None = None
    summary: str | None = None


class MetadataPlugin(Protocol):
    info: ClassVar[PluginInfo]

    def get_tags(self, source: MetadataInput, params: Mapping[str, str]) -> MetadataResult:
        """Tags found for the archive, or PluginError. `params` holds every parameter
        of `info` by name, as strings (a bool is "1" or "" / "0")."""
        ...


def param_true(value: str | None) -> bool:
    """A bool parameter as LANraragi's config page stores it ("1", "on", "true")."""
    return (value or "").strip().lower() in {"1", "true", "on", "yes"}


def split_values(raw: str | None) -> list[str]:
    """Comma-separated values, trimmed, empty ones dropped."""
    return [v.strip() for v in (raw or "").split(",") if v.strip()]
