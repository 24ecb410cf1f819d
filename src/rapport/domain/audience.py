"""Who receives each event. A wrong recipient list is a privacy bug, so it is decided here only."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from rapport.domain.model import ConversationKind, MemberId
from rapport.domain.receipts import may_see_typing


def message_audience(participants: Iterable[MemberId]) -> tuple[MemberId, ...]:
    """A message event goes to every participant, the author too (their other devices)."""
    return tuple(sorted(set(participants)))


def others(participants: Iterable[MemberId], member: MemberId) -> tuple[MemberId, ...]:
    """Everyone in the conversation but `member`."""
    return tuple(sorted(p for p in set(participants) if p != member))


def typing_audience(
    *,
    kind: ConversationKind,
    typist: MemberId,
    switches: Mapping[MemberId, bool],
    blocked_pairs: Collection[frozenset[MemberId]],
) -> tuple[MemberId, ...]:
    """The participants who may see `typist` typing (`switches` covers every participant)."""
    typist_switch = switches.get(typist, False)
    return tuple(
        viewer
        for viewer in others(switches, typist)
        if may_see_typing(
            kind=kind,
            typist_switch=typist_switch,
            viewer_switch=switches[viewer],
            blocked=frozenset((typist, viewer)) in blocked_pairs,
        )
    )
