"""Messages over HTTP (DESIGN §3, API "Conversations and messages"): sending, limits,
idempotent retries, edits within the hour, tombstones, history pages and reactions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.api.test_accounts import error_code
from tests.conftest import Api, Member

from rapport.clock import FakeClock


async def thread(api: Api) -> tuple[Member, Member, str]:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.connect(alice, bob)
    r = await api.start(alice, bob, body="first")
    assert r.status_code == 201, r.text
    return alice, bob, r.json()["conversation"]["id"]


async def send(api: Api, who: Member, cid: str, body: Any = "hello", **extra: Any) -> Any:
    return await api.post(who, f"/api/v1/conversations/{cid}/messages", {"body": body, **extra})


async def history(api: Api, who: Member, cid: str, **params: Any) -> list[dict[str, Any]]:
    r = await api.get(who, f"/api/v1/conversations/{cid}/messages", params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["messages"])


async def test_message_of_exactly_8000_characters_is_stored_whole(api: Api) -> None:
    alice, bob, cid = await thread(api)
    body = "x" * 7_999 + "é"
    r = await send(api, alice, cid, body)
    assert r.status_code == 201, r.text
    mid = r.json()["message"]["id"]
    assert next(m for m in await history(api, bob, cid) if m["id"] == mid)["body"] == body


async def test_message_of_8001_characters_is_422_and_not_stored(api: Api) -> None:
    alice, bob, cid = await thread(api)
    r = await send(api, alice, cid, "x" * 8_001)
    assert r.status_code == 422
    assert error_code(r)
    assert [m["body"] for m in await history(api, bob, cid)] == ["first"]


async def test_bad_message_inputs_are_4xx_and_store_nothing(api: Api) -> None:
    alice, bob, cid = await thread(api)
    path = f"/api/v1/conversations/{cid}/messages"
    for payload in ({}, {"body": ""}, {"body": "   \n "}, {"body": 5}, {"body": None}, {"body": ["a"]}, [], "text"):
        r = await api.post(alice, path, payload)
        assert r.status_code == 422, (payload, r.text)
        error_code(r)
    r = await api.client.post(path, content=b"{not json", headers={**alice.auth, "Content-Type": "application/json"})
    assert r.status_code == 400
    error_code(r)
    assert [m["body"] for m in await history(api, bob, cid)] == ["first"]


async def test_unknown_and_malformed_ids_are_404(api: Api) -> None:
    alice, _bob, cid = await thread(api)
    for bad in ("999999", "abc", "-1", "1.5", "9" * 30):
        assert (await send(api, alice, bad)).status_code == 404
        r = await api.patch(alice, f"/api/v1/conversations/{cid}/messages/{bad}", {"body": "x"})
        assert r.status_code == 404, (bad, r.text)
        assert error_code(r) == "message_not_found"
        assert (await api.delete(alice, f"/api/v1/conversations/{cid}/messages/{bad}")).status_code == 404


async def test_a_retried_client_id_returns_the_first_message_once(api: Api) -> None:
    alice, bob, cid = await thread(api)
    first = await send(api, alice, cid, "only once", client_id="c-1")
    again = await send(api, alice, cid, "only once", client_id="c-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["message"]["id"] == first.json()["message"]["id"]
    assert [m["body"] for m in await history(api, bob, cid)].count("only once") == 1
    # the same client_id from another member is theirs alone
    other = await send(api, bob, cid, "mine", client_id="c-1")
    assert other.status_code == 201
    assert other.json()["message"]["id"] != first.json()["message"]["id"]


async def test_a_retry_gets_its_message_even_when_the_rules_would_refuse_it_now(api: Api) -> None:
    """Accepted is accepted: a client retrying after a lost answer must not see a refusal."""
    alice, bob, cid = await thread(api)
    first = await send(api, alice, cid, "before the block", client_id="c-9")
    assert first.status_code == 201
    assert (await api.post(bob, "/api/v1/blocks", {"handle": "alice"})).status_code == 201
    again = await send(api, alice, cid, "before the block", client_id="c-9")
    assert again.status_code == 200, again.text
    assert again.json()["message"]["id"] == first.json()["message"]["id"]
    fresh = await send(api, alice, cid, "after the block", client_id="c-10")
    assert fresh.status_code == 403
    assert error_code(fresh) == "blocked"


async def test_a_client_id_reused_in_another_conversation_is_a_conflict(api: Api) -> None:
    alice, _bob, cid = await thread(api)
    carol = await api.register("carol")
    await api.connect(alice, carol)
    other = (await api.start(alice, carol, body="hi carol")).json()["conversation"]["id"]
    assert (await send(api, alice, cid, "to bob", client_id="c-1")).status_code == 201
    r = await send(api, alice, other, "to carol", client_id="c-1")
    assert r.status_code == 409
    assert error_code(r) == "client_id_reused"
    assert [m["body"] for m in await history(api, carol, other)] == ["hi carol"]


async def test_a_refused_send_with_a_fresh_client_id_stores_nothing(api: Api) -> None:
    alice, bob, cid = await thread(api)
    carol = await api.register("carol")
    r = await send(api, carol, cid, "let me in", client_id="c-1")
    assert r.status_code == 404
    assert error_code(r) == "conversation_not_found"
    r = await send(api, alice, cid, "", client_id="c-2")
    assert r.status_code == 422
    assert [m["body"] for m in await history(api, bob, cid)] == ["first"]
    # the refused client ids were not spent
    assert (await send(api, alice, cid, "now", client_id="c-2")).status_code == 201


async def test_history_is_newest_first_in_pages(api: Api) -> None:
    alice, bob, cid = await thread(api)
    for i in range(7):
        assert (await send(api, alice if i % 2 else bob, cid, f"m{i}")).status_code == 201
    page = await history(api, bob, cid, limit=3)
    assert [m["body"] for m in page] == ["m6", "m5", "m4"]
    page = await history(api, bob, cid, limit=3, before=page[-1]["id"])
    assert [m["body"] for m in page] == ["m3", "m2", "m1"]
    page = await history(api, bob, cid, limit=3, before=page[-1]["id"])
    assert [m["body"] for m in page] == ["m0", "first"]
    for params in ({"limit": 0}, {"limit": 1000}, {"limit": "x"}, {"before": "x"}):
        r = await api.get(bob, f"/api/v1/conversations/{cid}/messages", params=params)
        assert r.status_code in (404, 422), (params, r.text)
        error_code(r)


async def test_edit_within_an_hour_marks_it_edited_and_tells_the_other_side(api: Api, clock: FakeClock) -> None:
    alice, bob, cid = await thread(api)
    mid = (await send(api, alice, cid, "helo")).json()["message"]["id"]
    since = (await api.get(bob, "/api/v1/events?since=0")).json()["next"]
    clock.advance(timedelta(minutes=59))
    r = await api.patch(alice, f"/api/v1/conversations/{cid}/messages/{mid}", {"body": "hello"})
    assert r.status_code == 200, r.text
    edited = r.json()["message"]
    assert edited["body"] == "hello"
    assert edited["edited_at"] is not None
    seen = next(m for m in await history(api, bob, cid) if m["id"] == mid)
    assert (seen["body"], seen["edited_at"]) == ("hello", edited["edited_at"])
    events = [e for e in await api.events(bob, since) if e["type"] == "message.edited"]
    assert len(events) == 1


async def test_edit_after_sixty_minutes_is_refused(api: Api, clock: FakeClock) -> None:
    alice, bob, cid = await thread(api)
    mid = (await send(api, alice, cid, "typo")).json()["message"]["id"]
    clock.advance(timedelta(minutes=60, seconds=1))
    r = await api.patch(alice, f"/api/v1/conversations/{cid}/messages/{mid}", {"body": "fixed"})
    assert r.status_code in (403, 409, 422)
    assert error_code(r)
    assert next(m for m in await history(api, bob, cid) if m["id"] == mid)["body"] == "typo"


async def test_only_the_author_edits_or_deletes(api: Api) -> None:
    alice, bob, cid = await thread(api)
    mid = (await send(api, alice, cid, "mine")).json()["message"]["id"]
    r = await api.patch(bob, f"/api/v1/conversations/{cid}/messages/{mid}", {"body": "yours"})
    assert r.status_code == 403
    error_code(r)
    r = await api.delete(bob, f"/api/v1/conversations/{cid}/messages/{mid}")
    assert r.status_code == 403
    assert next(m for m in await history(api, alice, cid) if m["id"] == mid)["body"] == "mine"


async def test_delete_leaves_a_tombstone_without_the_text(api: Api) -> None:
    alice, bob, cid = await thread(api)
    mid = (await send(api, alice, cid, "regrettable")).json()["message"]["id"]
    since = (await api.get(bob, "/api/v1/events?since=0")).json()["next"]
    assert (await api.delete(alice, f"/api/v1/conversations/{cid}/messages/{mid}")).status_code == 204
    for who in (alice, bob):
        tomb = next(m for m in await history(api, who, cid) if m["id"] == mid)
        assert tomb["deleted"] is True
        assert tomb["body"] == ""
        assert tomb["attachments"] == []
    events = [e for e in await api.events(bob, since) if e["type"] == "message.deleted"]
    assert len(events) == 1
    assert "regrettable" not in str(events)
    # a tombstone can be neither edited nor deleted again
    r = await api.patch(alice, f"/api/v1/conversations/{cid}/messages/{mid}", {"body": "back"})
    assert r.status_code in (404, 409, 422)
    r = await api.delete(alice, f"/api/v1/conversations/{cid}/messages/{mid}")
    assert r.status_code in (204, 404)
    # the inbox preview does not show the deleted text either
    inbox = (await api.get(bob, "/api/v1/conversations")).json()["conversations"]
    assert "regrettable" not in str(inbox)


async def test_reactions_from_the_small_set(api: Api) -> None:
    alice, bob, cid = await thread(api)
    mid = (await send(api, alice, cid, "great news")).json()["message"]["id"]
    base = f"/api/v1/conversations/{cid}/messages/{mid}/reactions"
    assert (await api.put(bob, f"{base}/👍")).status_code == 204
    assert (await api.put(bob, f"{base}/👍")).status_code == 204  # idempotent
    r = await api.put(bob, f"{base}/🦄")
    assert r.status_code == 422
    error_code(r)
    assert (await api.delete(bob, f"{base}/👍")).status_code == 204


async def test_messages_of_a_conversation_one_is_not_in_are_404(api: Api) -> None:
    _alice, _bob, cid = await thread(api)
    eve = await api.register("eve")
    r = await api.get(eve, f"/api/v1/conversations/{cid}/messages")
    assert r.status_code == 404
    assert error_code(r) == "conversation_not_found"
    assert "first" not in r.text
    assert (await send(api, eve, cid, "let me in")).status_code == 404
