"""Posting, listing, editing and deleting messages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.domain import credits
from rapport.domain.audience import message_audience
from rapport.domain.errors import Conflict, DomainError, Invalid, NotFound, NotPermitted
from rapport.domain.events import EventType
from rapport.domain.mentions import mentioned as mentions_in
from rapport.domain.mentions import newly_mentioned
from rapport.domain.messages import check_body, check_edit, check_reaction
from rapport.domain.model import ConversationId, ConversationKind, InMailState, Member, MemberId
from rapport.domain.policy import may_reply
from rapport.domain.receipts import RECEIPT_KINDS, may_see_receipt
from rapport.services import attachments as attachment_service
from rapport.services import notifications, sponsored
from rapport.services.context import Context
from rapport.services.rate_limits import Action
from rapport.services.shapes import NO_READS, ReadView, message_json
from rapport.services.uow import UnitOfWork
from rapport.store import conversations, members, social
from rapport.store import messages as store
from rapport.store.conversations import ConversationRow, ParticipantRow
from rapport.store.messages import MessageRow


async def replay(uow: UnitOfWork, sender: Member, client_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """A retried send: the message already stored under this client id, if any."""
    found = await store.get_by_client_id(uow.conn, sender_id=sender.id, client_id=client_id)
    if found is None:
        return None
    from rapport.services.conversations import view_for

    conversation = await conversations.get(uow.conn, conversation_id=found.conversation_id)
    assert conversation is not None
    message = await render(uow.conn, conversation, found, viewer=sender.id)
    return await view_for(uow.conn, conversation, sender.id), message


async def post(
    uow: UnitOfWork,
    *,
    conversation: ConversationRow,
    participant_ids: Sequence[MemberId],
    sender: Member,
    body: str,
    client_id: str | None,
    attachments: Sequence[str],
    people: Mapping[MemberId, Member],
) -> dict[str, Any]:
    """Store a message, move the thread up every inbox, and announce it to all participants.

    `@handle`s of participants are mentions: stored with the message, and each mentioned
    member (but the sender) gets a `mention` notification, muted conversation or not.
    """
    people = dict(people)
    mentioned: tuple[MemberId, ...] = ()
    if "@" in body:  # the common message pays no lookup
        mentioned = mentions_in(body, await _handles(uow.conn, participant_ids, people))
    row = await store.add(
        uow.conn,
        conversation_id=conversation.id,
        sender_id=sender.id,
        body=body,
        at=uow.now,
        client_id=client_id,
        attachment_count=len(attachments),
        mentions=mentioned,
    )
    if row is None:  # this client id was used before: a retry, or a race with one
        raise AlreadySent()
    await _notify_mentioned(uow, mentioned, actor=sender, message_id=row.id, conversation_id=conversation.id)
    files = await attachment_service.claim(
        uow, ids=attachments, owner=sender.id, message_id=row.id, conversation_id=conversation.id
    )
    await conversations.record_message(
        uow.conn, conversation_id=conversation.id, message_id=row.id, sender_id=sender.id, at=uow.now
    )
    others = [m for m in participant_ids if m != sender.id]
    await notifications.schedule_message_alert(uow, conversation_id=conversation.id)
    uow.emit(
        EventType.MESSAGE_NEW,
        others,
        {
            "conversation_id": str(conversation.id),
            "message": message_json(row, viewer=MemberId(0), members=people, attachments=files),
        },
    )
    own = message_json(row, viewer=sender.id, members=people, attachments=files)
    uow.emit(EventType.MESSAGE_NEW, [sender.id], {"conversation_id": str(conversation.id), "message": own})
    return own


async def _handles(
    conn: AsyncConnection, participant_ids: Sequence[MemberId], people: dict[MemberId, Member]
) -> dict[str, MemberId]:
    """Participants by handle, for mentions; fills `people` with those it had to load."""
    missing = [m for m in participant_ids if m not in people]
    if missing:
        people.update(await members.list_by_ids(conn, ids=missing))
    return {people[m].handle: m for m in participant_ids if m in people}


async def post_system(
    uow: UnitOfWork,
    *,
    conversation: ConversationRow,
    participant_ids: Sequence[MemberId],
    actor: Member,
    line: dict[str, Any],
    body: str,
) -> dict[str, Any]:
    """A system line in the thread (who added or removed whom, a new title), from `actor`.

    It is a message like any other for history, unread counts and events, with `system`
    saying what happened; `body` says it in words for clients that do not know `system`.
    """
    row = await store.add(
        uow.conn,
        conversation_id=conversation.id,
        sender_id=actor.id,
        body=body,
        at=uow.now,
        client_id=None,
        system=line,
    )
    assert row is not None
    await conversations.record_message(
        uow.conn, conversation_id=conversation.id, message_id=row.id, sender_id=actor.id, at=uow.now
    )
    shown = message_json(row, viewer=MemberId(0), members={actor.id: actor})
    uow.emit(
        EventType.MESSAGE_NEW,
        [m for m in participant_ids if m != actor.id],
        {"conversation_id": str(conversation.id), "message": shown},
    )
    own = message_json(row, viewer=actor.id, members={actor.id: actor})
    if actor.id in participant_ids:  # one who just left hears nothing more of it
        uow.emit(EventType.MESSAGE_NEW, [actor.id], {"conversation_id": str(conversation.id), "message": own})
    return own


async def reply(
    ctx: Context,
    sender: Member,
    *,
    conversation_id: int,
    body: str,
    client_id: str | None = None,
    attachments: Sequence[str] = (),
) -> tuple[dict[str, Any], bool]:
    """Add a message to an existing conversation; returns (message, created).

    A retry is found by the insert itself (a client id already used inserts nothing), so a
    first send pays no lookup. A retry still gets the message it first stored even if the
    rules would refuse it now (e.g. a block since): what was accepted stays accepted.
    """
    await ctx.limits.hit(Action.SEND, str(sender.id))
    async with UnitOfWork(ctx) as uow:
        try:
            conversation, ids = await _check_reply(uow, sender, conversation_id, body, attachments)
            message = await post(
                uow,
                conversation=conversation,
                participant_ids=ids,
                sender=sender,
                body=body,
                client_id=client_id,
                attachments=attachments,
                people={sender.id: sender},  # a message shows only its sender
            )
        except (AlreadySent, Refused) as error:  # raised before anything was written
            return await _retried(uow, sender, client_id, conversation_id, error.__cause__ or error), False
        if (
            conversation.kind is ConversationKind.INMAIL
            and sender.id == conversation.inmail_recipient_id
            and conversation.inmail_state is InMailState.PENDING
        ):
            await answer_inmail(uow, conversation, InMailState.ACCEPTED)
    return message, True


class Refused(Exception):
    """A check refused the send; its cause is the refusal to report if this is no retry."""


class AlreadySent(Conflict):
    def __init__(self) -> None:
        super().__init__("This message was already sent; retry to get it.", code="duplicate_client_id")


async def _retried(
    uow: UnitOfWork, sender: Member, client_id: str | None, conversation_id: int, error: BaseException
) -> dict[str, Any]:
    """The message a retry first stored; else the send's own refusal."""
    existing = await replay(uow, sender, client_id) if client_id is not None else None
    if existing is None:
        raise error
    if existing[1]["conversation_id"] != str(conversation_id):
        raise Conflict("That client_id was used for another message.", code="client_id_reused")
    return existing[1]


