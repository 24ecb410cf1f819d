"""Event frames written straight to a socket's transport, without an await or a task.

A message to a 51-person group chat is one frame for each of 51 sockets. Through ASGI each
costs an awaited `send` (Starlette, then uvicorn's `await writable.wait()`, then the
`websockets` protocol object building a Frame and serializing it): most of the server's
CPU per frame, bar the write itself. A server frame is not masked (RFC 6455 §5.1), so a
text frame is a two to ten byte header and the payload: built here and written at once.

Only what uvicorn's `websockets-sansio` protocol (what `rapport serve` runs) serves goes this
way, and only while that socket is open, takes writes without waiting (its transport is
not paused) and has no extension negotiated: permessage-deflate (browsers offer it) keeps
the ASGI path, which compresses. Otherwise `try_write` says no and the caller awaits the
ASGI send as before. Frames written either way leave in order: uvicorn writes each frame
whole, and the caller writes here only while no ASGI send of its own is under way.
"""

from __future__ import annotations

import struct
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

_TEXT = 0x81  # FIN, opcode 1 (text); no RSV bit: not compressed


def text_frame(payload: bytes) -> bytes:
    """A whole, unmasked text frame carrying `payload` (UTF-8 JSON)."""
    n = len(payload)
    if n < 126:
        return bytes((_TEXT, n)) + payload
    if n < 65_536:
        return struct.pack("!BBH", _TEXT, 126, n) + payload
    return struct.pack("!BBQ", _TEXT, 127, n) + payload


class Wire:
    """The transport under one accepted uvicorn `websockets-sansio` socket."""

    __slots__ = ("_proto",)

    def __init__(self, proto: Any) -> None:
        self._proto = proto

    @classmethod
    def of(cls, send: Any) -> Wire | None:
        """The wire under an ASGI `send`, when it is uvicorn's sans-I/O protocol's own (not
        wrapped by middleware, not another server or protocol implementation)."""
        proto = getattr(send, "__self__", None)
        if not isinstance(proto, WebSocketsSansIOProtocol):  # or the keepalive's subclass (api/keepalive.py)
            return None
        if not all(hasattr(proto, name) for name in ("conn", "transport", "writable", "close_sent", "disconnected")):
            return None
        return cls(proto)

    @property
    def usable(self) -> bool:
        """Open, and with no extension that would have to transform its frames."""
        return self._proto.conn.state is State.OPEN and not self._proto.conn.extensions

    def try_write(self, payload: bytes) -> bool:
        """Write `payload` as one text frame now; False (nothing written) when the socket cannot
        take it without waiting or is closing: the caller then uses the ASGI send."""
        proto = self._proto
        if proto.close_sent or proto.disconnected or not proto.writable.is_set():
            return False
        conn = proto.conn
        if conn.state is not State.OPEN or conn.extensions:
            return False
        transport = proto.transport
        if transport.is_closing():
            return False
        transport.write(text_frame(payload))
        return True
