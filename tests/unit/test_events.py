"""Event types (DESIGN §4): stored events get a sequence number, typing is live only."""

from __future__ import annotations

import pytest

from rapport.domain.events import Event, EventType
from rapport.domain.model import MemberId


def test_typing_is_the_only_live_only_event() -> None:
    assert [t for t in EventType if t.is_live_only] == [EventType.TYPING]


@pytest.mark.parametrize("event_type", [t for t in EventType if t is not EventType.TYPING])
def test_every_other_event_is_stored(event_type: EventType) -> None:
    assert not event_type.is_live_only


def test_event_payload_defaults_to_empty() -> None:
    event = Event(EventType.MESSAGE_NEW, (MemberId(1), MemberId(2)))
    assert event.payload == {}
    assert event.recipients == (1, 2)
