"""Live delivery over real sockets (DESIGN §4, API "Events"): a uvicorn server on a free
port, driven by httpx and the `websockets` client.

Negative checks ("no typing frame", "no receipt") never rely on sleeping: after the action
under test, the watching member triggers an event of their own on the same stream (a
`conversation.updated` from PATCH muted) — a barrier. Frames for one member reach each of
their devices in publish order, so whatever the action produced arrives before the barrier.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import orjson
import pytest
from tests.api.live_server import Device, LiveServer, device
from tests.conftest import ADMIN, Api, Member
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

V1 = "/api/v1"


# --- helpers ---------------------------------------------------------------------------


async def pair(api: Api, a: str = "alice", b: str = "bob") -> tuple[Member, Member]:
    first, second = await api.register(a), await api.register(b)
    await api.connect(first, second)
    return first, second


async def send(api: Api, sender: Member, conversation_id: str, body: str) -> dict[str, Any]:
    r = await api.post(sender, f"{V1}/conversations/{conversation_id}/messages", {"body": body})
    assert r.status_code == 201, r.text
    message: dict[str, Any] = r.json()["message"]
    return message


async def start(api: Api, sender: Member, *to: Member, body: str = "hello", **extra: Any) -> dict[str, Any]:
    r = await api.start(sender, *to, body=body, **extra)
    assert r.status_code == 201, r.text
    message: dict[str, Any] = r.json()["message"]
    return message


async def messages(api: Api, who: Member, conversation_id: str) -> dict[str, dict[str, Any]]:
    r = await api.get(who, f"{V1}/conversations/{conversation_id}/messages")
    assert r.status_code == 200, r.text
    return {m["id"]: m for m in r.json()["messages"]}


async def conversation(api: Api, who: Member, conversation_id: str) -> dict[str, Any]:
    r = await api.get(who, f"{V1}/conversations/{conversation_id}")
    assert r.status_code == 200, r.text
    value: dict[str, Any] = r.json()["conversation"]
    return value


async def set_switch(api: Api, who: Member, on: bool) -> None:
    r = await api.patch(who, f"{V1}/me/settings", {"read_receipts_and_typing": on})
    assert r.status_code == 200, r.text
    assert r.json()["settings"]["read_receipts_and_typing"] is on


async def typing_http(api: Api, who: Member, conversation_id: str, typing: bool) -> None:
    r = await api.post(who, f"{V1}/conversations/{conversation_id}/typing", {"typing": typing})
    assert r.status_code == 204, r.text


async def read_http(api: Api, who: Member, conversation_id: str, message_id: str) -> None:
    r = await api.post(who, f"{V1}/conversations/{conversation_id}/read", {"message_id": message_id})
    assert r.status_code == 204, r.text


async def barrier(api: Api, dev: Device, conversation_id: str) -> list[dict[str, Any]]:
    """Every frame the device's member was sent before now (see the module docstring)."""
    assert dev.member is not None
    r = await api.patch(dev.member, f"{V1}/conversations/{conversation_id}", {"muted": False})
    assert r.status_code == 200, r.text
    _, before = await dev.until(lambda f: f.get("type") == "conversation.updated" and "conversation" in f)
    return before


def of_type(frames: list[dict[str, Any]], type_: str) -> list[dict[str, Any]]:
    return [f for f in frames if f.get("type") == type_]


def assert_seqs_follow(frames: list[dict[str, Any]], after: int) -> None:
    stored = [f["seq"] for f in frames if f["seq"] is not None]
    assert stored == list(range(after + 1, after + 1 + len(stored))), stored


# --- delivery ----------------------------------------------------------------------------


