"""Who may message whom (DESIGN §2).

One pure function decides, from facts the service has loaded, whether a new conversation
may start, what kind it is and what it costs. For each recipient, in this order:

1. Blocked either way -> refused (`blocked`).
2. 1st-degree connection -> `direct`, free.
3. Both in the same group, and the recipient accepts group messages -> `group_member`, free.
4. Recipient is premium with Open Profile on -> `open_profile`, free.
5. Sender asked for InMail, is premium and (unless both are premium) has a credit ->
   `inmail`; one credit, free when both are premium. At most one unanswered InMail per pair.
6. Otherwise refused (`connection_required`), with a hint to send an invitation.

A credit is never spent implicitly: step 5 applies only when the request says InMail.
Several recipients make one `multi` conversation, allowed only if every recipient is
reachable as `direct` or `group_member`.

Step 3 has a monthly cap (LinkedIn's rule, so joining a group is no free pass to message
thousands): a sender starts at most `monthly_limit` new `group_member` conversations per
UTC calendar month. Continuing an existing thread, replies and every other kind never
count (`may_start_group_member_conversation`).

Group chats and multi conversations grow by adds from any participant
(`may_add_participants`): at most 50 people besides the creator; in a group chat each
newcomer is a member of its group, in a multi conversation each is reachable by the adder
as `direct` or `group_member`; nobody blocked either way with the adder. One refused
newcomer refuses the whole add.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from rapport.domain.limits import MAX_RECIPIENTS
from rapport.domain.model import ConversationKind, GroupRole, MemberId, Tier


@dataclass(frozen=True, slots=True)
class SenderFacts:
    member_id: MemberId
    tier: Tier
    inmail_credits: int


@dataclass(frozen=True, slots=True)
class RecipientFacts:
    member_id: MemberId
    tier: Tier
    blocked: bool
    """Either member blocked the other."""
    connected: bool
    shares_group: bool
    accepts_group_messages: bool
    open_profile: bool
    """The recipient's own switch; it only counts while they are premium."""
    unanswered_inmail_from_sender: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    kind: ConversationKind
    credits: int = 0
    """InMail credits the sender spends."""


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: str
    message: str
    recipient: MemberId | None = None


def may_message(
    sender: SenderFacts, recipients: Sequence[RecipientFacts], *, wants_inmail: bool = False
) -> Decision | Refusal:
    """Decide whether `sender` may start a conversation with `recipients`, and of what kind."""
    if not recipients:
        return Refusal("no_recipients", "Name at least one recipient.")
    if len(recipients) > MAX_RECIPIENTS:
        return Refusal(
            "too_many_recipients",
            f"A conversation may have at most {MAX_RECIPIENTS} recipients besides you.",
        )
    if any(r.member_id == sender.member_id for r in recipients):
        return Refusal("cannot_message_self", "You cannot message yourself.")
    if len(recipients) == 1:
        return _one_to_one(sender, recipients[0], wants_inmail=wants_inmail)
    if wants_inmail:
        return Refusal("inmail_single_recipient", "An InMail goes to exactly one member.")
    for recipient in recipients:
        kind = _free_kind(recipient)
        if isinstance(kind, Refusal):
            return kind
        if kind not in (ConversationKind.DIRECT, ConversationKind.GROUP_MEMBER):
            return _connection_required(recipient, multi=True)
    return Decision(ConversationKind.MULTI)


def may_message_each(sender: SenderFacts, recipients: Sequence[RecipientFacts]) -> list[Decision | Refusal]:
    """For a compose screen: what `may_message` would say about each recipient of this set, one by one.

    - One recipient: exactly `may_message`'s answer (without InMail: that is asked for explicitly).
    - Several: each must be reachable as `direct` or `group_member` (a block, or no tie, refuses
      that recipient alone), so every refused recipient can be named, not only the first.
    """
    if len(recipients) <= 1:
        return [may_message(sender, recipients)] if recipients else []
    out: list[Decision | Refusal] = []
    for recipient in recipients:
        if recipient.member_id == sender.member_id:
            out.append(Refusal("cannot_message_self", "You cannot message yourself.", recipient.member_id))
            continue
        kind = _free_kind(recipient)
        if isinstance(kind, Refusal):
            out.append(kind)
        elif kind in (ConversationKind.DIRECT, ConversationKind.GROUP_MEMBER):
            out.append(Decision(kind))
        else:
            out.append(_connection_required(recipient, multi=True))
    return out


def may_start_group_chat(
    sender: SenderFacts,
    sender_role: GroupRole | None,
    recipients: Sequence[RecipientFacts],
) -> Decision | Refusal:
    """A group's admins and managers may open a chat with fellow group members."""
    if sender_role is None or not sender_role.may_start_group_chat:
        return Refusal("group_admin_required", "Only a group's admins and managers may start a group chat.")
    if not recipients:
        return Refusal("no_recipients", "Name at least one recipient.")
    if len(recipients) > MAX_RECIPIENTS:
        return Refusal(
            "too_many_recipients",
            f"A conversation may have at most {MAX_RECIPIENTS} recipients besides you.",
        )
    for recipient in recipients:
        if recipient.member_id == sender.member_id:
            return Refusal("cannot_message_self", "You cannot message yourself.")
        if recipient.blocked:
            return _blocked(recipient)
        if not recipient.shares_group:
            return Refusal(
                "not_a_group_member",
                "Every recipient of a group chat must be a member of the group.",
                recipient.member_id,
            )
    return Decision(ConversationKind.GROUP_CHAT)


