"""Notification rules: kinds, preferences per kind and channel, and the e-mail back-off.

Preferences (API.md "Notifications"):
- kinds `message`, `inmail`, `invitation`, `group`, `mention`, `sponsored`; channels
  `in_app`, `email`, `push`; every pair is on by default except `sponsored.email`;
- a member stores only what they changed; an unknown kind or channel is refused, so a
  typo never silently keeps a channel on.

Which preference governs what:
- a message by the kind of its conversation: an InMail thread's by `inmail`, a sponsored
  one's by `sponsored`, every other by `message`;
- an in-app notification by its kind's preference kind (`invitation_*` by `invitation`,
  `group_*` by `group`, `mention` by `mention`); a profile view or an endorsement exists
  only in the app.

E-mail back-off for one conversation (after Synapse's e-mail pusher):
- the first e-mail about new messages goes `delay` after the oldest of them arrived;
- after an e-mail, the next about that conversation waits at least the throttle interval,
  which starts at 10 minutes and grows six-fold with each e-mail (10 min, 1 h, 6 h) up to
  24 hours;
- when the conversation stayed quiet for 12 hours after an e-mail (no new message), the
  throttle is released: the next e-mail waits only `delay` and the interval starts over.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from rapport.domain.errors import Invalid

NOTIFICATION_KINDS = (
    "invitation_received",
    "invitation_accepted",
    "mention",
    "group_request",
    "group_approved",
    "profile_view",
    "endorsement",
)
PREFERENCE_KINDS = ("message", "inmail", "invitation", "group", "mention", "sponsored")
CHANNELS = ("in_app", "email", "push")
_OFF_BY_DEFAULT = frozenset({("sponsored", "email")})
_PREFERENCE_OF = {
    "invitation_received": "invitation",
    "invitation_accepted": "invitation",
    "mention": "mention",
    "group_request": "group",
    "group_approved": "group",
}

Preferences = dict[str, dict[str, bool]]


def is_on_by_default(kind: str, channel: str) -> bool:
    return (kind, channel) not in _OFF_BY_DEFAULT


def resolve(overrides: Mapping[str, Mapping[str, bool]]) -> Preferences:
    """Every kind and channel: the member's choice where they made one, else the default."""
    return {
        kind: {
            channel: bool(overrides.get(kind, {}).get(channel, is_on_by_default(kind, channel))) for channel in CHANNELS
        }
        for kind in PREFERENCE_KINDS
    }


def merge(overrides: Mapping[str, Mapping[str, bool]], change: Mapping[str, Mapping[str, bool]]) -> Preferences:
    """The stored choices after a change; an unknown kind or channel refuses the whole change."""
    merged = {kind: dict(channels) for kind, channels in overrides.items()}
    for kind, channels in change.items():
        if kind not in PREFERENCE_KINDS:
            raise Invalid(f"Unknown notification kind {kind!r}.", code="unknown_notification_kind")
        for channel, on in channels.items():
            if channel not in CHANNELS:
                raise Invalid(f"Unknown notification channel {channel!r}.", code="unknown_notification_channel")
            merged.setdefault(kind, {})[channel] = bool(on)
    return merged


def preference_kind(notification_kind: str) -> str | None:
    """The preference kind governing an in-app notification; None: in the app only, always."""
    return _PREFERENCE_OF.get(notification_kind)


def message_preference_kind(conversation_kind: str) -> str:
    """The preference kind governing a message in a conversation of this kind."""
    if conversation_kind in ("inmail", "sponsored"):
        return conversation_kind
    return "message"


THROTTLE_START = timedelta(minutes=10)
THROTTLE_MAX = timedelta(hours=24)
THROTTLE_MULTIPLIER = 6
THROTTLE_RESET_AFTER = timedelta(hours=12)


@dataclass(frozen=True)
class EmailThrottle:
    """When the last e-mail about one conversation went to one member, and the interval since."""

    last_sent_at: datetime | None = None
    interval: timedelta = timedelta(0)

    def is_released(self, first_new_at: datetime) -> bool:
        """Never e-mailed, or quiet for THROTTLE_RESET_AFTER between the last e-mail and the next message."""
        return self.last_sent_at is None or first_new_at - self.last_sent_at >= THROTTLE_RESET_AFTER

    def next_email_at(self, first_new_at: datetime, delay: timedelta) -> datetime:
        """When an e-mail about messages starting with one that arrived at `first_new_at` may go."""
        due = first_new_at + delay
        if self.is_released(first_new_at):
            return due
        assert self.last_sent_at is not None
        return max(due, self.last_sent_at + self.interval)

    def after_email(self, now: datetime, first_new_at: datetime) -> EmailThrottle:
        """The throttle once an e-mail about messages from `first_new_at` on went out at `now`."""
        if self.is_released(first_new_at):
            return EmailThrottle(now, THROTTLE_START)
        return EmailThrottle(now, min(self.interval * THROTTLE_MULTIPLIER, THROTTLE_MAX))
