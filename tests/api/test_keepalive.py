"""The server's WebSocket keepalive (RAPPORT_WS_PING_SECONDS, api/keepalive.py), against a live
server with a short interval: quiet sockets are pinged, a peer that answers stays, a peer that
never answers is closed (1011), a busy peer is not pinged, and 0 means no pings at all.

The peer here is a hand-written RFC 6455 client, so the test decides whether pongs are sent.
Nothing is timed: waits are generous multiples of the interval."""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from pathlib import Path

import httpx
import orjson
from tests.api.live_server import LiveServer, run_server
from tests.conftest import Api, Member, make_settings

from rapport.settings import Settings

INTERVAL = 0.5
PING, PONG, CLOSE, TEXT = 0x9, 0xA, 0x8, 0x1


class RawPeer:
    """A WebSocket client that answers pings only when told to (client frames are masked)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, server: LiveServer, token: str) -> RawPeer:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET /api/v1/ws?token={token} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        peer = cls(reader, writer)
        opcode, payload = await peer.frame()
        assert opcode == TEXT and orjson.loads(payload)["type"] == "hello"
        return peer

    async def frame(self, wait: float = 10) -> tuple[int, bytes]:
        """The next frame (opcode, payload); (CLOSE, b"") at the end of the stream."""
        try:
            first, second = await asyncio.wait_for(self.reader.readexactly(2), wait)
        except asyncio.IncompleteReadError:
            return CLOSE, b""
        length = second & 0x7F
        if length == 126:
            length = struct.unpack("!H", await self.reader.readexactly(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", await self.reader.readexactly(8))[0]
        return first & 0x0F, await self.reader.readexactly(length)

    async def send(self, opcode: int, payload: bytes = b"") -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.writer.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)
        await self.writer.drain()

    async def frames_for(self, seconds: float, *, answer: bool) -> list[int]:
        """The opcodes of the frames received over `seconds`, pongs sent if `answer`."""
        got: list[int] = []
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while (left := end - loop.time()) > 0:
            try:
                opcode, payload = await self.frame(wait=left)
            except TimeoutError:
                break
            got.append(opcode)
            if opcode == CLOSE:
                break
            if opcode == PING and answer:
                await self.send(PONG, payload)
        return got

    def close(self) -> None:
        self.writer.close()


async def _member(server: LiveServer) -> Member:
    async with httpx.AsyncClient(base_url=server.http_url, timeout=20) as client:
        return await Api(client, server.app).register("alice")


def _settings(tmp_path: Path, seconds: float) -> Settings:
    return make_settings(tmp_path, ws_ping_seconds=seconds)


async def test_a_peer_that_answers_is_pinged_every_interval_and_stays_open(tmp_path: Path) -> None:
    with run_server(_settings(tmp_path, INTERVAL)) as server:
        peer = await RawPeer.open(server, (await _member(server)).token)
        try:
            got = await peer.frames_for(INTERVAL * 8, answer=True)
            assert CLOSE not in got
            assert got.count(PING) >= 3  # one per interval, give or take the first
            await peer.send(TEXT, b'{"type":"ping"}')  # still served
            assert orjson.loads((await peer.frame())[1])["type"] == "pong"
        finally:
            peer.close()


async def test_a_peer_that_never_answers_is_closed(tmp_path: Path) -> None:
    with run_server(_settings(tmp_path, INTERVAL)) as server:
        peer = await RawPeer.open(server, (await _member(server)).token)
        try:
            got = await peer.frames_for(INTERVAL * 20, answer=False)
            assert PING in got
            assert got[-1] == CLOSE  # a close frame (1011), then the end of the stream
            opcode, payload = await peer.frame()
            assert (opcode, payload) == (CLOSE, b"")
        finally:
            peer.close()


async def test_the_close_says_why(tmp_path: Path) -> None:
    with run_server(_settings(tmp_path, INTERVAL)) as server:
        peer = await RawPeer.open(server, (await _member(server)).token)
        try:
            while (frame := await peer.frame())[0] != CLOSE:
                pass
            assert struct.unpack("!H", frame[1][:2])[0] == 1011
        finally:
            peer.close()


async def test_a_peer_that_keeps_sending_is_not_pinged(tmp_path: Path) -> None:
    """Its frames prove it alive; the keepalive leaves the busy socket alone."""
    with run_server(_settings(tmp_path, INTERVAL)) as server:
        peer = await RawPeer.open(server, (await _member(server)).token)
        try:
            opcodes: list[int] = []
            for _ in range(16):  # frames far more often than the interval, never a pong
                await peer.send(TEXT, b'{"type":"ping"}')
                opcodes += await peer.frames_for(INTERVAL / 4, answer=False)
            assert PING not in opcodes and CLOSE not in opcodes
            assert opcodes.count(TEXT) == 16  # every frame answered, the socket open
        finally:
            peer.close()


async def test_no_pings_when_the_interval_is_zero(tmp_path: Path) -> None:
    with run_server(_settings(tmp_path, 0)) as server:
        peer = await RawPeer.open(server, (await _member(server)).token)
        try:
            assert await peer.frames_for(2.0, answer=False) == []  # no ping, and never closed
            await peer.send(TEXT, b'{"type":"ping"}')
            assert orjson.loads((await peer.frame())[1])["type"] == "pong"
        finally:
            peer.close()
