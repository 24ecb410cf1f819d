"""Starting conversations under the messaging policy, the inbox, and per-member thread state."""

from __future__ import annotations

import base64
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.domain import credits
from rapport.domain.errors import Conflict, Invalid, NotFound, NotPermitted
from rapport.domain.events import EventType
from rapport.domain.limits import CONVERSATION_TITLE_MAX, MAX_RECIPIENTS
from rapport.domain.messages import check_body, check_subject
from rapport.domain.model import ConversationKind, InMailState, Member, MemberId
from rapport.domain.policy import (
    Decision,
    RecipientFacts,
    Refusal,
    SenderFacts,
    may_message,
    may_message_each,
    may_start_group_chat,
)
from rapport.services import group_cap, sponsored
from rapport.services import inbox as inbox_page
from rapport.services import messages as message_service
from rapport.services.context import Context
from rapport.services.rate_limits import Action
from rapport.services.shapes import conversation_json
from rapport.services.uow import UnitOfWork
from rapport.store import conversations, groups, members, social
from rapport.store.conversations import ConversationRow, ParticipantRow
from rapport.store.inbox import INBOX_FILTERS, InboxCursor

FILTERS = INBOX_FILTERS
_INVALID_REFUSALS = {"too_many_recipients", "cannot_message_self", "no_recipients", "inmail_single_recipient"}


def _raise(refusal: Refusal) -> None:
    if refusal.reason in _INVALID_REFUSALS:
        raise Invalid(refusal.message, code=refusal.reason)
    raise NotPermitted(refusal.message, code=refusal.reason)


async def start(
    ctx: Context,
    sender: Member,
    *,
    to: Sequence[str],
    body: str,
    kind: str | None = None,
    subject: str | None = None,
    client_id: str | None = None,
    attachments: Sequence[str] = (),
    group_id: int | None = None,
) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """Start (or continue, for 1:1) a conversation; returns (conversation, message, created)."""
    await ctx.limits.hit(Action.SEND, str(sender.id))
    handles = list(dict.fromkeys(h.strip().lower() for h in to if h.strip()))
    if not handles:
        raise Invalid("Name at least one recipient.", code="no_recipients")
    if len(handles) > MAX_RECIPIENTS:
        raise Invalid(
            f"A conversation may have at most {MAX_RECIPIENTS} recipients besides you.",
            code="too_many_recipients",
        )
    if kind is not None and kind not in ("inmail", "group_chat", "direct", "group_member", "open_profile", "multi"):
        raise Invalid("kind is inmail or group_chat; other kinds are decided by the policy.", code="invalid_kind")
    wants_inmail = kind == ConversationKind.INMAIL.value
    if wants_inmail:
        subject = check_subject(subject)
    else:
        subject = None
    check_body(body, attachments=len(attachments), inmail=wants_inmail)

    async with UnitOfWork(ctx) as uow:
        if client_id is not None:
            existing = await message_service.replay(uow, sender, client_id)
            if existing is not None:
                return (*existing, False)
        recipients = await members.list_by_handles(uow.conn, handles=handles)
        found = {m.handle for m in recipients}
        missing = [h for h in handles if h not in found]
        if missing:
            raise NotFound(f"No member with handle {missing[0]!r}.", code="member_not_found")
        decision = await _decide(uow, sender, recipients, wants_inmail=wants_inmail, kind=kind, group_id=group_id)
        if decision.kind is ConversationKind.INMAIL:
            check_body(body, attachments=len(attachments), inmail=True)
        conversation = None
        if decision.kind.is_one_to_one_thread:
            conversation = await conversations.get_pair(uow.conn, a=sender.id, b=recipients[0].id)
        if conversation is None and decision.kind is ConversationKind.GROUP_MEMBER:
            capped = await group_cap.check(
                uow.conn, member_id=sender.id, now=uow.now, monthly_limit=ctx.settings.group_messages_per_month
            )
            if capped is not None:
                _raise(capped)
        if conversation is None:
            conversation = await conversations.add(
                uow.conn,
                kind=decision.kind,
                member_ids=[sender.id, *(r.id for r in recipients)],
                created_by=sender.id,
                at=uow.now,
                subject=subject if decision.kind is ConversationKind.INMAIL else None,
                group_id=group_id if decision.kind is ConversationKind.GROUP_CHAT else None,
                inmail_recipient_id=recipients[0].id,
                inmail_charged=decision.credits > 0,
            )
        if decision.credits:
            tier, ledger = await members.get_ledger(uow.conn, member_id=sender.id)
            ledger = credits.spend(credits.accrue(ledger, tier, uow.now), decision.credits)
            await members.save_ledger(uow.conn, member_id=sender.id, ledger=ledger)
        participant_ids = [sender.id, *(r.id for r in recipients)]
        people = {sender.id: sender, **{r.id: r for r in recipients}}
        message = await message_service.post(
            uow,
            conversation=conversation,
            participant_ids=participant_ids,
            sender=sender,
            body=body,
            client_id=client_id,
            attachments=attachments,
            people=people,
        )
        view = await view_for(uow.conn, conversation, sender.id, people, last_message=message)
    return view, message, True


