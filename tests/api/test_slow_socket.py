"""A slow WebSocket reader holds a bounded number of bytes on the server: past its budget
(RAPPORT_WS_QUEUE_BYTES) the socket is closed with 4008, and the client resumes from the
event log with `since`, losing nothing."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
from pathlib import Path
from typing import Any

import httpx
import orjson
from tests.api.live_server import run_server
from tests.conftest import Api, make_settings
from websockets.asyncio.client import connect

from rapport.api.ws import TOO_SLOW

V1 = "/api/v1"
BUDGET = 64 * 1024
MESSAGES = 100
BODY = "x" * 7_000  # a frame of about 7.4 KB: 100 of them are ten times the budget


class SlowReader:
    """A WebSocket client that reads nothing until told to: a small receive window and a
    small read buffer, so the server's writes back up as they would to a stalled phone.

    (Client libraries read eagerly into memory; this one does the handshake and reads
    frames by hand, RFC 6455, server frames being unmasked.)"""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.close_code: int | None = None

    @classmethod
    async def open(cls, host: str, port: int, path: str) -> SlowReader:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((host, port))
        sock.setblocking(False)
        reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    async def recv(self) -> dict[str, Any] | None:
        """The next text frame, or None once the server closed (its code in close_code)."""
        while True:
            first, second = await asyncio.wait_for(self.reader.readexactly(2), 10)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack("!H", await self.reader.readexactly(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", await self.reader.readexactly(8))[0]
            payload = await self.reader.readexactly(length)
            opcode = first & 0x0F
            if opcode == 0x1:
                frame: dict[str, Any] = orjson.loads(payload)
                return frame
            if opcode == 0x8:
                self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                return None

    def close(self) -> None:
        self.writer.close()


async def test_a_slow_reader_is_closed_past_its_budget_and_resumes_without_loss(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, ws_queue_bytes=BUDGET)
    with run_server(settings, send_buffer=8192) as server:
        async with httpx.AsyncClient(base_url=server.http_url, timeout=20) as client:
            api = Api(client, server.app)
            alice, bob = await api.register("alice"), await api.register("bob")
            await api.connect(alice, bob)
            r = await api.start(bob, alice, body="first")
            conv = r.json()["conversation"]["id"]
            sent = [r.json()["message"]["id"]]
            since = max(e["seq"] for e in await api.events(alice))

            slow = await SlowReader.open(server.host, server.port, f"/api/v1/ws?token={alice.token}&since={since}")
            try:
                hello = await slow.recv()
                assert hello is not None and hello["type"] == "hello"  # subscribed: live from here
                # frames go straight to its transport while it takes them (api/ws_wire.py)
                assert [s.writes_directly for s in server.app.state.ctx.sessions.sockets_of(int(alice.id))] == [True]
                for _ in range(MESSAGES):  # alice's device reads none of these for now
                    r = await api.post(bob, f"{V1}/conversations/{conv}/messages", {"body": BODY})
                    assert r.status_code == 201, r.text
                    sent.append(r.json()["message"]["id"])
                first: list[dict[str, Any]] = []
                while (frame := await slow.recv()) is not None:
                    first.append(frame)
                assert slow.close_code == TOO_SLOW, (slow.close_code, len(first))
            finally:
                slow.close()
            got = [f for f in first if f["type"] == "message.new"]
            assert 0 < len(got) < MESSAGES  # it was closed part way, not after everything

            # resume where the first socket stopped: everything else comes from the log
            last = max(f["seq"] for f in first if f["seq"] is not None)
            async with connect(f"{server.ws_url}?token={alice.token}&since={last}", max_size=None) as ws:
                assert orjson.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "hello"
                await ws.send(orjson.dumps({"type": "ping"}).decode())
                rest: list[dict[str, Any]] = []
                while (frame := orjson.loads(await asyncio.wait_for(ws.recv(), 10)))["type"] != "pong":
                    rest.append(frame)
            frames = [f for f in first + rest if f["seq"] is not None]
            seqs = [f["seq"] for f in frames]
            assert seqs == list(range(since + 1, since + 1 + len(seqs)))  # no gap, no duplicate
            received = [f["message"]["id"] for f in frames if f["type"] == "message.new"]
            assert received == sent[1:]
