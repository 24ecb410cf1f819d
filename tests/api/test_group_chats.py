"""Group chats and multi conversations (DESIGN §2): participants added and removed, titles,
system lines, @mentions, and no read receipts."""

from __future__ import annotations

from typing import Any

from tests.api.test_accounts import error_code
from tests.conftest import Api, Member


async def open_group(api: Api, admin: Member, *members: Member) -> str:
    r = await api.post(admin, "/api/v1/groups", {"name": "Guild", "visibility": "open"})
    group = str(r.json()["group"]["id"])
    for m in members:
        assert (await api.post(m, f"/api/v1/groups/{group}/join")).status_code == 200
    return group


async def group_chat(api: Api, admin: Member, group: str, *to: Member, body: str = "welcome") -> dict[str, Any]:
    r = await api.start(admin, *to, body=body, group_id=group)
    assert r.status_code == 201, r.text
    return dict(r.json()["conversation"])


async def history(api: Api, who: Member, cid: str) -> list[dict[str, Any]]:
    r = await api.get(who, f"/api/v1/conversations/{cid}/messages")
    assert r.status_code == 200, r.text
    return list(r.json()["messages"])


async def last_seq(api: Api, who: Member) -> int:
    events = await api.events(who)
    return int(events[-1]["seq"]) if events else 0


async def test_admins_and_managers_start_group_chats_with_members(api: Api) -> None:
    alice, bob, carol, dan = [await api.register(h) for h in ("alice", "bob", "carol", "dan")]
    group = await open_group(api, alice, bob, carol)
    conversation = await group_chat(api, alice, group, bob, carol)
    assert conversation["kind"] == "group_chat"
    assert conversation["group_id"] == group
    assert conversation["title"] is None
    r = await api.start(bob, carol, group_id=group)
    assert r.status_code == 403 and error_code(r) == "group_admin_required"
    r = await api.start(alice, bob, dan, group_id=group)
    assert r.status_code == 403 and error_code(r) == "not_a_group_member"
    r = await api.start(alice, bob, group_id="999")
    assert r.status_code == 404 and error_code(r) == "group_not_found"


async def test_a_participant_adds_group_members_who_see_the_history(api: Api) -> None:
    alice, bob, carol, dan = [await api.register(h) for h in ("alice", "bob", "carol", "dan")]
    group = await open_group(api, alice, bob, carol, dan)
    cid = (await group_chat(api, alice, group, bob, body="before carol"))["id"]
    since = {m.handle: await last_seq(api, m) for m in (alice, bob, carol)}
    r = await api.post(bob, f"/api/v1/conversations/{cid}/participants", {"handles": ["carol"]})
    assert r.status_code == 200, r.text
    assert [p["handle"] for p in r.json()["conversation"]["participants"]] == ["alice", "bob", "carol"]

    messages = await history(api, carol, cid)
    assert [m["body"] for m in messages] == ["Bob Tester added Carol Tester.", "before carol"]
    assert messages[0]["system"] == {"action": "added", "actor": "bob", "members": ["carol"]}
    assert messages[1]["system"] is None
    carol_view = (await api.get(carol, f"/api/v1/conversations/{cid}")).json()["conversation"]
    assert carol_view["unread_count"] == 1  # the history is there, already read; the add is new

    for m in (alice, bob, carol):
        updates = [e for e in await api.events(m, since[m.handle]) if e["type"] == "conversation.updated"]
        assert [(u["conversation_id"], u["change"]) for u in updates] == [(cid, "added")], m.handle
        assert [p["handle"] for p in updates[0]["participants"]] == ["alice", "bob", "carol"]
    # a stranger to the conversation heard nothing of it
    assert [e for e in await api.events(dan) if e.get("conversation_id") == cid] == []


