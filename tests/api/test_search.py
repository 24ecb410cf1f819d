"""Search of one's own history (DESIGN §3): message bodies and participant names, ranked, with
a snippet; never anything from another member's conversations, cleared history, edits or deletes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.api.test_accounts import error_code
from tests.conftest import Api, Member


async def search(api: Api, who: Member, q: str, **params: Any) -> list[dict[str, Any]]:
    r = await api.get(who, "/api/v1/search", params={"q": q, **params})
    assert r.status_code == 200, r.text
    return list(r.json()["results"])


async def raw(api: Api, who: Member, **params: Any) -> httpx.Response:
    return await api.get(who, "/api/v1/search", params=params)


def bodies(results: list[dict[str, Any]]) -> list[str]:
    return [r["message"]["body"] for r in results]


async def network(api: Api) -> dict[str, Any]:
    """alice-bob, alice-carol and bob-carol threads, all talking about the budget."""
    alice = await api.register("alice", name="Alice Archer")
    bob = await api.register("bob", name="Bob Builder")
    carol = await api.register("carol", name="Carol Cooper")
    dave = await api.register("dave", name="Dave Dunn")
    for a, b in ((alice, bob), (alice, carol), (bob, carol)):
        await api.connect(a, b)
    ab = (await api.start(alice, bob, body="The quarterly budget review is on Monday")).json()
    ac = (await api.start(alice, carol, body="Budget for the offsite party")).json()
    bc = (await api.start(bob, carol, body="Secret budget: do not tell alice")).json()
    return {
        "alice": alice,
        "bob": bob,
        "carol": carol,
        "dave": dave,
        "ab": ab["conversation"]["id"],
        "ac": ac["conversation"]["id"],
        "bc": bc["conversation"]["id"],
    }


@pytest.fixture(params=["conversations-in-query", "join-only"], autouse=True)
def sqlite_plan(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite names the searcher's conversations in the full-text query up to a bound, and
    relies on the join alone beyond it: every search test runs both ways (on PostgreSQL,
    which has one plan, the second run repeats the first)."""
    if request.param == "join-only":
        monkeypatch.setattr("rapport.store.search.CONVERSATIONS_IN_QUERY", 0)


async def test_each_member_finds_only_their_own_conversations(api: Api) -> None:
    n = await network(api)
    seen = {
        who: {r["conversation_id"] for r in await search(api, n[who], "budget")}
        for who in ("alice", "bob", "carol", "dave")
    }
    assert seen == {
        "alice": {n["ab"], n["ac"]},
        "bob": {n["ab"], n["bc"]},
        "carol": {n["ac"], n["bc"]},
        "dave": set(),
    }
    assert await search(api, n["alice"], "secret") == []
    assert await search(api, n["dave"], "quarterly") == []
    result = (await search(api, n["bob"], "quarterly"))[0]
    assert set(result) >= {"conversation_id", "message", "snippet"}
    message = result["message"]
    assert set(message) >= {"id", "conversation_id", "sender", "body", "attachments", "created_at", "deleted"}
    assert message["sender"]["handle"] == "alice"
    assert result["snippet"] == "The <mark>quarterly</mark> budget review is on Monday"


async def test_words_match_as_prefixes_in_any_case_and_all_must_match(api: Api) -> None:
    n = await network(api)
    assert bodies(await search(api, n["alice"], "QUART")) == ["The quarterly budget review is on Monday"]
    assert bodies(await search(api, n["alice"], "budget monday")) == ["The quarterly budget review is on Monday"]
    assert await search(api, n["alice"], "budget tuesday") == []


async def test_edits_and_deletes_are_reflected_at_once(api: Api) -> None:
    n = await network(api)
    alice, bob = n["alice"], n["bob"]
    r = await api.post(alice, f"/api/v1/conversations/{n['ab']}/messages", {"body": "bring the pineapple"})
    mid = r.json()["message"]["id"]
    assert [x["message"]["id"] for x in await search(api, bob, "pineapple")] == [mid]
    r = await api.patch(alice, f"/api/v1/conversations/{n['ab']}/messages/{mid}", {"body": "bring the mango"})
    assert r.status_code == 200
    assert await search(api, bob, "pineapple") == []
    found = await search(api, bob, "mango")
    assert [x["message"]["edited_at"] is not None for x in found] == [True]
    assert (await api.delete(alice, f"/api/v1/conversations/{n['ab']}/messages/{mid}")).status_code == 204
    assert await search(api, bob, "mango") == []
    assert await search(api, alice, "mango") == []


