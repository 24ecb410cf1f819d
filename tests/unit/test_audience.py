"""Who receives each event: a wrong list is a privacy bug."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rapport.domain.audience import message_audience, others, typing_audience
from rapport.domain.model import ConversationKind, MemberId

A, B, C, D = (MemberId(i) for i in (1, 2, 3, 4))
member_ids = st.builds(MemberId, st.integers(min_value=1, max_value=10_000))


def test_message_event_goes_to_every_participant_including_the_author() -> None:
    assert message_audience([C, A, B]) == (A, B, C)


def test_message_audience_names_each_participant_once() -> None:
    assert message_audience([B, A, B, A]) == (A, B)


def test_message_audience_of_nobody_is_empty() -> None:
    assert message_audience([]) == ()


def test_others_are_everyone_but_the_member() -> None:
    assert others([A, B, C], B) == (A, C)


def test_others_of_a_non_participant_are_all_participants() -> None:
    assert others([B, A], D) == (A, B)


@given(st.lists(member_ids, max_size=60), member_ids)
def test_audiences_are_sorted_unique_and_drawn_only_from_participants(
    participants: list[MemberId], member: MemberId
) -> None:
    everyone = message_audience(participants)
    assert list(everyone) == sorted(set(participants))
    rest = others(participants, member)
    assert member not in rest
    assert set(rest) == set(participants) - {member}
    assert list(rest) == sorted(rest)


def test_typing_is_shown_to_every_other_participant_with_the_switch_on() -> None:
    switches = {A: True, B: True, C: True}
    audience = typing_audience(kind=ConversationKind.GROUP_CHAT, typist=A, switches=switches, blocked_pairs=())
    assert audience == (B, C)


def test_typist_never_sees_their_own_typing() -> None:
    audience = typing_audience(kind=ConversationKind.DIRECT, typist=A, switches={A: True, B: True}, blocked_pairs=())
    assert A not in audience


def test_typist_with_the_switch_off_is_shown_to_nobody() -> None:
    audience = typing_audience(
        kind=ConversationKind.MULTI,
        typist=A,
        switches={A: False, B: True, C: True},
        blocked_pairs=(),
    )
    assert audience == ()


def test_viewer_with_the_switch_off_is_left_out() -> None:
    audience = typing_audience(
        kind=ConversationKind.MULTI,
        typist=A,
        switches={A: True, B: False, C: True},
        blocked_pairs=(),
    )
    assert audience == (C,)


def test_typist_missing_from_the_switches_is_treated_as_switched_off() -> None:
    audience = typing_audience(kind=ConversationKind.DIRECT, typist=D, switches={A: True, B: True}, blocked_pairs=())
    assert audience == ()


def test_member_blocked_either_way_never_sees_the_typist() -> None:
    switches = {A: True, B: True, C: True, D: True}
    audience = typing_audience(
        kind=ConversationKind.GROUP_CHAT,
        typist=A,
        switches=switches,
        blocked_pairs={frozenset((B, A)), frozenset((C, D))},
    )
    assert audience == (C, D)


def test_nobody_sees_typing_in_inmail_or_sponsored_conversations() -> None:
    for kind in (ConversationKind.INMAIL, ConversationKind.SPONSORED):
        audience = typing_audience(kind=kind, typist=A, switches={A: True, B: True}, blocked_pairs=())
        assert audience == ()


@given(
    switches=st.dictionaries(member_ids, st.booleans(), max_size=20),
    typist=member_ids,
    kind=st.sampled_from(ConversationKind),
)
def test_typing_audience_is_a_subset_of_the_other_participants(
    switches: dict[MemberId, bool], typist: MemberId, kind: ConversationKind
) -> None:
    audience = typing_audience(kind=kind, typist=typist, switches=switches, blocked_pairs=())
    assert set(audience) <= set(others(switches, typist))
    assert all(switches[viewer] for viewer in audience)