async def test_message_new_reaches_the_recipient_live_and_every_device(live_api: Api, live_server: LiveServer) -> None:
    alice, bob = await pair(live_api)
    async with (
        device(live_server, alice) as a1,
        device(live_server, bob) as b1,
        device(live_server, bob) as b2,
    ):
        assert b1.hello["member"] == "bob"
        assert b1.hello["since"] == b2.hello["since"] > 0  # the invitation events came first
        message = await start(live_api, alice, bob, body="hi Bob")
        conv = message["conversation_id"]

        got1 = await b1.expect("message.new")
        got2 = await b2.expect("message.new")
        assert got1 == got2
        assert got1["seq"] == b1.hello["since"] + 1
        assert got1["conversation_id"] == conv
        assert got1["message"]["id"] == message["id"]
        assert got1["message"]["body"] == "hi Bob"
        assert got1["message"]["sender"]["handle"] == "alice"
        own = await a1.expect("message.new")  # the sender's own devices hear of it too
        assert own["message"]["id"] == message["id"]

        # Both of Bob's devices see the same stream: a reply, typing, a read.
        reply = await send(live_api, alice, conv, "are you there?")
        await typing_http(live_api, alice, conv, True)
        for dev in (b1, b2):
            new = await dev.expect("message.new")
            assert new["message"]["id"] == reply["id"]
            typing = await dev.expect("typing")
            assert typing["seq"] is None
            assert typing["typing"] is True
            assert typing["member"]["handle"] == "alice"
        # A device's own read reaches the member's other device as a conversation update.
        await b1.send({"type": "read", "conversation_id": conv, "message_id": reply["id"]})
        update = await b2.expect("conversation.updated", conversation_id=conv)
        assert update["unread_count"] == 0
        assert (await b1.expect("conversation.updated", conversation_id=conv))["seq"] == update["seq"]


async def test_ack_over_websocket_marks_delivered(live_api: Api, live_server: LiveServer) -> None:
    alice, bob = await pair(live_api)
    async with device(live_server, alice) as a1:
        message = await start(live_api, alice, bob, body="one")
        conv = message["conversation_id"]
        assert message["status"] == "sent"
        await a1.expect("message.new")
        assert (await messages(live_api, alice, conv))[message["id"]]["status"] == "sent"

        async with device(live_server, bob, since=0) as b1:
            new = await b1.expect("message.new")  # replayed from the log
            assert (await messages(live_api, alice, conv))[message["id"]]["status"] == "sent"
            await b1.send({"type": "ack", "seq": new["seq"]})
            delivered = await a1.expect("message.delivered")
            assert delivered["conversation_id"] == conv
            assert delivered["message_id"] == message["id"]
            assert delivered["member"]["handle"] == "bob"
            got = (await messages(live_api, alice, conv))[message["id"]]
            assert got["status"] == "delivered"
            assert got["read_by"] == []

            # A live one, acknowledged in turn; a repeated ack changes nothing.
            second = await send(live_api, alice, conv, "two")
            new = await b1.expect("message.new")
            await b1.send({"type": "ack", "seq": new["seq"]})
            delivered = await a1.expect("message.delivered")
            assert delivered["message_id"] == second["id"]
            await b1.send({"type": "ack", "seq": new["seq"]})
            before = await barrier(live_api, a1, conv)
            assert of_type(before, "message.delivered") == []
            assert (await messages(live_api, alice, conv))[second["id"]]["status"] == "delivered"


async def test_reading_events_over_http_marks_delivered(live_api: Api, live_server: LiveServer) -> None:
    alice, bob = await pair(live_api)
    async with device(live_server, alice) as a1:
        message = await start(live_api, alice, bob)
        conv = message["conversation_id"]
        assert (await messages(live_api, alice, conv))[message["id"]]["status"] == "sent"
        events = await live_api.events(bob)
        assert message["id"] in [e["message"]["id"] for e in of_type(events, "message.new")]
        delivered = await a1.expect("message.delivered")
        assert delivered["message_id"] == message["id"]
        assert (await messages(live_api, alice, conv))[message["id"]]["status"] == "delivered"


# --- reads ---------------------------------------------------------------------------------


