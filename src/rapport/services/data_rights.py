"""The member's data rights (API.md "Safety"): a copy of their data, and erasure.

Export: a zip streamed as it is written — JSON files, then the files the member sent, read
from the blob store chunk by chunk — so neither the archive nor any attachment is ever held
whole in memory. It holds what the member sees, through the same services the API uses:
their conversations and messages as shown to them (receipts only as the rules let them see
them; what they deleted for themselves is not there), their profile, settings,
connections, invitations and blocks. Nothing of another member that the member could not see.

Erasure: one transaction removes the member's row, and with it (by the schema's cascades)
their profile, connections, blocks, invitations, receipts, reactions, notifications,
subscriptions, events and tokens; their messages stay for the other participants with the
sender shown as "Deleted member". Files they sent are removed after the commit, unless
another row still names the same content.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from typing import Any

import orjson

from rapport.domain.model import Member
from rapport.services import accounts, connections, conversations, members, messages
from rapport.services import attachments as attachment_service
from rapport.services.context import Context
from rapport.services.sessions import end_sessions
from rapport.services.shapes import iso, member_json, settings_json
from rapport.store import attachments as attachment_store
from rapport.store import members as member_store

PAGE = 200
JSON_OPTIONS = orjson.OPT_INDENT_2


class _Sink(io.RawIOBase):
    """Where zipfile writes: bytes wait here until the response takes them.

    Not seekable, so zipfile writes each entry's sizes after its data (a data descriptor)
    instead of seeking back: the archive can be sent as it is made."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._buffer += data
        return len(data)

    def take(self) -> bytes:
        data = bytes(self._buffer)
        self._buffer.clear()
        return data


async def export(ctx: Context, viewer: Member) -> AsyncIterator[bytes]:
    """The member's data as a zip, chunk by chunk (see the module's docstring)."""
    sink = _Sink()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:

        def add_json(name: str, value: Any) -> None:
            archive.writestr(name, orjson.dumps(value, option=JSON_OPTIONS))

        found = await members.me(ctx, viewer)
        async with ctx.db.read() as conn:
            account = await member_store.get_account(conn, member_id=viewer.id)
        add_json(
            "profile.json",
            {
                "member": member_json(viewer),
                "email": account["email"] if account else None,
                "created_at": iso(account["created_at"]) if account else None,
                "settings": settings_json(viewer),
                "inmail_credits": found["inmail_credits"],
            },
        )
        yield sink.take()
        add_json("connections.json", [member_json(m) for m in await connections.list_connections(ctx, viewer)])
        add_json(
            "invitations.json",
            {
                direction: await connections.list_invitations(ctx, viewer, direction=direction)
                for direction in ("received", "sent")
            },
        )
        add_json("blocked.json", [member_json(m) for m in await connections.list_blocked(ctx, viewer)])
        yield sink.take()
        index = []
        for filter_ in ("all", "archived"):
            cursor: str | None = None
            while True:
                page = await conversations.inbox(ctx, viewer, filter=filter_, cursor=cursor, limit=100)
                for conversation in page["conversations"]:
                    history = await _history(ctx, viewer, int(conversation["id"]))
                    add_json(f"conversations/{conversation['id']}.json", {**conversation, "messages": history})
                    index.append({"id": conversation["id"], "kind": conversation["kind"], "messages": len(history)})
                    yield sink.take()
                cursor = page["next_cursor"]
                if cursor is None:
                    break
        add_json("conversations.json", index)
        yield sink.take()
        async for chunk in _attachments(ctx, viewer, archive, sink):
            yield chunk
    yield sink.take()  # the central directory, written on close


async def _history(ctx: Context, viewer: Member, conversation_id: int) -> list[dict[str, Any]]:
    """Every message the member sees in a conversation, oldest first."""
    found: list[dict[str, Any]] = []
    before: int | None = None
    while True:
        page = await messages.list_messages(ctx, viewer, conversation_id=conversation_id, before=before, limit=PAGE)
        found.extend(page)
        if len(page) < PAGE:
            return found[::-1]
        before = int(page[-1]["id"])


async def _attachments(ctx: Context, viewer: Member, archive: zipfile.ZipFile, sink: _Sink) -> AsyncIterator[bytes]:
    """The files the member sent, streamed from the blob store into the archive."""
    async with ctx.db.read() as conn:
        rows = await attachment_store.list_sent_by(conn, owner_id=viewer.id)
    blobs = attachment_service.blobs(ctx)
    listing = []
    for row in rows:
        name = f"attachments/{row.id}-{row.name}"
        if row.size and await blobs.size(row.sha256) is None:
            continue  # its file is gone (removed by an operator?): list nothing we cannot give
        info = zipfile.ZipInfo(name, date_time=row.created_at.timetuple()[:6])
        info.compress_type = zipfile.ZIP_STORED  # pictures and videos are compressed already
        with archive.open(info, mode="w", force_zip64=True) as entry:
            if row.size:
                async for chunk in blobs.read(row.sha256, start=0, end=row.size - 1):
                    entry.write(chunk)
                    yield sink.take()
        listing.append(
            {
                "file": name,
                "id": str(row.id),
                "name": row.name,
                "content_type": row.content_type,
                "size": row.size,
                "conversation_id": str(row.conversation_id) if row.conversation_id else None,
                "message_id": str(row.message_id) if row.message_id else None,
            }
        )
    archive.writestr("attachments.json", orjson.dumps(listing, option=JSON_OPTIONS))
    yield sink.take()


async def erase(ctx: Context, viewer: Member, *, password: str) -> None:
    """Erase the account, with the member's password (see the module's docstring)."""
    await accounts.verify_password(ctx, viewer, password)
    async with ctx.db.write() as conn:
        keys = await attachment_store.keys_owned_by(conn, owner_id=viewer.id)
        await member_store.erase(conn, member_id=viewer.id)
    await end_sessions(ctx, viewer.id)
    await attachment_service.collect(ctx, keys)