async def test_history_cleared_for_oneself_is_not_searched(api: Api) -> None:
    n = await network(api)
    alice, bob = n["alice"], n["bob"]
    assert (await api.delete(bob, f"/api/v1/conversations/{n['ab']}")).status_code == 204
    assert await search(api, bob, "quarterly") == []
    assert bodies(await search(api, alice, "quarterly")) == ["The quarterly budget review is on Monday"]
    await api.post(alice, f"/api/v1/conversations/{n['ab']}/messages", {"body": "quarterly follow-up"})
    assert bodies(await search(api, bob, "quarterly")) == ["quarterly follow-up"]


FINDS_BUDGET = ['"budget', "budget*", "(budget", "budget)", "-budget", "^budget", "budget:*", "!budget & | <->"]
FINDS_BUDGET += ["{budget}", "😀 budget", "budget -review", "'budget'", "budget\\"]
FINDS_NOTHING = ['"', "*", "(", ")", "NEAR", "budget NEAR review", "NEAR(budget review)", "body:budget"]
FINDS_NOTHING += ["budget AND OR NOT", "'; DROP TABLE messages; --", "\\", "%", "_", "%budget%x", "budget_x"]


async def test_query_syntax_characters_are_plain_text(api: Api) -> None:
    """Every character is either a word separator or part of a word; all words must match."""
    n = await network(api)
    for q in FINDS_BUDGET + FINDS_NOTHING:
        results = await search(api, n["alice"], q)
        assert {r["conversation_id"] for r in results} <= {n["ab"], n["ac"]}
        if q in FINDS_BUDGET:
            assert results, q
            assert all("budget" in r["message"]["body"].lower() for r in results)
        else:
            assert results == [], q


async def test_bad_queries_are_clear_4xx(api: Api) -> None:
    n = await network(api)
    alice = n["alice"]
    for params, code in (
        ({"q": ""}, "query_required"),
        ({"q": "   "}, "query_required"),
        ({}, "query_required"),
        ({"q": "budget\x00"}, "validation_error"),  # refused for every route, before search
        ({"q": "b" * 201}, "query_too_long"),
        ({"q": "b " * 5_000}, "query_too_long"),
    ):
        r = await raw(api, alice, **params)
        assert r.status_code == 422, (params, r.text)
        assert error_code(r) == code
    assert (await raw(api, alice, q="budget " + "x" * 193)).status_code == 200  # 200 characters
    for limit in ("0", "101", "abc", "-1"):
        r = await raw(api, alice, q="budget", limit=limit)
        assert r.status_code == 422
        error_code(r)
    r = await raw(api, None, q="budget")  # type: ignore[arg-type]
    assert r.status_code == 401
    error_code(r)


async def test_filters_by_conversation_and_by_participant(api: Api) -> None:
    n = await network(api)
    alice = n["alice"]
    only = await search(api, alice, "budget", conversation_id=n["ac"])
    assert {r["conversation_id"] for r in only} == {n["ac"]}
    for other in (n["bc"], "999999", "abc"):
        r = await raw(api, alice, q="budget", conversation_id=other)
        assert r.status_code == 404, other
        assert error_code(r) == "conversation_not_found"
    assert {r["conversation_id"] for r in await search(api, alice, "budget", **{"with": "bob"})} == {n["ab"]}
    assert {r["conversation_id"] for r in await search(api, alice, "budget", **{"with": "CAROL"})} == {n["ac"]}
    assert await search(api, alice, "budget", **{"with": "dave"}) == []
    assert await search(api, alice, "budget", **{"with": "nobody"}) == []
    assert await search(api, alice, "budget", **{"with": "alice"}) == []
    assert len(await search(api, alice, "budget", limit=1)) == 1