async def test_read_over_http_tells_the_sender(live_api: Api, live_server: LiveServer) -> None:
    alice, bob = await pair(live_api)
    async with device(live_server, alice) as a1, device(live_server, bob) as b1:
        message = await start(live_api, alice, bob)
        conv = message["conversation_id"]
        await b1.expect("message.new")
        assert (await conversation(live_api, bob, conv))["unread_count"] == 1
        await read_http(live_api, bob, conv, message["id"])

        read = await a1.expect("message.read")
        assert isinstance(read["seq"], int)
        assert read["conversation_id"] == conv
        assert read["message_id"] == message["id"]
        assert read["reader"]["handle"] == "bob"
        assert read["read_at"]
        got = (await messages(live_api, alice, conv))[message["id"]]
        assert got["status"] == "read"
        assert [r["member"]["handle"] for r in got["read_by"]] == ["bob"]
        assert got["read_by"][0]["read_at"] == read["read_at"]
        assert (await conversation(live_api, bob, conv))["unread_count"] == 0
        # The receipt is stored: it is in the sender's log too.
        assert read["seq"] in [e["seq"] for e in of_type(await live_api.events(alice), "message.read")]
        # Bob's view of Alice's message carries no status.
        theirs = (await messages(live_api, bob, conv))[message["id"]]
        assert theirs["status"] is None and theirs["read_by"] is None


async def test_read_over_websocket_frame_tells_the_sender(live_api: Api, live_server: LiveServer) -> None:
    alice, bob = await pair(live_api)
    async with device(live_server, alice) as a1, device(live_server, bob) as b1:
        first = await start(live_api, alice, bob, body="one")
        conv = first["conversation_id"]
        second = await send(live_api, alice, conv, "two")
        await b1.expect("message.new")
        await b1.expect("message.new")
        assert (await conversation(live_api, bob, conv))["unread_count"] == 2

        await b1.send({"type": "read", "conversation_id": conv, "message_id": second["id"]})
        update = await b1.expect("conversation.updated", conversation_id=conv)
        assert update["unread_count"] == 0
        read = await a1.expect("message.read")
        assert read["message_id"] == second["id"]
        assert read["reader"]["handle"] == "bob"
        listed = await messages(live_api, alice, conv)
        assert listed[first["id"]]["status"] == listed[second["id"]]["status"] == "read"
        assert [r["member"]["handle"] for r in listed[first["id"]]["read_by"]] == ["bob"]
        assert (await conversation(live_api, bob, conv))["unread_count"] == 0

        # Reading the same message again tells nobody anything new.
        await b1.send({"type": "read", "conversation_id": conv, "message_id": second["id"]})
        await b1.ping()
        assert of_type(await barrier(live_api, a1, conv), "message.read") == []


SWITCHES = list(itertools.product([True, False], repeat=2))


