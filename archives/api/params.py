"""Request parameter checks with the messages of LANraragi's OpenAPI validator.

Parameters are read from the query string or a form body, whichever has them, as
LANraragi does (clients PUT form bodies where the spec says query).
"""

from __future__ import annotations

import re
from typing import Any

_INTEGER = re.compile(r"-?(0|[1-9]\d*)")
# Perl turns integers past 64 bits into floats, which its validator then refuses; here
# they would overflow the database's integer columns (a 500) instead.
_INT64 = 2**63 - 1
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False, "": False}


class ParamError(Exception):
    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


NUL_MESSAGE = "String contains a NUL character."


SURROGATE_MESSAGE = "String contains an unpaired surrogate."
_SURROGATE = re.compile("[\ud800-\udfff]")


def _checked(value: str, name: str) -> str:
    # Redis stores NUL; PostgreSQL text and JSON cannot (a 500 there), nor can file names.
    if "\x00" in value:
        raise ParamError(NUL_MESSAGE, f"/{name}")
    # Only a JSON body's \ud800-style escapes get here: such a string is no UTF-8, so
    # once stored every reply that holds it would fail.
    if _SURROGATE.search(value):
        raise ParamError(SURROGATE_MESSAGE, f"/{name}")
    return value


def raw_param(request: Any, name: str) -> str | None:
    """A parameter from the query string, else from a parsed form body."""
    value = request.query_params.get(name) if hasattr(request, "query_params") else request.GET.get(name)
    if value is not None:
        return _checked(str(value), name)
    data = getattr(request, "data", None)
    if data is not None and hasattr(data, "get"):
        try:
            value = data.get(name)
        except AttributeError:
            return None
        # Only plain values count: a file part, or an object or array from a JSON body, is no parameter.
        if isinstance(value, (str, int, float)):
            return _checked(str(value), name)
    return None


# A tag is a unique key of an index, and PostgreSQL refuses index entries past 2,704
# bytes; LANraragi has no limit, but no real tag comes near this.
MAX_TAG_BYTES = 1000


def check_tags(raw: str | None, path: str) -> None:
    for tag in (raw or "").split(","):
        size = len(tag.strip().encode("utf-8"))
        if size > MAX_TAG_BYTES:
            raise ParamError(f"Tag too long: {size}/{MAX_TAG_BYTES} bytes.", path)


def check_json(value: Any, path: str = "/body") -> None:
    """A JSON body holds no NUL in any string (keys included)."""
    if isinstance(value, str):
        _checked(value, path.lstrip("/"))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_json(item, f"{path}/{i}")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_json(str(key), path)
            check_json(item, f"{path}/{key}")


def require_body(request: Any, media_type: str) -> None:
    """A request body of `media_type`, as the spec's validator wants it: 'Missing
    property.' without a body, 'Expected X - got Y.' for another type (on /body)."""
    content_type = (request.content_type or "").split(";")[0].strip().lower()
    if request.META.get("CONTENT_LENGTH", "0") in ("", "0") and not request.META.get("HTTP_TRANSFER_ENCODING"):
        raise ParamError("Missing property.", "/body")
    if content_type != media_type:
        raise ParamError(f"Expected {media_type} - got {content_type or 'none'}.", "/body")


def length(value: str, path: str, low: int, high: int) -> str:
    """A string between `low` and `high` characters, with the spec's messages."""
    if len(value) < low:
        raise ParamError(f"String is too short: {len(value)}/{low}.", path)
    if len(value) > high:
        raise ParamError(f"String is too long: {len(value)}/{high}.", path)
    return value


def arcid(value: str, path: str = "/id") -> str:
    """Archive IDs are length-checked only (40), like LANraragi's spec."""
    return length(value, path, 40, 40)


def tank_id(value: str, path: str = "/id") -> str:
    """Tankoubon IDs (TANK_ and 10 digits) are length-checked only, like archive IDs."""
    return length(value, path, 15, 15)


def integer(
    request: Any, name: str, *, required: bool = False, minimum: int | None = None, default: int | None = None
) -> int | None:
    raw = raw_param(request, name)
    if raw is None:
        if required:
            raise ParamError("Missing property.", f"/{name}")
        return default
    return parse_integer(raw, name, minimum=minimum)


def parse_integer(raw: str, name: str, *, minimum: int | None = None) -> int:
    if not _INTEGER.fullmatch(raw):
        raise ParamError("Expected integer - got string.", f"/{name}")
    if len(raw) > 20:  # past 64 bits; Python won't convert thousands of digits at all
        raise ParamError("Expected integer - got number.", f"/{name}")
    value = int(raw)
    if not -_INT64 <= value <= _INT64:
        raise ParamError("Expected integer - got number.", f"/{name}")
    if minimum is not None and value < minimum:
        raise ParamError(f"{value} < minimum({minimum})", f"/{name}")
    return value


def _in_query(request: Any, name: str) -> bool:
    query = request.query_params if hasattr(request, "query_params") else request.GET
    return name in query


def boolean(request: Any, name: str, *, default: bool = False, enum: bool = False) -> bool:
    """`true false 1 0` or empty (false); with `enum`, only `true`/`false` (no_fallback).

    LANraragi's validator only checks the query string: a flag sent in a form body
    reaches its handler as is, which takes anything but empty, `0` and `false` as set
    (aio-lanraragi sends Python's `True`/`False` that way).
    """
    raw = raw_param(request, name)
    if raw is None:
        return default
    if not _in_query(request, name):
        return raw.strip().lower() not in ("", "0", "false")
    if enum:
        if raw not in ("true", "false"):
            raise ParamError("Not in enum list: true, false.", f"/{name}")
        return raw == "true"
    if raw not in _BOOLEANS:
        raise ParamError("Expected boolean - got string.", f"/{name}")
    return _BOOLEANS[raw]


def truthy(request: Any, name: str) -> bool:
    """Undocumented flags (`force` on progress) only need to be non-empty and not 0."""
    raw = raw_param(request, name)
    return raw is not None and raw not in ("", "0")


def string(request: Any, name: str, *, required: bool = False, min_length: int = 0) -> str | None:
    raw = raw_param(request, name)
    if raw is None:
        if required:
            raise ParamError("Missing property.", f"/{name}")
        return None
    if len(raw) < min_length:
        raise ParamError(f"String is too short: {len(raw)}/{min_length}.", f"/{name}")
    return raw