async def test_participant_names_match_their_conversations(api: Api) -> None:
    n = await network(api)
    found = await search(api, n["alice"], "cooper")
    assert [(r["conversation_id"], r["match"]) for r in found] == [(n["ac"], "participant")]
    assert found[0]["message"]["body"] == "Budget for the offsite party"
    assert await search(api, n["dave"], "cooper") == []  # dave has no conversation with carol
    assert await search(api, n["alice"], "archer") == []  # one's own name matches nothing
    # bob's conversation with carol is not alice's, though carol's name matches
    assert {r["conversation_id"] for r in await search(api, n["bob"], "carol")} == {n["bc"]}


async def test_snippets_escape_html_and_mark_matches(api: Api) -> None:
    n = await network(api)
    alice, bob = n["alice"], n["bob"]
    body = "<script>alert('x')</script> & the " + "long " * 40 + "budget <b>plan</b>"
    await api.post(alice, f"/api/v1/conversations/{n['ab']}/messages", {"body": body})
    result = next(r for r in await search(api, bob, "plan") if r["message"]["body"] == body)
    snippet = result["snippet"]
    assert "<mark>plan</mark>" in snippet
    assert "&lt;b&gt;" in snippet
    assert "<script>" not in snippet and "<b>" not in snippet
    assert snippet.startswith("…")


async def test_deleted_messages_and_other_members_threads_never_match_by_name(api: Api) -> None:
    n = await network(api)
    alice, bob = n["alice"], n["bob"]
    ab_messages = (await api.get(alice, f"/api/v1/conversations/{n['ab']}/messages")).json()["messages"]
    for m in ab_messages:
        await api.delete(alice, f"/api/v1/conversations/{n['ab']}/messages/{m['id']}")
    assert await search(api, bob, "quarterly") == []
    assert await search(api, alice, "builder") == []  # nothing left to show in the thread with bob


@pytest.mark.parametrize("terms_per_word", [16, 1])
async def test_a_word_finds_every_longer_word_it_begins(
    api: Api, monkeypatch: pytest.MonkeyPatch, terms_per_word: int
) -> None:
    """On SQLite a word is looked up as the index's terms it begins (16 at most), or as a
    prefix when there are more: both find the same messages. Words that are not plain ASCII
    are always prefixes, folded by the index's tokenizer."""
    monkeypatch.setattr("rapport.store.search.TERMS_PER_WORD", terms_per_word)
    n = await network(api)
    alice, bob = n["alice"], n["bob"]
    for body in ("Budgets are due", "The budgetary cycle", "Café crème at nine", "budge over"):
        await api.post(alice, f"/api/v1/conversations/{n['ab']}/messages", {"body": body})
    found = set(bodies(await search(api, bob, "budg")))
    assert found == {
        "The quarterly budget review is on Monday",
        "Secret budget: do not tell alice",
        "Budgets are due",
        "The budgetary cycle",
        "budge over",
    }
    assert set(bodies(await search(api, bob, "budget"))) == found - {"budge over"}
    assert set(bodies(await search(api, bob, "budgetary cycle"))) == {"The budgetary cycle"}
    assert bodies(await search(api, bob, "CAFÉ crè")) == ["Café crème at nine"]
    assert await search(api, bob, "budgetz") == []
    assert await search(api, n["dave"], "budg") == []


async def test_more_occurrences_rank_first_then_newest(api: Api) -> None:
    n = await network(api)
    alice, bob = n["alice"], n["bob"]
    for body in ("plan: budget", "budget, budget and budget again", "budget notes"):
        await api.post(alice, f"/api/v1/conversations/{n['ab']}/messages", {"body": body})
    assert bodies(await search(api, bob, "budget"))[0] == "budget, budget and budget again"


async def test_sqlite_ranks_only_the_newest_matches(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite ranks the `CANDIDATES` newest matches (PostgreSQL ranks them all)."""
    monkeypatch.setattr("rapport.store.search.CANDIDATES", 2)
    n = await network(api)
    alice, bob = n["alice"], n["bob"]
    for body in ("budget budget budget", "budget one", "budget two"):
        await api.post(alice, f"/api/v1/conversations/{n['ab']}/messages", {"body": body})
    found = bodies(await search(api, bob, "budget"))
    if api.ctx.db.dialect == "sqlite":
        assert sorted(found) == ["budget one", "budget two"]
    else:
        assert found[0] == "budget budget budget" and len(found) == 5