@pytest.mark.parametrize(("alice_on", "bob_on"), SWITCHES, ids=[f"alice_{a}-bob_{b}" for a, b in SWITCHES])
async def test_reciprocal_switch_governs_receipts_and_typing(
    live_api: Api, live_server: LiveServer, alice_on: bool, bob_on: bool
) -> None:
    shared = alice_on and bob_on
    alice, bob = await pair(live_api)
    async with device(live_server, alice) as a1, device(live_server, bob) as b1:
        # The switches change while the devices are connected: they count from then on.
        await set_switch(live_api, alice, alice_on)
        await set_switch(live_api, bob, bob_on)
        m1 = await start(live_api, alice, bob, body="from alice")
        conv = m1["conversation_id"]
        await b1.expect("message.new")
        assert (await conversation(live_api, bob, conv))["unread_count"] == 1

        # Bob reads over HTTP and types over the WebSocket; Alice types over HTTP.
        await read_http(live_api, bob, conv, m1["id"])
        assert (await conversation(live_api, bob, conv))["unread_count"] == 0  # falls either way
        await b1.send({"type": "typing", "conversation_id": conv, "typing": True})
        seen_by_bob = await b1.ping()
        await typing_http(live_api, alice, conv, True)

        seen_by_alice = await barrier(live_api, a1, conv)
        seen_by_bob += await barrier(live_api, b1, conv)
        assert len(of_type(seen_by_alice, "message.read")) == int(shared)
        assert len(of_type(seen_by_alice, "typing")) == int(shared)
        assert len(of_type(seen_by_bob, "typing")) == int(shared)

        # Bob replies; Alice reads it over the WebSocket; Bob stops typing over HTTP.
        m2 = await send(live_api, bob, conv, "from bob")
        await a1.expect("message.new")
        assert (await conversation(live_api, alice, conv))["unread_count"] == 1
        await a1.send({"type": "read", "conversation_id": conv, "message_id": m2["id"]})
        await a1.expect("conversation.updated", conversation_id=conv)
        assert (await conversation(live_api, alice, conv))["unread_count"] == 0
        await typing_http(live_api, bob, conv, False)
        await a1.send({"type": "typing", "conversation_id": conv, "typing": False})
        seen_by_alice = await a1.ping()  # Bob's stop may come before the pong
        seen_by_alice += await barrier(live_api, a1, conv)
        seen_by_bob = await barrier(live_api, b1, conv)
        assert len(of_type(seen_by_bob, "message.read")) == int(shared)
        assert len(of_type(seen_by_alice, "typing")) == int(shared)
        assert len(of_type(seen_by_bob, "typing")) == int(shared)
        for frame in of_type(seen_by_alice + seen_by_bob, "typing"):
            assert frame["typing"] is False

        # The listings and the stored logs agree with what went live.
        alice_view = (await messages(live_api, alice, conv))[m1["id"]]
        bob_view = (await messages(live_api, bob, conv))[m2["id"]]
        for view, reader in ((alice_view, "bob"), (bob_view, "alice")):
            if shared:
                assert view["status"] == "read"
                assert [r["member"]["handle"] for r in view["read_by"]] == [reader]
            else:
                assert view["status"] in ("sent", "delivered")
                assert view["read_by"] == []
        for who in (alice, bob):
            log = await live_api.events(who)
            assert len(of_type(log, "message.read")) == int(shared)
            assert of_type(log, "typing") == []
            r = await live_api.get(who, f"{V1}/conversations")
            assert r.status_code == 200
            (listed,) = r.json()["conversations"]
            assert listed["unread_count"] == 0
            assert listed["last_message"]["read_by"] in (None, [])


async def test_switching_off_hides_every_receipt_until_switched_on(live_api: Api, live_server: LiveServer) -> None:
    """DESIGN §4: while a switch is off, older receipts are hidden too; back on, they show
    again. A read made while it was off was never shared and stays hidden."""
    alice, bob = await pair(live_api)
    async with device(live_server, alice) as a1:
        m1 = await start(live_api, alice, bob, body="one")
        conv = m1["conversation_id"]
        await read_http(live_api, bob, conv, m1["id"])
        await a1.expect("message.read")
        await set_switch(live_api, bob, False)
        m2 = await send(live_api, alice, conv, "two")
        await read_http(live_api, bob, conv, m2["id"])
        assert of_type(await barrier(live_api, a1, conv), "message.read") == []
        listed = await messages(live_api, alice, conv)
        assert listed[m1["id"]]["status"] == "delivered"
        assert listed[m1["id"]]["read_by"] == []
        assert listed[m2["id"]]["status"] == "delivered"
        assert listed[m2["id"]]["read_by"] == []
        await set_switch(live_api, bob, True)
        listed = await messages(live_api, alice, conv)
        assert listed[m1["id"]]["status"] == "read"
        assert listed[m2["id"]]["status"] == "delivered"


