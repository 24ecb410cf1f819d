"""Starting conversations under the messaging policy, InMail credits, and the inbox (DESIGN §2-§3)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.api.test_accounts import error_code
from tests.conftest import Api, Member

from rapport.clock import FakeClock


async def credits_of(api: Api, who: Member) -> int:
    r = await api.get(who, "/api/v1/me")
    assert r.status_code == 200
    return int(r.json()["inmail_credits"])


async def inbox(api: Api, who: Member, **params: Any) -> dict[str, Any]:
    r = await api.get(who, "/api/v1/conversations", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def inmail(api: Api, a: Member, b: Member, body: str = "An opportunity", **extra: Any) -> Any:
    return await api.start(a, b, body=body, kind="inmail", subject="Hello", **extra)


CONVERSATION_FIELDS = {
    "id",
    "kind",
    "subject",
    "participants",
    "last_message",
    "unread_count",
    "archived",
    "muted",
    "updated_at",
}
MESSAGE_FIELDS = {
    "id",
    "conversation_id",
    "sender",
    "body",
    "attachments",
    "created_at",
    "edited_at",
    "deleted",
    "client_id",
    "status",
    "read_by",
}


# --- the policy -------------------------------------------------------------------------


async def test_direct_between_connections(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.connect(alice, bob)
    r = await api.start(alice, bob, body="hi")
    assert r.status_code == 201
    body = r.json()
    assert set(body["conversation"]) >= CONVERSATION_FIELDS
    assert set(body["message"]) >= MESSAGE_FIELDS
    assert body["conversation"]["kind"] == "direct"
    assert body["conversation"]["subject"] is None
    assert {m["handle"] for m in body["conversation"]["participants"]} == {"alice", "bob"}
    assert body["message"]["body"] == "hi"
    assert body["message"]["sender"]["handle"] == "alice"
    assert body["message"]["conversation_id"] == body["conversation"]["id"]
    assert body["message"]["status"] in ("sent", "delivered")
    assert body["message"]["read_by"] == []
    assert body["message"]["deleted"] is False
    assert body["message"]["edited_at"] is None
    assert await credits_of(api, alice) == 0


async def test_strangers_need_a_connection(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    r = await api.start(alice, bob)
    assert r.status_code == 403
    assert error_code(r) == "connection_required"
    assert (await inbox(api, alice))["conversations"] == []
    assert (await inbox(api, bob))["conversations"] == []


async def test_unknown_recipient_is_404_and_self_is_refused(api: Api) -> None:
    alice = await api.register("alice")
    r = await api.post(alice, "/api/v1/conversations", {"to": ["nobody"], "body": "hi"})
    assert r.status_code == 404
    r = await api.start(alice, alice)
    assert r.status_code == 422
    r = await api.post(alice, "/api/v1/conversations", {"to": [], "body": "hi"})
    assert r.status_code == 422


async def test_group_members_may_message(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    r = await api.post(alice, "/api/v1/groups", {"name": "Rustaceans", "visibility": "open"})
    assert r.status_code == 201
    group = r.json()["group"]["id"]
    r = await api.post(bob, f"/api/v1/groups/{group}/join")
    assert r.status_code == 200
    r = await api.start(bob, alice)
    assert r.status_code == 201
    assert r.json()["conversation"]["kind"] == "group_member"


async def test_group_member_messages_can_be_switched_off(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    group = (await api.post(alice, "/api/v1/groups", {"name": "Rustaceans", "visibility": "open"})).json()["group"][
        "id"
    ]
    await api.post(bob, f"/api/v1/groups/{group}/join")
    r = await api.patch(alice, "/api/v1/me/settings", {"messages_from_group_members": False})
    assert r.status_code == 200
    r = await api.start(bob, alice)
    assert r.status_code == 403
    assert error_code(r) == "connection_required"


async def test_unknown_group_is_404(api: Api) -> None:
    alice = await api.register("alice")
    for gid in ("999", "abc", "99999999999999999999999"):
        r = await api.post(alice, f"/api/v1/groups/{gid}/join")
        assert r.status_code == 404


async def test_open_profile_is_free_to_reach(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.set_tier(bob, "premium_career")
    assert (await api.patch(bob, "/api/v1/me/settings", {"open_profile": True})).status_code == 200
    r = await api.start(alice, bob)
    assert r.status_code == 201
    assert r.json()["conversation"]["kind"] == "open_profile"


async def test_open_profile_lapses_with_premium(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.set_tier(bob, "premium_career")
    await api.patch(bob, "/api/v1/me/settings", {"open_profile": True})
    await api.set_tier(bob, "free")
    r = await api.get(alice, "/api/v1/members/bob")
    assert r.json()["member"]["open_profile"] is False
    r = await api.start(alice, bob)
    assert r.status_code == 403
    assert error_code(r) == "connection_required"


async def test_inmail_needs_the_explicit_kind(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.set_tier(alice, "premium_career")
    r = await api.start(alice, bob)
    assert r.status_code == 403
    assert error_code(r) == "connection_required"
    assert await credits_of(api, alice) == 5


async def test_inmail_spends_a_credit(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.set_tier(alice, "premium_career")
    assert await credits_of(api, alice) == 5
    r = await inmail(api, alice, bob)
    assert r.status_code == 201, r.text
    conversation = r.json()["conversation"]
    assert conversation["kind"] == "inmail"
    assert conversation["subject"] == "Hello"
    assert await credits_of(api, alice) == 4
    r = await inbox(api, bob, filter="inmail")
    assert [c["id"] for c in r["conversations"]] == [conversation["id"]]


async def test_inmail_needs_a_subject_and_premium(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    r = await inmail(api, alice, bob)
    assert r.status_code == 403
    assert error_code(r) == "premium_required"
    await api.set_tier(alice, "premium_career")
    r = await api.start(alice, bob, kind="inmail")
    assert r.status_code == 422
    r = await api.start(alice, bob, kind="inmail", subject="s" * 201)
    assert r.status_code == 422
    r = await inmail(api, alice, bob, body="b" * 2001)
    assert r.status_code == 422
    assert await credits_of(api, alice) == 5
    r = await inmail(api, alice, bob, body="b" * 2000)
    assert r.status_code == 201


async def test_inmail_between_premium_members_is_free(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.set_tier(alice, "premium_career")
    await api.set_tier(bob, "premium_business")
    r = await inmail(api, alice, bob)
    assert r.status_code == 201
    assert await credits_of(api, alice) == 5


async def test_inmail_credits_run_out(api: Api) -> None:
    alice = await api.register("alice")
    await api.set_tier(alice, "premium_career")
    for i in range(5):
        other = await api.register(f"target{i}")
        assert (await inmail(api, alice, other)).status_code == 201
    assert await credits_of(api, alice) == 0
    other = await api.register("target5")
    r = await inmail(api, alice, other)
    assert r.status_code == 403
    assert error_code(r) == "no_inmail_credits"


async def test_reply_within_90_days_returns_the_credit(api: Api, clock: FakeClock) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.set_tier(alice, "premium_career")
    cid = (await inmail(api, alice, bob)).json()["conversation"]["id"]
    assert await credits_of(api, alice) == 4
    clock.advance(timedelta(days=89))
    r = await api.post(bob, f"/api/v1/conversations/{cid}/messages", {"body": "Tell me more"})
    assert r.status_code == 201
    r = await api.get(alice, "/api/v1/me")
    # 89 days later the monthly grants also arrived: compare with a member who sent nothing
    carol = await api.register("carol")
    await api.set_tier(carol, "premium_career")
    assert r.json()["inmail_credits"] >= 5


async def test_reply_within_90_days_returns_the_credit_same_month(api: Api, clock: FakeClock) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.set_tier(alice, "premium_career")
    cid = (await inmail(api, alice, bob)).json()["conversation"]["id"]
    clock.advance(timedelta(days=3))
    r = await api.post(bob, f"/api/v1/conversations/{cid}/messages", {"body": "Tell me more"})
    assert r.status_code == 201
    assert await credits_of(api, alice) == 5
    # the thread is now open both ways
    r = await api.post(alice, f"/api/v1/conversations/{cid}/messages", {"body": "Great"})
    assert r.status_code == 201
    assert await credits_of(api, alice) == 5


async def test_reply_after_91_days_does_not_return_the_credit(api: Api, clock: FakeClock) -> None:
    alice, bob, carol = await api.register("alice"), await api.register("bob"), await api.register("carol")
    await api.set_tier(alice, "premium_career")
    await api.set_tier(carol, "premium_career")
    cid = (await inmail(api, alice, bob)).json()["conversation"]["id"]
    cid2 = (await inmail(api, carol, bob)).json()["conversation"]["id"]
    clock.advance(timedelta(days=89))
    await api.post(bob, f"/api/v1/conversations/{cid2}/messages", {"body": "Early reply"})
    clock.advance(timedelta(days=2))
    r = await api.post(bob, f"/api/v1/conversations/{cid}/messages", {"body": "Late reply"})
    assert r.status_code == 201
    # both had the same grants; only carol's InMail was answered in time
    assert await credits_of(api, alice) == await credits_of(api, carol) - 1


async def test_decline_returns_the_credit(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.set_tier(alice, "premium_career")
    cid = (await inmail(api, alice, bob)).json()["conversation"]["id"]
    assert await credits_of(api, alice) == 4
    r = await api.post(alice, f"/api/v1/conversations/{cid}/decline")
    assert r.status_code in (403, 409)
    r = await api.post(bob, f"/api/v1/conversations/{cid}/decline")
    assert r.status_code == 200
    assert r.json()["conversation"]["id"] == cid
    assert await credits_of(api, alice) == 5
    r = await api.post(bob, f"/api/v1/conversations/{cid}/decline")
    assert r.status_code == 409
    assert await credits_of(api, alice) == 5
    r = await api.post(alice, f"/api/v1/conversations/{cid}/messages", {"body": "Are you sure?"})
    assert r.status_code == 403


async def test_decline_of_a_direct_conversation_is_refused(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.connect(alice, bob)
    cid = (await api.start(alice, bob)).json()["conversation"]["id"]
    r = await api.post(bob, f"/api/v1/conversations/{cid}/decline")
    assert r.status_code == 409
    error_code(r)


async def test_a_second_unanswered_inmail_is_refused(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.set_tier(alice, "premium_career")
    cid = (await inmail(api, alice, bob)).json()["conversation"]["id"]
    r = await inmail(api, alice, bob, body="Following up")
    assert r.status_code == 403
    assert error_code(r) == "inmail_pending"
    assert await credits_of(api, alice) == 4
    r = await api.post(alice, f"/api/v1/conversations/{cid}/messages", {"body": "Following up"})
    assert r.status_code == 403
    # once answered, a new InMail is possible
    await api.post(bob, f"/api/v1/conversations/{cid}/messages", {"body": "Hi"})
    r = await inmail(api, alice, bob, body="Another topic")
    assert r.status_code == 201


async def test_an_inmail_thread_is_its_own(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.set_tier(alice, "premium_career")
    first = (await inmail(api, alice, bob)).json()["conversation"]["id"]
    await api.connect(alice, bob)
    r = await api.start(alice, bob)
    assert r.status_code == 201
    assert r.json()["conversation"]["kind"] == "direct"
    assert r.json()["conversation"]["id"] != first


async def test_connected_members_are_never_charged_even_asking_for_inmail(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.set_tier(alice, "premium_career")
    await api.connect(alice, bob)
    r = await inmail(api, alice, bob)
    assert r.status_code == 201
    assert r.json()["conversation"]["kind"] == "direct"
    assert await credits_of(api, alice) == 5


# --- 1:1 threads and multi-recipient ----------------------------------------------------


async def test_one_to_one_thread_is_reused(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.connect(alice, bob)
    first = (await api.start(alice, bob, body="one")).json()
    second = (await api.start(bob, alice, body="two")).json()
    assert second["conversation"]["id"] == first["conversation"]["id"]
    assert second["message"]["id"] != first["message"]["id"]
    r = await api.get(alice, f"/api/v1/conversations/{first['conversation']['id']}/messages")
    assert [m["body"] for m in r.json()["messages"]] == ["two", "one"]
    assert len((await inbox(api, alice))["conversations"]) == 1


async def test_multi_recipient_up_to_50(api: Api) -> None:
    alice = await api.register("alice")
    others = []
    group = (await api.post(alice, "/api/v1/groups", {"name": "Big group", "visibility": "open"})).json()["group"]["id"]
    for i in range(51):
        member = await api.register(f"member{i:02d}")
        await api.post(member, f"/api/v1/groups/{group}/join")
        others.append(member)
    r = await api.start(alice, *others)
    assert r.status_code == 422
    assert error_code(r) in ("too_many_recipients", "validation_error")
    r = await api.start(alice, *others[:50])
    assert r.status_code == 201, r.text
    conversation = r.json()["conversation"]
    assert conversation["kind"] == "multi"
    assert len(conversation["participants"]) == 51
    outsider = others[50]
    r = await api.get(outsider, f"/api/v1/conversations/{conversation['id']}")
    assert r.status_code == 404
    r = await api.get(others[0], f"/api/v1/conversations/{conversation['id']}")
    assert r.status_code == 200


async def test_multi_recipient_needs_each_to_be_direct_or_group(api: Api) -> None:
    alice, bob, carol = await api.register("alice"), await api.register("bob"), await api.register("carol")
    await api.connect(alice, bob)
    await api.set_tier(carol, "premium_career")
    await api.patch(carol, "/api/v1/me/settings", {"open_profile": True})
    r = await api.start(alice, bob, carol)
    assert r.status_code == 403
    assert error_code(r) == "connection_required"
    await api.connect(alice, carol)
    r = await api.start(alice, bob, carol)
    assert r.status_code == 201
    assert r.json()["conversation"]["kind"] == "multi"
    # a multi conversation is not reused
    r2 = await api.start(alice, bob, carol)
    assert r2.json()["conversation"]["id"] != r.json()["conversation"]["id"]


async def test_multi_recipient_refuses_a_blocked_member(api: Api) -> None:
    alice, bob, carol = await api.register("alice"), await api.register("bob"), await api.register("carol")
    await api.connect(alice, bob)
    await api.connect(alice, carol)
    await api.post(carol, "/api/v1/blocks", {"handle": "alice"})
    r = await api.start(alice, bob, carol)
    assert r.status_code == 403
    assert error_code(r) == "blocked"


async def test_client_id_makes_start_idempotent(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.connect(alice, bob)
    r1 = await api.start(alice, bob, body="once", client_id="c-1")
    assert r1.status_code == 201
    r2 = await api.start(alice, bob, body="once", client_id="c-1")
    assert r2.status_code == 200
    assert r2.json()["message"]["id"] == r1.json()["message"]["id"]
    assert r2.json()["conversation"]["id"] == r1.json()["conversation"]["id"]
    assert r2.json()["message"]["client_id"] == "c-1"
    r = await api.get(bob, f"/api/v1/conversations/{r1.json()['conversation']['id']}/messages")
    assert [m["body"] for m in r.json()["messages"]] == ["once"]
    assert (await inbox(api, bob))["conversations"][0]["unread_count"] == 1


async def test_inmail_retried_with_client_id_is_charged_once(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.set_tier(alice, "premium_career")
    r1 = await inmail(api, alice, bob, client_id="im-1")
    r2 = await inmail(api, alice, bob, client_id="im-1")
    assert (r1.status_code, r2.status_code) == (201, 200)
    assert r2.json()["message"]["id"] == r1.json()["message"]["id"]
    assert await credits_of(api, alice) == 4


# --- the inbox --------------------------------------------------------------------------


async def test_inbox_is_newest_first_with_cursor_pages(api: Api, clock: FakeClock) -> None:
    alice = await api.register("alice")
    ids = []
    for i in range(5):
        other = await api.register(f"friend{i}")
        await api.connect(alice, other)
        ids.append((await api.start(other, alice, body=f"m{i}")).json()["conversation"]["id"])
        clock.advance(timedelta(minutes=1))
    page = await inbox(api, alice, limit=2)
    seen = [c["id"] for c in page["conversations"]]
    assert seen == [ids[4], ids[3]]
    assert page["next_cursor"]
    while page["next_cursor"]:
        page = await inbox(api, alice, limit=2, cursor=page["next_cursor"])
        seen += [c["id"] for c in page["conversations"]]
    assert seen == list(reversed(ids))
    # new activity moves a thread to the top
    await api.post(alice, f"/api/v1/conversations/{ids[0]}/messages", {"body": "back to you"})
    first = (await inbox(api, alice))["conversations"][0]
    assert first["id"] == ids[0]
    assert first["last_message"]["body"] == "back to you"


async def test_inbox_cursor_is_stable_when_times_are_equal(api: Api) -> None:
    alice = await api.register("alice")
    ids = []
    for i in range(5):
        other = await api.register(f"friend{i}")
        await api.connect(alice, other)
        ids.append((await api.start(other, alice, body=f"m{i}")).json()["conversation"]["id"])
    seen: list[str] = []
    page = await inbox(api, alice, limit=2)
    seen += [c["id"] for c in page["conversations"]]
    while page["next_cursor"]:
        page = await inbox(api, alice, limit=2, cursor=page["next_cursor"])
        seen += [c["id"] for c in page["conversations"]]
    assert sorted(seen) == sorted(ids)
    assert len(seen) == 5


async def test_bad_inbox_parameters(api: Api) -> None:
    alice = await api.register("alice")
    for params in ({"filter": "nope"}, {"cursor": "garbage!!"}, {"limit": 0}, {"limit": 101}, {"limit": "x"}):
        r = await api.get(alice, "/api/v1/conversations", params=params)
        assert r.status_code in (400, 422), (params, r.text)
        error_code(r)


async def test_unread_counts_and_filters(api: Api) -> None:
    alice, bob, carol = await api.register("alice"), await api.register("bob"), await api.register("carol")
    await api.connect(alice, bob)
    await api.connect(alice, carol)
    m1 = (await api.start(bob, alice, body="one")).json()["message"]
    await api.post(bob, f"/api/v1/conversations/{m1['conversation_id']}/messages", {"body": "two"})
    c2 = (await api.start(alice, carol, body="mine")).json()["conversation"]["id"]
    conversations = {c["id"]: c for c in (await inbox(api, alice))["conversations"]}
    assert conversations[m1["conversation_id"]]["unread_count"] == 2
    assert conversations[c2]["unread_count"] == 0
    unread = await inbox(api, alice, filter="unread")
    assert [c["id"] for c in unread["conversations"]] == [m1["conversation_id"]]
    r = await api.get(alice, f"/api/v1/conversations/{m1['conversation_id']}/messages")
    newest = r.json()["messages"][0]
    r = await api.post(alice, f"/api/v1/conversations/{m1['conversation_id']}/read", {"message_id": newest["id"]})
    assert r.status_code == 204
    assert (await inbox(api, alice, filter="unread"))["conversations"] == []
    r = await api.get(alice, f"/api/v1/conversations/{m1['conversation_id']}")
    assert r.json()["conversation"]["unread_count"] == 0


async def test_archive_mute_and_mark_unread(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.connect(alice, bob)
    cid = (await api.start(alice, bob)).json()["conversation"]["id"]
    r = await api.patch(alice, f"/api/v1/conversations/{cid}", {"archived": True, "muted": True})
    assert r.status_code == 200
    assert r.json()["conversation"]["archived"] is True
    assert r.json()["conversation"]["muted"] is True
    assert [c["id"] for c in (await inbox(api, alice, filter="archived"))["conversations"]] == [cid]
    assert cid not in [c["id"] for c in (await inbox(api, alice))["conversations"]]
    # only alice's own view changed
    bobs = (await inbox(api, bob))["conversations"]
    assert [(c["id"], c["archived"], c["muted"]) for c in bobs] == [(cid, False, False)]
    r = await api.patch(alice, f"/api/v1/conversations/{cid}", {"unread": True})
    assert r.json()["conversation"]["unread_count"] >= 1
    # archived conversations stay under the archived filter until they are unarchived
    assert cid not in [c["id"] for c in (await inbox(api, alice, filter="unread"))["conversations"]]
    await api.patch(alice, f"/api/v1/conversations/{cid}", {"archived": False})
    assert cid in [c["id"] for c in (await inbox(api, alice, filter="unread"))["conversations"]]
    r = await api.patch(alice, f"/api/v1/conversations/{cid}", {"unread": False, "archived": False})
    assert r.json()["conversation"]["unread_count"] == 0
    assert r.json()["conversation"]["archived"] is False
    assert cid in [c["id"] for c in (await inbox(api, alice))["conversations"]]


async def test_patch_with_wrong_types_is_422(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.connect(alice, bob)
    cid = (await api.start(alice, bob)).json()["conversation"]["id"]
    for body in ({"archived": "yes"}, {"muted": 1}, {"unread": None}, [], "x"):
        r = await api.patch(alice, f"/api/v1/conversations/{cid}", body)
        if body == {"unread": None}:
            assert r.status_code in (200, 422)
            continue
        assert r.status_code == 422, (body, r.text)
        error_code(r)


async def test_another_members_conversation_is_404_everywhere(api: Api) -> None:
    alice, bob, eve = await api.register("alice"), await api.register("bob"), await api.register("eve")
    await api.connect(alice, bob)
    started = (await api.start(alice, bob)).json()
    cid, mid = started["conversation"]["id"], started["message"]["id"]
    base = f"/api/v1/conversations/{cid}"
    answers = [
        await api.get(eve, base),
        await api.get(eve, f"{base}/messages"),
        await api.post(eve, f"{base}/messages", {"body": "let me in"}),
        await api.post(eve, f"{base}/read", {"message_id": mid}),
        await api.post(eve, f"{base}/typing", {"typing": True}),
        await api.patch(eve, base, {"archived": True}),
        await api.patch(eve, f"{base}/messages/{mid}", {"body": "changed"}),
        await api.delete(eve, f"{base}/messages/{mid}"),
        await api.post(eve, f"{base}/decline"),
        await api.delete(eve, base),
    ]
    for r in answers:
        assert r.status_code == 404, (r.request.method, r.request.url, r.text)
        error_code(r)
    r = await api.get(bob, f"{base}/messages")
    assert [m["body"] for m in r.json()["messages"]] == ["hello"]


async def test_delete_conversation_for_me(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.connect(alice, bob)
    cid = (await api.start(alice, bob)).json()["conversation"]["id"]
    assert (await api.delete(alice, f"/api/v1/conversations/{cid}")).status_code == 204
    assert (await inbox(api, alice))["conversations"] == []
    assert [c["id"] for c in (await inbox(api, bob))["conversations"]] == [cid]
    r = await api.get(bob, f"/api/v1/conversations/{cid}/messages")
    assert len(r.json()["messages"]) == 1


async def test_a_new_message_unarchives_the_conversation_for_its_recipient(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.connect(alice, bob)
    cid = (await api.start(alice, bob)).json()["conversation"]["id"]
    for who in (alice, bob):
        r = await api.patch(who, f"/api/v1/conversations/{cid}", {"archived": True, "muted": True})
        assert r.json()["conversation"]["archived"] is True
    r = await api.post(alice, f"/api/v1/conversations/{cid}/messages", {"body": "Still there?"})
    assert r.status_code == 201
    bobs = {c["id"]: c for c in (await inbox(api, bob))["conversations"]}
    assert bobs[cid]["archived"] is False
    assert bobs[cid]["muted"] is True  # muted stays muted
    assert bobs[cid]["unread_count"] == 2
    assert cid not in [c["id"] for c in (await inbox(api, bob, filter="archived"))["conversations"]]
    # the sender's own archive is the sender's choice
    assert cid in [c["id"] for c in (await inbox(api, alice, filter="archived"))["conversations"]]


async def test_check_recipients_names_each_refused_recipient_and_stores_nothing(api: Api) -> None:
    alice, bob, cy, dee = [await api.register(n) for n in ("alice", "bob", "cyril", "dee")]
    await api.connect(alice, bob)
    await api.connect(alice, dee)
    assert (await api.post(dee, "/api/v1/blocks", {"handle": alice.handle})).status_code == 201
    r = await api.post(
        alice, "/api/v1/conversations/check-recipients", {"to": [bob.handle, cy.handle, dee.handle, "nobody-here"]}
    )
    assert r.status_code == 200, r.text
    answers = {a["handle"]: (a["ok"], a["kind"], a["code"]) for a in r.json()["recipients"]}
    assert answers == {
        bob.handle: (True, "direct", None),
        cy.handle: (False, None, "connection_required"),
        dee.handle: (False, None, "blocked"),
        "nobody-here": (False, None, "member_not_found"),
    }
    one = await api.post(alice, "/api/v1/conversations/check-recipients", {"to": [bob.handle]})
    assert one.json()["recipients"] == [
        {"handle": bob.handle, "ok": True, "kind": "direct", "code": None, "message": None}
    ]
    assert (await inbox(api, alice))["conversations"] == []
    many = await api.post(alice, "/api/v1/conversations/check-recipients", {"to": [f"m{i}" for i in range(51)]})
    assert many.status_code == 422
    assert (await api.post(None, "/api/v1/conversations/check-recipients", {"to": [bob.handle]})).status_code == 401