async def _check_reply(
    uow: UnitOfWork, sender: Member, conversation_id: int, body: str, attachments: Sequence[str]
) -> tuple[ConversationRow, list[MemberId]]:
    """May `sender` write here? Reads only: a refusal comes wrapped in `Refused`."""
    try:
        conversation = await conversations.get(uow.conn, conversation_id=conversation_id)
        members = (
            await conversations.participants_blocking(uow.conn, conversation_id=conversation_id, member_id=sender.id)
            if conversation
            else []
        )
        ids = [member for member, _ in members]
        if conversation is None or sender.id not in ids:
            raise NotFound("No such conversation.", code="conversation_not_found")
        if conversation.kind is ConversationKind.SPONSORED:
            raise NotPermitted("Sponsored messages cannot be answered.", code="sponsored_no_reply")
        blocked = any(block for member, block in members if member != sender.id)
        refusal = may_reply(is_participant=True, blocked_pair=blocked, one_to_one=conversation.is_one_to_one)
        if refusal is not None:
            raise NotPermitted(refusal.message, code=refusal.reason)
        if conversation.kind is ConversationKind.INMAIL:
            _check_inmail_turn(conversation, sender.id)
        check_body(body, attachments=len(attachments), inmail=False)
    except DomainError as error:
        raise Refused() from error
    return conversation, ids


