"""The OpenAPI document served at /api/openapi.json.

lanraragi.json is LANraragi's own OpenAPI 3.1 document (MIT), kept as JSON so that no
YAML parser is needed at run time; hondana.json adds Hondana's own routes. Both are
read and merged once per process; the serialized reply is cached per API root.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
# The parts of hondana.json merged into LANraragi's document; anything else there is notes.
_MERGED = ("paths", "components")


def _load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((_HERE / name).read_text(encoding="utf-8"))
    return document


def _merge(base: dict[str, Any], extra: dict[str, Any], where: str) -> None:
    """Add extra's keys to base, two levels deep (paths/<path>, components/<kind>/<name>).

    Hondana's routes never replace LANraragi's: a name present in both is a mistake.
    """
    for key, value in extra.items():
        if key not in base:
            base[key] = value
        elif where == "components" and isinstance(value, dict) and isinstance(base[key], dict):
            clashes = base[key].keys() & value.keys()
            if clashes:
                raise ValueError(f"hondana.json redefines components/{key}: {sorted(clashes)}")
            base[key].update(value)
        else:
            raise ValueError(f"hondana.json redefines {where}/{key}")


@functools.cache
def openapi_document() -> dict[str, Any]:
    """LANraragi's document with Hondana's own routes merged in. Callers must not change it."""
    document = _load("lanraragi.json")
    extra = _load("hondana.json")
    for section in _MERGED:
        if section in extra:
            _merge(document.setdefault(section, {}), extra[section], section)
    return document


@functools.lru_cache(maxsize=8)
def openapi_bytes(api_root: str) -> bytes:
    """The document as UTF-8 JSON, its one server being `api_root` (e.g. `/api`)."""
    document = copy.copy(openapi_document())
    document["servers"] = [{"url": api_root}]
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
