"""Engagement insight and follow-ups from outside: only reads the sender may see count,
every answer is the viewer's own, and follow-up advice turns to "stop" after two."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import ADMIN, Api, Member, make_settings

from rapport.api.app import create_app
from rapport.clock import FakeClock

V1 = "/api/v1"
FOLLOW_UP_AFTER = 3600


@pytest.fixture
async def app(tmp_path: Path, clock: FakeClock, database_url: str) -> AsyncIterator[Any]:
    """The shared app, with RAPPORT_FOLLOW_UP_AFTER lowered to an hour."""
    settings = make_settings(tmp_path, database_url=database_url, follow_up_after_seconds=FOLLOW_UP_AFTER)
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


async def send(api: Api, who: Member, to: Member, body: str = "hello", **extra: Any) -> tuple[str, str]:
    r = await api.start(who, to, body=body, **extra)
    assert r.status_code in (200, 201), r.text
    return r.json()["conversation"]["id"], r.json()["message"]["id"]


async def reply(api: Api, who: Member, cid: str, body: str = "reply") -> str:
    r = await api.post(who, f"{V1}/conversations/{cid}/messages", {"body": body})
    assert r.status_code == 201, r.text
    return str(r.json()["message"]["id"])


async def read(api: Api, who: Member, cid: str, mid: str) -> None:
    r = await api.post(who, f"{V1}/conversations/{cid}/read", {"message_id": mid})
    assert r.status_code == 204, r.text


async def switch(api: Api, who: Member, on: bool) -> None:
    r = await api.patch(who, f"{V1}/me/settings", {"read_receipts_and_typing": on})
    assert r.status_code == 200, r.text


async def operator_switch(api: Api, on: bool) -> None:
    r = await api.client.put(
        f"{V1}/admin/settings", json={"read_receipts": on}, headers={"Authorization": f"Bearer {ADMIN}"}
    )
    assert r.status_code == 200, r.text


async def insight(api: Api, who: Member, weeks: int = 4) -> dict[str, Any]:
    r = await api.get(who, f"{V1}/me/insights?weeks={weeks}")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def follow_ups(api: Api, who: Member) -> list[dict[str, Any]]:
    r = await api.get(who, f"{V1}/me/follow-ups")
    assert r.status_code == 200, r.text
    return list(r.json()["follow_ups"])


async def connected(api: Api, alice: Member, *handles: str) -> list[Member]:
    out = []
    for handle in handles:
        other = await api.register(handle)
        await api.connect(alice, other)
        out.append(other)
    return out


async def test_a_visible_read_and_a_reply_count_with_their_times(api: Api, clock: FakeClock) -> None:
    alice = await api.register("alice")
    (bob,) = await connected(api, alice, "bob")
    cid, mid = await send(api, alice, bob)
    clock.advance(timedelta(seconds=60))
    await read(api, bob, cid, mid)
    clock.advance(timedelta(seconds=60))
    await reply(api, bob, cid)
    found = await insight(api, alice)
    assert found["sent"] == 1
    assert found["conversations_started"] == 1
    assert found["read_rate"] == 1.0
    assert found["reply_rate"] == 1.0
    assert found["median_seconds_to_read"] == 60
    assert found["median_seconds_to_reply"] == 120
    assert found["weeks"][-1] | {"week": None} == {"week": None, "sent": 1, "read": 1, "replied": 1}
    assert len(found["weeks"]) == 4


async def test_reads_hidden_by_a_switch_or_without_receipts_count_as_not_read(api: Api, clock: FakeClock) -> None:
    alice = await api.register("alice")
    await api.set_tier(alice, "premium_career")
    bob, dave = await connected(api, alice, "bob", "dave")
    carol = await api.register("carol")
    # Bob reads with his switch off, then turns it back on: that read stays unseen.
    bob_cid, bob_mid = await send(api, alice, bob)
    await switch(api, bob, False)
    await read(api, bob, bob_cid, bob_mid)
    await switch(api, bob, True)
    # Carol reads an InMail: InMail has no receipts.
    inmail_cid, inmail_mid = await send(api, alice, carol, kind="inmail", subject="Hello")
    await read(api, carol, inmail_cid, inmail_mid)
    # Dave's read is visible.
    dave_cid, dave_mid = await send(api, alice, dave)
    clock.advance(timedelta(seconds=30))
    await read(api, dave, dave_cid, dave_mid)
    found = await insight(api, alice)
    assert found["sent"] == 3
    assert found["read"] == 1
    assert found["read_rate"] == pytest.approx(1 / 3, abs=1e-3)
    assert found["median_seconds_to_read"] == 30
    assert found["weeks"][-1]["read"] == 1
    # No bucket or field adds up to the hidden reads.
    assert set(found) == {
        "sent",
        "conversations_started",
        "read",
        "replied",
        "read_rate",
        "reply_rate",
        "median_seconds_to_read",
        "median_seconds_to_reply",
        "weeks",
    }


async def test_a_read_counts_only_while_it_is_visible_now_too(api: Api) -> None:
    alice = await api.register("alice")
    (bob,) = await connected(api, alice, "bob")
    cid, mid = await send(api, alice, bob)
    await read(api, bob, cid, mid)
    assert (await insight(api, alice))["read"] == 1
    await switch(api, bob, False)  # hides older receipts too (DESIGN §4)
    assert (await insight(api, alice))["read"] == 0
    await switch(api, alice, False)
    await switch(api, bob, True)
    assert (await insight(api, alice))["read"] == 0
    await switch(api, alice, True)
    assert (await insight(api, alice))["read"] == 1
    r = await api.post(alice, f"{V1}/blocks", {"handle": "bob"})
    assert r.status_code == 201, r.text
    assert (await insight(api, alice))["read"] == 0


async def test_a_read_while_the_operator_switch_was_off_never_counts(api: Api, clock: FakeClock) -> None:
    alice = await api.register("alice")
    bob, carol = await connected(api, alice, "bob", "carol")
    bob_cid, bob_mid = await send(api, alice, bob)
    carol_cid, carol_mid = await send(api, alice, carol)
    await read(api, carol, carol_cid, carol_mid)
    clock.advance(timedelta(minutes=1))
    await operator_switch(api, False)
    clock.advance(timedelta(minutes=1))
    await read(api, bob, bob_cid, bob_mid)
    assert (await insight(api, alice))["read"] == 0
    clock.advance(timedelta(minutes=1))
    await operator_switch(api, True)
    # Carol's read, from before the switch, shows again; Bob's, made while it was off, does not.
    assert (await insight(api, alice))["read"] == 1


async def test_reply_rate_counts_messages_someone_else_answered(api: Api, clock: FakeClock) -> None:
    alice = await api.register("alice")
    bob, carol = await connected(api, alice, "bob", "carol")
    bob_cid, _ = await send(api, alice, bob)
    await send(api, alice, carol)
    clock.advance(timedelta(minutes=10))
    await reply(api, bob, bob_cid)
    found = await insight(api, alice)
    assert (found["sent"], found["replied"], found["reply_rate"]) == (2, 1, 0.5)
    assert found["median_seconds_to_reply"] == 600
    # Bob's own figures: one message sent, nothing read or answered, nothing started.
    mine = await insight(api, bob)
    assert (mine["sent"], mine["conversations_started"], mine["read"], mine["replied"]) == (1, 0, 0, 0)


async def test_weeks_must_be_a_sensible_number(api: Api) -> None:
    alice = await api.register("alice")
    for bad in ("0", "-1", "105", "abc", "1.5", ""):
        r = await api.get(alice, f"{V1}/me/insights?weeks={bad}")
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"]["code"]
    assert len((await insight(api, alice, weeks=1))["weeks"]) == 1
    r = await api.get(alice, f"{V1}/me/insights")
    assert len(r.json()["weeks"]) == 12
    assert (await api.get(None, f"{V1}/me/insights")).status_code == 401
    assert (await api.get(None, f"{V1}/me/follow-ups")).status_code == 401


async def test_follow_up_is_suggested_then_stop_after_two_unanswered(api: Api, clock: FakeClock) -> None:
    alice = await api.register("alice")
    (bob,) = await connected(api, alice, "bob")
    cid, _ = await send(api, alice, bob)
    clock.advance(timedelta(seconds=FOLLOW_UP_AFTER - 1))
    assert await follow_ups(api, alice) == []
    clock.advance(timedelta(seconds=1))
    (item,) = await follow_ups(api, alice)
    assert item["conversation_id"] == cid
    assert item["member"]["handle"] == "bob"
    assert (item["unanswered"], item["advice"]) == (1, "follow_up")
    assert item["advice_text"]
    for n in (2, 3):
        await reply(api, alice, cid, f"follow-up {n - 1}")
        assert await follow_ups(api, alice) == []
        clock.advance(timedelta(seconds=FOLLOW_UP_AFTER))
        (item,) = await follow_ups(api, alice)
        assert item["unanswered"] == n
    assert item["advice"] == "stop"
    assert "move on" in item["advice_text"]
    # Bob is the one waited on, not the one waiting.
    assert await follow_ups(api, bob) == []
    # A reply ends it.
    await reply(api, bob, cid)
    clock.advance(timedelta(days=30))
    assert await follow_ups(api, alice) == []


async def test_a_dismissed_follow_up_returns_only_after_the_next_message(api: Api, clock: FakeClock) -> None:
    alice = await api.register("alice")
    (bob,) = await connected(api, alice, "bob")
    cid, _ = await send(api, alice, bob)
    clock.advance(timedelta(seconds=FOLLOW_UP_AFTER))
    assert len(await follow_ups(api, alice)) == 1
    r = await api.post(alice, f"{V1}/me/follow-ups/{cid}/dismiss")
    assert r.status_code == 204, r.text
    clock.advance(timedelta(days=10))
    assert await follow_ups(api, alice) == []
    await reply(api, alice, cid, "following up")
    clock.advance(timedelta(seconds=FOLLOW_UP_AFTER))
    assert [f["unanswered"] for f in await follow_ups(api, alice)] == [2]


async def test_follow_ups_and_dismissals_are_the_viewers_own(api: Api, clock: FakeClock) -> None:
    alice = await api.register("alice")
    (bob,) = await connected(api, alice, "bob")
    mallory = await api.register("mallory")
    cid, _ = await send(api, alice, bob)
    clock.advance(timedelta(seconds=FOLLOW_UP_AFTER))
    assert await follow_ups(api, mallory) == []
    found = await insight(api, mallory)
    assert (found["sent"], found["read"], found["conversations_started"]) == (0, 0, 0)
    assert found["read_rate"] is None
    for target in (cid, "999999", "abc", "-1"):
        r = await api.post(mallory, f"{V1}/me/follow-ups/{target}/dismiss")
        assert r.status_code == 404, r.text
        assert r.json()["error"]["code"] == "conversation_not_found"
    assert len(await follow_ups(api, alice)) == 1


async def test_no_follow_up_in_group_like_threads_or_with_a_blocked_member(api: Api, clock: FakeClock) -> None:
    alice = await api.register("alice")
    bob, carol = await connected(api, alice, "bob", "carol")
    await api.connect(bob, carol)
    await send(api, alice, bob)
    r = await api.start(alice, bob, carol, body="to both of you")
    assert r.status_code == 201, r.text
    assert r.json()["conversation"]["kind"] == "multi"
    clock.advance(timedelta(seconds=FOLLOW_UP_AFTER))
    assert [f["member"]["handle"] for f in await follow_ups(api, alice)] == ["bob"]
    r = await api.post(bob, f"{V1}/blocks", {"handle": "alice"})
    assert r.status_code == 201, r.text
    assert await follow_ups(api, alice) == []