def _check_inmail_turn(conversation: ConversationRow, sender: MemberId) -> None:
    """The InMail's sender waits for an answer; after "not interested" the thread is closed to them."""
    if sender != conversation.inmail_sender_id:
        return
    if conversation.inmail_state is InMailState.PENDING:
        raise NotPermitted("Wait for a reply before writing again.", code="inmail_awaiting_reply")
    if conversation.inmail_state is InMailState.DECLINED:
        raise NotPermitted("This member is not interested.", code="inmail_declined")


async def answer_inmail(uow: UnitOfWork, conversation: ConversationRow, state: InMailState) -> None:
    """Record the recipient's answer, and give the credit back when it came within 90 days."""
    await conversations.save_inmail_state(uow.conn, conversation_id=conversation.id, state=state, at=uow.now)
    sender = conversation.inmail_sender_id
    if sender is not None and credits.is_give_back_due(
        charged=conversation.inmail_charged, sent_at=conversation.created_at, answered_at=uow.now
    ):
        tier, ledger = await members.get_ledger(uow.conn, member_id=sender)
        ledger = credits.give_back(ledger, tier, uow.now)
        await members.save_ledger(uow.conn, member_id=sender, ledger=ledger)


async def read_view(
    ctx: Context,
    conn: AsyncConnection,
    conversation: ConversationRow,
    viewer: MemberId,
    participants: Sequence[ParticipantRow],
    people: Mapping[MemberId, Member],
    from_message_id: int,
) -> ReadView:
    """What the viewer may see of the others' delivery and reads (domain.receipts decides)."""
    others = [p for p in participants if p.member_id != viewer]
    delivered = min((p.delivered_up_to for p in others), default=0)
    if conversation.kind not in RECEIPT_KINDS or len(others) != 1:
        return ReadView(delivered_through=delivered)
    other = others[0].member_id
    blocked = await social.is_blocked_either_way(conn, a=viewer, b=other)
    # Switches as stored now (`people` was just read), not as a cached session saw them.
    reader, me = people.get(other), people.get(viewer)
    if (
        reader is None
        or me is None
        or not may_see_receipt(
            kind=conversation.kind,
            shared=True,
            reader_switch=reader.settings.read_receipts_and_typing,
            viewer_switch=me.settings.read_receipts_and_typing,
            blocked=blocked,
            network_receipts=await ctx.network.receipts_enabled(conn),
        )
    ):
        return ReadView(delivered_through=delivered)
    receipts = await store.shared_receipts(
        conn, conversation_id=conversation.id, reader_id=other, from_message_id=from_message_id
    )
    return ReadView(delivered_through=delivered, receipts=receipts, reader=people.get(other))


async def render(
    conn: AsyncConnection, conversation: ConversationRow, row: MessageRow, *, viewer: MemberId
) -> dict[str, Any]:
    """One message as `viewer` sees it now (used for replays; status comes from listings)."""
    people = await members.list_by_ids(conn, ids=[row.sender_id] if row.sender_id else [])
    files = await attachment_service.for_messages(conn, [row.id])
    return message_json(row, viewer=viewer, members=people, attachments=files.get(row.id, ()))


