"""The live connection: stored events replayed from `since`, then live ones, with no gap
and no duplicate; client frames for ack, typing and read.

Order of operations on connect matters: subscribe to the bus first, then read the log.
Anything committed while the log is read arrives on the subscription too, and is dropped
there by sequence number; anything the bus may have lost (RESYNC) is re-read from the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from rapport.api.ws_wire import Wire
from rapport.bus import RESYNC, Subscription
from rapport.domain.errors import DomainError
from rapport.domain.events import EventType
from rapport.domain.model import Member
from rapport.services import accounts, events, receipts
from rapport.services.context import Context
from rapport.store import events as event_log
from rapport.store import members

router = APIRouter()
log = logging.getLogger(__name__)
WS_PATH = "/api/v1/ws"
AUTH_TIMEOUT = 10.0
RECENT_LIMIT = 5_000
_MESSAGE_NEW = EventType.MESSAGE_NEW.value  # an enum's .value is a property: read once, not per frame
TOO_SLOW = 4008
"""Close code: the socket fell too far behind (RAPPORT_WS_QUEUE_BYTES); reconnect with `since`."""


def frame_seq(frame: bytes) -> int | None:
    """The seq at the head of an encoded event (`{"seq":N,...`), without parsing the rest."""
    end = frame.find(b",", 7)
    head = frame[7:end]
    return None if head == b"null" else int(head)


class Connection:
    """One device's socket: what it was sent, and which messages it has yet to acknowledge."""

    def __init__(self, ctx: Context, ws: WebSocket, member: Member, token_hash: str) -> None:
        self.ctx = ctx
        self.ws = ws
        self.member = member
        self.token_hash = token_hash
        self.last_seq = 0
        self.unacked: dict[int, tuple[int, int]] = {}
        self._send_lock = asyncio.Lock()
        self._awaited = 0
        """ASGI sends started and not yet done: while any is, frames wait their turn behind it."""
        self._wire = Wire.of(ws._send)
        self._ending: asyncio.Task[None] | None = None

    @property
    def member_id(self) -> int:
        return self.member.id

    def end(self) -> None:
        """Its session was revoked: say so and close (the reader then ends the connection)."""
        if self._ending is None:
            self._ending = asyncio.get_running_loop().create_task(self._close_revoked())

    async def _close_revoked(self) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(AUTH_TIMEOUT):
                await self.send_json(
                    {"type": "error", "seq": None, "error": {"code": "session_ended", "message": "Signed out."}}
                )
        with contextlib.suppress(Exception):
            await self.ws.close(code=4401)

    @property
    def writes_directly(self) -> bool:
        """Whether its frames may go straight to the transport (api/ws_wire.py) when it can take them."""
        return self._wire is not None and self._wire.usable

    def write_now(self, frame: bytes) -> bool:
        """Write `frame` to the socket at once, without awaiting; False (nothing written) when
        it has to wait (a paused transport, an ASGI send under way) or cannot go that way."""
        return self._awaited == 0 and self._wire is not None and self._wire.try_write(frame)

    async def send(self, frame: bytes) -> None:
        if self.write_now(frame):
            return
        self._awaited += 1
        try:
            async with self._send_lock:
                await self.ws.send_text(frame.decode())
        finally:
            self._awaited -= 1

    async def send_json(self, value: Any) -> None:
        await self.send(orjson.dumps(value))

    def remember(self, seq: int, type_: str, frame: bytes) -> None:
        """Keep message.new events from others until the device acknowledges them."""
        if type_ != _MESSAGE_NEW:
            return
        conversation_id, message_id, sender_id = _message_facts(frame)
        if sender_id == self.member.id:
            return
        if len(self.unacked) >= RECENT_LIMIT:
            self.unacked.pop(next(iter(self.unacked)))
        self.unacked[seq] = (conversation_id, message_id)

    async def catch_up(self) -> None:
        while True:
            page = await events.read_since(self.ctx, self.member.id, self.last_seq)
            for seq, type_, frame in page.rows:
                await self.send(frame)
                self.remember(seq, type_, frame)
                self.last_seq = seq
            self.last_seq = page.last_seq  # past receipts hidden now, too
            if not page.more:
                return

    async def ack(self, upto: int) -> None:
        done = [s for s in self.unacked if s <= upto]
        up_to: dict[int, int] = {}
        for seq in done:
            conversation_id, message_id = self.unacked.pop(seq)
            up_to[conversation_id] = max(up_to.get(conversation_id, 0), message_id)
        await receipts.mark_delivered(self.ctx, self.member.id, up_to)


