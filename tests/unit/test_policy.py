"""The messaging policy (DESIGN §2): who may start a conversation with whom, and at what cost."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rapport.domain.limits import MAX_RECIPIENTS
from rapport.domain.model import ConversationKind, GroupRole, MemberId, Tier
from rapport.domain.policy import (
    Decision,
    RecipientFacts,
    Refusal,
    SenderFacts,
    group_messages_left,
    may_add_participants,
    may_message,
    may_message_each,
    may_reply,
    may_start_group_chat,
    may_start_group_member_conversation,
    month_bounds,
)

SENDER = MemberId(1)
PREMIUM_TIERS = (Tier.PREMIUM_CAREER, Tier.PREMIUM_BUSINESS)


def sender(tier: Tier = Tier.FREE, credits: int = 0) -> SenderFacts:
    return SenderFacts(member_id=SENDER, tier=tier, inmail_credits=credits)


def stranger(member_id: int = 2, **facts: Any) -> RecipientFacts:
    """A recipient with no tie to the sender: not connected, no group, no Open Profile."""
    base = RecipientFacts(
        member_id=MemberId(member_id),
        tier=Tier.FREE,
        blocked=False,
        connected=False,
        shares_group=False,
        accepts_group_messages=True,
        open_profile=False,
    )
    return replace(base, **facts)


def connection(member_id: int = 2, **facts: Any) -> RecipientFacts:
    return stranger(member_id, connected=True, **facts)


def group_mate(member_id: int = 2, **facts: Any) -> RecipientFacts:
    return stranger(member_id, shares_group=True, **facts)


def refusal(outcome: Decision | Refusal) -> Refusal:
    assert isinstance(outcome, Refusal), outcome
    return outcome


def decision(outcome: Decision | Refusal) -> Decision:
    assert isinstance(outcome, Decision), outcome
    return outcome


# --- Step 1: blocked, before anything else ---------------------------------------------------


def test_blocked_member_cannot_be_messaged_even_when_connected() -> None:
    outcome = refusal(may_message(sender(), [connection(blocked=True)]))
    assert outcome.reason == "blocked"
    assert outcome.recipient == MemberId(2)


@pytest.mark.parametrize(
    "facts",
    [
        {"shares_group": True},
        {"tier": Tier.PREMIUM_CAREER, "open_profile": True},
        {},
    ],
    ids=["group_member", "open_profile", "stranger"],
)
def test_block_wins_over_every_free_path_and_over_inmail(facts: dict[str, Any]) -> None:
    premium_sender = sender(Tier.PREMIUM_BUSINESS, credits=10)
    outcome = may_message(premium_sender, [stranger(blocked=True, **facts)], wants_inmail=True)
    assert refusal(outcome).reason == "blocked"


# --- Step 2: 1st-degree connection -----------------------------------------------------------


def test_connected_members_message_each_other_directly_for_free() -> None:
    assert may_message(sender(), [connection()]) == Decision(ConversationKind.DIRECT, credits=0)


def test_connection_wins_over_shared_group_and_open_profile() -> None:
    recipient = connection(shares_group=True, tier=Tier.PREMIUM_CAREER, open_profile=True)
    assert decision(may_message(sender(), [recipient])).kind is ConversationKind.DIRECT


def test_inmail_request_to_a_connection_becomes_a_free_direct_message() -> None:
    outcome = decision(may_message(sender(Tier.PREMIUM_CAREER, 5), [connection()], wants_inmail=True))
    assert outcome == Decision(ConversationKind.DIRECT, credits=0)


# --- Step 3: shared group --------------------------------------------------------------------


def test_members_of_the_same_group_message_each_other_for_free() -> None:
    assert may_message(sender(), [group_mate()]) == Decision(ConversationKind.GROUP_MEMBER)


def test_group_member_wins_over_open_profile() -> None:
    recipient = group_mate(tier=Tier.PREMIUM_CAREER, open_profile=True)
    assert decision(may_message(sender(), [recipient])).kind is ConversationKind.GROUP_MEMBER


def test_recipient_who_turned_group_messages_off_needs_a_connection() -> None:
    outcome = refusal(may_message(sender(), [group_mate(accepts_group_messages=False)]))
    assert outcome.reason == "connection_required"
    assert outcome.recipient == MemberId(2)


def test_recipient_who_turned_group_messages_off_is_still_reachable_through_open_profile() -> None:
    recipient = group_mate(accepts_group_messages=False, tier=Tier.PREMIUM_CAREER, open_profile=True)
    assert decision(may_message(sender(), [recipient])).kind is ConversationKind.OPEN_PROFILE


def test_recipient_who_turned_group_messages_off_can_be_sent_an_inmail() -> None:
    recipient = group_mate(accepts_group_messages=False)
    outcome = may_message(sender(Tier.PREMIUM_CAREER, 1), [recipient], wants_inmail=True)
    assert outcome == Decision(ConversationKind.INMAIL, credits=1)


# --- Step 4: Open Profile --------------------------------------------------------------------


@pytest.mark.parametrize("tier", PREMIUM_TIERS)
def test_premium_recipient_with_open_profile_is_messaged_for_free(tier: Tier) -> None:
    recipient = stranger(tier=tier, open_profile=True)
    assert may_message(sender(), [recipient]) == Decision(ConversationKind.OPEN_PROFILE, 0)


def test_open_profile_lapses_when_the_recipient_is_no_longer_premium() -> None:
    recipient = stranger(tier=Tier.FREE, open_profile=True)
    assert refusal(may_message(sender(), [recipient])).reason == "connection_required"


def test_open_profile_is_used_instead_of_spending_an_inmail_credit() -> None:
    recipient = stranger(tier=Tier.PREMIUM_CAREER, open_profile=True)
    outcome = may_message(sender(Tier.PREMIUM_CAREER, 5), [recipient], wants_inmail=True)
    assert outcome == Decision(ConversationKind.OPEN_PROFILE, credits=0)


# --- Step 5: InMail --------------------------------------------------------------------------


def test_stranger_needs_a_connection_when_inmail_is_not_requested() -> None:
    outcome = refusal(may_message(sender(Tier.FREE), [stranger()]))
    assert outcome.reason == "connection_required"
    assert "invitation" in outcome.message
    assert "InMail" not in outcome.message


def test_credit_is_never_spent_implicitly_but_premium_sender_is_hinted_at_inmail() -> None:
    outcome = refusal(may_message(sender(Tier.PREMIUM_CAREER, 5), [stranger()]))
    assert outcome.reason == "connection_required"
    assert "invitation" in outcome.message
    assert "InMail" in outcome.message


def test_free_sender_cannot_send_inmail() -> None:
    outcome = refusal(may_message(sender(Tier.FREE, credits=3), [stranger()], wants_inmail=True))
    assert outcome.reason == "premium_required"
    assert outcome.recipient == MemberId(2)


def test_second_unanswered_inmail_to_the_same_member_is_refused() -> None:
    recipient = stranger(unanswered_inmail_from_sender=True)
    outcome = refusal(may_message(sender(Tier.PREMIUM_CAREER, 5), [recipient], wants_inmail=True))
    assert outcome.reason == "inmail_pending"
    assert outcome.recipient == MemberId(2)


def test_pending_inmail_is_refused_even_when_both_members_are_premium() -> None:
    recipient = stranger(tier=Tier.PREMIUM_BUSINESS, unanswered_inmail_from_sender=True)
    outcome = may_message(sender(Tier.PREMIUM_CAREER, 5), [recipient], wants_inmail=True)
    assert refusal(outcome).reason == "inmail_pending"


@pytest.mark.parametrize("sender_tier", PREMIUM_TIERS)
@pytest.mark.parametrize("recipient_tier", PREMIUM_TIERS)
def test_inmail_is_free_when_both_members_are_premium(sender_tier: Tier, recipient_tier: Tier) -> None:
    outcome = may_message(sender(sender_tier, credits=0), [stranger(tier=recipient_tier)], wants_inmail=True)
    assert outcome == Decision(ConversationKind.INMAIL, credits=0)


def test_premium_sender_without_credits_cannot_inmail_a_free_member() -> None:
    outcome = refusal(may_message(sender(Tier.PREMIUM_CAREER, 0), [stranger()], wants_inmail=True))
    assert outcome.reason == "no_inmail_credits"
    assert outcome.recipient == MemberId(2)


@pytest.mark.parametrize("credits", [1, 15, 45])
def test_inmail_to_a_free_member_costs_exactly_one_credit(credits: int) -> None:
    outcome = may_message(sender(Tier.PREMIUM_BUSINESS, credits), [stranger()], wants_inmail=True)
    assert outcome == Decision(ConversationKind.INMAIL, credits=1)


# --- Basic shape of the request --------------------------------------------------------------


def test_a_conversation_needs_at_least_one_recipient() -> None:
    assert refusal(may_message(sender(), [])).reason == "no_recipients"


def test_member_cannot_message_themselves() -> None:
    outcome = refusal(may_message(sender(), [connection(member_id=SENDER)]))
    assert outcome.reason == "cannot_message_self"


def test_member_cannot_include_themselves_among_several_recipients() -> None:
    outcome = refusal(may_message(sender(), [connection(2), connection(SENDER), connection(3)]))
    assert outcome.reason == "cannot_message_self"


# --- Several recipients ----------------------------------------------------------------------


def connections(n: int) -> list[RecipientFacts]:
    return [connection(member_id=100 + i) for i in range(n)]


def test_several_connections_make_one_multi_conversation() -> None:
    assert may_message(sender(), connections(3)) == Decision(ConversationKind.MULTI, credits=0)


def test_multi_conversation_may_mix_connections_and_group_members() -> None:
    outcome = may_message(sender(), [connection(2), group_mate(3)])
    assert outcome == Decision(ConversationKind.MULTI)


def test_multi_conversation_may_have_exactly_fifty_recipients() -> None:
    assert decision(may_message(sender(), connections(MAX_RECIPIENTS))).kind is ConversationKind.MULTI


def test_multi_conversation_with_fifty_one_recipients_is_refused() -> None:
    outcome = refusal(may_message(sender(), connections(MAX_RECIPIENTS + 1)))
    assert outcome.reason == "too_many_recipients"
    assert "50" in outcome.message


def test_inmail_with_several_recipients_is_refused() -> None:
    outcome = may_message(sender(Tier.PREMIUM_BUSINESS, 15), [stranger(2), stranger(3)], wants_inmail=True)
    assert refusal(outcome).reason == "inmail_single_recipient"


def test_multi_conversation_is_refused_when_one_recipient_blocked() -> None:
    outcome = refusal(may_message(sender(), [connection(2), connection(3, blocked=True)]))
    assert outcome.reason == "blocked"
    assert outcome.recipient == MemberId(3)


def test_open_profile_does_not_open_a_multi_conversation() -> None:
    recipient = stranger(3, tier=Tier.PREMIUM_CAREER, open_profile=True)
    outcome = refusal(may_message(sender(), [connection(2), recipient]))
    assert outcome.reason == "connection_required"
    assert outcome.recipient == MemberId(3)
    assert "several people" in outcome.message


def test_multi_conversation_is_refused_when_one_recipient_is_a_stranger() -> None:
    outcome = refusal(may_message(sender(Tier.PREMIUM_BUSINESS, 15), [connection(2), stranger(3)]))
    assert outcome.reason == "connection_required"
    assert outcome.recipient == MemberId(3)


def test_multi_conversation_is_refused_when_a_group_mate_turned_group_messages_off() -> None:
    outcome = may_message(sender(), [connection(2), group_mate(3, accepts_group_messages=False)])
    assert refusal(outcome).recipient == MemberId(3)


def test_first_refused_recipient_is_named_in_multi_conversation() -> None:
    outcome = refusal(may_message(sender(), [connection(2), stranger(3), stranger(4, blocked=True)]))
    assert (outcome.reason, outcome.recipient) == ("connection_required", MemberId(3))


@given(st.integers(min_value=0, max_value=2 * MAX_RECIPIENTS))
def test_recipient_count_is_bounded_by_fifty(n: int) -> None:
    outcome = may_message(sender(), connections(n))
    if n == 0:
        assert refusal(outcome).reason == "no_recipients"
    elif n > MAX_RECIPIENTS:
        assert refusal(outcome).reason == "too_many_recipients"
    else:
        kind = decision(outcome).kind
        assert kind is (ConversationKind.DIRECT if n == 1 else ConversationKind.MULTI)


@given(
    blocked=st.booleans(),
    connected=st.booleans(),
    shares_group=st.booleans(),
    accepts=st.booleans(),
    open_profile=st.booleans(),
    recipient_tier=st.sampled_from(Tier),
    sender_tier=st.sampled_from(Tier),
    credits=st.integers(min_value=0, max_value=50),
    pending=st.booleans(),
    wants_inmail=st.booleans(),
)
def test_only_an_inmail_to_a_free_member_costs_a_credit_and_never_more_than_held(
    blocked: bool,
    connected: bool,
    shares_group: bool,
    accepts: bool,
    open_profile: bool,
    recipient_tier: Tier,
    sender_tier: Tier,
    credits: int,
    pending: bool,
    wants_inmail: bool,
) -> None:
    recipient = stranger(
        blocked=blocked,
        connected=connected,
        shares_group=shares_group,
        accepts_group_messages=accepts,
        open_profile=open_profile,
        tier=recipient_tier,
        unanswered_inmail_from_sender=pending,
    )
    outcome = may_message(sender(sender_tier, credits), [recipient], wants_inmail=wants_inmail)
    if blocked:
        assert refusal(outcome).reason == "blocked"
    if isinstance(outcome, Decision):
        assert outcome.credits <= credits
        if outcome.credits:
            assert outcome.kind is ConversationKind.INMAIL
            assert wants_inmail and sender_tier.is_premium and not recipient_tier.is_premium


# --- Group chats -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [GroupRole.ADMIN, GroupRole.MANAGER])
def test_group_admins_and_managers_may_start_a_group_chat(role: GroupRole) -> None:
    outcome = may_start_group_chat(sender(), role, [group_mate(2), group_mate(3)])
    assert outcome == Decision(ConversationKind.GROUP_CHAT, credits=0)


@pytest.mark.parametrize("role", [GroupRole.MEMBER, None], ids=["plain_member", "outsider"])
def test_plain_members_and_outsiders_cannot_start_a_group_chat(role: GroupRole | None) -> None:
    outcome = refusal(may_start_group_chat(sender(), role, [group_mate()]))
    assert outcome.reason == "group_admin_required"


def test_group_chat_needs_at_least_one_recipient() -> None:
    assert refusal(may_start_group_chat(sender(), GroupRole.ADMIN, [])).reason == "no_recipients"


def test_group_chat_may_have_fifty_recipients_but_not_fifty_one() -> None:
    fifty = [group_mate(100 + i) for i in range(MAX_RECIPIENTS)]
    assert decision(may_start_group_chat(sender(), GroupRole.ADMIN, fifty))
    outcome = may_start_group_chat(sender(), GroupRole.ADMIN, [*fifty, group_mate(999)])
    assert refusal(outcome).reason == "too_many_recipients"


def test_group_chat_refuses_the_sender_as_recipient() -> None:
    outcome = may_start_group_chat(sender(), GroupRole.ADMIN, [group_mate(2), group_mate(SENDER)])
    assert refusal(outcome).reason == "cannot_message_self"


def test_group_chat_refuses_a_blocked_recipient() -> None:
    outcome = may_start_group_chat(sender(), GroupRole.ADMIN, [group_mate(2), group_mate(3, blocked=True)])
    assert (refusal(outcome).reason, refusal(outcome).recipient) == ("blocked", MemberId(3))


def test_every_group_chat_recipient_must_be_in_the_group() -> None:
    outcome = refusal(may_start_group_chat(sender(), GroupRole.ADMIN, [group_mate(2), connection(3)]))
    assert outcome.reason == "not_a_group_member"
    assert outcome.recipient == MemberId(3)


# --- Replies ---------------------------------------------------------------------------------


@pytest.mark.parametrize("one_to_one", [True, False])
def test_participants_may_always_reply(one_to_one: bool) -> None:
    assert may_reply(is_participant=True, blocked_pair=False, one_to_one=one_to_one) is None


@pytest.mark.parametrize("blocked_pair", [True, False])
def test_non_participant_cannot_reply_and_learns_nothing(blocked_pair: bool) -> None:
    outcome = may_reply(is_participant=False, blocked_pair=blocked_pair, one_to_one=True)
    assert outcome is not None
    assert outcome.reason == "not_found"


def test_block_stops_replies_in_a_one_to_one_thread() -> None:
    outcome = may_reply(is_participant=True, blocked_pair=True, one_to_one=True)
    assert outcome is not None
    assert outcome.reason == "blocked"


def test_block_does_not_silence_a_shared_group_or_multi_thread() -> None:
    assert may_reply(is_participant=True, blocked_pair=True, one_to_one=False) is None


# --- The monthly cap on group-member conversations ------------------------------------------


def test_month_bounds_are_the_utc_calendar_month() -> None:
    start, end = month_bounds(datetime(2026, 11, 29, 23, 30, tzinfo=timezone(timedelta(hours=-5))))
    assert (start, end) == (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))


def test_december_resets_in_january() -> None:
    assert month_bounds(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )


def test_a_sender_under_the_cap_may_start_a_group_member_conversation() -> None:
    now = datetime(2026, 11, 20, tzinfo=UTC)
    assert may_start_group_member_conversation(started_this_month=14, monthly_limit=15, now=now) is None


def test_the_cap_refuses_and_says_when_it_resets() -> None:
    now = datetime(2026, 11, 20, tzinfo=UTC)
    outcome = may_start_group_member_conversation(started_this_month=15, monthly_limit=15, now=now)
    assert outcome is not None
    assert outcome.reason == "group_message_limit"
    assert "1 December 2026" in outcome.message


def test_group_messages_left_never_goes_below_zero() -> None:
    assert group_messages_left(started_this_month=3, monthly_limit=15) == 12
    assert group_messages_left(started_this_month=20, monthly_limit=15) == 0


# --- Adding participants ------------------------------------------------------------------


def add(
    kind: ConversationKind, *newcomers: RecipientFacts, present: tuple[int, ...] = (1, 2), besides: int = 1
) -> Refusal | None:
    return may_add_participants(
        kind=kind, present={MemberId(p) for p in present}, besides_creator=besides, newcomers=list(newcomers)
    )


@pytest.mark.parametrize(
    "kind", [k for k in ConversationKind if k not in (ConversationKind.GROUP_CHAT, ConversationKind.MULTI)]
)
def test_one_to_one_conversations_gain_no_participants(kind: ConversationKind) -> None:
    outcome = add(kind, connection(5))
    assert outcome is not None and outcome.reason == "not_a_group_conversation"


def test_an_add_names_someone() -> None:
    outcome = add(ConversationKind.MULTI)
    assert outcome is not None and outcome.reason == "no_recipients"


def test_someone_already_present_is_refused() -> None:
    outcome = add(ConversationKind.MULTI, connection(5), connection(2))
    assert outcome is not None and outcome.reason == "already_participant" and outcome.recipient == MemberId(2)


def test_at_most_fifty_besides_the_creator() -> None:
    assert add(ConversationKind.MULTI, connection(5), besides=MAX_RECIPIENTS - 1) is None
    outcome = add(ConversationKind.MULTI, connection(5), connection(6), besides=MAX_RECIPIENTS - 1)
    assert outcome is not None and outcome.reason == "too_many_participants"


@pytest.mark.parametrize("kind", [ConversationKind.MULTI, ConversationKind.GROUP_CHAT])
def test_a_blocked_member_is_never_added(kind: ConversationKind) -> None:
    outcome = add(kind, group_mate(5, connected=True, blocked=True))
    assert outcome is not None and outcome.reason == "blocked"


def test_a_group_chat_takes_group_members_only() -> None:
    assert add(ConversationKind.GROUP_CHAT, group_mate(5)) is None
    outcome = add(ConversationKind.GROUP_CHAT, group_mate(5), connection(6))
    assert outcome is not None and outcome.reason == "not_a_group_member" and outcome.recipient == MemberId(6)


def test_a_multi_conversation_takes_people_the_adder_may_message_for_free() -> None:
    assert add(ConversationKind.MULTI, connection(5), group_mate(6)) is None
    premium_open = stranger(7, tier=Tier.PREMIUM_CAREER, open_profile=True)
    outcome = add(ConversationKind.MULTI, connection(5), premium_open)
    assert outcome is not None and outcome.reason == "connection_required"
    outcome = add(ConversationKind.MULTI, group_mate(6, accepts_group_messages=False))
    assert outcome is not None and outcome.reason == "connection_required"


# --- each recipient of a compose screen, one by one -------------------------------------------


def test_each_recipient_of_several_is_judged_alone_so_every_refusal_is_named() -> None:
    outcomes = may_message_each(
        sender(Tier.PREMIUM_CAREER, credits=5),
        [
            connection(2),
            group_mate(3),
            stranger(4),
            connection(5, blocked=True),
            stranger(6, tier=Tier.PREMIUM_BUSINESS, open_profile=True),
            stranger(1),
        ],
    )
    assert [decision(o).kind for o in outcomes[:2]] == [ConversationKind.DIRECT, ConversationKind.GROUP_MEMBER]
    assert [(refusal(o).reason, refusal(o).recipient) for o in outcomes[2:]] == [
        ("connection_required", 4),
        ("blocked", 5),
        ("connection_required", 6),  # Open Profile opens a 1:1 thread, not a message to several
        ("cannot_message_self", 1),
    ]


def test_a_single_recipient_gets_the_policys_own_answer() -> None:
    assert may_message_each(sender(), []) == []
    assert may_message_each(sender(), [stranger()]) == [may_message(sender(), [stranger()])]
    assert decision(may_message_each(sender(), [connection()])[0]).kind is ConversationKind.DIRECT