async def list_messages(
    ctx: Context, viewer: Member, *, conversation_id: int, before: int | None, limit: int
) -> list[dict[str, Any]]:
    """A page of history, newest first, with the sender's status on the viewer's own messages."""
    if not 1 <= limit <= 200:
        raise Invalid("limit is between 1 and 200.", code="invalid_limit")
    async with ctx.db.read() as conn:
        conversation = await conversations.get(conn, conversation_id=conversation_id)
        participants = (
            await conversations.list_participants(conn, conversation_id=conversation_id) if conversation else []
        )
        me = next((p for p in participants if p.member_id == viewer.id), None)
        if conversation is None or me is None:
            raise NotFound("No such conversation.", code="conversation_not_found")
        rows = await store.list_page(
            conn, conversation_id=conversation.id, after=me.cleared_through, before=before, limit=limit
        )
        # Senders too: a sponsored message's sender (the advertiser) is no participant.
        wanted = {p.member_id for p in participants} | {m for r in rows for m in r.mentioned_ids}
        people = await members.list_by_ids(conn, ids=wanted | {r.sender_id for r in rows if r.sender_id})
        reads = (
            await read_view(ctx, conn, conversation, viewer.id, participants, people, rows[-1].id) if rows else NO_READS
        )
        ids = [r.id for r in rows]
        reactions = await store.reactions_for(conn, message_ids=ids)
        files = await attachment_service.for_messages(conn, ids)
        shown = [
            message_json(
                r,
                viewer=viewer.id,
                members=people,
                reads=reads,
                reactions=reactions.get(r.id, ()),
                attachments=files.get(r.id, ()),
            )
            for r in rows
        ]
        if conversation.kind is ConversationKind.SPONSORED:
            await sponsored.decorate(conn, conversation_id=conversation.id, viewer=viewer, shown=shown)
    return shown


async def last_messages(
    conn: AsyncConnection,
    page: Sequence[tuple[ConversationRow, ParticipantRow]],
    viewer: MemberId,
    people: Mapping[MemberId, Member],
) -> dict[ConversationId, dict[str, Any]]:
    """The newest message of each conversation, unless the viewer deleted it for themselves."""
    wanted = {c.last_message_id for c, p in page if c.last_message_id and c.last_message_id > p.cleared_through}
    rows = await store.list_by_ids(conn, ids=wanted)
    senders = {r.sender_id for r in rows.values() if r.sender_id and r.sender_id not in people}
    if senders:
        people = {**people, **await members.list_by_ids(conn, ids=senders)}
    # Files only where a message has some, so that the inbox can say "📎 report.pdf".
    with_files = [r.id for r in rows.values() if r.attachment_count and not r.deleted]
    files = await attachment_service.for_messages(conn, with_files) if with_files else {}
    out: dict[ConversationId, dict[str, Any]] = {}
    for conversation, _participant in page:
        row = rows.get(conversation.last_message_id) if conversation.last_message_id else None
        if row is not None:
            reads = ReadView(delivered_through=0)
            out[conversation.id] = message_json(
                row, viewer=viewer, members=people, reads=reads, attachments=files.get(row.id, ())
            )
            if row.sender_id == viewer:
                out[conversation.id]["status"] = None
                out[conversation.id]["read_by"] = None
    return out


async def _own_message(
    uow: UnitOfWork, viewer: Member, conversation_id: int, message_id: int
) -> tuple[ConversationRow, MessageRow, list[ParticipantRow]]:
    conversation = await conversations.get(uow.conn, conversation_id=conversation_id)
    participants = (
        await conversations.list_participants(uow.conn, conversation_id=conversation_id) if conversation else []
    )
    row = await store.get(uow.conn, message_id=message_id)
    me = next((p for p in participants if p.member_id == viewer.id), None)
    if (
        conversation is None
        or me is None
        or row is None
        or row.conversation_id != conversation.id
        or row.id <= me.cleared_through
    ):
        raise NotFound("No such message.", code="message_not_found")
    return conversation, row, participants


def _not_system(row: MessageRow) -> None:
    if row.system is not None:
        raise Conflict("A system line cannot be changed.", code="system_message")


def _audience(participants: Sequence[ParticipantRow], message_id: int) -> tuple[MemberId, ...]:
    """Participants who still have the message in their view."""
    return message_audience(p.member_id for p in participants if p.cleared_through < message_id)