async def _authenticate(ctx: Context, ws: WebSocket) -> tuple[Member, str] | None:
    token = ws.query_params.get("token")
    if not token:
        # The token may come as the first frame, so it stays out of proxy logs.
        try:
            async with asyncio.timeout(AUTH_TIMEOUT):
                first = orjson.loads(await ws.receive_text())
            token = first.get("token") if isinstance(first, dict) and first.get("type") == "auth" else None
        except (TimeoutError, orjson.JSONDecodeError, WebSocketDisconnect, KeyError, TypeError):
            token = None
    if not token:
        return None
    try:
        return await accounts.authenticate(ctx, token=str(token)), accounts.token_hash(str(token))
    except DomainError:
        return None


async def websocket(ws: WebSocket) -> None:
    ctx: Context = ws.app.state.ctx
    await ws.accept()
    generation = ctx.sessions.generation
    found = await _authenticate(ctx, ws)
    if found is None:
        await _refuse(ws)
        return
    member, hashed = found
    conn = Connection(ctx, ws, member, hashed)
    ctx.sessions.attach(conn)
    try:
        # A revocation that came while the token was looked up has not seen this socket.
        if generation != ctx.sessions.generation and await _authenticate_again(ctx, hashed) is None:
            await _refuse(ws)
            return
        await _serve(ctx, conn)
    finally:
        ctx.sessions.detach(conn)


async def _authenticate_again(ctx: Context, hashed: str) -> Member | None:
    return await members.member_for_token(ctx.db, token_hash=hashed)


async def _refuse(ws: WebSocket) -> None:
    with contextlib.suppress(Exception):
        await ws.send_text(
            orjson.dumps({"type": "error", "error": {"code": "unauthorized", "message": "Sign in again."}}).decode()
        )
        await ws.close(code=4401)


async def _serve(ctx: Context, conn: Connection) -> None:
    ws, member = conn.ws, conn.member
    since = ws.query_params.get("since")
    async with ctx.bus.subscribe(member.id, byte_limit=ctx.settings.ws_queue_bytes) as sub:
        if since is not None and since.isdigit():
            conn.last_seq = int(since)
        else:
            async with ctx.db.read() as db:
                conn.last_seq = await event_log.last_seq(db, member_id=member.id)
        await conn.send_json({"type": "hello", "seq": None, "member": member.handle, "since": conn.last_seq})
        try:
            await conn.catch_up()
            pump = _Pump(conn, sub)
            try:
                await _read_frames(conn)
            finally:
                await pump.stop()
        except (WebSocketDisconnect, RuntimeError):
            pass


class _Pump:
    """Forwards the subscription's frames to the socket, in order.

    Its task exists only while frames are waiting, so an idle socket costs one task (the
    one reading it), not a reader, a forwarder and a waiter. It starts listening after the
    first catch-up, and drains what queued during it.
    """

    def __init__(self, conn: Connection, sub: Subscription) -> None:
        self.conn = conn
        self.sub = sub
        self.task: asyncio.Task[None] | None = None
        self.broken = False
        sub.listener = self.wake
        self.wake()

    def wake(self) -> None:
        if self.broken:
            return
        if self.sub.overflowed:
            # Too slow a reader: stop sending (the pump may wait on a full socket) and close.
            # Nothing is lost: the client reconnects with `since` and reads the log.
            self.broken = True
            if self.task is not None:
                self.task.cancel()
            self.task = asyncio.create_task(self._close_too_slow())
        elif self.task is None or self.task.done():
            try:
                if self._forward_now():
                    return
            except Exception:
                self._fail()
                return
            self.task = asyncio.create_task(self._drain())

    def _forward_now(self) -> bool:
        """Forward queued frames in the caller's turn (the bus's delivery), with no task and
        no await, while each can be written at once; True when none is left. A frame that
        must wait (a paused socket) or needs the log (a gap, RESYNC) stays for the task."""
        conn, sub = self.conn, self.sub
        while (frame := sub.peek()) is not None:
            if frame == RESYNC:
                return False
            seq = frame_seq(frame)
            if seq is None:
                if not conn.write_now(frame):  # live-only: typing
                    return False
            elif seq == conn.last_seq + 1:
                if not conn.write_now(frame):
                    return False
                conn.last_seq = seq
                conn.remember(seq, _type_of(frame), frame)
            elif seq > conn.last_seq:
                return False  # a frame came ahead of one still in flight: the task reads the log
            sub.get_nowait()
        return True

    def _fail(self) -> None:
        self._broken()
        self.task = asyncio.create_task(self._close(1011))

    def _broken(self) -> None:
        """The socket is gone (or the log unreadable): it is closed, so the reader ends too
        and the device reconnects with `since`."""
        self.broken = True
        log.debug("closing a socket whose frames could not be sent", exc_info=True)

    async def _close(self, code: int) -> None:
        with contextlib.suppress(Exception):
            await self.conn.ws.close(code=code)

    async def _close_too_slow(self) -> None:
        log.info("closing a socket more than %d bytes behind (member %d)", self.sub.byte_limit, self.conn.member.id)
        with contextlib.suppress(Exception):
            await self.conn.ws.close(code=TOO_SLOW, reason="too slow: reconnect with since")

    async def stop(self) -> None:
        self.sub.listener = None
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task

    async def _drain(self) -> None:
        try:
            while (frame := self.sub.get_nowait()) is not None:
                await self._forward(frame)
        except asyncio.CancelledError:
            raise
        except Exception:
            self._broken()
            await self._close(1011)

    async def _forward(self, frame: bytes) -> None:
        conn = self.conn
        if frame == RESYNC:
            await conn.catch_up()
            return
        seq = frame_seq(frame)
        if seq is None:
            await conn.send(frame)  # live-only: typing
        elif seq == conn.last_seq + 1:
            await conn.send(frame)
            conn.last_seq = seq
            conn.remember(seq, _type_of(frame), frame)
        elif seq > conn.last_seq:
            await conn.catch_up()  # a frame came ahead of one still in flight: use the log


