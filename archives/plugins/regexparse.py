"""LANraragi's "Filename Parsing" plugin (regexplugin): tags and a title from the
file name, following the doujinshi naming standard

    (Event) [Group (Artist)] Title (Series) [Language]

The regex is a parameter; its named groups choose the namespace of what they catch
(`artist` also splits "Group (Artist)", `tag` gives bare tags, `title` is the title,
`tail` is whatever follows). LANraragi writes named groups Perl's way, `(?<name>…)`;
they are accepted here too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import ClassVar

from archives.plugins.base import MetadataInput
from archives.plugins.base import MetadataResult
from archives.plugins.base import PluginError
from archives.plugins.base import PluginInfo
from archives.plugins.base import PluginParameter
from archives.plugins.base import param_true

DEFAULT_REGEX = (
    r"(\((?<event>[^([]+)\))?\s*(\[(?<artist>[^]]+)\])?\s*(?<title>[^([]+)\s*"
    r"(\((?<series>[^([)]+)\))?\s*(\[(?<language>[^]]+)\])?(?<tail>.*)?"
)
# Captures that are not metadata end up in this namespace, and are dropped unless
# asked for (a tag rule `-parsed:*` is the usual companion).
PARSED_NS = "parsed:"
# Words often found in brackets that describe the release, not the content.
EXTRANEOUS = frozenset({"uncensored", "decensored", "ongoing", "pixiv", "twitter", "fanbox", "cosplay", "digital"})
_PERL_GROUP = re.compile(r"\(\?<([A-Za-z_]\w*)>")
_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf(inity)?|nan)\s*", re.IGNORECASE)


def compile_regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(_PERL_GROUP.sub(r"(?P<\1>", pattern))
    except re.error as exc:
        raise PluginError(f"The filename regex is invalid: {exc}") from None


def looks_like_number(text: str) -> bool:
    """Perl's looks_like_number, which decides that "[2]" is not a language."""
    return bool(_NUMBER.fullmatch(text))


def _classify(item: str, namespace: str) -> str:
    if (namespace and item.lower() in EXTRANEOUS) or looks_like_number(item):
        return PARSED_NS + item
    return namespace + item


def _values(capture: str, namespace: str) -> list[str]:
    return [_classify(item.strip(), namespace) for item in capture.split(",")]


def _artist(value: str) -> list[str]:
    # "Circle (Artist)": the part in parentheses is the artist, the rest the group.
    tags = []
    found = re.search(r"(.*) \((.*)\)", value)
    if found:
        tags.append("group:" + found.group(1).strip())
        value = found.group(2).strip()
    return tags + _values(value, "artist:")


def parse_filename(
    filename: str, *, pattern: str = DEFAULT_REGEX, trailing_tags: bool = False, keep_all: bool = False
) -> tuple[list[str], str]:
    """(sorted tags, title) found in a file name without its extension."""
    found = compile_regex(pattern).search(filename.replace("_", " "))
    if found is None:
        return [], ""
    captures = {name: value for name, value in found.groupdict().items() if value is not None}
    title = captures.get("title", "").strip()
    tail = captures.get("tail", "").strip()
    trailing = other = ""
    if tail and trailing_tags:
        braces = re.fullmatch(r"(?P<head>.*)\{(?P<tags>[^}]*)\}", tail, re.DOTALL)
        if braces and braces.group("tags"):
            trailing, tail = braces.group("tags"), braces.group("head")
    if tail and keep_all:
        items = re.findall(r"\(([^)]+)\)|\{([^}]+)\}|\[([^\]]+)\]", tail)
        other = ",".join(part for groups in items for part in groups if part.strip())
    tags: list[str] = []
    for name, raw in captures.items():
        value = raw.strip()
        if name in ("title", "tail") or not value:
            continue
        namespace = re.sub(r"\d+$", "", name)
        if namespace == "tag":
            tags.extend(v.strip() for v in value.split(","))
        elif namespace == "artist":
            tags.extend(_artist(value))
        elif namespace == "event":
            tags.append("event:" + value)
        else:
            tags.extend(_values(value, namespace + ":"))
    if other:
        tags.extend(_values(other, PARSED_NS))
    if trailing:
        tags.extend(_values(trailing, ""))
    if not keep_all:
        tags = [t for t in tags if not t.startswith(PARSED_NS)]
    return sorted(tags), title


class RegexParsePlugin:
    info: ClassVar[PluginInfo] = PluginInfo(
        name="Filename Parsing",
        namespace="regexplugin",
        author="Difegue",
        version="1.2",
        description=(
            "Derive tags from the filename of the given archive. By default it follows the doujinshi naming "
            'standard "(Event) [Artist] TITLE (Series) [Language]"; "[Group (Artist)]" gives both tags. '
            "Named groups of a custom regex choose the namespace: (?<artist>...) -> artist:, "
            "(?<tag>...) -> a bare tag, (?<anyname>...) -> anyname:, (?<title>...) sets the title."
        ),
        parameters=(
            PluginParameter(
                "check_trailing_tags",
                "bool",
                "If the filename ends with a pair of curly braces, return their contents as simple tags",
            ),
            PluginParameter(
                "keep_all_captures",
                "bool",
                f'Capture everything between brackets and keep it in the "{PARSED_NS}" namespace '
                "(use this with tag rules)",
            ),
            PluginParameter("regex", "string", "Regex to use for parsing", DEFAULT_REGEX),
        ),
    )

    def get_tags(self, source: MetadataInput, params: Mapping[str, str]) -> MetadataResult:
        tags, title = parse_filename(
            source.filename,
            pattern=params.get("regex") or DEFAULT_REGEX,
            trailing_tags=param_true(params.get("check_trailing_tags")),
            keep_all=param_true(params.get("keep_all_captures")),
        )
        return MetadataResult(tags=tags, title=title or None)