async def edit(ctx: Context, viewer: Member, *, conversation_id: int, message_id: int, body: str) -> dict[str, Any]:
    """Change a message's body within 60 minutes; it is marked edited for everyone."""
    async with UnitOfWork(ctx) as uow:
        conversation, row, participants = await _own_message(uow, viewer, conversation_id, message_id)
        _not_system(row)
        check_edit(author=row.sender_id, editor=viewer.id, deleted=row.deleted, sent_at=row.created_at, now=uow.now)
        check_body(body, attachments=row.attachment_count, inmail=conversation.kind is ConversationKind.INMAIL)
        ids = [p.member_id for p in participants]
        people = await members.list_by_ids(uow.conn, ids=set(ids) | set(row.mentioned_ids))
        mentioned = mentions_in(body, await _handles(uow.conn, ids, people)) if "@" in body else ()
        await store.save_body(uow.conn, message_id=row.id, body=body, at=uow.now, mentions=mentioned)
        await attachment_service.reindex(uow, message_id=row.id, body=body)
        updated = await store.get(uow.conn, message_id=row.id)
        assert updated is not None
        await _notify_mentioned(
            uow,
            newly_mentioned(row.mentioned_ids, mentioned),
            actor=viewer,
            message_id=row.id,
            conversation_id=conversation.id,
        )
        files = await attachment_service.for_messages(uow.conn, [row.id])
        shown = message_json(updated, viewer=MemberId(0), members=people, attachments=files.get(row.id, ()))
        uow.emit(
            EventType.MESSAGE_EDITED,
            _audience(participants, row.id),
            {
                "conversation_id": str(conversation.id),
                "message_id": str(row.id),
                "body": body,
                "edited_at": shown["edited_at"],
                "mentions": shown["mentions"],
            },
        )
    own = message_json(updated, viewer=viewer.id, members=people, attachments=files.get(row.id, ()))
    own["status"], own["read_by"] = None, None
    return own


async def delete(ctx: Context, viewer: Member, *, conversation_id: int, message_id: int) -> None:
    """Remove a message's body (and files) for everyone, leaving a tombstone."""
    async with UnitOfWork(ctx) as uow:
        conversation, row, participants = await _own_message(uow, viewer, conversation_id, message_id)
        _not_system(row)
        if row.sender_id != viewer.id:
            raise NotPermitted("Only the author may delete a message.", code="not_author")
        if row.deleted:
            return
        await store.tombstone(uow.conn, message_id=row.id)
        await attachment_service.release(uow, message_id=row.id)
        uow.emit(
            EventType.MESSAGE_DELETED,
            _audience(participants, row.id),
            {"conversation_id": str(conversation.id), "message_id": str(row.id)},
        )


async def react(ctx: Context, viewer: Member, *, conversation_id: int, message_id: int, emoji: str, on: bool) -> None:
    """Add or remove one of the small set of reactions."""
    check_reaction(emoji)
    async with UnitOfWork(ctx) as uow:
        conversation, row, participants = await _own_message(uow, viewer, conversation_id, message_id)
        if row.deleted:
            raise Conflict("This message was deleted.", code="message_deleted")
        changed = await store.set_reaction(
            uow.conn, message_id=row.id, member_id=viewer.id, emoji=emoji, on=on, at=uow.now
        )
        if changed:
            uow.emit(
                EventType.MESSAGE_REACTION,
                _audience(participants, row.id),
                {
                    "conversation_id": str(conversation.id),
                    "message_id": str(row.id),
                    "member": viewer.handle,
                    "emoji": emoji,
                    "on": on,
                },
            )


async def _notify_mentioned(
    uow: UnitOfWork, member_ids: Iterable[MemberId], *, actor: Member, message_id: int, conversation_id: int
) -> None:
    """A `mention` notification for each member named, never for the author; muting does not
    silence it (API.md "Mentions")."""
    for member_id in member_ids:
        if member_id != actor.id:
            await notifications.add(
                uow,
                member_id=member_id,
                kind="mention",
                actor=actor,
                subject_id=message_id,
                conversation_id=conversation_id,
            )