async def test_an_add_with_one_refusal_adds_no_one(api: Api) -> None:
    alice, bob, outsider, blocker = [await api.register(h) for h in ("alice", "bob", "outsider", "blocker")]
    others = [await api.register(f"member{i}") for i in range(3)]
    group = await open_group(api, alice, bob, blocker, *others)
    cid = (await group_chat(api, alice, group, bob))["id"]
    before = await history(api, alice, cid)
    everyone = [m.handle for m in others]
    cases = [
        ([*everyone, "outsider"], 403, "not_a_group_member"),
        ([*everyone, "nobody-here"], 404, "member_not_found"),
        ([*everyone, "bob"], 409, "already_participant"),
        ([], 422, "no_recipients"),
    ]
    await api.post(blocker, "/api/v1/blocks", {"handle": "alice"})
    cases.append(([*everyone, "blocker"], 403, "blocked"))
    for handles, status, code in cases:
        r = await api.post(alice, f"/api/v1/conversations/{cid}/participants", {"handles": handles})
        assert (r.status_code, error_code(r)) == (status, code), handles
    conversation = (await api.get(alice, f"/api/v1/conversations/{cid}")).json()["conversation"]
    assert [p["handle"] for p in conversation["participants"]] == ["alice", "bob"]
    assert await history(api, alice, cid) == before
    for m in [*others, outsider]:
        assert (await api.get(m, f"/api/v1/conversations/{cid}")).status_code == 404


async def test_a_multi_conversation_takes_people_the_adder_may_message(api: Api) -> None:
    alice, bob, carol, dan, erin = [await api.register(h) for h in ("alice", "bob", "carol", "dan", "erin")]
    for m in (bob, carol):
        await api.connect(alice, m)
    await api.connect(bob, dan)
    cid = (await api.start(alice, bob, carol)).json()["conversation"]["id"]
    # dan is bob's connection, not alice's: alice may not add him, bob may
    r = await api.post(alice, f"/api/v1/conversations/{cid}/participants", {"handles": ["dan"]})
    assert r.status_code == 403 and error_code(r) == "connection_required"
    r = await api.post(bob, f"/api/v1/conversations/{cid}/participants", {"handles": ["dan"]})
    assert r.status_code == 200
    assert r.json()["conversation"]["kind"] == "multi"
    r = await api.post(erin, f"/api/v1/conversations/{cid}/participants", {"handles": ["erin"]})
    assert r.status_code == 404


async def test_at_most_fifty_besides_the_creator(api: Api) -> None:
    alice = await api.register("alice")
    mates = [await api.register(f"mate{i:02d}") for i in range(51)]
    group = await open_group(api, alice, *mates)
    cid = (await group_chat(api, alice, group, *mates[:49]))["id"]
    r = await api.post(mates[0], f"/api/v1/conversations/{cid}/participants", {"handles": ["mate49", "mate50"]})
    assert r.status_code == 422 and error_code(r) == "too_many_participants"
    r = await api.post(mates[0], f"/api/v1/conversations/{cid}/participants", {"handles": ["mate49"]})
    assert r.status_code == 200
    assert len(r.json()["conversation"]["participants"]) == 51


async def test_a_removed_member_loses_the_conversation_at_once(api: Api) -> None:
    alice, bob, carol = [await api.register(h) for h in ("alice", "bob", "carol")]
    group = await open_group(api, alice, bob, carol)
    cid = (await group_chat(api, alice, group, bob, carol, body="the secret plan"))["id"]
    bob_since = await last_seq(api, bob)
    r = await api.delete(carol, f"/api/v1/conversations/{cid}/participants/bob")
    assert r.status_code == 204
    for path in ("", "/messages"):
        r = await api.get(bob, f"/api/v1/conversations/{cid}{path}")
        assert r.status_code == 404 and error_code(r) == "conversation_not_found"
    r = await api.post(bob, f"/api/v1/conversations/{cid}/messages", {"body": "still here?"})
    assert r.status_code == 404
    assert (await api.post(bob, f"/api/v1/conversations/{cid}/typing", {"typing": True})).status_code == 404
    assert (await api.get(bob, "/api/v1/search?q=secret")).json()["results"] == []
    assert (await api.get(alice, "/api/v1/search?q=secret")).json()["results"] != []
    inbox = (await api.get(bob, "/api/v1/conversations")).json()["conversations"]
    assert [c["id"] for c in inbox] == []
    events = await api.events(bob, bob_since)
    assert [(e["type"], e["conversation_id"]) for e in events] == [("conversation.removed", cid)]
    # what follows never reaches bob
    await api.post(alice, f"/api/v1/conversations/{cid}/messages", {"body": "after bob"})
    await api.patch(alice, f"/api/v1/conversations/{cid}", {"title": "Plans"})
    assert len(await api.events(bob, bob_since)) == 1
    lines = [m["system"] for m in await history(api, alice, cid) if m["system"]]
    assert {"action": "removed", "actor": "carol", "members": ["bob"]} in lines
    r = await api.delete(alice, f"/api/v1/conversations/{cid}/participants/bob")
    assert r.status_code == 404 and error_code(r) == "participant_not_found"