async def test_a_resumed_socket_replays_only_receipts_shown_now(live_api: Api, live_server: LiveServer) -> None:
    alice, bob = await pair(live_api)
    m1 = await start(live_api, alice, bob, body="one")
    conv = m1["conversation_id"]
    await read_http(live_api, bob, conv, m1["id"])
    await set_switch(live_api, bob, False)
    async with device(live_server, alice, since=0) as a1:
        replayed = await barrier(live_api, a1, conv)
        assert of_type(replayed, "message.new") != []
        assert of_type(replayed, "message.read") == []
        # live, too: a read while the switch is off is never sent
        m2 = await send(live_api, alice, conv, "two")
        await read_http(live_api, bob, conv, m2["id"])
        assert of_type(await barrier(live_api, a1, conv), "message.read") == []
    await set_switch(live_api, bob, True)
    async with device(live_server, alice, since=0) as a2:
        replayed = await barrier(live_api, a2, conv)
        assert [f["message_id"] for f in of_type(replayed, "message.read")] == [m1["id"]]


async def test_admin_network_switch_hides_receipts(live_api: Api, live_server: LiveServer) -> None:
    alice, bob = await pair(live_api)
    admin = {"Authorization": f"Bearer {ADMIN}"}
    r = await live_api.client.put(f"{V1}/admin/settings", json={"read_receipts": False}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["settings"]["read_receipts"] is False
    async with device(live_server, alice) as a1, device(live_server, bob) as b1:
        message = await start(live_api, alice, bob)
        conv = message["conversation_id"]
        await b1.expect("message.new")
        await b1.send({"type": "read", "conversation_id": conv, "message_id": message["id"]})
        await b1.expect("conversation.updated", conversation_id=conv)
        await read_http(live_api, bob, conv, message["id"])
        assert of_type(await barrier(live_api, a1, conv), "message.read") == []
        got = (await messages(live_api, alice, conv))[message["id"]]
        assert got["status"] == "delivered"
        assert got["read_by"] == []
        assert of_type(await live_api.events(alice), "message.read") == []
        assert (await conversation(live_api, bob, conv))["unread_count"] == 0

        # Switched back on, later reads are shown again.
        r = await live_api.client.put(f"{V1}/admin/settings", json={"read_receipts": True}, headers=admin)
        assert r.status_code == 200, r.text
        second = await send(live_api, alice, conv, "again")
        await read_http(live_api, bob, conv, second["id"])
        read = await a1.expect("message.read")
        assert read["message_id"] == second["id"]


async def test_admin_network_switch_needs_the_admin_token(live_api: Api) -> None:
    alice = await live_api.register("alice")
    r = await live_api.put(alice, f"{V1}/admin/settings", {"read_receipts": False})
    assert r.status_code in (401, 403)


# --- typing ----------------------------------------------------------------------------------


async def test_typing_start_and_stop_are_live_only(live_api: Api, live_server: LiveServer) -> None:
    alice, bob = await pair(live_api)
    message = await start(live_api, alice, bob)
    conv = message["conversation_id"]
    async with device(live_server, alice) as a1, device(live_server, bob) as b1:
        await a1.send({"type": "typing", "conversation_id": conv, "typing": True})
        on = await b1.expect("typing")
        assert on["seq"] is None
        assert on["conversation_id"] == conv
        assert on["member"]["handle"] == "alice"
        assert on["typing"] is True
        await a1.send({"type": "typing", "conversation_id": conv, "typing": False})
        off = await b1.expect("typing")
        assert off["seq"] is None and off["typing"] is False
        # The typist's own devices are not told they are typing.
        assert of_type(await barrier(live_api, a1, conv), "typing") == []
        last = b1.hello["since"]

    # Not stored: neither the HTTP log nor a resumed socket replays them.
    assert of_type(await live_api.events(bob), "typing") == []
    async with device(live_server, bob, since=0) as again:
        replay = await barrier(live_api, again, conv)
        assert of_type(replay, "typing") == []
        assert_seqs_follow(replay, 0)
        assert replay[-1]["seq"] >= last


async def test_typing_lapses_after_ten_seconds_without_refresh(live_api: Api, live_server: LiveServer) -> None:
    alice, bob = await pair(live_api)
    message = await start(live_api, alice, bob)
    conv = message["conversation_id"]
    async with device(live_server, bob) as b1:
        await typing_http(live_api, alice, conv, True)
        await b1.expect("typing", typing=True)
        # A refresh after 3 s restarts the 10 s timer.
        await asyncio.sleep(3)
        await typing_http(live_api, alice, conv, True)
        refreshed = time.monotonic()
        again = await b1.expect("typing")
        assert again["typing"] is True
        off = await b1.expect("typing", wait=13)
        elapsed = time.monotonic() - refreshed
        assert off["typing"] is False
        assert off["member"]["handle"] == "alice"
        assert 9.5 <= elapsed <= 12, elapsed


async def test_group_conversations_show_typing_but_never_receipts(live_api: Api, live_server: LiveServer) -> None:
    alice, bob = await pair(live_api)
    carol = await live_api.register("carol")
    await live_api.connect(alice, carol)
    message = await start(live_api, alice, bob, carol, body="hello both")
    conv = message["conversation_id"]
    assert (await conversation(live_api, alice, conv))["kind"] == "multi"
    async with (
        device(live_server, alice) as a1,
        device(live_server, bob) as b1,
        device(live_server, carol) as c1,
    ):
        await typing_http(live_api, alice, conv, True)
        for dev in (b1, c1):
            typing = await dev.expect("typing")
            assert typing["member"]["handle"] == "alice" and typing["conversation_id"] == conv
        await b1.send({"type": "typing", "conversation_id": conv, "typing": True})
        assert (await a1.expect("typing"))["member"]["handle"] == "bob"
        assert (await c1.expect("typing"))["member"]["handle"] == "bob"

        await read_http(live_api, bob, conv, message["id"])
        await c1.send({"type": "read", "conversation_id": conv, "message_id": message["id"]})
        await c1.expect("conversation.updated", conversation_id=conv)
        assert (await conversation(live_api, bob, conv))["unread_count"] == 0
        assert (await conversation(live_api, carol, conv))["unread_count"] == 0
        assert of_type(await barrier(live_api, a1, conv), "message.read") == []
        got = (await messages(live_api, alice, conv))[message["id"]]
        assert got["status"] in ("sent", "delivered")
        assert got["read_by"] == []
        assert of_type(await live_api.events(alice), "message.read") == []


async def test_inmail_shows_neither_receipts_nor_typing(live_api: Api, live_server: LiveServer) -> None:
    alice, bob = await live_api.register("alice"), await live_api.register("bob")
    await live_api.set_tier(alice, "premium_career")
    message = await start(live_api, alice, bob, body="A role for you", kind="inmail", subject="Hello")
    conv = message["conversation_id"]
    assert (await conversation(live_api, alice, conv))["kind"] == "inmail"
    async with device(live_server, alice) as a1, device(live_server, bob) as b1:
        await typing_http(live_api, alice, conv, True)
        await read_http(live_api, bob, conv, message["id"])
        assert (await conversation(live_api, bob, conv))["unread_count"] == 0
        reply = await send(live_api, bob, conv, "Tell me more")
        await b1.send({"type": "typing", "conversation_id": conv, "typing": True})
        seen_by_bob = await b1.ping()
        await a1.send({"type": "read", "conversation_id": conv, "message_id": reply["id"]})
        seen_by_alice = await a1.ping()
        seen_by_alice += await barrier(live_api, a1, conv)
        seen_by_bob += await barrier(live_api, b1, conv)
        assert [f["message"]["id"] for f in of_type(seen_by_alice, "message.new")] == [reply["id"]]
        for seen in (seen_by_alice, seen_by_bob):
            assert of_type(seen, "typing") == []
            assert of_type(seen, "message.read") == []
        for who, mine in ((alice, message), (bob, reply)):
            got = (await messages(live_api, who, conv))[mine["id"]]
            assert got["status"] in ("sent", "delivered") and got["read_by"] == []


async def test_a_block_hides_typing(live_api: Api, live_server: LiveServer) -> None:
    alice, bob = await pair(live_api)
    message = await start(live_api, alice, bob)
    conv = message["conversation_id"]
    async with device(live_server, alice) as a1, device(live_server, bob) as b1:
        await typing_http(live_api, alice, conv, True)
        await b1.expect("typing", typing=True)  # the control: shown before the block
        r = await live_api.post(bob, f"{V1}/blocks", {"handle": "alice"})
        assert r.status_code == 201, r.text
        await typing_http(live_api, alice, conv, True)
        await b1.send({"type": "typing", "conversation_id": conv, "typing": True})
        seen_by_bob = await b1.ping()
        assert of_type(seen_by_bob + await barrier(live_api, b1, conv), "typing") == []
        assert of_type(await barrier(live_api, a1, conv), "typing") == []


# --- resume, auth, frames ------------------------------------------------------------------


async def test_reconnect_with_since_replays_in_order_without_gap_or_duplicate(
    live_api: Api, live_server: LiveServer
) -> None:
    alice, bob = await pair(live_api)
    message = await start(live_api, alice, bob, body="m0")
    conv = message["conversation_id"]
    async with device(live_server, bob) as b1:
        await send(live_api, alice, conv, "m1")
        first = await b1.expect("message.new")
    last_seen = first["seq"]

    # Offline: more events are stored.
    offline = [await send(live_api, alice, conv, f"offline {i}") for i in range(5)]

    # Reconnect while Alice keeps writing: stored, in-flight and live events must line up.
    async def keep_writing() -> list[str]:
        return [(await send(live_api, alice, conv, f"live {i}"))["id"] for i in range(15)]

    writer = asyncio.create_task(keep_writing())
    async with device(live_server, bob, since=last_seen) as b2:
        assert b2.hello["since"] == last_seen
        live_ids = await writer
        wanted = {m["id"] for m in offline} | set(live_ids)
        frames: list[dict[str, Any]] = []
        while wanted - {f["message"]["id"] for f in of_type(frames, "message.new")}:
            frames.append(await b2.recv())
        frames += await barrier(live_api, b2, conv)
    assert_seqs_follow(frames, last_seen)
    ids = [f["message"]["id"] for f in of_type(frames, "message.new")]
    assert ids == [m["id"] for m in offline] + live_ids
    assert len(ids) == len(set(ids))

    # The same stored events, by HTTP.
    stored = await live_api.events(bob, since=last_seen)
    assert [e["seq"] for e in stored] == [f["seq"] for f in frames if f["seq"] is not None] + [stored[-1]["seq"]]

    # Resuming from the newest seq replays nothing.
    async with device(live_server, bob, since=stored[-1]["seq"]) as b3:
        tail = await barrier(live_api, b3, conv)
        assert tail == []


async def test_without_since_a_device_starts_at_the_present(live_api: Api, live_server: LiveServer) -> None:
    alice, bob = await pair(live_api)
    message = await start(live_api, alice, bob)
    async with device(live_server, bob) as b1:
        assert b1.hello["since"] == (await live_api.events(bob))[-1]["seq"]
        reply = await send(live_api, alice, message["conversation_id"], "later")
        new = await b1.expect("message.new")
        assert new["message"]["id"] == reply["id"]
        assert new["seq"] == b1.hello["since"] + 1


async def test_auth_by_first_frame(live_api: Api, live_server: LiveServer) -> None:
    alice, bob = await pair(live_api)
    async with device(live_server, bob, auth_frame=True) as b1:
        assert b1.hello["member"] == "bob"
        message = await start(live_api, alice, bob)
        assert (await b1.expect("message.new"))["message"]["id"] == message["id"]


@pytest.mark.parametrize(
    ("query", "first_frame"),
    [
        ("?token=not-a-token", None),
        ("", {"type": "auth", "token": "not-a-token"}),
        ("", {"type": "ack", "seq": 1}),
        ("", "not json"),
        ("", b'{"type": "auth", "token": "x"}'),
    ],
    ids=["bad-query-token", "bad-auth-frame", "no-auth-frame", "garbage-first-frame", "binary-first-frame"],
)
async def test_a_bad_token_closes_the_socket(
    live_api: Api, live_server: LiveServer, query: str, first_frame: Any
) -> None:
    await live_api.register("alice")
    async with connect(live_server.ws_url + query, open_timeout=10) as ws:
        if first_frame is not None:
            await ws.send(first_frame if isinstance(first_frame, str | bytes) else orjson.dumps(first_frame).decode())
        error = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        assert error["type"] == "error"
        assert error["error"]["code"] == "unauthorized"
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 4401


async def test_a_revoked_token_is_refused(live_api: Api, live_server: LiveServer) -> None:
    alice = await live_api.register("alice")
    r = await live_api.post(alice, f"{V1}/auth/logout")
    assert r.status_code == 204
    async with connect(f"{live_server.ws_url}?token={alice.token}", open_timeout=10) as ws:
        with pytest.raises(ConnectionClosed):
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 4401


async def test_bad_frames_get_an_error_frame_not_a_disconnect(live_api: Api, live_server: LiveServer) -> None:
    alice, bob = await pair(live_api)
    carol = await live_api.register("carol")
    message = await start(live_api, alice, bob)
    conv = message["conversation_id"]
    async with device(live_server, alice) as a1:
        bad: list[tuple[Any, str]] = [
            ("not json", "bad_frame"),
            (b'{"type": "ping"}', "bad_frame"),  # binary: once a KeyError that killed the socket (1006)
            (b"\x00\xff", "bad_frame"),
            ("[1, 2]", "bad_frame"),
            ("null", "bad_frame"),
            ({"type": "nope"}, "bad_frame"),
            ({"no": "type"}, "bad_frame"),
            ({"type": "ack"}, "bad_frame"),
            ({"type": "ack", "seq": "x"}, "bad_frame"),
            ({"type": "ack", "seq": True}, "bad_frame"),
            ({"type": "typing", "conversation_id": conv, "typing": "yes"}, "bad_frame"),
            ({"type": "typing", "typing": True}, "bad_frame"),
            ({"type": "read", "conversation_id": conv}, "bad_frame"),
            ({"type": "read", "conversation_id": "abc", "message_id": "1"}, "bad_frame"),
            (
                {"type": "typing", "conversation_id": "999999", "typing": True},
                "conversation_not_found",
            ),
            (
                {"type": "read", "conversation_id": conv, "message_id": "999999"},
                "message_not_found",
            ),
        ]
        for frame, code in bad:
            await a1.send(frame)
            error = await a1.expect("error")
            assert error["seq"] is None
            assert error["error"]["code"] == code, (frame, error)
        # Someone else's conversation is not found, not forbidden.
        async with device(live_server, carol) as c1:
            await c1.send({"type": "typing", "conversation_id": conv, "typing": True})
            assert (await c1.expect("error"))["error"]["code"] == "conversation_not_found"
            await c1.send({"type": "read", "conversation_id": conv, "message_id": message["id"]})
            assert (await c1.expect("error"))["error"]["code"] == "conversation_not_found"
        # Still connected, still live.
        assert await a1.ping() == []
        reply = await send(live_api, bob, conv, "still there?")
        assert (await a1.expect("message.new"))["message"]["id"] == reply["id"]