async def _decide(
    uow: UnitOfWork,
    sender: Member,
    recipients: Sequence[Member],
    *,
    wants_inmail: bool,
    kind: str | None,
    group_id: int | None,
) -> Decision:
    conn = uow.conn
    ids = [r.id for r in recipients]
    blocked = await social.blocked_among(conn, member_id=sender.id, others=ids)
    tier, ledger = await members.get_ledger(conn, member_id=sender.id)
    sender_facts = SenderFacts(sender.id, tier, credits.accrue(ledger, tier, uow.now).balance)
    if kind == ConversationKind.GROUP_CHAT.value or group_id is not None:
        if group_id is None:
            raise Invalid("A group chat names its group_id.", code="group_required")
        if wants_inmail:
            raise Invalid("A group chat is not an InMail.", code="invalid_kind")
        role = await groups.role_of(conn, group_id=group_id, member_id=sender.id)
        if role is None and await groups.get_group(conn, group_id=group_id, viewer_id=sender.id) is None:
            raise NotFound("No such group.", code="group_not_found")
        in_group = await groups.members_among(conn, group_id=group_id, ids=ids)
        facts = [
            RecipientFacts(
                member_id=r.id,
                tier=r.tier,
                blocked=r.id in blocked,
                connected=False,
                shares_group=r.id in in_group,
                accepts_group_messages=True,
                open_profile=False,
            )
            for r in recipients
        ]
        outcome = may_start_group_chat(sender_facts, role, facts)
    else:
        facts = await _recipient_facts(conn, sender, recipients, blocked=blocked, wants_inmail=wants_inmail)
        outcome = may_message(sender_facts, facts, wants_inmail=wants_inmail)
    if isinstance(outcome, Refusal):
        _raise(outcome)
    assert isinstance(outcome, Decision)
    return outcome


async def _recipient_facts(
    conn: AsyncConnection,
    sender: Member,
    recipients: Sequence[Member],
    *,
    blocked: Collection[int],
    wants_inmail: bool,
) -> list[RecipientFacts]:
    """What the messaging policy needs to know about each recipient."""
    ids = [r.id for r in recipients]
    connected = await social.connected_among(conn, member_id=sender.id, others=ids)
    sharing = await social.sharing_a_group(conn, member_id=sender.id, others=ids)
    pending_inmail = (
        wants_inmail
        and len(recipients) == 1
        and await conversations.has_unanswered_inmail(conn, sender_id=sender.id, recipient_id=ids[0])
    )
    return [
        RecipientFacts(
            member_id=r.id,
            tier=r.tier,
            blocked=r.id in blocked,
            connected=r.id in connected,
            shares_group=r.id in sharing,
            accepts_group_messages=r.settings.messages_from_group_members,
            open_profile=r.settings.open_profile,
            unanswered_inmail_from_sender=pending_inmail,
        )
        for r in recipients
    ]


