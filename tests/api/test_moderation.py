"""Reports and moderation (DESIGN §1, API.md "Safety"): a report leaves the reporter's inbox
and tells the reported member nothing; the operator's queue shows the conversation; resolving
by suspension ends the member's sessions and sign-ins while their messages stay.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from tests.api.live_server import LiveServer, device
from tests.conftest import ADMIN, Api, Member
from websockets.exceptions import ConnectionClosed

V1 = "/api/v1"
ADMIN_AUTH = {"Authorization": f"Bearer {ADMIN}"}


def code(r: Any) -> str:
    return str(r.json()["error"]["code"])


async def thread(api: Api) -> tuple[Member, Member, str]:
    """Alice writes to Bob; Bob will report."""
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.connect(alice, bob)
    r = await api.start(alice, bob, body="buy my course")
    assert r.status_code == 201, r.text
    return alice, bob, r.json()["conversation"]["id"]


async def report(api: Api, who: Member, conversation: str, **body: Any) -> Any:
    return await api.post(who, f"{V1}/conversations/{conversation}/report", {"reason": "spam", **body})


async def queue(api: Api, state: str = "open") -> list[dict[str, Any]]:
    r = await api.client.get(f"{V1}/admin/reports?state={state}", headers=ADMIN_AUTH)
    assert r.status_code == 200, r.text
    reports: list[dict[str, Any]] = r.json()["reports"]
    return reports


async def inbox_ids(api: Api, who: Member) -> list[str]:
    r = await api.get(who, f"{V1}/conversations")
    return [c["id"] for c in r.json()["conversations"]]


# --- reporting ------------------------------------------------------------------------------------


async def test_a_report_leaves_the_reporters_inbox_and_reaches_the_queue(api: Api) -> None:
    alice, bob, conversation = await thread(api)
    bob_seq = (await api.events(bob))[-1]["seq"]
    r = await report(api, bob, conversation, note="third time this week")
    assert r.status_code == 201, r.text
    assert r.json()["report"]["state"] == "open"
    assert conversation not in await inbox_ids(api, bob)
    assert [e["type"] for e in await api.events(bob, bob_seq)] == ["conversation.removed"]
    [found] = await queue(api)
    assert found["id"] == r.json()["report"]["id"]
    assert (found["reason"], found["note"], found["conversation_id"]) == ("spam", "third time this week", conversation)
    assert found["reported"]["handle"] == "alice"
    assert [m["body"] for m in found["messages"]] == ["buy my course"]
    assert found["state"] == "open" and found["created_at"]
    # Alice may still message Bob (no block was asked for).
    r = await api.post(alice, f"{V1}/conversations/{conversation}/messages", {"body": "hello?"})
    assert r.status_code == 201


async def test_the_reported_member_learns_nothing(api: Api) -> None:
    alice, bob, conversation = await thread(api)
    events_before = await api.events(alice)
    inbox_before = (await api.get(alice, f"{V1}/conversations")).json()
    conversation_before = (await api.get(alice, f"{V1}/conversations/{conversation}")).json()
    me_before = (await api.get(alice, f"{V1}/me")).json()
    assert (await report(api, bob, conversation)).status_code == 201
    assert await api.events(alice) == events_before
    assert (await api.get(alice, f"{V1}/conversations")).json() == inbox_before
    assert (await api.get(alice, f"{V1}/conversations/{conversation}")).json() == conversation_before
    assert (await api.get(alice, f"{V1}/me")).json() == me_before
    # No admin route answers to a member's token.
    r = await api.get(alice, f"{V1}/admin/reports")
    assert r.status_code == 401


async def test_report_and_block_in_one_step(api: Api) -> None:
    alice, bob, conversation = await thread(api)
    assert (await report(api, bob, conversation, reason="harassment", block=True)).status_code == 201
    blocked = (await api.get(bob, f"{V1}/blocks")).json()["blocked"]
    assert [m["handle"] for m in blocked] == ["alice"]
    r = await api.post(alice, f"{V1}/conversations/{conversation}/messages", {"body": "hello?"})
    assert r.status_code == 403
    assert (await api.get(alice, f"{V1}/connections")).json()["connections"] == []


async def test_a_second_report_of_the_same_conversation_is_409(api: Api) -> None:
    _, bob, conversation = await thread(api)
    assert (await report(api, bob, conversation)).status_code == 201
    r = await report(api, bob, conversation, reason="other")
    assert r.status_code == 409
    assert code(r) == "already_reported"
    assert len(await queue(api)) == 1


async def test_reports_of_foreign_or_unknown_conversations_are_404(api: Api) -> None:
    _, _, conversation = await thread(api)
    carol = await api.register("carol")
    for target in (conversation, "999999", "abc", "1" * 30):
        r = await report(api, carol, target)
        assert r.status_code == 404, target
        assert code(r) == "conversation_not_found"
    assert await queue(api) == []


@pytest.mark.parametrize(
    "body",
    [
        {"reason": "boring"},
        {},
        {"reason": "spam", "block": "yes"},
        {"reason": "spam", "note": "x" * 1001},
        {"reason": "spam", "note": "nul\u0000"},
    ],
)
async def test_bad_reports_are_422(api: Api, body: dict[str, Any]) -> None:
    _, bob, conversation = await thread(api)
    r = await api.post(bob, f"{V1}/conversations/{conversation}/report", body)
    assert r.status_code == 422, r.text
    assert conversation in await inbox_ids(api, bob)


async def test_a_report_needs_a_session(api: Api) -> None:
    _, _, conversation = await thread(api)
    assert (await api.post(None, f"{V1}/conversations/{conversation}/report", {"reason": "spam"})).status_code == 401


# --- the operator's queue ---------------------------------------------------------------------------


async def test_dismissing_moves_the_report_to_resolved(api: Api) -> None:
    alice, bob, conversation = await thread(api)
    report_id = (await report(api, bob, conversation)).json()["report"]["id"]
    r = await api.client.post(f"{V1}/admin/reports/{report_id}/resolve", json={"action": "dismiss"}, headers=ADMIN_AUTH)
    assert r.status_code == 200, r.text
    assert (r.json()["report"]["state"], r.json()["report"]["action"]) == ("resolved", "dismiss")
    assert await queue(api) == []
    assert [f["id"] for f in await queue(api, "resolved")] == [report_id]
    assert (await api.get(alice, f"{V1}/me")).status_code == 200
    again = await api.client.post(
        f"{V1}/admin/reports/{report_id}/resolve", json={"action": "suspend"}, headers=ADMIN_AUTH
    )
    assert again.status_code == 409
    assert code(again) == "report_resolved"


async def test_resolving_by_suspension_ends_sign_ins_and_sessions_but_keeps_messages(api: Api) -> None:
    alice, bob, conversation = await thread(api)
    carol = await api.register("carol")
    await api.connect(alice, carol)
    to_carol = (await api.start(alice, carol, body="hi carol")).json()["conversation"]["id"]
    report_id = (await report(api, bob, conversation)).json()["report"]["id"]
    r = await api.client.post(f"{V1}/admin/reports/{report_id}/resolve", json={"action": "suspend"}, headers=ADMIN_AUTH)
    assert r.status_code == 200
    r = await api.get(alice, f"{V1}/me")
    assert r.status_code == 401
    r = await api.client.post(f"{V1}/auth/login", json={"login": "alice", "password": "correct horse"})
    assert r.status_code == 403
    assert code(r) == "suspended"
    r = await api.client.post(f"{V1}/auth/login", json={"login": "alice", "password": "wrong horse"})
    assert r.status_code == 401  # only who knows the password learns of the suspension
    messages = (await api.get(carol, f"{V1}/conversations/{to_carol}/messages")).json()["messages"]
    assert [(m["body"], m["sender"]["handle"]) for m in messages] == [("hi carol", "alice")]


async def test_suspend_and_unsuspend_by_handle(api: Api) -> None:
    alice = await api.register("alice")
    r = await api.client.post(f"{V1}/admin/members/alice/suspend", headers=ADMIN_AUTH)
    assert r.status_code == 200
    assert (r.json()["member"]["handle"], r.json()["member"]["suspended"]) == ("alice", True)
    assert (await api.get(alice, f"{V1}/me")).status_code == 401
    r = await api.client.post(f"{V1}/admin/members/alice/unsuspend", headers=ADMIN_AUTH)
    assert r.status_code == 200
    assert r.json()["member"]["suspended"] is False
    assert (await api.get(alice, f"{V1}/me")).status_code == 401  # old sessions stay ended
    r = await api.client.post(f"{V1}/auth/login", json={"login": "alice", "password": "correct horse"})
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/admin/reports", None),
        ("POST", "/admin/reports/1/resolve", {"action": "dismiss"}),
        ("POST", "/admin/members/alice/suspend", None),
        ("POST", "/admin/members/alice/unsuspend", None),
    ],
)
async def test_admin_routes_need_the_admin_token(api: Api, method: str, path: str, body: Any) -> None:
    alice = await api.register("alice")
    r = await api.client.request(method, f"{V1}{path}", json=body, headers=alice.auth)
    assert r.status_code == 401
    assert (await api.get(alice, f"{V1}/me")).status_code == 200


async def test_admin_refusals(api: Api) -> None:
    r = await api.client.post(f"{V1}/admin/members/nobody/suspend", headers=ADMIN_AUTH)
    assert r.status_code == 404
    r = await api.client.post(f"{V1}/admin/reports/12345/resolve", json={"action": "dismiss"}, headers=ADMIN_AUTH)
    assert r.status_code == 404
    r = await api.client.post(f"{V1}/admin/reports/x/resolve", json={"action": "dismiss"}, headers=ADMIN_AUTH)
    assert r.status_code == 404
    r = await api.client.post(f"{V1}/admin/reports/1/resolve", json={"action": "ban"}, headers=ADMIN_AUTH)
    assert r.status_code == 422
    r = await api.client.get(f"{V1}/admin/reports?state=closed", headers=ADMIN_AUTH)
    assert r.status_code == 422


# --- live ----------------------------------------------------------------------------------------


async def test_suspension_closes_the_members_sockets(live_api: Api, live_server: LiveServer) -> None:
    alice = await live_api.register("alice")
    bob = await live_api.register("bob")
    async with device(live_server, alice) as socket, device(live_server, bob) as other:
        r = await live_api.client.post(f"{V1}/admin/members/alice/suspend", headers=ADMIN_AUTH)
        assert r.status_code == 200
        with pytest.raises(ConnectionClosed):
            async with asyncio.timeout(2.0):
                while True:
                    orjson.loads(await socket.ws.recv())
        assert socket.ws.close_code == 4401
        await other.ping()
