"""Delivery, reads and typing: the live half of messaging (DESIGN §4)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from rapport.domain.audience import others, typing_audience
from rapport.domain.errors import Invalid, NotFound
from rapport.domain.events import EventType, frame
from rapport.domain.limits import TYPING_TTL
from rapport.domain.model import ConversationId, ConversationKind, Member, MemberId
from rapport.domain.receipts import RECEIPT_KINDS, is_receipt_shared, may_see_receipt, receipts_shown_now
from rapport.services import sponsored
from rapport.services.context import Context
from rapport.services.rate_limits import Action
from rapport.services.shapes import iso, member_json
from rapport.services.uow import UnitOfWork, encode
from rapport.store import conversations, members, social
from rapport.store import messages as store


async def mark_read(ctx: Context, reader: Member, *, conversation_id: int, message_id: int) -> None:
    """Record that the reader's open thread showed messages up to `message_id`.

    The reader's own unread count always falls. The other member of a 1:1 thread learns of
    the read only as domain.receipts allows, decided now and kept with the receipt.
    """
    async with UnitOfWork(ctx) as uow:
        conversation = await conversations.get(uow.conn, conversation_id=conversation_id)
        participants = (
            await conversations.list_participants(uow.conn, conversation_id=conversation_id) if conversation else []
        )
        me = next((p for p in participants if p.member_id == reader.id), None)
        message = await store.get(uow.conn, message_id=message_id)
        if conversation is None or me is None:
            raise NotFound("No such conversation.", code="conversation_not_found")
        if message is None or message.conversation_id != conversation.id or message.id <= me.cleared_through:
            raise NotFound("No such message.", code="message_not_found")
        if message.id <= me.read_up_to and not me.marked_unread:
            return
        unread = await store.count_unread(
            uow.conn, conversation_id=conversation.id, member_id=reader.id, after=message.id
        )
        await conversations.record_read(
            uow.conn,
            conversation_id=conversation.id,
            member_id=reader.id,
            read_up_to=max(message.id, me.read_up_to),
            delivered_up_to=max(message.id, me.delivered_up_to),
            unread=unread,
        )
        uow.emit(
            EventType.CONVERSATION_UPDATED,
            [reader.id],
            {"conversation_id": str(conversation.id), "unread_count": unread},
        )
        if conversation.kind is ConversationKind.SPONSORED and me.read_up_to == 0:
            await sponsored.record_open(uow, conversation_id=conversation.id, member_id=reader.id)
        rest = others((p.member_id for p in participants), reader.id)
        if message.id <= me.read_up_to or conversation.kind not in RECEIPT_KINDS or len(rest) != 1:
            return
        # Switches are read inside this transaction: a socket's member may be older than a
        # switch flipped since it connected.
        other = await members.get(uow.conn, member_id=rest[0])
        fresh_reader = await members.get(uow.conn, member_id=reader.id)
        if other is None or fresh_reader is None:
            return
        reader = fresh_reader
        blocked = await social.is_blocked_either_way(uow.conn, a=reader.id, b=other.id)
        shared = is_receipt_shared(
            kind=conversation.kind,
            reader_switch=reader.settings.read_receipts_and_typing,
            sender_switch=other.settings.read_receipts_and_typing,
            blocked=blocked,
        )
        if not shared:
            return
        await store.add_receipt(
            uow.conn,
            conversation_id=conversation.id,
            reader_id=reader.id,
            message_id=message.id,
            at=uow.now,
            shared=True,
        )
        if may_see_receipt(
            kind=conversation.kind,
            shared=shared,
            reader_switch=reader.settings.read_receipts_and_typing,
            viewer_switch=other.settings.read_receipts_and_typing,
            blocked=blocked,
            network_receipts=await ctx.network.receipts_enabled(uow.conn),
        ):
            uow.emit(
                EventType.MESSAGE_READ,
                [other.id],
                {
                    "conversation_id": str(conversation.id),
                    "message_id": str(message.id),
                    "reader": member_json(reader),
                    "read_at": uow.at,
                },
            )


async def mark_delivered(ctx: Context, recipient: MemberId, up_to: Mapping[int, int]) -> None:
    """A device of `recipient` holds these messages: tell their senders `delivered`.

    `up_to` maps conversation id -> newest message id received. Delivery is not a read and
    is not governed by the privacy switch; it is what "delivered" means to the sender.
    """
    if not up_to:
        return
    async with UnitOfWork(ctx) as uow:
        moved = await conversations.advance_delivered(uow.conn, member_id=recipient, up_to=up_to)
        if not moved:
            return
        ids = await conversations.participant_ids_for(uow.conn, conversation_ids=moved)
        who = await members.get(uow.conn, member_id=recipient)
        for conversation_id, message_id in moved.items():
            audience = others(ids.get(ConversationId(conversation_id), []), recipient)
            uow.emit(
                EventType.MESSAGE_DELIVERED,
                audience,
                {
                    "conversation_id": str(conversation_id),
                    "message_id": str(message_id),
                    "member": member_json(who) if who else None,
                },
            )


async def set_typing(ctx: Context, typist: Member, *, conversation_id: int, typing: bool) -> None:
    """Relay a typing state to the participants allowed to see it. Live only, never stored."""
    if not isinstance(typing, bool):
        raise Invalid("typing is true or false.", code="invalid_typing")
    await ctx.limits.hit(Action.TYPING, str(typist.id))
    view = await conversations.typing_view(ctx.db, conversation_id=conversation_id, member_id=typist.id)
    if view is None or typist.id not in view.switches:
        raise NotFound("No such conversation.", code="conversation_not_found")
    audience = typing_audience(
        kind=view.kind,
        typist=typist.id,
        switches=view.switches,
        blocked_pairs={frozenset((typist.id, m)) for m in view.blocked},
    )
    key = (ConversationId(conversation_id), typist.id)
    if typing:
        ctx.typing.arm(key, TYPING_TTL.total_seconds(), lambda: _expire(ctx, typist, conversation_id, audience))
    else:
        # A stop goes out even without a local start: another process may hold the start.
        ctx.typing.disarm(key)
    await _publish_typing(ctx, typist, conversation_id, audience, typing)


async def _expire(ctx: Context, typist: Member, conversation_id: int, audience: tuple[MemberId, ...]) -> None:
    """The automatic stop, 10 s on: only to those still in the conversation (someone removed
    meanwhile hears nothing more of it)."""
    async with ctx.db.read() as conn:
        current = set(await conversations.participant_ids(conn, conversation_id=conversation_id))
    await _publish_typing(ctx, typist, conversation_id, tuple(m for m in audience if m in current), False)


async def _publish_typing(
    ctx: Context, typist: Member, conversation_id: int, audience: tuple[MemberId, ...], typing: bool
) -> None:
    if not audience:
        return
    now = ctx.clock.now()
    body = encode(
        EventType.TYPING,
        iso(now) or "",
        {
            "conversation_id": str(conversation_id),
            "member": member_json(typist),
            "typing": typing,
            "expires_at": iso(now + TYPING_TTL) if typing else None,
        },
    )
    live = frame(None, body)
    await ctx.bus.publish([(m, live) for m in audience])


# Stored events that are receipts, and the field naming the member whose read it tells.
_RECEIPT_EVENTS = {EventType.MESSAGE_READ.value: "reader", EventType.INVITATION_VIEWED.value: "viewer"}


async def hidden_receipts(
    ctx: Context, conn: Any, viewer_id: MemberId, rows: Sequence[tuple[int, str, bytes]]
) -> set[int]:
    """The seqs of stored receipts in `rows` that `viewer_id` may not see now.

    A receipt was stored in the viewer's log when it was shared; replaying it later must
    ask again (DESIGN §4): a switch turned off since, on either side, a block, or the
    operator's switch hides it, and it shows again once they allow it.
    """
    readers: dict[int, MemberId] = {}
    for seq, type_, body in rows:
        field = _RECEIPT_EVENTS.get(type_)
        if field is not None:
            readers[seq] = MemberId(int(orjson.loads(body)[field]["id"]))
    if not readers:
        return set()
    others_ = set(readers.values())
    people = await members.list_by_ids(conn, ids={viewer_id, *others_})
    blocked = await social.blocked_among(conn, member_id=viewer_id, others=others_)
    network = await ctx.network.receipts_enabled(conn)
    viewer = people.get(viewer_id)

    def shown(reader_id: MemberId) -> bool:
        reader = people.get(reader_id)
        return (
            viewer is not None
            and reader is not None
            and receipts_shown_now(
                reader_switch=reader.settings.read_receipts_and_typing,
                viewer_switch=viewer.settings.read_receipts_and_typing,
                blocked=reader_id in blocked,
                network_receipts=network,
            )
        )

    return {seq for seq, reader_id in readers.items() if not shown(reader_id)}
