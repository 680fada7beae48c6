"""Every rule of LANraragi's search language (behavior.md §10), each with a query that
matches and one that must not, through GET /api/search/ids on the real database."""

from __future__ import annotations

import pytest

from tests.library import make_archive

pytestmark = pytest.mark.django_db


@pytest.fixture
def lib() -> dict[str, str]:
    return {
        "memo": make_archive(
            "Fate GO MEMO",
            "parody:fate grand order,group:wadamemo,artist:wada rco,artbook,full color",
            pagecount=34,
            progress=5,
        ),
        "rohan": make_archive(
            "Rohan Kishibe goes to Gucci", "parody:jojo's bizarre adventure,character:rohan kishibe,female:glasses"
        ),
        "sanshiro": make_archive("Segata Sanshiro", "character:segata sanshiro,male:judo", pagecount=50),
        "segata": make_archive("Segata", "character:segata", pagecount=12),
        "vol10": make_archive("Vol 10 Story", "artist:wadachi,female:big breasts", pagecount=10),
        "vol9": make_archive("vol 9 story", "male:big muscles", pagecount=9),
        "love": make_archive("Love, Actually", "language:english"),
        "weird": make_archive("artist:weird title", ""),
        "bracket": make_archive("Odd ^caret\\ title", "[tag],x^y"),
    }


def ids(client, filter_: str) -> set[str]:
    r = client.get("/api/search/ids", {"filter": filter_, "start": "-1"})
    assert r.status_code == 200, r.content
    return set(r.json()["data"])


def names(lib: dict[str, str], *keys: str) -> set[str]:
    return {lib[k] for k in keys}


def test_tokens_are_split_on_commas_not_spaces(client, lib):
    assert ids(client, "artist:wada rco") == names(lib, "memo")
    assert ids(client, "artist:wada rco, artbook") == names(lib, "memo")
    assert ids(client, "artist:wada artbook") == set()  # one token with a space


def test_leading_spaces_are_skipped_and_case_ignored(client, lib):
    assert ids(client, "   ARTBOOK") == names(lib, "memo")
    assert ids(client, "artbook ") == names(lib, "memo")


def test_empty_tokens_are_dropped(client, lib):
    assert ids(client, ",,artbook,, ,") == names(lib, "memo")


def test_a_leading_minus_negates(client, lib):
    assert ids(client, "-artbook") == set(lib.values()) - names(lib, "memo")
    assert lib["memo"] not in ids(client, "-artist:wada")


def test_a_quoted_token_runs_to_the_next_quote_commas_included(client, lib):
    assert ids(client, '"love, actually"') == names(lib, "love")
    assert ids(client, '"love, act"') == set()  # exact title, and no such tag


def test_a_quoted_token_is_exact(client, lib):
    assert ids(client, '"character:segata"') == names(lib, "segata")
    assert ids(client, "character:segata") == names(lib, "segata", "sanshiro")


def test_a_dollar_after_the_closing_quote_is_allowed(client, lib):
    assert ids(client, '"character:segata"$') == names(lib, "segata")
    assert ids(client, '-"character:segata"$') == set(lib.values()) - names(lib, "segata")


def test_a_trailing_dollar_makes_an_unquoted_token_exact(client, lib):
    assert ids(client, "character:segata$") == names(lib, "segata")
    assert lib["sanshiro"] not in ids(client, "character:segata$")


def test_an_exact_token_with_no_equal_tag_falls_back_to_the_fuzzy_rule(client, lib):
    # LANraragi quirk kept: no tag is exactly `character:sega`, so it acts as a prefix.
    assert ids(client, "character:sega$") == names(lib, "segata", "sanshiro")
    assert ids(client, "character:zzz$") == set()


def test_a_namespaced_token_matches_tags_that_begin_with_it(client, lib):
    assert ids(client, "artist:wada") == names(lib, "memo", "vol10")
    assert ids(client, "artist:rco") == set()  # not a prefix


def test_a_token_without_namespace_matches_tags_containing_it(client, lib):
    assert ids(client, "rco") == names(lib, "memo")
    assert ids(client, "artist") == names(lib, "memo", "vol10", "weird")  # weird: by title
    assert ids(client, "rcox") == set()


def test_wildcards_match_one_character(client, lib):
    assert ids(client, "female:big?breasts") == names(lib, "vol10")
    assert ids(client, "female:big_breasts") == names(lib, "vol10")
    assert ids(client, "female:big?reasts") == set()


def test_wildcards_match_any_run(client, lib):
    assert ids(client, "artist:wad*rco") == names(lib, "memo")
    assert ids(client, "artist:wad%rco") == names(lib, "memo")
    assert ids(client, "*male:big") == names(lib, "vol10", "vol9")
    assert ids(client, "artist:x*rco") == set()


def test_brackets_caret_and_backslash_are_literal(client, lib):
    assert ids(client, "[tag]") == names(lib, "bracket")
    assert ids(client, "x^y") == names(lib, "bracket")
    assert ids(client, "^caret\\") == names(lib, "bracket")  # by title
    assert ids(client, "[tag") == names(lib, "bracket")
    assert ids(client, "[ta]") == set()


def test_titles_match_a_fuzzy_token_anywhere(client, lib):
    assert ids(client, "gucci") == names(lib, "rohan")
    assert ids(client, "kishibe goes") == names(lib, "rohan")
    assert ids(client, "kishibe gone") == set()


def test_an_exact_token_matches_equal_titles_only(client, lib):
    assert ids(client, '"segata sanshiro"') == names(lib, "sanshiro")  # title, and tag fallback
    assert ids(client, '"fate go"') == set()


def test_a_namespaced_token_is_also_tried_against_titles(client, lib):
    assert ids(client, "artist:weird") == names(lib, "weird")


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        ("pages:34", {"memo"}),
        ("pages:>34", {"sanshiro"}),
        ("pages:>=34", {"memo", "sanshiro"}),
        ("pages:<10", {"vol9"}),
        ("pages:<=10", {"vol9", "vol10"}),
        ("pages:=5", set()),  # no `=` operator: an ordinary tag token
        ("read:5", {"memo"}),
        ("read:>0", {"memo"}),
        ("-read:0", {"memo"}),
    ],
)
def test_pages_and_read_compare_numbers(client, lib, filter_, expected):
    assert ids(client, filter_) == names(lib, *expected)


def test_tokens_are_and_ed_and_a_positive_miss_empties_the_result(client, lib):
    assert ids(client, "artbook, artist:wada") == names(lib, "memo")
    assert ids(client, "artbook, character:segata") == set()
    assert ids(client, "artbook, nothing at all") == set()


def test_a_negated_token_with_no_match_changes_nothing(client, lib):
    assert ids(client, "-nothing at all") == set(lib.values())
