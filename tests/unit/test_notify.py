"""Notification rules: preferences and the e-mail back-off (domain/notify.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rapport.domain.errors import Invalid
from rapport.domain.notify import (
    CHANNELS,
    PREFERENCE_KINDS,
    THROTTLE_MAX,
    THROTTLE_START,
    EmailThrottle,
    merge,
    message_preference_kind,
    preference_kind,
    resolve,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DELAY = timedelta(minutes=10)


def test_every_kind_and_channel_is_on_by_default_except_sponsored_email() -> None:
    prefs = resolve({})
    assert set(prefs) == set(PREFERENCE_KINDS)
    off = [(k, c) for k in PREFERENCE_KINDS for c in CHANNELS if not prefs[k][c]]
    assert off == [("sponsored", "email")]


def test_a_members_choice_overrides_the_default() -> None:
    prefs = resolve({"message": {"email": False}, "sponsored": {"email": True}})
    assert prefs["message"] == {"in_app": True, "email": False, "push": True}
    assert prefs["sponsored"]["email"] is True


def test_merge_keeps_earlier_choices_and_adds_the_change() -> None:
    assert merge({"message": {"email": False}}, {"message": {"push": False}, "group": {"in_app": False}}) == {
        "message": {"email": False, "push": False},
        "group": {"in_app": False},
    }


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(Invalid) as error:
        merge({}, {"messages": {"email": False}})
    assert error.value.code == "unknown_notification_kind"


def test_an_unknown_channel_is_refused() -> None:
    with pytest.raises(Invalid) as error:
        merge({}, {"message": {"sms": False}})
    assert error.value.code == "unknown_notification_channel"


def test_in_app_kinds_map_to_their_preference_kind() -> None:
    assert preference_kind("invitation_received") == "invitation"
    assert preference_kind("invitation_accepted") == "invitation"
    assert preference_kind("group_request") == preference_kind("group_approved") == "group"
    assert preference_kind("mention") == "mention"
    assert preference_kind("profile_view") is None
    assert preference_kind("endorsement") is None


def test_a_message_is_governed_by_its_conversation_kind() -> None:
    assert message_preference_kind("inmail") == "inmail"
    assert message_preference_kind("sponsored") == "sponsored"
    assert message_preference_kind("direct") == "message"
    assert message_preference_kind("group_chat") == "message"


def test_the_first_email_goes_after_the_delay() -> None:
    assert EmailThrottle().next_email_at(T0, DELAY) == T0 + DELAY


def test_after_an_email_the_next_waits_the_throttle_which_grows_to_a_day() -> None:
    throttle = EmailThrottle().after_email(T0 + DELAY, T0)
    assert throttle.interval == THROTTLE_START
    sent = T0 + DELAY
    intervals = []
    for _ in range(5):
        first_new = sent + timedelta(minutes=1)
        next_at = throttle.next_email_at(first_new, DELAY)
        assert next_at == max(first_new + DELAY, sent + throttle.interval)
        throttle = throttle.after_email(next_at, first_new)
        sent = next_at
        intervals.append(throttle.interval)
    assert intervals == [timedelta(hours=1), timedelta(hours=6), THROTTLE_MAX, THROTTLE_MAX, THROTTLE_MAX]


def test_a_chatty_conversation_waits_the_interval_not_just_the_delay() -> None:
    throttle = EmailThrottle(T0, timedelta(hours=6))
    assert throttle.next_email_at(T0 + timedelta(minutes=5), DELAY) == T0 + timedelta(hours=6)


def test_twelve_quiet_hours_release_the_throttle() -> None:
    throttle = EmailThrottle(T0, THROTTLE_MAX)
    first_new = T0 + timedelta(hours=12)
    assert throttle.next_email_at(first_new, DELAY) == first_new + DELAY
    assert throttle.after_email(first_new + DELAY, first_new).interval == THROTTLE_START