async def check_recipients(ctx: Context, sender: Member, *, to: Sequence[str]) -> list[dict[str, Any]]:
    """Before sending: may `sender` start a conversation with these people, each one named?

    Reads only. Each handle gets the policy's answer for this set of recipients
    (domain.policy.may_message_each), so a compose screen can say which of them is refused and
    why; an unknown handle is `member_not_found`, as a send would say.
    """
    handles = list(dict.fromkeys(h.strip().lower() for h in to if h.strip()))
    if len(handles) > MAX_RECIPIENTS:
        raise Invalid(
            f"A conversation may have at most {MAX_RECIPIENTS} recipients besides you.", code="too_many_recipients"
        )
    async with ctx.db.read() as conn:
        recipients = await members.list_by_handles(conn, handles=handles)
        blocked = await social.blocked_among(conn, member_id=sender.id, others=[r.id for r in recipients])
        tier, ledger = await members.get_ledger(conn, member_id=sender.id)
        sender_facts = SenderFacts(sender.id, tier, credits.accrue(ledger, tier, ctx.clock.now()).balance)
        facts = await _recipient_facts(conn, sender, recipients, blocked=blocked, wants_inmail=False)
    outcomes = {r.handle: o for r, o in zip(recipients, may_message_each(sender_facts, facts), strict=True)}
    out: list[dict[str, Any]] = []
    for handle in handles:
        outcome = outcomes.get(handle)
        if outcome is None:
            out.append(
                {
                    "handle": handle,
                    "ok": False,
                    "kind": None,
                    "code": "member_not_found",
                    "message": "No member with that handle.",
                }
            )
        elif isinstance(outcome, Refusal):
            out.append(
                {"handle": handle, "ok": False, "kind": None, "code": outcome.reason, "message": outcome.message}
            )
        else:
            out.append({"handle": handle, "ok": True, "kind": outcome.kind.value, "code": None, "message": None})
    return out


async def view_for(
    conn: AsyncConnection,
    conversation: ConversationRow,
    viewer: MemberId,
    people: dict[MemberId, Member] | None = None,
    *,
    last_message: dict[str, Any] | None = None,
) -> dict[str, Any]:
    participant = await conversations.get_participant(conn, conversation_id=conversation.id, member_id=viewer)
    if participant is None:
        raise NotFound("No such conversation.", code="conversation_not_found")
    ids = (await conversations.participant_ids_for(conn, conversation_ids=[conversation.id]))[conversation.id]
    people = dict(people or {})
    missing = [i for i in ids if i not in people]
    if missing:
        people.update(await members.list_by_ids(conn, ids=missing))
    if last_message is None:
        last = await message_service.last_messages(conn, [(conversation, participant)], viewer, people)
        last_message = last.get(conversation.id)
    return conversation_json(conversation, participant, member_ids=ids, members=people, last_message=last_message)


def _decode_cursor(cursor: str) -> InboxCursor:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, cid = raw.split("|")
        parsed = datetime.fromisoformat(at)
        if parsed.tzinfo is None:
            raise ValueError
        return InboxCursor(parsed, int(cid))
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid("That cursor is not one this server gave out.", code="invalid_cursor") from exc


async def inbox(ctx: Context, viewer: Member, *, filter: str, cursor: str | None, limit: int) -> dict[str, Any]:
    """A page of the inbox, newest activity first, with a cursor for the next page."""
    if filter not in FILTERS:
        raise Invalid(f"filter is one of {', '.join(FILTERS)}.", code="invalid_filter")
    if not 1 <= limit <= 100:
        raise Invalid("limit is between 1 and 100.", code="invalid_limit")
    after = _decode_cursor(cursor) if cursor else None
    async with ctx.db.read() as conn:
        return await inbox_page.page(conn, viewer.id, filter=filter, after=after, limit=limit)


async def get(ctx: Context, viewer: Member, *, conversation_id: int) -> dict[str, Any]:
    async with ctx.db.read() as conn:
        conversation = await conversations.get(conn, conversation_id=conversation_id)
        if conversation is None:
            raise NotFound("No such conversation.", code="conversation_not_found")
        return await view_for(conn, conversation, viewer.id)


async def update_flags(
    ctx: Context,
    viewer: Member,
    *,
    conversation_id: int,
    archived: bool | None,
    muted: bool | None,
    unread: bool | None,
    title: str | None = None,
) -> dict[str, Any]:
    """Archive, mute or mark unread: the member's own view only. A `title` renames a group
    chat or multi conversation for everyone in it ("" removes the title)."""
    async with UnitOfWork(ctx) as uow:
        conversation, participant = await _own(uow.conn, viewer.id, conversation_id)
        if title is not None:
            conversation = await _retitle(uow, viewer, conversation, title)
        fields: dict[str, Any] = {}
        if archived is not None:
            fields["archived"] = archived
        if muted is not None:
            fields["muted"] = muted
        if unread is not None:
            fields["marked_unread"] = unread
            if not unread:
                fields["unread_count"] = 0
                fields["read_up_to"] = conversation.last_message_id or participant.read_up_to
        await conversations.save_participant(
            uow.conn, conversation_id=conversation.id, member_id=viewer.id, fields=fields
        )
        view = await view_for(uow.conn, conversation, viewer.id)
        uow.emit(EventType.CONVERSATION_UPDATED, [viewer.id], {"conversation": view})
    return view


