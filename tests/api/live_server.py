"""A real uvicorn server on a free 127.0.0.1 port, and WebSocket devices that talk to it.

The server runs in a background thread with its own event loop, so everything between the
test and the app goes over real TCP sockets: HTTP through httpx, WebSockets through the
`websockets` client library.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import uvicorn
from tests.conftest import Member
from websockets.asyncio.client import ClientConnection, connect

from rapport.api.app import SERVER_OPTIONS, SocketsFirst, compression_options, create_app, ping_options
from rapport.api.server import Server
from rapport.settings import Settings

FRAME_TIMEOUT = 5.0


@dataclass
class LiveServer:
    host: str
    port: int
    app: Any

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/api/v1/ws"


@contextlib.contextmanager
def run_server(
    settings: Settings, *, log_level: str = "warning", send_buffer: int | None = None
) -> Iterator[LiveServer]:
    """Serve a fresh app with `settings` until the block ends.

    `send_buffer` fixes the kernel's send buffer of every accepted connection (they inherit
    it from the listening socket): a slow network, without loopback's megabytes of buffer."""
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if send_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        SocketsFirst(app),  # what `rapport serve` runs
        log_level=log_level,
        lifespan="on",
        loop="asyncio",
        timeout_graceful_shutdown=3,
        **SERVER_OPTIONS,
        **ping_options(settings.ws_ping_seconds),
        **compression_options(settings.ws_compression),
    )
    server = Server(config)  # what `rapport serve` runs
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer("127.0.0.1", port, app)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        assert not thread.is_alive(), "the live server did not stop"


Predicate = Callable[[dict[str, Any]], bool]


class Device:
    """One WebSocket connection of a member: frames as dicts, in arrival order."""

    def __init__(self, ws: ClientConnection, member: Member | None = None) -> None:
        self.ws = ws
        self.member = member
        self.hello: dict[str, Any] = {}
        self.received: list[dict[str, Any]] = []

    async def send(self, value: Any) -> None:
        await self.ws.send(value if isinstance(value, str | bytes) else orjson.dumps(value).decode())

    async def recv(self, wait: float = FRAME_TIMEOUT) -> dict[str, Any]:
        async with asyncio.timeout(wait):
            raw = await self.ws.recv()
        frame = orjson.loads(raw)
        assert isinstance(frame, dict), raw
        self.received.append(frame)
        return frame

    async def until(
        self, predicate: Predicate, wait: float = FRAME_TIMEOUT
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The first frame matching `predicate`, and the frames that came before it."""
        before: list[dict[str, Any]] = []
        async with asyncio.timeout(wait):
            while True:
                frame = await self.recv(wait)
                if predicate(frame):
                    return frame, before
                before.append(frame)

    async def expect(self, type_: str, wait: float = FRAME_TIMEOUT, **fields: Any) -> dict[str, Any]:
        """The next frame of `type_` whose top-level fields match; others are skipped."""
        frame, _ = await self.until(
            lambda f: f.get("type") == type_ and all(f.get(k) == v for k, v in fields.items()), wait
        )
        return frame

    async def ping(self) -> list[dict[str, Any]]:
        """Round trip: frames this device sent before are handled. Returns what came first."""
        await self.send({"type": "ping"})
        _, before = await self.until(lambda f: f.get("type") == "pong")
        return before


@contextlib.asynccontextmanager
async def device(
    server: LiveServer,
    member: Member | None = None,
    *,
    since: int | None = None,
    token: str | None = None,
    auth_frame: bool = False,
    compression: str | None = "deflate",
) -> AsyncIterator[Device]:
    """Open a WebSocket as `member` (token in the URL, or in a first `auth` frame), offering
    permessage-deflate as browsers do unless `compression` is None."""
    query: list[str] = []
    secret = token if token is not None else (member.token if member else None)
    if secret is not None and not auth_frame:
        query.append(f"token={secret}")
    if since is not None:
        query.append(f"since={since}")
    url = server.ws_url + ("?" + "&".join(query) if query else "")
    async with connect(url, open_timeout=10, close_timeout=2, compression=compression) as ws:
        dev = Device(ws, member)
        if auth_frame:
            await dev.send({"type": "auth", "token": secret})
        hello = await dev.recv()
        assert hello["type"] == "hello", hello
        assert hello["seq"] is None
        dev.hello = hello
        yield dev
