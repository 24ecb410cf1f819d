"""Event frames written straight to the transport (api/ws_wire.py): valid RFC 6455 frames
that the `websockets` client reads, in order and gap-free, to every socket of a group chat;
sockets that negotiated permessage-deflate keep the ASGI path, and both kinds read the same."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator
from typing import Any

import pytest
from tests.api.live_server import Device, LiveServer, device
from tests.api.test_group_chats import group_chat, open_group
from tests.conftest import Api, Member
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from rapport.api.ws import Connection
from rapport.api.ws_wire import text_frame


def parse(data: bytes) -> Frame:
    """One frame as the `websockets` library reads it from a server (unmasked, no extension)."""
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    parser: Generator[None, None, Frame] = Frame.parse(reader.read_exact, mask=False, max_size=None)
    try:
        next(parser)
    except StopIteration as done:
        frame: Frame = done.value
        assert reader.at_eof() or not reader.buffer  # nothing left over: one whole frame
        return frame
    raise AssertionError("incomplete frame")


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65_535, 65_536, 70_000])
def test_a_text_frame_of_any_length_reads_back_whole(size: int) -> None:
    payload = (b'{"seq":1,"x":"' + b"y" * size + b'"}')[: max(size, 2)]
    frame = parse(text_frame(payload))
    assert frame.opcode is Opcode.TEXT
    assert frame.fin and not frame.rsv1 and not frame.rsv2 and not frame.rsv3
    assert frame.data == payload


def server_sockets(server: LiveServer, member: Member) -> list[Connection]:
    sockets = server.app.state.ctx.sessions.sockets_of(int(member.id))
    assert all(isinstance(s, Connection) for s in sockets)
    return list(sockets)


async def message_news(dev: Device, count: int) -> tuple[list[dict[str, Any]], list[int]]:
    """The next `count` message.new frames, and the seqs of every stored event read meanwhile."""
    frames: list[dict[str, Any]] = []
    seqs: list[int] = []
    while len(frames) < count:
        frame = await dev.recv()
        if frame["seq"] is not None:
            seqs.append(frame["seq"])
        if frame["type"] == "message.new":
            frames.append(frame)
    return frames, seqs


async def test_a_browser_offering_compression_gets_plain_frames_written_directly(
    live_api: Api, live_server: LiveServer
) -> None:
    bob = await live_api.register("bob")
    async with device(live_server, bob) as dev:  # offers permessage-deflate, as browsers do
        assert dev.ws.response is not None
        assert "Sec-WebSocket-Extensions" not in dev.ws.response.headers
        assert [s.writes_directly for s in server_sockets(live_server, bob)] == [True]


@pytest.mark.ws_compression
async def test_a_group_chat_reaches_every_socket_in_order_written_directly_or_compressed(
    live_api: Api, live_server: LiveServer
) -> None:
    admin = await live_api.register("admin")
    others = [await live_api.register(f"member{i}") for i in range(5)]
    group = await open_group(live_api, admin, *others)
    cid = (await group_chat(live_api, admin, group, *others))["id"]
    # Bodies from one character to 8,000 four-byte ones: frames on both sides of 126 and
    # well past 16-bit lengths' halfway, JSON escapes, and text that is not ASCII.
    bodies = ["x", "é" * 60, 'quote " and \\ backslash', "🙂" * 8_000, "y" * 3_000] * 3
    async with contextlib.AsyncExitStack() as stack:
        plain = [await stack.enter_async_context(device(live_server, m, compression=None)) for m in others]
        deflate = await stack.enter_async_context(device(live_server, others[0]))
        assert all(s.writes_directly for m in others[1:] for s in server_sockets(live_server, m))
        assert sorted(s.writes_directly for s in server_sockets(live_server, others[0])) == [False, True]
        sent = []
        for body in bodies:
            r = await live_api.post(admin, f"/api/v1/conversations/{cid}/messages", {"body": body})
            assert r.status_code == 201, r.text
            sent.append(r.json()["message"]["id"])
        for dev in [*plain, deflate]:
            frames, seqs = await message_news(dev, len(bodies))
            assert [f["message"]["id"] for f in frames] == sent
            assert [f["message"]["body"] for f in frames] == bodies
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # no gap, no duplicate
        # the sockets are still in step with the server: a round trip after the burst
        for dev in [*plain, deflate]:
            assert [f for f in await dev.ping() if f["type"] == "message.new"] == []


async def test_frames_queued_while_a_socket_catches_up_follow_in_order(live_api: Api, live_server: LiveServer) -> None:
    """A socket resuming from `since` while messages keep coming: what was stored before is
    replayed, what comes live follows, with no gap or duplicate whichever way each is written."""
    admin, bob = await live_api.register("admin"), await live_api.register("bob")
    group = await open_group(live_api, admin, bob)
    cid = (await group_chat(live_api, admin, group, bob))["id"]
    since = max(e["seq"] for e in await live_api.events(bob))
    for i in range(30):
        r = await live_api.post(admin, f"/api/v1/conversations/{cid}/messages", {"body": f"before {i}"})
        assert r.status_code == 201

    async def keep_sending() -> None:
        for i in range(30):
            r = await live_api.post(admin, f"/api/v1/conversations/{cid}/messages", {"body": f"during {i}"})
            assert r.status_code == 201

    sender = asyncio.create_task(keep_sending())
    async with device(live_server, bob, since=since, compression=None) as dev:
        await sender
        frames, seqs = await message_news(dev, 60)
    assert [f["message"]["body"] for f in frames] == [f"before {i}" for i in range(30)] + [
        f"during {i}" for i in range(30)
    ]
    assert seqs == list(range(since + 1, since + 1 + len(seqs)))
