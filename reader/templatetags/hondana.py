"""Template helpers for the web pages."""

from __future__ import annotations

from typing import Any

from django import template

from reader.access import is_member

register = template.Library()


@register.simple_tag(takes_context=True)
def member(context: dict[str, Any]) -> bool:
    """Whether the visitor may edit (logged in, or password protection off)."""
    request = context.get("request")
    return request is not None and is_member(request)


@register.filter
def tag_list(tags: str) -> list[dict[str, str]]:
    """`artist:a,b` -> [{"namespace": "artist", "text": "a", "tag": "artist:a"}, {"namespace": "", ...}]."""
    out = []
    for tag in (tags or "").split(","):
        tag = tag.strip()
        if not tag:
            continue
        namespace, sep, text = tag.partition(":")
        out.append({"namespace": namespace if sep else "", "text": text if sep else tag, "tag": tag})
    return out


@register.filter
def filesize(size: int) -> str:
    value = float(size or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


@register.filter
def count(value: int) -> str:
    """12345 -> "12,345"."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)
