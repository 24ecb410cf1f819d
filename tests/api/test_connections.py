"""Invitations, connections and blocks (API.md "Connections and blocks", DESIGN §1)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.api.test_accounts import error_code
from tests.conftest import Api, Member, make_settings

from rapport.api.app import create_app
from rapport.clock import FakeClock


@pytest.fixture
async def limited_api(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Api]:
    """An app whose weekly invitation limit is 3, so the limit is cheap to reach."""
    settings = make_settings(tmp_path, weekly_invitation_limit=3)
    if settings.database_url.startswith("postgresql"):
        pytest.skip("the limit fixture uses the default SQLite database")
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Api(client, application)


async def invite(api: Api, a: Member, b: Member, **extra: Any) -> httpx.Response:
    return await api.post(a, "/api/v1/invitations", {"to": b.handle, **extra})


async def sent(api: Api, who: Member) -> list[dict[str, Any]]:
    r = await api.get(who, "/api/v1/invitations", params={"direction": "sent"})
    assert r.status_code == 200
    return list(r.json()["invitations"])


async def received(api: Api, who: Member) -> list[dict[str, Any]]:
    r = await api.get(who, "/api/v1/invitations", params={"direction": "received"})
    assert r.status_code == 200
    return list(r.json()["invitations"])


async def connections_of(api: Api, who: Member) -> list[str]:
    r = await api.get(who, "/api/v1/connections")
    assert r.status_code == 200
    return [m["handle"] for m in r.json()["connections"]]


# --- invitations ------------------------------------------------------------------------


async def test_invitation_shape(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    r = await invite(api, alice, bob, note="Met at the conference")
    assert r.status_code == 201
    invitation = r.json()["invitation"]
    assert set(invitation) >= {"id", "from", "to", "note", "state", "created_at"}
    assert invitation["from"] == "alice"
    assert invitation["to"] == "bob"
    assert invitation["note"] == "Met at the conference"
    assert invitation["state"] == "pending"
    assert isinstance(invitation["id"], str)
    assert invitation["created_at"].endswith("Z") or invitation["created_at"].endswith("+00:00")
    assert [i["id"] for i in await received(api, bob)] == [invitation["id"]]
    assert [i["id"] for i in await sent(api, alice)] == [invitation["id"]]
    assert await received(api, alice) == []


async def test_default_direction_is_received(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await invite(api, alice, bob)
    r = await api.get(bob, "/api/v1/invitations")
    assert r.status_code == 200
    assert len(r.json()["invitations"]) == 1


async def test_bad_direction_is_422(api: Api) -> None:
    alice = await api.register("alice")
    r = await api.get(alice, "/api/v1/invitations", params={"direction": "sideways"})
    assert r.status_code == 422
    error_code(r)


async def test_note_of_300_is_fine_and_301_is_422(api: Api) -> None:
    alice, bob, carol = await api.register("alice"), await api.register("bob"), await api.register("carol")
    r = await invite(api, alice, bob, note="n" * 300)
    assert r.status_code == 201
    assert r.json()["invitation"]["note"] == "n" * 300
    r = await invite(api, alice, carol, note="n" * 301)
    assert r.status_code == 422
    assert error_code(r) == "note_too_long"
    assert [i["to"] for i in await sent(api, alice)] == ["bob"]


async def test_invite_unknown_member_is_404(api: Api) -> None:
    alice = await api.register("alice")
    r = await api.post(alice, "/api/v1/invitations", {"to": "nobody"})
    assert r.status_code == 404
    assert error_code(r) == "member_not_found"


async def test_invite_self_is_refused(api: Api) -> None:
    alice = await api.register("alice")
    r = await invite(api, alice, alice)
    assert r.status_code == 422
    error_code(r)


async def test_duplicate_invitation_is_409(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    assert (await invite(api, alice, bob)).status_code == 201
    r = await invite(api, alice, bob)
    assert r.status_code == 409
    assert error_code(r) == "invitation_pending"
    r = await invite(api, bob, alice)
    assert r.status_code == 409


async def test_inviting_an_existing_connection_is_409(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.connect(alice, bob)
    r = await invite(api, alice, bob)
    assert r.status_code == 409
    assert error_code(r) == "already_connected"
    r = await invite(api, bob, alice)
    assert r.status_code == 409


async def test_inviting_a_member_who_blocked_you_is_403(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    assert (await api.post(bob, "/api/v1/blocks", {"handle": "alice"})).status_code == 201
    r = await invite(api, alice, bob)
    assert r.status_code == 403
    assert error_code(r) == "blocked"
    r = await invite(api, bob, alice)
    assert r.status_code == 403
    assert await received(api, bob) == []


async def test_weekly_limit_is_429_with_retry_after(limited_api: Api, clock: FakeClock) -> None:
    api = limited_api
    alice = await api.register("alice")
    others = [await api.register(f"member{i}") for i in range(5)]
    for other in others[:3]:
        assert (await invite(api, alice, other)).status_code == 201
    r = await invite(api, alice, others[3])
    assert r.status_code == 429
    assert error_code(r) == "invitation_limit"
    retry = int(r.headers["Retry-After"])
    assert 0 < retry <= 7 * 24 * 3600
    assert len(await sent(api, alice)) == 3
    clock.advance(timedelta(seconds=retry - 1))
    assert (await invite(api, alice, others[3])).status_code == 429
    clock.advance(timedelta(seconds=1))
    assert (await invite(api, alice, others[3])).status_code == 201


async def test_withdrawn_invitations_still_count_towards_the_weekly_limit(limited_api: Api) -> None:
    api = limited_api
    alice = await api.register("alice")
    others = [await api.register(f"member{i}") for i in range(4)]
    for other in others[:3]:
        r = await invite(api, alice, other)
        assert r.status_code == 201
        assert (
            await api.post(alice, f"/api/v1/invitations/{r.json()['invitation']['id']}/withdraw")
        ).status_code == 200
    assert (await invite(api, alice, others[3])).status_code == 429


async def test_accept_connects_both_ways(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    r = await invite(api, alice, bob)
    iid = r.json()["invitation"]["id"]
    r = await api.post(bob, f"/api/v1/invitations/{iid}/accept")
    assert r.status_code == 200
    assert r.json()["invitation"]["state"] == "accepted"
    assert await connections_of(api, alice) == ["bob"]
    assert await connections_of(api, bob) == ["alice"]
    assert await received(api, bob) == []
    r = await api.post(bob, f"/api/v1/invitations/{iid}/accept")
    assert r.status_code == 409


async def test_decline_is_silent_to_the_sender(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    iid = (await invite(api, alice, bob)).json()["invitation"]["id"]
    r = await api.post(bob, f"/api/v1/invitations/{iid}/decline")
    assert r.status_code == 200
    assert r.json()["invitation"]["state"] == "declined"
    shown = await sent(api, alice)
    assert [(i["id"], i["state"]) for i in shown] == [(iid, "pending")]
    assert await received(api, bob) == []
    assert await connections_of(api, alice) == []
    events = await api.events(alice)
    assert "invitation.accepted" not in [e["type"] for e in events]
    # the sender cannot tell by re-inviting either
    r = await invite(api, alice, bob)
    assert r.status_code == 409


async def test_only_the_recipient_may_accept_or_decline(api: Api) -> None:
    alice, bob, carol = await api.register("alice"), await api.register("bob"), await api.register("carol")
    iid = (await invite(api, alice, bob)).json()["invitation"]["id"]
    r = await api.post(alice, f"/api/v1/invitations/{iid}/accept")
    assert r.status_code == 403
    r = await api.post(alice, f"/api/v1/invitations/{iid}/decline")
    assert r.status_code == 403
    r = await api.post(carol, f"/api/v1/invitations/{iid}/accept")
    assert r.status_code == 404
    r = await api.post(carol, f"/api/v1/invitations/{iid}/decline")
    assert r.status_code == 404
    assert await connections_of(api, alice) == []
    assert [i["state"] for i in await received(api, bob)] == ["pending"]


async def test_withdraw(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    iid = (await invite(api, alice, bob)).json()["invitation"]["id"]
    r = await api.post(bob, f"/api/v1/invitations/{iid}/withdraw")
    assert r.status_code == 403
    r = await api.post(alice, f"/api/v1/invitations/{iid}/withdraw")
    assert r.status_code == 200
    assert r.json()["invitation"]["state"] == "withdrawn"
    assert await received(api, bob) == []
    assert await sent(api, alice) == []
    r = await api.post(bob, f"/api/v1/invitations/{iid}/accept")
    assert r.status_code == 409
    # a fresh invitation is possible after withdrawing
    assert (await invite(api, alice, bob)).status_code == 201


async def test_unknown_invitation_ids_are_404(api: Api) -> None:
    alice = await api.register("alice")
    for iid in ("999", "abc", "99999999999999999999999", "-1"):
        r = await api.post(alice, f"/api/v1/invitations/{iid}/accept")
        assert r.status_code == 404, (iid, r.text)
        error_code(r)


async def test_pending_invitation_does_not_open_messaging(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await invite(api, alice, bob, note="Let's talk")
    r = await api.start(alice, bob)
    assert r.status_code == 403
    assert error_code(r) == "connection_required"
    r = await api.start(bob, alice)
    assert r.status_code == 403


async def test_invitation_events(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.connect(alice, bob)
    assert "invitation.new" in [e["type"] for e in await api.events(bob)]
    assert "invitation.accepted" in [e["type"] for e in await api.events(alice)]


# --- connections ------------------------------------------------------------------------


async def test_connections_list_and_delete(api: Api) -> None:
    alice, bob, carol = await api.register("alice"), await api.register("bob"), await api.register("carol")
    await api.connect(alice, bob)
    await api.connect(carol, alice)
    r = await api.get(alice, "/api/v1/connections")
    assert {m["handle"] for m in r.json()["connections"]} == {"bob", "carol"}
    assert (await api.delete(bob, "/api/v1/connections/alice")).status_code == 204
    assert await connections_of(api, alice) == ["carol"]
    assert await connections_of(api, bob) == []
    r = await api.delete(bob, "/api/v1/connections/alice")
    assert r.status_code == 404
    r = await api.delete(bob, "/api/v1/connections/nobody")
    assert r.status_code == 404
    r = await api.start(bob, alice)
    assert r.status_code == 403
    assert error_code(r) == "connection_required"


# --- blocks -----------------------------------------------------------------------------


async def test_block_ends_connection_and_messaging(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.connect(alice, bob)
    conversation = (await api.start(alice, bob)).json()["conversation"]["id"]
    r = await api.post(bob, "/api/v1/blocks", {"handle": "alice"})
    assert r.status_code == 201
    assert await connections_of(api, alice) == []
    assert await connections_of(api, bob) == []
    for a, b in ((alice, bob), (bob, alice)):
        r = await api.start(a, b)
        assert r.status_code == 403
        assert error_code(r) == "blocked"
        r = await api.post(a, f"/api/v1/conversations/{conversation}/messages", {"body": "still there?"})
        assert r.status_code == 403
        assert error_code(r) == "blocked"
        r = await invite(api, a, b)
        assert r.status_code == 403
        r = await api.get(a, f"/api/v1/members/{b.handle}")
        assert r.status_code == 404


async def test_block_closes_pending_invitations(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    iid = (await invite(api, alice, bob)).json()["invitation"]["id"]
    await api.post(bob, "/api/v1/blocks", {"handle": "alice"})
    assert await received(api, bob) == []
    r = await api.post(bob, f"/api/v1/invitations/{iid}/accept")
    assert r.status_code in (403, 409)
    assert await connections_of(api, bob) == []


async def test_unblock_restores_profile_but_not_the_connection(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.connect(alice, bob)
    await api.post(alice, "/api/v1/blocks", {"handle": "bob"})
    r = await api.get(alice, "/api/v1/blocks")
    assert [m["handle"] for m in r.json()["blocked"]] == ["bob"]
    # only the blocker can lift the block
    r = await api.delete(bob, "/api/v1/blocks/alice")
    assert r.status_code == 404
    r = await api.delete(alice, "/api/v1/blocks/bob")
    assert r.status_code == 204
    r = await api.delete(alice, "/api/v1/blocks/bob")
    assert r.status_code == 404
    assert (await api.get(bob, "/api/v1/members/alice")).json()["degree"] == 3
    r = await api.start(alice, bob)
    assert r.status_code == 403
    assert error_code(r) == "connection_required"
    await api.connect(bob, alice)
    assert (await api.start(alice, bob)).status_code == 201


async def test_block_errors(api: Api) -> None:
    alice = await api.register("alice")
    r = await api.post(alice, "/api/v1/blocks", {"handle": "alice"})
    assert r.status_code == 422
    r = await api.post(alice, "/api/v1/blocks", {"handle": "nobody"})
    assert r.status_code == 404
    r = await api.post(alice, "/api/v1/blocks", {})
    assert r.status_code == 422
    r = await api.delete(alice, "/api/v1/blocks/nobody")
    assert r.status_code == 404


async def test_blocking_twice_is_harmless(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    assert (await api.post(alice, "/api/v1/blocks", {"handle": "bob"})).status_code == 201
    r = await api.post(alice, "/api/v1/blocks", {"handle": "bob"})
    assert r.status_code in (201, 409)
    assert (await api.delete(alice, "/api/v1/blocks/bob")).status_code == 204
    assert (await api.get(bob, "/api/v1/members/alice")).status_code == 200


async def test_no_such_member_and_not_related_get_one_answer(api: Api) -> None:
    """An unknown handle and a real but unrelated one (here: someone who blocked you, whose
    profile is hidden) answer alike, so no route tells whether a handle exists."""
    alice, bob = await api.register("alice"), await api.register("bob")
    assert (await api.post(bob, "/api/v1/blocks", {"handle": "alice"})).status_code == 201
    assert (await api.get(alice, "/api/v1/members/bob")).status_code == 404
    for path, code in (("/api/v1/connections/", "not_connected"), ("/api/v1/blocks/", "not_blocked")):
        real, unknown = await api.delete(alice, path + "bob"), await api.delete(alice, path + "nobody-here")
        assert (real.status_code, unknown.status_code) == (404, 404), path
        assert real.json() == unknown.json(), path
        assert error_code(real) == code
    r = await api.post(alice, "/api/v1/groups", {"name": "Guild"})
    group = r.json()["group"]["id"]
    role = f"/api/v1/groups/{group}/members/%s/role"
    real, unknown = (
        await api.put(alice, role % "bob", {"role": "manager"}),
        await api.put(alice, role % "nobody-here", {"role": "manager"}),
    )
    assert (real.status_code, unknown.status_code) == (404, 404)
    assert real.json() == unknown.json()
