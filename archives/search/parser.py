"""LANraragi's search syntax, token by token (behavior.md §10).

`filter` is split on commas, not spaces. Per token: leading spaces are skipped, a
leading `-` negates, a leading `"` runs to the next `"` (commas included) and makes
the token exact (a `$` right after the closing quote is allowed and ignored), an
unquoted token runs to the next comma and a trailing `$` makes it exact. The text is
then trimmed and lower-cased; `_`/`?` match one character, `%`/`*` any run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMERIC = re.compile(r"(read|pages):(>|<|>=|<=)?(\d+)")
_NUMBER_CAP = 2**31
_WILDCARDS = {"*": "*", "%": "*", "?": "?", "_": "?"}


@dataclass(frozen=True)
class Token:
    text: str  # trimmed, lower-cased, wildcards as typed
    negated: bool = False
    exact: bool = False

    @property
    def namespaced(self) -> bool:
        return ":" in self.text

    @property
    def literal(self) -> str:
        """The form LANraragi looks up as an exact tag key: `_`→`?`, `%`→`*`."""
        return self.text.replace("_", "?").replace("%", "*")

    @property
    def numeric(self) -> tuple[str, str, int] | None:
        """`pages:>=5` → ("pagecount", ">=", 5); `read:` compares progress."""
        match = _NUMERIC.fullmatch(self.text)
        if match is None:
            return None
        column = "pagecount" if match.group(1) == "pages" else "progress"
        # Past any page count; a bigger number would overflow the database's integers
        # (and Python will not even convert one of thousands of digits).
        digits = match.group(3).lstrip("0") or "0"
        number = _NUMBER_CAP if len(digits) > 10 else min(int(digits), _NUMBER_CAP)
        return column, match.group(2) or "=", number

    def glob(self, *, prefix: bool, suffix: bool) -> list[str]:
        """The token as a list of parts: literal strings and the wildcards '*' and '?'."""
        parts: list[str] = ["*"] if prefix else []
        for ch in self.text:
            parts.append(_WILDCARDS.get(ch, ch))
        if suffix:
            parts.append("*")
        return parts


def parse_filter(raw: str | None) -> list[Token]:
    tokens: list[Token] = []
    text = raw or ""
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] == " ":
            i += 1
        if i >= n:
            break
        negated = False
        if text[i] == "-":
            negated = True
            i += 1
        if i < n and text[i] == '"':
            end = text.find('"', i + 1)
            end = n if end < 0 else end
            body = text[i + 1 : end]
            i = end + 1
            if i < n and text[i] == "$":
                i += 1
            exact = True
        else:
            end = text.find(",", i)
            end = n if end < 0 else end
            body = text[i:end]
            i = end + 1
            exact = body.endswith("$")
            if exact:
                body = body[:-1]
        body = body.strip().lower()
        if body:
            tokens.append(Token(text=body, negated=negated, exact=exact))
    # Repeating a token changes nothing (they are AND-ed), but each copy would cost a
    # clause in the query.
    return list(dict.fromkeys(tokens))
