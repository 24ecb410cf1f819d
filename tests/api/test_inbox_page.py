"""The inbox page (services/inbox.py builds it straight from rows) shows each conversation
exactly as the conversation's own view does (`GET /conversations/{id}`, built from the
conversation, participant and message rows by `conversation_json`): members in several
conversations, a premium member's Open Profile, a mention, an edited, a deleted and an
attached last message, a sender who left, system lines, archived, muted and marked-unread
conversations; and a conversation the member deleted for themselves stays out of it."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api, Member

from rapport.domain.model import Member as MemberModel
from rapport.domain.model import MemberId, MemberSettings, Tier
from rapport.services.shapes import member_json, public_member_json


async def page(api: Api, who: Member, filter: str) -> list[dict[str, Any]]:
    r = await api.get(who, f"/api/v1/conversations?filter={filter}&limit=100")
    assert r.status_code == 200, r.text
    return list(r.json()["conversations"])


async def assert_as_each_view(api: Api, who: Member, filter: str) -> list[dict[str, Any]]:
    listed = await page(api, who, filter)
    for item in listed:
        r = await api.get(who, f"/api/v1/conversations/{item['id']}")
        assert r.status_code == 200, r.text
        assert item == r.json()["conversation"], item["id"]
    return listed


async def open_group(api: Api, admin: Member, *others: Member) -> str:
    r = await api.post(admin, "/api/v1/groups", {"name": "Guild", "visibility": "open"})
    group = str(r.json()["group"]["id"])
    for m in others:
        assert (await api.post(m, f"/api/v1/groups/{group}/join")).status_code == 200
    return group


async def test_each_conversation_as_its_own_view_shows_it(api: Api) -> None:
    alice, bob, carol, dan, erin = [await api.register(h) for h in ("alice", "bob", "carol", "dan", "erin")]
    await api.set_tier(bob, "premium_career")
    assert (await api.patch(bob, "/api/v1/me/settings", {"open_profile": True})).status_code == 200
    for other in (bob, carol, dan, erin):
        await api.connect(alice, other)
    group = await open_group(api, alice, bob, carol, dan)
    # A group chat whose last message mentions members.
    r = await api.start(alice, bob, carol, body="welcome", group_id=group)
    chat = r.json()["conversation"]["id"]
    sent = await api.post(bob, f"/api/v1/conversations/{chat}/messages", {"body": "@alice and @carol, look"})
    assert sent.status_code == 201, sent.text
    # A second chat whose last line comes from a member who left.
    chat2 = (await api.start(alice, bob, dan, body="second", group_id=group)).json()["conversation"]["id"]
    await api.post(dan, f"/api/v1/conversations/{chat2}/messages", {"body": "bye"})
    assert (await api.delete(dan, f"/api/v1/conversations/{chat2}/participants/dan")).status_code == 204
    # Direct threads: edited, deleted, archived, muted, marked unread, deleted for me.
    edited = (await api.start(alice, bob, body="tpyo")).json()
    eid, emid = edited["conversation"]["id"], edited["message"]["id"]
    r = await api.patch(alice, f"/api/v1/conversations/{eid}/messages/{emid}", {"body": "typo"})
    assert r.status_code == 200, r.text
    gone = (await api.start(alice, carol, body="oops")).json()
    r = await api.delete(alice, f"/api/v1/conversations/{gone['conversation']['id']}/messages/{gone['message']['id']}")
    assert r.status_code == 204, r.text
    archived = (await api.start(dan, alice, body="archive me")).json()["conversation"]["id"]
    assert (await api.patch(alice, f"/api/v1/conversations/{archived}", {"archived": True})).status_code == 200
    muted = (await api.start(erin, alice, body="mute me")).json()["conversation"]["id"]
    r = await api.patch(alice, f"/api/v1/conversations/{muted}", {"muted": True, "unread": True})
    assert r.status_code == 200, r.text
    hidden = (await api.start(alice, erin, dan, body="hide me")).json()["conversation"]["id"]
    assert (await api.delete(alice, f"/api/v1/conversations/{hidden}")).status_code == 204

    listed = await assert_as_each_view(api, alice, "all")
    ids = [c["id"] for c in listed]
    assert archived not in ids and hidden not in ids and {chat, chat2, eid, muted} <= set(ids)
    assert [c["id"] for c in await assert_as_each_view(api, alice, "archived")] == [archived]
    assert muted in [c["id"] for c in await assert_as_each_view(api, alice, "unread")]
    by_id = {c["id"]: c for c in listed}
    assert [m["handle"] for m in by_id[chat]["last_message"]["mentions"]] == ["alice", "carol"]
    assert by_id[chat2]["last_message"]["sender"]["handle"] == "dan"
    assert "dan" not in [m["handle"] for m in by_id[chat2]["participants"]]
    assert next(m for m in by_id[chat]["participants"] if m["handle"] == "bob")["open_profile"] is True
    for who in (bob, carol, dan, erin):
        await assert_as_each_view(api, who, "all")


def test_public_member_json_is_member_json() -> None:
    for tier in Tier:
        for open_profile in (False, True):
            for avatar in (None, "https://cdn.example/a.png"):
                member = MemberModel(
                    id=MemberId(7),
                    handle="ann",
                    name="Ann",
                    headline="h",
                    industry="i",
                    location="l",
                    avatar_url=avatar,
                    tier=tier,
                    settings=MemberSettings(
                        read_receipts_and_typing=True,
                        open_profile=open_profile,
                        messages_from_group_members=True,
                        sponsored_messages=True,
                    ),
                )
                public = public_member_json(7, "ann", "Ann", "h", "i", "l", avatar, tier.value, int(open_profile))
                assert public == member_json(member)
