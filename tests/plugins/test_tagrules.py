"""Tag rules (LANraragi's Utils/Tags.pm), as pure functions."""

from __future__ import annotations

from archives.models import DEFAULT_TAG_RULES
from archives.tagrules import apply_rules
from archives.tagrules import parse_rules


def rewrite(rules: str, tags: list[str]) -> list[str]:
    return apply_rules(tags, parse_rules(rules))


def test_every_kind_of_rule():
    rules = "\n".join(
        [
            "-Translated",  # remove, case-insensitive
            "various",  # a bare tag removes too
            "-misc:*",  # remove a namespace
            "~parsed",  # strip a namespace
            "artist:* -> Creator:*",  # rename a namespace, keeping the rule's case
            "lang -> language:English",  # replace
            "language:english => language:EN",  # table, applied after the rest
        ]
    )
    tags = ["translated", "Various", "misc:a", "MISC:b", "parsed:Decensored", "Artist:Foo", "LANG", "keep"]
    assert rewrite(rules, tags) == ["Decensored", "Creator:Foo", "language:EN", "keep"]


def test_semicolons_separate_rules_and_blank_lines_are_skipped():
    assert rewrite("-a;;  ;-b\n\n", ["a", "b", "c"]) == ["c"]
    assert rewrite("", ["a"]) == ["a"]


def test_a_namespace_with_regex_characters_is_matched_literally():
    assert rewrite("-a.b:*", ["a.b:x", "axb:y"]) == ["axb:y"]
    assert rewrite("~c++", ["c++:v"]) == ["v"]


def test_rules_apply_in_order_and_the_table_once():
    assert rewrite("a -> b\nb -> c\nc => a", ["a"]) == ["a"]


def test_lanraragi_defaults_drop_release_words():
    assert rewrite(DEFAULT_TAG_RULES, ["Digital", "Chinese", "female:glasses", "complete"]) == ["female:glasses"]
