"""DESIGN §4: while either member's switch (or the operator's) is off, neither sees any
receipt of the other, older ones included, on every surface: history, the conversation and
the inbox, search, and replays of the event log. Switched back on, they show again.

Each case runs on SQLite and PostgreSQL; the WebSocket's replay and live frames are in
test_live.py (`test_a_resumed_socket_replays_only_receipts_shown_now`).
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.conftest import ADMIN, Api, Member

V1 = "/api/v1"


async def set_switch(api: Api, who: Member, on: bool) -> None:
    r = await api.patch(who, f"{V1}/me/settings", {"read_receipts_and_typing": on})
    assert r.status_code == 200, r.text


async def set_network(api: Api, on: bool) -> None:
    r = await api.client.put(
        f"{V1}/admin/settings", json={"read_receipts": on}, headers={"Authorization": f"Bearer {ADMIN}"}
    )
    assert r.status_code == 200, r.text


async def read_pair(api: Api) -> tuple[Member, Member, str, str]:
    """alice wrote to bob, and bob read it with both switches on: a shared receipt."""
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.connect(alice, bob)
    r = await api.start(alice, bob, body="quarterly budget review")
    assert r.status_code == 201, r.text
    conv, message = r.json()["conversation"]["id"], r.json()["message"]["id"]
    r = await api.post(bob, f"{V1}/conversations/{conv}/read", {"message_id": message})
    assert r.status_code == 204, r.text
    return alice, bob, conv, message


async def seen_by(api: Api, who: Member, conv: str, message: str) -> dict[str, Any]:
    """Every surface on which `who` could learn that their message was read."""
    r = await api.get(who, f"{V1}/conversations/{conv}/messages")
    (history,) = [m for m in r.json()["messages"] if m["id"] == message]
    conversation = (await api.get(who, f"{V1}/conversations/{conv}")).json()["conversation"]
    (listed,) = (await api.get(who, f"{V1}/conversations")).json()["conversations"]
    results = (await api.get(who, f"{V1}/search", params={"q": "budget"})).json()["results"]
    r = await api.get(who, f"{V1}/events?since=0")
    events = r.json()["events"]
    return {
        "history": (history["status"], bool(history["read_by"])),
        "conversation": conversation["last_message"]["status"] == "read"
        or bool(conversation["last_message"]["read_by"]),
        "inbox": listed["last_message"]["status"] == "read" or bool(listed["last_message"]["read_by"]),
        "search": any(x["message"]["status"] == "read" or x["message"]["read_by"] for x in results),
        "replayed": [e["message_id"] for e in events if e["type"] == "message.read"],
        "next": r.json()["next"],
    }


SHOWN = {"history": ("read", True), "conversation": False, "inbox": False, "search": False}
HIDDEN = {"history": ("delivered", False), "conversation": False, "inbox": False, "search": False}


def check(seen: dict[str, Any], expected: dict[str, Any], replayed: list[str], last_seq: int) -> None:
    assert {k: seen[k] for k in expected} == expected
    assert seen["replayed"] == replayed
    assert seen["next"] == last_seq  # hidden events are stepped over, never asked for again


@pytest.mark.parametrize("who_switches", ["reader", "viewer", "operator"])
async def test_older_receipts_are_hidden_while_a_switch_is_off_and_shown_again(api: Api, who_switches: str) -> None:
    alice, bob, conv, message = await read_pair(api)
    before = await seen_by(api, alice, conv, message)
    check(before, SHOWN, [message], before["next"])

    if who_switches == "operator":
        await set_network(api, False)
    else:
        await set_switch(api, bob if who_switches == "reader" else alice, False)
    hidden = await seen_by(api, alice, conv, message)
    # the switch's own event (if any) may move `next` on; the receipt is gone from the replay
    check(hidden, HIDDEN, [], hidden["next"])
    assert hidden["next"] >= before["next"]
    r = await api.get(alice, f"{V1}/events?since={before['next'] - 1}")
    assert [e for e in r.json()["events"] if e["type"] == "message.read"] == []
    assert r.json()["next"] >= before["next"]

    if who_switches == "operator":
        await set_network(api, True)
    else:
        await set_switch(api, bob if who_switches == "reader" else alice, True)
    again = await seen_by(api, alice, conv, message)
    check(again, SHOWN, [message], again["next"])


async def test_the_reader_sees_no_receipt_of_the_other_while_either_switch_is_off(api: Api) -> None:
    """Both directions: bob's view of alice's reads follows the same rule."""
    alice, bob, conv, _ = await read_pair(api)
    r = await api.post(bob, f"{V1}/conversations/{conv}/messages", {"body": "budget attached"})
    reply = r.json()["message"]["id"]
    r = await api.post(alice, f"{V1}/conversations/{conv}/read", {"message_id": reply})
    assert r.status_code == 204
    assert (await seen_by(api, bob, conv, reply))["history"] == ("read", True)
    for switching in (alice, bob):
        await set_switch(api, switching, False)
        seen = await seen_by(api, bob, conv, reply)
        assert seen["history"] == ("delivered", False)
        assert seen["replayed"] == []
        await set_switch(api, switching, True)
        seen = await seen_by(api, bob, conv, reply)
        assert seen["history"] == ("read", True)
        assert seen["replayed"] == [reply]


async def test_a_page_of_nothing_but_hidden_receipts_moves_the_reader_on(api: Api) -> None:
    """A long-poll over only hidden events answers at once with `next` past them (no busy loop
    asking for the same events, no wait that misses them)."""
    alice, bob, _conv, _ = await read_pair(api)
    events = (await api.get(alice, f"{V1}/events?since=0")).json()["events"]
    read_seq = next(e["seq"] for e in events if e["type"] == "message.read")
    await set_switch(api, bob, False)
    r = await api.get(alice, f"{V1}/events?since={read_seq - 1}&timeout=0")
    tail = [e for e in r.json()["events"] if e["seq"] >= read_seq]
    assert all(e["type"] != "message.read" for e in tail)
    assert r.json()["next"] >= read_seq


async def test_invitation_viewed_is_replayed_only_while_both_switches_are_on(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    r = await api.post(alice, f"{V1}/invitations", {"to": "bob"})
    assert r.status_code == 201
    (note,) = [n for n in (await api.get(bob, f"{V1}/notifications")).json()["notifications"]]
    r = await api.post(bob, f"{V1}/notifications/{note['id']}/read")
    assert r.status_code == 204

    async def viewed() -> int:
        events = (await api.get(alice, f"{V1}/events?since=0")).json()["events"]
        return len([e for e in events if e["type"] == "invitation.viewed"])

    assert await viewed() == 1
    await set_switch(api, bob, False)
    assert await viewed() == 0
    await set_switch(api, bob, True)
    assert await viewed() == 1
