"""LANraragi's tag rules: rewrites applied to the tags metadata plugins find.

One rule a line (a `;` counts as a line break, as in LANraragi's stored config):

    -tag            remove the tag (a bare `tag` does the same)
    -ns:*           remove every tag of a namespace
    ~ns             strip the namespace, keep the value
    a -> b          replace tag a with b
    ns:* -> new:*   rename a namespace
    a => b          replace a with b, once, after every other rule

Matching is case-insensitive; replacements keep the rule's case. No Django here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field
from typing import Literal

RuleKind = Literal["remove", "remove_ns", "strip_ns", "replace_ns", "replace"]


@dataclass(frozen=True)
class Rule:
    kind: RuleKind
    match: str  # lower-cased
    value: str = ""


@dataclass(frozen=True)
class TagRules:
    rules: tuple[Rule, ...] = ()
    # `a => b` rules: looked up by the lower-cased tag once the other rules ran.
    table: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.rules or self.table)


def parse_rules(text: str) -> TagRules:
    """Parse rule lines; blank lines are skipped, nothing is ever refused."""
    rules: list[Rule] = []
    table: dict[str, str] = {}
    for line in re.split(r"[;\r\n]+", text or ""):
        match, _, value = line.partition("->")
        # LANraragi splits on every "->" and keeps the first two pieces.
        value = value.split("->", 1)[0]
        match, value = match.strip(), value.strip()
        if not match:
            continue
        if not value and match.startswith("-") and match.endswith(":*"):
            rules.append(Rule("remove_ns", match[1:-2].lower()))
        elif not value and match.startswith("-"):
            rules.append(Rule("remove", match[1:].lower()))
        elif not value and match.startswith("~"):
            rules.append(Rule("strip_ns", match[1:].lower()))
        elif match.endswith(":*") and value.endswith(":*"):
            rules.append(Rule("replace_ns", match[:-2].lower(), value[:-2]))
        elif "=>" in line:
            left, _, right = line.partition("=>")
            table[left.strip().lower()] = right.split("=>", 1)[0].strip()
        elif not value:
            rules.append(Rule("remove", match.lower()))
        else:
            rules.append(Rule("replace", match.lower(), value))
    return TagRules(tuple(rules), table)


def _apply(tag: str, rules: TagRules) -> str | None:
    for rule in rules.rules:
        if rule.kind == "remove":
            if tag.lower() == rule.match:
                return None
        elif rule.kind == "remove_ns":
            # LANraragi puts the namespace into a regex unescaped; it is escaped here.
            if tag.lower().startswith(rule.match + ":"):
                return None
        elif rule.kind == "replace_ns":
            if tag.lower().startswith(rule.match + ":"):
                tag = f"{rule.value}:{tag[len(rule.match) + 1 :]}"
        elif rule.kind == "strip_ns":
            if tag.lower().startswith(rule.match + ":"):
                tag = tag[len(rule.match) + 1 :]
        elif tag.lower() == rule.match:
            tag = rule.value
    return rules.table.get(tag.lower(), tag)


def apply_rules(tags: list[str], rules: TagRules) -> list[str]:
    """Each tag rewritten by the rules in order; removed tags are dropped."""
    if not rules:
        return list(tags)
    return [new for tag in tags if (new := _apply(tag, rules)) is not None]
