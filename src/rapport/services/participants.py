"""Who is in a group chat or multi conversation: adds, removals and leaving (DESIGN §2).

Any participant may add people (all of them, or none: domain.policy.may_add_participants)
and remove others; anyone may leave. Newcomers see the whole history. Each change is a
system line in the thread and a `conversation.updated` event to everyone in it; a removed
member gets `conversation.removed` and from then on nothing: the conversation answers 404,
its events and typing go only to current participants, and search no longer finds it (all
of them read the participant rows this removes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rapport.domain.errors import Conflict, Invalid, NotFound, NotPermitted
from rapport.domain.events import EventType
from rapport.domain.model import ConversationKind, Member, MemberId
from rapport.domain.policy import RecipientFacts, Refusal, may_add_participants
from rapport.services import messages as message_service
from rapport.services.context import Context
from rapport.services.conversations import check_group_conversation, view_for
from rapport.services.shapes import member_json
from rapport.services.uow import UnitOfWork
from rapport.store import conversations, groups, members, social
from rapport.store.conversations import ConversationRow

_INVALID = {"no_recipients", "too_many_participants"}
_CONFLICT = {"already_participant", "not_a_group_conversation"}


def _raise(refusal: Refusal) -> None:
    if refusal.reason in _INVALID:
        raise Invalid(refusal.message, code=refusal.reason)
    if refusal.reason in _CONFLICT:
        raise Conflict(refusal.message, code=refusal.reason)
    raise NotPermitted(refusal.message, code=refusal.reason)


async def _joined(uow: UnitOfWork, viewer: Member, conversation_id: int) -> tuple[ConversationRow, list[MemberId]]:
    conversation = await conversations.get(uow.conn, conversation_id=conversation_id)
    ids = await conversations.participant_ids(uow.conn, conversation_id=conversation_id) if conversation else []
    if conversation is None or viewer.id not in ids:
        raise NotFound("No such conversation.", code="conversation_not_found")
    return conversation, ids


def _names(people: Sequence[Member]) -> str:
    names = [m.name for m in people]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _announce(
    uow: UnitOfWork, conversation: ConversationRow, ids: Sequence[MemberId], people: dict[MemberId, Member], change: str
) -> None:
    uow.emit(
        EventType.CONVERSATION_UPDATED,
        ids,
        {
            "conversation_id": str(conversation.id),
            "change": change,
            "title": conversation.title,
            "participants": [member_json(people[m]) for m in ids if m in people],
        },
    )


async def add(ctx: Context, viewer: Member, *, conversation_id: int, handles: Sequence[str]) -> dict[str, Any]:
    """Bring members into a group chat or multi conversation; one refusal adds no one."""
    wanted = list(dict.fromkeys(h.strip().lower() for h in handles if h.strip()))
    async with UnitOfWork(ctx) as uow:
        conversation, ids = await _joined(uow, viewer, conversation_id)
        check_group_conversation(conversation)
        if not wanted:
            raise Invalid("Name at least one member to add.", code="no_recipients")
        found = await members.list_by_handles(uow.conn, handles=wanted)
        by_handle = {m.handle: m for m in found}
        missing = [h for h in wanted if h not in by_handle]
        if missing:
            raise NotFound(f"No member with handle {missing[0]!r}.", code="member_not_found")
        newcomers = [by_handle[h] for h in wanted]
        outcome = may_add_participants(
            kind=conversation.kind,
            present=set(ids),
            besides_creator=len([i for i in ids if i != conversation.created_by]),
            newcomers=await _facts(uow, viewer, conversation, newcomers),
        )
        if outcome is not None:
            _raise(outcome)
        await conversations.add_participants(
            uow.conn,
            conversation_id=conversation.id,
            member_ids=[m.id for m in newcomers],
            at=uow.now,
            read_up_to=conversation.last_message_id or 0,
        )
        everyone = [*ids, *(m.id for m in newcomers)]
        await message_service.post_system(
            uow,
            conversation=conversation,
            participant_ids=everyone,
            actor=viewer,
            line={"action": "added", "actor": viewer.handle, "members": [m.handle for m in newcomers]},
            body=f"{viewer.name} added {_names(newcomers)}.",
        )
        people = await members.list_by_ids(uow.conn, ids=everyone)
        _announce(uow, conversation, sorted(everyone), people, "added")
        conversation = await conversations.get(uow.conn, conversation_id=conversation.id) or conversation
        view = await view_for(uow.conn, conversation, viewer.id, people)
    return view


async def _facts(
    uow: UnitOfWork, adder: Member, conversation: ConversationRow, newcomers: Sequence[Member]
) -> list[RecipientFacts]:
    """What the policy needs about each newcomer, relative to the adder."""
    ids = [m.id for m in newcomers]
    blocked = await social.blocked_among(uow.conn, member_id=adder.id, others=ids)
    if conversation.kind is ConversationKind.GROUP_CHAT:
        in_group = (
            await groups.members_among(uow.conn, group_id=conversation.group_id, ids=ids)
            if conversation.group_id is not None
            else set()
        )
        connected: set[int] = set()
        sharing: set[int] = set(in_group)
    else:
        connected = await social.connected_among(uow.conn, member_id=adder.id, others=ids)
        sharing = await social.sharing_a_group(uow.conn, member_id=adder.id, others=ids)
    return [
        RecipientFacts(
            member_id=m.id,
            tier=m.tier,
            blocked=m.id in blocked,
            connected=m.id in connected,
            shares_group=m.id in sharing,
            accepts_group_messages=m.settings.messages_from_group_members,
            open_profile=m.settings.open_profile,
        )
        for m in newcomers
    ]


async def remove(ctx: Context, viewer: Member, *, conversation_id: int, handle: str) -> None:
    """Remove a participant (any participant may), or leave when `handle` is one's own."""
    async with UnitOfWork(ctx) as uow:
        conversation, ids = await _joined(uow, viewer, conversation_id)
        check_group_conversation(conversation)
        gone = await members.get_by_handle(uow.conn, handle=handle.strip().lower())
        if gone is None or gone.id not in ids:
            raise NotFound("That member is not in this conversation.", code="participant_not_found")
        await conversations.remove_participant(uow.conn, conversation_id=conversation.id, member_id=gone.id)
        rest = [i for i in ids if i != gone.id]
        leaving = gone.id == viewer.id
        uow.emit(EventType.CONVERSATION_REMOVED, [gone.id], {"conversation_id": str(conversation.id)})
        if not rest:
            return
        line = {"action": "left" if leaving else "removed", "actor": viewer.handle, "members": [gone.handle]}
        # A member who leaves is not a participant any more: their line is posted in their name to the others.
        await message_service.post_system(
            uow,
            conversation=conversation,
            participant_ids=rest,
            actor=viewer,
            line=line,
            body=f"{viewer.name} left." if leaving else f"{viewer.name} removed {gone.name}.",
        )
        people = await members.list_by_ids(uow.conn, ids=rest)
        _announce(uow, conversation, rest, people, str(line["action"]))
