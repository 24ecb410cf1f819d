"""Event types (DESIGN §4): stored events get a sequence number, typing is live only."""

from __future__ import annotations

import json

import pytest

from rapport.domain.events import Event, EventType, frame
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


def test_a_frame_is_the_body_with_its_seq_first() -> None:
    body = b'{"type":"message.new","text":"a, b"}'
    assert frame(7, body) == b'{"seq":7,"type":"message.new","text":"a, b"}'
    assert json.loads(frame(None, body)) == {"seq": None, "type": "message.new", "text": "a, b"}
    assert frame(3, b"{}") == b'{"seq":3}'