def check_group_conversation(conversation: ConversationRow) -> None:
    """Participants and titles change only in group chats and multi conversations."""
    if conversation.is_one_to_one:
        raise Conflict(
            "Only group chats and multi-person conversations have titles and changing participants.",
            code="not_a_group_conversation",
        )


async def _retitle(uow: UnitOfWork, viewer: Member, conversation: ConversationRow, title: str) -> ConversationRow:
    check_group_conversation(conversation)
    new_title = title.strip() or None
    if new_title is not None and len(new_title) > CONVERSATION_TITLE_MAX:
        raise Invalid(f"A title has at most {CONVERSATION_TITLE_MAX} characters.", code="title_too_long")
    if new_title == conversation.title:
        return conversation
    await conversations.save_title(uow.conn, conversation_id=conversation.id, title=new_title)
    ids = await conversations.participant_ids(uow.conn, conversation_id=conversation.id)
    said = f"{viewer.name} named the conversation “{new_title}”." if new_title else f"{viewer.name} removed the title."
    await message_service.post_system(
        uow,
        conversation=conversation,
        participant_ids=ids,
        actor=viewer,
        line={"action": "renamed", "actor": viewer.handle, "title": new_title},
        body=said,
    )
    uow.emit(
        EventType.CONVERSATION_UPDATED,
        ids,
        {"conversation_id": str(conversation.id), "title": new_title, "change": "renamed"},
    )
    return replace(conversation, title=new_title)


async def remove_for_me(ctx: Context, viewer: Member, *, conversation_id: int) -> None:
    """Delete a conversation for oneself: its history up to now disappears from one's view."""
    async with UnitOfWork(ctx) as uow:
        conversation, _ = await _own(uow.conn, viewer.id, conversation_id)
        await conversations.hide_for(
            uow.conn, conversation_id=conversation.id, member_id=viewer.id, through=conversation.last_message_id or 0
        )
        uow.emit(EventType.CONVERSATION_REMOVED, [viewer.id], {"conversation_id": str(conversation.id)})


async def decline_inmail(ctx: Context, viewer: Member, *, conversation_id: int) -> dict[str, Any]:
    """The InMail recipient answers "not interested": an answer that gives the credit back.

    The recipient of a sponsored message answers the same way: it leaves their inbox."""
    async with UnitOfWork(ctx) as uow:
        conversation, _ = await _own(uow.conn, viewer.id, conversation_id)
        if conversation.kind is ConversationKind.SPONSORED:
            await sponsored.decline(uow, conversation_id=conversation.id, member_id=viewer.id)
            view = await view_for(uow.conn, conversation, viewer.id)
            uow.emit(EventType.CONVERSATION_UPDATED, [viewer.id], {"conversation": view})
            return view
        if conversation.kind is not ConversationKind.INMAIL or conversation.inmail_recipient_id != viewer.id:
            raise Conflict("Only the recipient of an InMail may decline it.", code="not_inmail_recipient")
        if conversation.inmail_state is not InMailState.PENDING:
            raise Conflict("This InMail was already answered.", code="inmail_answered")
        await message_service.answer_inmail(uow, conversation, InMailState.DECLINED)
        conversation = await conversations.get(uow.conn, conversation_id=conversation.id) or conversation
        view = await view_for(uow.conn, conversation, viewer.id)
        ids = (await conversations.participant_ids_for(uow.conn, conversation_ids=[conversation.id]))[conversation.id]
        uow.emit(
            EventType.CONVERSATION_UPDATED,
            ids,
            {"conversation_id": str(conversation.id), "inmail_state": InMailState.DECLINED.value},
        )
    return view


async def _own(conn: AsyncConnection, viewer: MemberId, conversation_id: int) -> tuple[ConversationRow, ParticipantRow]:
    conversation = await conversations.get(conn, conversation_id=conversation_id)
    participant = (
        await conversations.get_participant(conn, conversation_id=conversation_id, member_id=viewer)
        if conversation
        else None
    )
    if conversation is None or participant is None:
        raise NotFound("No such conversation.", code="conversation_not_found")
    return conversation, participant