def _one_to_one(sender: SenderFacts, recipient: RecipientFacts, *, wants_inmail: bool) -> Decision | Refusal:
    kind = _free_kind(recipient)
    if isinstance(kind, Refusal):
        return kind
    if kind is not None:
        return Decision(kind)
    if not wants_inmail:
        return _connection_required(recipient, multi=False, sender_premium=sender.tier.is_premium)
    if not sender.tier.is_premium:
        return Refusal(
            "premium_required",
            "InMail is a premium feature. Send an invitation to connect instead.",
            recipient.member_id,
        )
    if recipient.unanswered_inmail_from_sender:
        return Refusal(
            "inmail_pending",
            "You already have an unanswered InMail to this member.",
            recipient.member_id,
        )
    if recipient.tier.is_premium:
        return Decision(ConversationKind.INMAIL, credits=0)
    if sender.inmail_credits < 1:
        return Refusal(
            "no_inmail_credits",
            "You have no InMail credits left. Credits are granted monthly.",
            recipient.member_id,
        )
    return Decision(ConversationKind.INMAIL, credits=1)


def _free_kind(recipient: RecipientFacts) -> ConversationKind | Refusal | None:
    """Steps 1-4: the free way to reach this recipient, a block, or None."""
    if recipient.blocked:
        return _blocked(recipient)
    if recipient.connected:
        return ConversationKind.DIRECT
    if recipient.shares_group and recipient.accepts_group_messages:
        return ConversationKind.GROUP_MEMBER
    if recipient.open_profile and recipient.tier.is_premium:
        return ConversationKind.OPEN_PROFILE
    return None


def _blocked(recipient: RecipientFacts) -> Refusal:
    return Refusal("blocked", "You cannot message this member.", recipient.member_id)


def _connection_required(recipient: RecipientFacts, *, multi: bool, sender_premium: bool = False) -> Refusal:
    if multi:
        message = (
            "A message to several people needs a connection or a shared group with each of "
            "them. Send an invitation to connect first."
        )
    elif sender_premium:
        message = (
            'You are not connected. Send an invitation to connect, or send an InMail (kind "inmail" with a subject).'
        )
    else:
        message = "You are not connected. Send an invitation to connect first."
    return Refusal("connection_required", message, recipient.member_id)


def may_reply(*, is_participant: bool, blocked_pair: bool, one_to_one: bool) -> Refusal | None:
    """Replies are allowed between participants, except across a block in a 1:1 thread.

    In group and multi conversations a block does not silence the shared thread (the
    history belongs to everyone in it); it hides typing and receipts between the pair.
    """
    if not is_participant:
        return Refusal("not_found", "No such conversation.")
    if one_to_one and blocked_pair:
        return Refusal("blocked", "You cannot message this member.")
    return None


def month_bounds(at: datetime) -> tuple[datetime, datetime]:
    """The UTC calendar month holding `at`: its first instant, and the next month's."""
    start = at.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


def group_messages_left(*, started_this_month: int, monthly_limit: int) -> int:
    """New group-member conversations the sender may still start this month."""
    return max(0, monthly_limit - started_this_month)


def may_start_group_member_conversation(
    *, started_this_month: int, monthly_limit: int, now: datetime
) -> Refusal | None:
    """The monthly cap on new `group_member` conversations; the refusal says when it resets."""
    if started_this_month < monthly_limit:
        return None
    _, resets = month_bounds(now)
    return Refusal(
        "group_message_limit",
        f"You have started {monthly_limit} conversations with group members this month, the monthly "
        f"limit. It resets on {resets.day} {resets:%B %Y} at 00:00 UTC; until then, connect or reply "
        "to existing conversations.",
    )


def may_add_participants(
    *,
    kind: ConversationKind,
    present: Collection[MemberId],
    besides_creator: int,
    newcomers: Sequence[RecipientFacts],
) -> Refusal | None:
    """May the adder bring `newcomers` into this conversation? All of them, or none.

    `present` are the current participants; `besides_creator` counts those other than the
    creator; facts in `newcomers` are relative to the adder (a group chat's
    `shares_group` means "in this conversation's group").
    """
    if kind not in (ConversationKind.GROUP_CHAT, ConversationKind.MULTI):
        return Refusal(
            "not_a_group_conversation", "Only group chats and multi-person conversations gain or lose participants."
        )
    if not newcomers:
        return Refusal("no_recipients", "Name at least one member to add.")
    for newcomer in newcomers:
        if newcomer.member_id in present:
            return Refusal("already_participant", "That member is already in this conversation.", newcomer.member_id)
    if besides_creator + len(newcomers) > MAX_RECIPIENTS:
        return Refusal(
            "too_many_participants",
            f"A conversation may have at most {MAX_RECIPIENTS} participants besides its creator.",
        )
    for newcomer in newcomers:
        if newcomer.blocked:
            return _blocked(newcomer)
        if kind is ConversationKind.GROUP_CHAT:
            if not newcomer.shares_group:
                return Refusal(
                    "not_a_group_member",
                    "Only members of the group can join its group chat.",
                    newcomer.member_id,
                )
        elif _free_kind(newcomer) not in (ConversationKind.DIRECT, ConversationKind.GROUP_MEMBER):
            return _connection_required(newcomer, multi=True)
    return None
