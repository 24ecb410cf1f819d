"""Search queries and snippets (domain/search.py)."""

from __future__ import annotations

import pytest

from rapport.domain.errors import Invalid
from rapport.domain.search import check_query, snippet, terms


@pytest.mark.parametrize(("q", "code"), [("", "query_required"), ("  ", "query_required"), ("a\x00", "invalid_query")])
def test_blank_and_nul_queries_are_refused(q: str, code: str) -> None:
    with pytest.raises(Invalid) as caught:
        check_query(q)
    assert caught.value.code == code


def test_a_query_has_at_most_200_characters() -> None:
    assert check_query(" " + "a" * 200 + " ") == "a" * 200
    with pytest.raises(Invalid) as caught:
        check_query("a" * 201)
    assert caught.value.code == "query_too_long"


def test_terms_are_words_without_any_query_syntax() -> None:
    assert terms('"Budget" NEAR(review)* -x body:y ^z') == ["budget", "near", "review", "x", "body", "y", "z"]
    assert terms("a_b café CAFÉ") == ["a", "b", "café"]
    assert terms("*()\"'") == []
    assert len(terms(" ".join(f"w{i}" for i in range(40)))) == 16


def test_snippet_marks_matches_and_escapes_everything_else() -> None:
    assert snippet("Budget <b>review</b>", ["budget"]) == "<mark>Budget</mark> &lt;b&gt;review&lt;/b&gt;"
    assert snippet("budgets and budgeting", ["budget"]) == "<mark>budgets</mark> and <mark>budgeting</mark>"


def test_snippet_cuts_long_bodies_around_the_first_match() -> None:
    body = "x " * 100 + "target" + " y" * 200
    cut = snippet(body, ["target"])
    assert cut.startswith("…") and cut.endswith("…")
    assert "<mark>target</mark>" in cut
    assert len(cut) < 250


def test_snippet_without_a_match_is_the_beginning() -> None:
    assert snippet("short", ["nothing"]) == "short"
    assert snippet("z" * 500, ["nothing"]) == "z" * 180 + "…"


def test_snippet_marks_only_matches_inside_its_window() -> None:
    cut = snippet("budget " + "x " * 200 + "budget", ["budget"])
    assert cut.count("<mark>") == 1


def test_best_first_counts_prefix_occurrences_then_prefers_shorter_then_newer() -> None:
    from rapport.domain.search import best_first

    candidates = [
        (5, "budget"),
        (4, "Budgets and budgeting"),
        (3, "the budget for the long offsite party next spring"),
        (2, "budget"),
    ]
    assert best_first(candidates, ["budget"]) == [4, 5, 2, 3]
    assert best_first([], ["budget"]) == []