async def test_leaving_is_removing_oneself(api: Api) -> None:
    alice, bob, carol = [await api.register(h) for h in ("alice", "bob", "carol")]
    group = await open_group(api, alice, bob, carol)
    cid = (await group_chat(api, alice, group, bob, carol))["id"]
    assert (await api.delete(bob, f"/api/v1/conversations/{cid}/participants/bob")).status_code == 204
    assert (await api.get(bob, f"/api/v1/conversations/{cid}")).status_code == 404
    newest = (await history(api, carol, cid))[0]
    assert newest["system"] == {"action": "left", "actor": "bob", "members": ["bob"]}
    assert newest["body"] == "Bob Tester left."


async def test_one_to_one_conversations_have_no_participants_to_change(api: Api) -> None:
    alice, bob, carol = [await api.register(h) for h in ("alice", "bob", "carol")]
    await api.connect(alice, bob)
    await api.connect(alice, carol)
    cid = (await api.start(alice, bob)).json()["conversation"]["id"]
    r = await api.delete(alice, f"/api/v1/conversations/{cid}/participants/bob")
    assert r.status_code == 409 and error_code(r) == "not_a_group_conversation"
    r = await api.post(alice, f"/api/v1/conversations/{cid}/participants", {"handles": ["carol"]})
    assert r.status_code == 409 and error_code(r) == "not_a_group_conversation"
    r = await api.patch(alice, f"/api/v1/conversations/{cid}", {"title": "Us"})
    assert r.status_code == 409 and error_code(r) == "not_a_group_conversation"
    conversation = (await api.get(bob, f"/api/v1/conversations/{cid}")).json()["conversation"]
    assert len(conversation["participants"]) == 2 and conversation["title"] is None


async def test_participants_rename_the_conversation_for_everyone(api: Api) -> None:
    alice, bob, carol = [await api.register(h) for h in ("alice", "bob", "carol")]
    group = await open_group(api, alice, bob, carol)
    cid = (await group_chat(api, alice, group, bob, carol))["id"]
    since = await last_seq(api, carol)
    r = await api.patch(bob, f"/api/v1/conversations/{cid}", {"title": "  Launch crew "})
    assert r.status_code == 200
    assert r.json()["conversation"]["title"] == "Launch crew"
    assert (await api.get(carol, f"/api/v1/conversations/{cid}")).json()["conversation"]["title"] == "Launch crew"
    updates = [e for e in await api.events(carol, since) if e["type"] == "conversation.updated"]
    assert [(u["change"], u["title"]) for u in updates] == [("renamed", "Launch crew")]
    newest = (await history(api, carol, cid))[0]
    assert newest["system"] == {"action": "renamed", "actor": "bob", "title": "Launch crew"}
    r = await api.patch(bob, f"/api/v1/conversations/{cid}", {"title": "x" * 101})
    assert r.status_code == 422 and error_code(r) == "title_too_long"
    r = await api.patch(bob, f"/api/v1/conversations/{cid}", {"title": ""})
    assert r.json()["conversation"]["title"] is None
    # a system line is no one's to edit or delete
    mid = (await history(api, bob, cid))[0]["id"]
    r = await api.patch(bob, f"/api/v1/conversations/{cid}/messages/{mid}", {"body": "forged"})
    assert r.status_code == 409 and error_code(r) == "system_message"
    assert (await api.delete(bob, f"/api/v1/conversations/{cid}/messages/{mid}")).status_code == 409


