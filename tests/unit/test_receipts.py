"""Read receipts and typing indicators (DESIGN §4): who may see what."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rapport.domain.model import ConversationKind
from rapport.domain.receipts import (
    RECEIPT_KINDS,
    TYPING_KINDS,
    is_receipt_shared,
    may_see_receipt,
    may_see_typing,
    message_status,
)

K = ConversationKind
ONE_TO_ONE_FREE = [K.DIRECT, K.GROUP_MEMBER, K.OPEN_PROFILE]
NO_RECEIPTS = [K.GROUP_CHAT, K.MULTI, K.INMAIL, K.SPONSORED]


def shared(kind: ConversationKind = K.DIRECT, **overrides: bool) -> bool:
    facts = {"reader_switch": True, "sender_switch": True, "blocked": False} | overrides
    return is_receipt_shared(kind=kind, **facts)


def shown(kind: ConversationKind = K.DIRECT, **overrides: bool) -> bool:
    facts = {
        "shared": True,
        "reader_switch": True,
        "viewer_switch": True,
        "blocked": False,
        "network_receipts": True,
    } | overrides
    return may_see_receipt(kind=kind, **facts)


def typing(kind: ConversationKind = K.DIRECT, **overrides: bool) -> bool:
    facts = {"typist_switch": True, "viewer_switch": True, "blocked": False} | overrides
    return may_see_typing(kind=kind, **facts)


# --- Which conversations have receipts -------------------------------------------------------


def test_receipts_exist_only_in_free_one_to_one_kinds() -> None:
    assert set(ONE_TO_ONE_FREE) == RECEIPT_KINDS


@pytest.mark.parametrize("kind", ONE_TO_ONE_FREE)
def test_read_in_a_one_to_one_conversation_is_shared_when_both_switches_are_on(
    kind: ConversationKind,
) -> None:
    assert shared(kind)
    assert shown(kind)


@pytest.mark.parametrize("kind", NO_RECEIPTS)
def test_group_multi_inmail_and_sponsored_conversations_never_share_receipts(
    kind: ConversationKind,
) -> None:
    assert not shared(kind)
    assert not shown(kind)


# --- The reciprocal switch -------------------------------------------------------------------


def test_reader_with_the_switch_off_does_not_share_their_read() -> None:
    assert not shared(reader_switch=False)


def test_sender_with_the_switch_off_does_not_see_reads_of_their_messages() -> None:
    assert not shared(sender_switch=False)


def test_neither_side_shares_when_both_switches_are_off() -> None:
    assert not shared(reader_switch=False, sender_switch=False)


def test_switching_off_later_hides_reads_already_shared_and_switching_on_shows_them_again() -> None:
    # DESIGN §4: the switch hides older receipts too, while it is off; it deletes nothing.
    assert shown(shared=True)
    assert not shown(shared=True, reader_switch=False)
    assert not shown(shared=True, viewer_switch=False)
    assert not shown(shared=True, reader_switch=False, viewer_switch=False)
    assert shown(shared=True, reader_switch=True, viewer_switch=True)


def test_read_made_while_a_switch_was_off_stays_hidden_after_switching_on() -> None:
    was_shared = shared(reader_switch=False)
    assert not shown(shared=was_shared)


# --- Blocks and the network switch -----------------------------------------------------------


def test_read_is_not_shared_across_a_block() -> None:
    assert not shared(blocked=True)


def test_block_hides_receipts_shared_before_it() -> None:
    assert not shown(shared=True, blocked=True)


def test_network_switch_off_hides_every_receipt_whatever_members_chose() -> None:
    for kind in ONE_TO_ONE_FREE:
        assert not shown(kind, shared=True, network_receipts=False)


@given(
    kind=st.sampled_from(ConversationKind),
    reader=st.booleans(),
    sender=st.booleans(),
    reader_now=st.booleans(),
    sender_now=st.booleans(),
    blocked=st.booleans(),
    network=st.booleans(),
)
def test_a_receipt_is_shown_only_when_every_rule_allows_it(
    kind: ConversationKind,
    reader: bool,
    sender: bool,
    reader_now: bool,
    sender_now: bool,
    blocked: bool,
    network: bool,
) -> None:
    was_shared = is_receipt_shared(kind=kind, reader_switch=reader, sender_switch=sender, blocked=blocked)
    visible = may_see_receipt(
        kind=kind,
        shared=was_shared,
        reader_switch=reader_now,
        viewer_switch=sender_now,
        blocked=blocked,
        network_receipts=network,
    )
    expected = kind in ONE_TO_ONE_FREE and reader and sender and reader_now and sender_now and not blocked and network
    assert visible is expected


# --- Typing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [K.DIRECT, K.GROUP_MEMBER, K.OPEN_PROFILE, K.MULTI, K.GROUP_CHAT])
def test_typing_is_shown_in_every_kind_but_inmail_and_sponsored(kind: ConversationKind) -> None:
    assert kind in TYPING_KINDS
    assert typing(kind)


def test_typing_is_shown_in_group_chats_though_receipts_are_not() -> None:
    assert typing(K.GROUP_CHAT)
    assert not shown(K.GROUP_CHAT)


@pytest.mark.parametrize("kind", [K.INMAIL, K.SPONSORED])
def test_typing_is_never_shown_in_inmail_or_sponsored_messages(kind: ConversationKind) -> None:
    assert kind not in TYPING_KINDS
    assert not typing(kind)


def test_typist_with_the_switch_off_is_seen_by_nobody() -> None:
    assert not typing(typist_switch=False)


def test_viewer_with_the_switch_off_sees_nobody_typing() -> None:
    assert not typing(viewer_switch=False)


def test_typing_is_never_shown_across_a_block() -> None:
    for kind in TYPING_KINDS:
        assert not typing(kind, blocked=True)


@pytest.mark.parametrize(
    ("typist", "viewer", "blocked"),
    [c for c in itertools.product([True, False], repeat=3) if c != (True, True, False)],
)
def test_typing_needs_both_switches_on_and_no_block(typist: bool, viewer: bool, blocked: bool) -> None:
    assert not typing(typist_switch=typist, viewer_switch=viewer, blocked=blocked)


# --- The sender's status ---------------------------------------------------------------------


def test_stored_message_not_yet_delivered_is_sent() -> None:
    assert message_status(message_id=10, delivered_through=9, read_visible=False) == "sent"


def test_message_is_delivered_once_a_device_received_it_or_a_later_one() -> None:
    assert message_status(message_id=10, delivered_through=10, read_visible=False) == "delivered"
    assert message_status(message_id=10, delivered_through=12, read_visible=False) == "delivered"


def test_message_shows_read_only_when_the_read_is_visible() -> None:
    assert message_status(message_id=10, delivered_through=10, read_visible=True) == "read"


def test_hidden_read_shows_as_delivered() -> None:
    assert message_status(message_id=10, delivered_through=10, read_visible=False) == "delivered"
