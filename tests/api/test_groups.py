"""Groups (DESIGN §2): open and request groups, join requests, members, roles, leaving, and
the monthly cap on new group-member conversations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.api.test_accounts import error_code
from tests.conftest import Api, Member, make_settings

from rapport.api.app import create_app
from rapport.clock import FakeClock

CAP = 3


@pytest.fixture
async def app(tmp_path: Path, clock: FakeClock, database_url: str) -> AsyncIterator[Any]:
    """The usual app, with the monthly group-message cap lowered to 3."""
    settings = make_settings(tmp_path, database_url=database_url, group_messages_per_month=CAP)
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


async def new_group(api: Api, admin: Member, visibility: str | None = None, name: str = "Rustaceans") -> str:
    body: dict[str, Any] = {"name": name}
    if visibility:
        body["visibility"] = visibility
    r = await api.post(admin, "/api/v1/groups", body)
    assert r.status_code == 201, r.text
    return str(r.json()["group"]["id"])


async def notifications(api: Api, who: Member) -> list[dict[str, Any]]:
    r = await api.get(who, "/api/v1/notifications")
    assert r.status_code == 200, r.text
    return list(r.json()["notifications"])


async def test_a_group_asks_for_requests_by_default(api: Api) -> None:
    alice = await api.register("alice")
    r = await api.post(alice, "/api/v1/groups", {"name": "Rustaceans"})
    group = r.json()["group"]
    assert group["visibility"] == "request"
    assert group["role"] == "admin"
    assert group["member_count"] == 1


async def test_joining_an_open_group_makes_a_member_at_once(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    group = await new_group(api, alice, "open")
    r = await api.post(bob, f"/api/v1/groups/{group}/join")
    assert r.status_code == 200, r.text
    assert r.json()["membership"] == {"state": "member"}
    assert r.json()["group"]["role"] == "member"
    assert r.json()["group"]["member_count"] == 2
    assert await notifications(api, alice) == []


async def test_a_request_waits_for_an_admin_or_manager_who_is_notified(api: Api) -> None:
    alice, bob, carol, dave = [await api.register(h) for h in ("alice", "bob", "carol", "dave")]
    group = await new_group(api, alice)
    await api.post(carol, f"/api/v1/groups/{group}/join")
    assert (await api.post(alice, f"/api/v1/groups/{group}/requests/carol/approve")).status_code == 200
    r = await api.put(alice, f"/api/v1/groups/{group}/members/carol/role", {"role": "manager"})
    assert r.status_code == 200, r.text

    r = await api.post(bob, f"/api/v1/groups/{group}/join")
    assert r.json()["membership"] == {"state": "requested"}
    assert r.json()["group"]["role"] is None
    assert r.json()["group"]["requested"] is True
    assert r.json()["group"]["member_count"] == 2
    # asking twice changes nothing and notifies nobody again
    r = await api.post(bob, f"/api/v1/groups/{group}/join")
    assert r.json()["membership"] == {"state": "requested"}
    for handler in (alice, carol):
        kinds = [(n["kind"], n["actor"]["handle"], n["subject_id"]) for n in await notifications(api, handler)]
        assert kinds.count(("group_request", "bob", group)) == 1
    assert [n for n in await notifications(api, dave) if n["kind"] == "group_request"] == []

    # a requester is not a member: no member list, no group chat, no group-member messages
    assert (await api.get(bob, f"/api/v1/groups/{group}/members")).status_code == 403
    r = await api.start(bob, alice)
    assert r.status_code == 403 and error_code(r) == "connection_required"

    r = await api.get(carol, f"/api/v1/groups/{group}/requests")
    assert r.status_code == 200
    assert [q["member"]["handle"] for q in r.json()["requests"]] == ["bob"]
    assert r.json()["requests"][0]["requested_at"]

    r = await api.post(carol, f"/api/v1/groups/{group}/requests/bob/approve")
    assert r.status_code == 200, r.text
    assert r.json() == {"membership": {"state": "member"}}
    approved = [n for n in await notifications(api, bob) if n["kind"] == "group_approved"]
    assert [(n["actor"]["handle"], n["subject_id"]) for n in approved] == [("carol", group)]
    r = await api.get(bob, f"/api/v1/groups/{group}")
    assert r.json()["group"]["role"] == "member"
    assert r.json()["group"]["requested"] is False
    assert (await api.get(alice, f"/api/v1/groups/{group}/requests")).json()["requests"] == []


async def test_a_declined_request_adds_no_one_and_tells_no_one(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    group = await new_group(api, alice)
    await api.post(bob, f"/api/v1/groups/{group}/join")
    r = await api.post(alice, f"/api/v1/groups/{group}/requests/bob/decline")
    assert r.status_code == 200
    assert r.json() == {"membership": {"state": "declined"}}
    assert (await api.get(bob, f"/api/v1/groups/{group}")).json()["group"]["role"] is None
    assert [n for n in await notifications(api, bob) if n["kind"].startswith("group")] == []
    # it can be asked again
    r = await api.post(bob, f"/api/v1/groups/{group}/join")
    assert r.json()["membership"] == {"state": "requested"}


async def test_only_admins_and_managers_handle_requests(api: Api) -> None:
    alice, bob, carol = await api.register("alice"), await api.register("bob"), await api.register("carol")
    group = await new_group(api, alice, "open")
    await api.post(bob, f"/api/v1/groups/{group}/join")
    for who in (bob, carol):
        r = await api.get(who, f"/api/v1/groups/{group}/requests")
        assert r.status_code == 403 and error_code(r) == "group_manager_required"
        r = await api.post(who, f"/api/v1/groups/{group}/requests/carol/approve")
        assert r.status_code == 403


async def test_bad_request_answers(api: Api) -> None:
    alice, bob, carol = await api.register("alice"), await api.register("bob"), await api.register("carol")
    group = await new_group(api, alice)
    await api.post(bob, f"/api/v1/groups/{group}/join")
    # approving a member who never asked, an unknown handle, an unknown group
    r = await api.post(alice, f"/api/v1/groups/{group}/requests/carol/approve")
    assert r.status_code == 404 and error_code(r) == "request_not_found"
    r = await api.post(alice, f"/api/v1/groups/{group}/requests/nobody/approve")
    assert r.status_code == 404 and error_code(r) == "request_not_found"
    r = await api.post(alice, "/api/v1/groups/999/requests/bob/approve")
    assert r.status_code == 404 and error_code(r) == "group_not_found"
    r = await api.post(alice, "/api/v1/groups", {"name": "X", "visibility": "secret"})
    assert r.status_code == 422 and error_code(r) == "invalid_visibility"
    r = await api.post(alice, "/api/v1/groups", {"name": "  "})
    assert r.status_code == 422
    assert (await api.get(alice, f"/api/v1/groups/{group}/members?cursor=abc")).status_code == 422
    assert (await api.get(alice, f"/api/v1/groups/{group}/members?limit=0")).status_code == 422
    assert (await api.get(alice, "/api/v1/groups/999/members")).status_code == 404
    # a request on an open group is simply a join
    open_group = await new_group(api, alice, "open", name="Open")
    r = await api.post(carol, f"/api/v1/groups/{open_group}/join")
    assert r.json()["membership"] == {"state": "member"}
    r = await api.post(alice, f"/api/v1/groups/{open_group}/requests/carol/approve")
    assert r.status_code == 404 and error_code(r) == "request_not_found"


async def test_members_are_listed_page_by_page_to_members_only(api: Api) -> None:
    alice, outsider = await api.register("alice"), await api.register("outsider")
    group = await new_group(api, alice, "open")
    joined = [alice.handle]
    for i in range(7):
        m = await api.register(f"member{i}")
        await api.post(m, f"/api/v1/groups/{group}/join")
        joined.append(m.handle)
    r = await api.get(outsider, f"/api/v1/groups/{group}/members")
    assert r.status_code == 403 and error_code(r) == "group_members_only"
    seen: list[str] = []
    cursor = ""
    pages = 0
    while True:
        r = await api.get(alice, f"/api/v1/groups/{group}/members?limit=3&cursor={cursor}")
        assert r.status_code == 200, r.text
        body = r.json()
        seen += [m["member"]["handle"] for m in body["members"]]
        pages += 1
        if body["next_cursor"] is None:
            break
        cursor = body["next_cursor"]
    assert pages == 3
    assert sorted(seen) == sorted(joined) and len(seen) == len(set(seen))
    first = (await api.get(alice, f"/api/v1/groups/{group}/members?limit=1")).json()["members"][0]
    assert first == {"member": first["member"], "role": "admin"}


async def test_find_and_my_groups(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    rust = await new_group(api, alice, "open", name="Rustaceans")
    py = await new_group(api, alice, name="Pythonistas")
    await new_group(api, alice, name="Gophers")
    await api.post(bob, f"/api/v1/groups/{rust}/join")
    await api.post(bob, f"/api/v1/groups/{py}/join")
    mine = (await api.get(bob, "/api/v1/groups?mine=true")).json()["groups"]
    assert [(g["name"], g["role"], g["requested"]) for g in mine] == [
        ("Pythonistas", None, True),
        ("Rustaceans", "member", False),
    ]
    found = (await api.get(bob, "/api/v1/groups?q=RUST")).json()["groups"]
    assert [g["name"] for g in found] == ["Rustaceans"]
    assert (await api.get(bob, "/api/v1/groups?q=%25")).json()["groups"] == []
    everything = (await api.get(bob, "/api/v1/groups")).json()["groups"]
    assert [g["name"] for g in everything] == ["Gophers", "Pythonistas", "Rustaceans"]


async def test_the_last_admin_names_another_before_leaving(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    group = await new_group(api, alice, "open")
    await api.post(bob, f"/api/v1/groups/{group}/join")
    r = await api.post(alice, f"/api/v1/groups/{group}/leave")
    assert r.status_code == 409 and error_code(r) == "last_admin"
    r = await api.put(alice, f"/api/v1/groups/{group}/members/alice/role", {"role": "member"})
    assert r.status_code == 409 and error_code(r) == "last_admin"
    r = await api.put(bob, f"/api/v1/groups/{group}/members/bob/role", {"role": "admin"})
    assert r.status_code == 403 and error_code(r) == "group_admin_required"
    assert (await api.put(alice, f"/api/v1/groups/{group}/members/bob/role", {"role": "admin"})).status_code == 200
    assert (await api.post(alice, f"/api/v1/groups/{group}/leave")).status_code == 204
    assert (await api.get(alice, f"/api/v1/groups/{group}")).json()["group"]["role"] is None
    assert (await api.post(alice, f"/api/v1/groups/{group}/leave")).status_code == 404
    # a member leaves freely; the last one out may be the last admin
    assert (await api.post(bob, f"/api/v1/groups/{group}/leave")).status_code == 204
    assert (await api.get(bob, f"/api/v1/groups/{group}")).json()["group"]["member_count"] == 0


async def test_leaving_withdraws_a_pending_request(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    group = await new_group(api, alice)
    await api.post(bob, f"/api/v1/groups/{group}/join")
    assert (await api.post(bob, f"/api/v1/groups/{group}/leave")).status_code == 204
    assert (await api.get(alice, f"/api/v1/groups/{group}/requests")).json()["requests"] == []


# --- the monthly cap -----------------------------------------------------------------------


async def group_of(api: Api, sender: Member, n: int) -> list[Member]:
    group = await new_group(api, sender, "open", name="Cap")
    out = []
    for i in range(n):
        m = await api.register(f"mate{i}")
        await api.post(m, f"/api/v1/groups/{group}/join")
        out.append(m)
    return out


async def test_new_group_member_conversations_are_capped_per_calendar_month(api: Api, clock: FakeClock) -> None:
    clock.set(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    alice = await api.register("alice")
    mates = await group_of(api, alice, CAP + 2)
    me = (await api.get(alice, "/api/v1/me")).json()["group_messages"]
    assert me == {"limit": CAP, "used": 0, "left": CAP, "resets_at": "2026-12-01T00:00:00Z"}
    for mate in mates[:CAP]:
        r = await api.start(alice, mate)
        assert r.status_code == 201, r.text
        assert r.json()["conversation"]["kind"] == "group_member"
    assert (await api.get(alice, "/api/v1/me")).json()["group_messages"]["left"] == 0
    r = await api.start(alice, mates[CAP])
    assert r.status_code == 403 and error_code(r) == "group_message_limit"
    assert "1 December 2026" in r.json()["error"]["message"]
    # nothing was written
    assert (await api.get(mates[CAP], "/api/v1/conversations")).json()["conversations"] == []

    # replies and continuing an existing thread never count
    r = await api.start(alice, mates[0], body="again")
    assert r.status_code == 201
    cid = r.json()["conversation"]["id"]
    assert (await api.post(alice, f"/api/v1/conversations/{cid}/messages", {"body": "more"})).status_code == 201
    # the recipients may answer: their replies are not new conversations of theirs either
    r = await api.start(mates[1], alice, body="answer")
    assert r.status_code == 201
    # other kinds never count: a connection, and a multi conversation with group mates
    await api.connect(alice, mates[CAP])
    assert (await api.start(alice, mates[CAP])).json()["conversation"]["kind"] == "direct"
    r = await api.start(alice, mates[CAP + 1], mates[0])
    assert r.status_code == 201 and r.json()["conversation"]["kind"] == "multi"

    # the next calendar month (UTC) starts afresh
    clock.set(datetime(2026, 12, 1, 0, 0, tzinfo=UTC))
    assert (await api.get(alice, "/api/v1/me")).json()["group_messages"]["left"] == CAP
    assert (await api.start(alice, mates[CAP + 1])).status_code == 201
    clock.set(datetime(2026, 12, 31, 23, 59, tzinfo=UTC) + timedelta(seconds=30))
    assert (await api.get(alice, "/api/v1/me")).json()["group_messages"]["used"] == 1


async def test_the_recipients_switch_for_group_messages_still_applies(api: Api) -> None:
    alice = await api.register("alice")
    (bob,) = await group_of(api, alice, 1)
    await api.patch(bob, "/api/v1/me/settings", {"messages_from_group_members": False})
    r = await api.start(alice, bob)
    assert r.status_code == 403 and error_code(r) == "connection_required"
    assert (await api.get(alice, "/api/v1/me")).json()["group_messages"]["used"] == 0