# A plain Starlette route: FastAPI's WebSocket route keeps three exit stacks per socket
# for dependencies this endpoint does not use, and every idle socket holds them.
router.add_websocket_route(WS_PATH, websocket)


def _type_of(frame: bytes) -> str:
    start = frame.find(b'"type":"') + 8
    return frame[start : frame.find(b'"', start)].decode()


class _LastMessage:
    """(conversation id, message id, sender id) of the message.new frame read last.

    A message to a group chat reaches its 51 sockets as 51 frames that differ only in the
    seq at their head: the rest is read once, not once a socket. One entry is enough, as
    the frames of one event are delivered one after another."""

    __slots__ = ("facts", "tail")

    def __init__(self) -> None:
        self.tail = b""
        self.facts = (0, 0, 0)

    def facts_of(self, frame: bytes) -> tuple[int, int, int]:
        start = frame.find(b",", 7) + 1  # after `{"seq":N,`: the event without its seq
        tail = self.tail
        if tail and len(frame) - start == len(tail) and frame.endswith(tail):
            return self.facts
        event = orjson.loads(frame)
        message = event["message"]
        sender = (message.get("sender") or {}).get("id")
        self.facts = (int(event["conversation_id"]), int(message["id"]), int(sender) if sender else 0)
        self.tail = frame[start:]
        return self.facts


_message_facts = _LastMessage().facts_of


_BAD_FRAME = {
    "type": "error",
    "seq": None,
    "error": {"code": "bad_frame", "message": "That frame is not one this server understands."},
}
_BINARY_FRAME = {
    "type": "error",
    "seq": None,
    "error": {"code": "bad_frame", "message": "Frames are JSON text; binary frames are not read."},
}


async def _read_frames(conn: Connection) -> None:
    while True:
        try:
            message = await conn.ws.receive()
        except (WebSocketDisconnect, RuntimeError):
            return
        if message["type"] == "websocket.disconnect":
            return
        raw = message.get("text")
        if raw is None:  # a binary frame: answered, and the socket stays
            await conn.send_json(_BINARY_FRAME)
            continue
        try:
            frame = orjson.loads(raw)
            if not isinstance(frame, dict):
                raise ValueError
            await _handle(conn, frame)
        except DomainError as exc:
            await conn.send_json({"type": "error", "seq": None, "error": {"code": exc.code, "message": exc.message}})
        except (ValueError, TypeError, KeyError):
            await conn.send_json(_BAD_FRAME)


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) <= 19:
        return int(value)
    raise ValueError


async def _handle(conn: Connection, frame: dict[str, Any]) -> None:
    kind = frame.get("type")
    if kind == "ack":
        await conn.ack(_int(frame["seq"]))
    elif kind == "typing":
        typing = frame.get("typing", True)
        if not isinstance(typing, bool):
            raise ValueError
        await receipts.set_typing(conn.ctx, conn.member, conversation_id=_int(frame["conversation_id"]), typing=typing)
    elif kind == "read":
        await receipts.mark_read(
            conn.ctx, conn.member, conversation_id=_int(frame["conversation_id"]), message_id=_int(frame["message_id"])
        )
    elif kind == "ping":
        await conn.send_json({"type": "pong", "seq": None})
    else:
        raise ValueError