async def test_no_read_receipts_in_group_chats_but_typing_is_shown(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    group = await open_group(api, alice, bob)
    started = await api.start(alice, bob, body="read me", group_id=group)
    cid, mid = started.json()["conversation"]["id"], started.json()["message"]["id"]
    since = await last_seq(api, alice)
    assert (await api.post(bob, f"/api/v1/conversations/{cid}/read", {"message_id": mid})).status_code == 204
    mine = (await history(api, alice, cid))[0]
    assert mine["status"] != "read" and mine["read_by"] == []
    assert [e for e in await api.events(alice, since) if e["type"] == "message.read"] == []
    r = await api.post(bob, f"/api/v1/conversations/{cid}/typing", {"typing": True})
    assert r.status_code == 204


# --- mentions ------------------------------------------------------------------------------


async def mention_notifications(api: Api, who: Member) -> list[tuple[str, str]]:
    r = await api.get(who, "/api/v1/notifications")
    return [(n["actor"]["handle"], n["subject_id"]) for n in r.json()["notifications"] if n["kind"] == "mention"]


async def test_mentions_of_participants_notify_even_when_muted(api: Api) -> None:
    alice, bob, carol, dan = [await api.register(h) for h in ("alice", "bob", "carol", "dan")]
    group = await open_group(api, alice, bob, carol, dan)
    cid = (await group_chat(api, alice, group, bob, carol))["id"]
    await api.patch(bob, f"/api/v1/conversations/{cid}", {"muted": True})
    r = await api.post(alice, f"/api/v1/conversations/{cid}/messages", {"body": "@Bob and @dan, see alice@x.io @alice"})
    assert r.status_code == 201, r.text
    message = r.json()["message"]
    assert [m["handle"] for m in message["mentions"]] == ["bob", "alice"]
    assert await mention_notifications(api, bob) == [("alice", message["id"])]
    assert await mention_notifications(api, dan) == []  # not a participant: plain text
    assert await mention_notifications(api, alice) == []  # no notice to oneself
    assert await mention_notifications(api, carol) == []
    listed = (await history(api, carol, cid))[0]
    assert [m["handle"] for m in listed["mentions"]] == ["bob", "alice"]


async def test_twenty_mentions_pass_and_twenty_one_are_refused(api: Api) -> None:
    alice = await api.register("alice")
    mates = [await api.register(f"mate{i:02d}") for i in range(21)]
    group = await open_group(api, alice, *mates)
    cid = (await group_chat(api, alice, group, *mates))["id"]
    before = await history(api, alice, cid)
    body = " ".join(f"@{m.handle}" for m in mates)
    r = await api.post(alice, f"/api/v1/conversations/{cid}/messages", {"body": body})
    assert r.status_code == 422 and error_code(r) == "too_many_mentions"
    assert await history(api, alice, cid) == before
    assert await mention_notifications(api, mates[0]) == []
    r = await api.post(alice, f"/api/v1/conversations/{cid}/messages", {"body": body + " " + body.split()[0]})
    assert r.status_code == 422
    r = await api.post(alice, f"/api/v1/conversations/{cid}/messages", {"body": " ".join(body.split()[:20])})
    assert r.status_code == 201 and len(r.json()["message"]["mentions"]) == 20


async def test_an_edit_notifies_only_the_newly_mentioned(api: Api) -> None:
    alice, bob, carol = [await api.register(h) for h in ("alice", "bob", "carol")]
    group = await open_group(api, alice, bob, carol)
    cid = (await group_chat(api, alice, group, bob, carol))["id"]
    mid = (await api.post(alice, f"/api/v1/conversations/{cid}/messages", {"body": "hi @bob"})).json()["message"]["id"]
    since = await last_seq(api, carol)
    r = await api.patch(alice, f"/api/v1/conversations/{cid}/messages/{mid}", {"body": "hi @bob and @carol"})
    assert r.status_code == 200
    assert [m["handle"] for m in r.json()["message"]["mentions"]] == ["bob", "carol"]
    assert await mention_notifications(api, bob) == [("alice", mid)]
    assert await mention_notifications(api, carol) == [("alice", mid)]
    edited = [e for e in await api.events(carol, since) if e["type"] == "message.edited"]
    assert [m["handle"] for m in edited[0]["mentions"]] == ["bob", "carol"]
    await api.patch(alice, f"/api/v1/conversations/{cid}/messages/{mid}", {"body": "hi @carol"})
    await api.patch(alice, f"/api/v1/conversations/{cid}/messages/{mid}", {"body": "hi @carol and @bob"})
    assert len(await mention_notifications(api, bob)) == 2  # mentioned again after dropping out
    assert len(await mention_notifications(api, carol)) == 1
