"""Engagement insight and the follow-up assistant (DESIGN §6), from facts the service loads.

Which reads count — the privacy rule of insight, stricter than a thread's:
- A read counts only if the sender may see it, judged twice, and both must hold:
  - **then**, at the moment of the read: the conversation kind has receipts (`direct`,
    `group_member`, `open_profile`; never group chats, multi, InMail or sponsored), the
    read was shared when recorded, and the reader's switch, the sender's switch and the
    operator's switch were all on (from the stored history of switch changes);
  - **now**: both members' switches and the operator's are on and neither member blocks
    the other (DESIGN §4: the current switch hides older receipts too).
  "Then" alone would let the rate reveal a read that the thread hides from the sender
  today; "now" alone would count reads made while the reader asked not to be seen.
- Every other message counts as not read. There is no "unknown" bucket: sent minus read
  minus unknown would give away exactly the hidden reads.
- A read reports the newest message the reader's thread showed, so it covers every
  earlier message of that thread: a message is read at the earliest counted read of the
  same conversation, by the other member, at or after its id.

Replies: a message is replied to when anyone else writes in the same conversation after
it; its time to reply runs to the first such message. Weekly buckets count the messages
sent that week (Monday to Sunday, UTC), and which of them were read and replied to.

Follow-ups: a conversation whose last message is the member's own, unanswered for the
follow-up delay, is suggested for a follow-up; once two follow-ups after the first message
went unanswered, the advice is to stop. A dismissal hides the suggestion until the next
message in that conversation.
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from rapport.domain.model import ConversationId, ConversationKind, MemberId, MessageId
from rapport.domain.receipts import is_receipt_shared

WEEKS_DEFAULT = 12
WEEKS_MAX = 104
FOLLOW_UP_AFTER_DEFAULT = timedelta(days=3)
FOLLOW_UPS_BEFORE_STOP = 2


@dataclass(frozen=True, slots=True)
class SwitchHistory:
    """When one switch changed, oldest first; it is on before its first recorded change
    (the product's default), and `current` is what it says now."""

    changes: tuple[tuple[datetime, bool], ...] = ()
    current: bool = True

    def is_on_at(self, at: datetime) -> bool:
        """The switch's position at `at` (a change at exactly `at` already applies)."""
        i = bisect.bisect_right(self.changes, at, key=lambda change: change[0])
        return self.changes[i - 1][1] if i else True


@dataclass(frozen=True, slots=True)
class SentMessage:
    """One of the member's messages; `reader` is the other member of a 1:1 thread, if any."""

    conversation_id: ConversationId
    message_id: MessageId
    kind: ConversationKind
    sent_at: datetime
    reader: MemberId | None
    replied_at: datetime | None


@dataclass(frozen=True, slots=True)
class Read:
    """A recorded read: `reader`'s thread showed messages up to `message_id` at `read_at`."""

    conversation_id: ConversationId
    reader: MemberId
    message_id: MessageId
    read_at: datetime
    shared: bool


@dataclass(frozen=True, slots=True)
class ReceiptSwitches:
    """Every switch the rule consults: the sender's, each reader's, the operator's, and blocks now."""

    sender: SwitchHistory
    readers: Mapping[MemberId, SwitchHistory]
    network: SwitchHistory
    blocked: frozenset[MemberId] = frozenset()


@dataclass(frozen=True, slots=True)
class WeekCount:
    week: date
    sent: int
    read: int
    replied: int


@dataclass(frozen=True, slots=True)
class Insight:
    sent: int
    conversations_started: int
    read: int
    replied: int
    read_rate: float | None
    reply_rate: float | None
    median_seconds_to_read: float | None
    median_seconds_to_reply: float | None
    weeks: tuple[WeekCount, ...]


def may_count_read(read: Read, *, kind: ConversationKind, switches: ReceiptSwitches) -> bool:
    """Whether a read is one the sender may see, both at the time of the read and now."""
    reader = switches.readers.get(read.reader, SwitchHistory(current=False))
    then = (
        read.shared
        and switches.network.is_on_at(read.read_at)
        and is_receipt_shared(
            kind=kind,
            reader_switch=reader.is_on_at(read.read_at),
            sender_switch=switches.sender.is_on_at(read.read_at),
            blocked=False,
        )
    )
    now = switches.network.current and is_receipt_shared(
        kind=kind,
        reader_switch=reader.current,
        sender_switch=switches.sender.current,
        blocked=read.reader in switches.blocked,
    )
    return then and now


class _ReadIndex:
    """Counted reads of one conversation by message id, with the earliest read time at or after each."""

    def __init__(self, reads: list[Read]) -> None:
        reads.sort(key=lambda r: r.message_id)
        self.ids = [r.message_id for r in reads]
        self.earliest: list[datetime] = [r.read_at for r in reads]
        for i in range(len(reads) - 2, -1, -1):
            self.earliest[i] = min(self.earliest[i], self.earliest[i + 1])

    def read_at(self, message_id: int) -> datetime | None:
        i = bisect.bisect_left(self.ids, message_id)
        return self.earliest[i] if i < len(self.ids) else None


def first_visible_reads(
    sent: Iterable[SentMessage], reads: Iterable[Read], switches: ReceiptSwitches
) -> dict[MessageId, datetime]:
    """When each of the member's messages was first read, counting only reads `may_count_read` allows."""
    mine = list(sent)
    reader_of = {m.conversation_id: (m.reader, m.kind) for m in mine if m.reader is not None}
    counted: dict[tuple[ConversationId, MemberId], list[Read]] = {}
    for r in reads:
        thread = reader_of.get(r.conversation_id)
        if thread and r.reader == thread[0] and may_count_read(r, kind=thread[1], switches=switches):
            counted.setdefault((r.conversation_id, r.reader), []).append(r)
    index = {key: _ReadIndex(found) for key, found in counted.items()}
    out: dict[MessageId, datetime] = {}
    for m in mine:
        found = index.get((m.conversation_id, m.reader)) if m.reader is not None else None
        at = found.read_at(m.message_id) if found else None
        if at is not None:
            out[m.message_id] = at
    return out


def week_of(at: datetime) -> date:
    """The Monday (UTC) that starts the week of `at`."""
    day = at.date()
    return day - timedelta(days=day.weekday())


def summarise(
    *,
    sent: Sequence[SentMessage],
    reads: Iterable[Read],
    switches: ReceiptSwitches,
    conversations_started: int,
    now: datetime,
    weeks: int,
) -> Insight:
    """The member's totals over all their messages, and the last `weeks` weeks one by one."""
    read_at = first_visible_reads(sent, reads, switches)
    to_read = [(read_at[m.message_id] - m.sent_at).total_seconds() for m in sent if m.message_id in read_at]
    to_reply = [(m.replied_at - m.sent_at).total_seconds() for m in sent if m.replied_at is not None]
    this_week = week_of(now)
    first = this_week - timedelta(weeks=weeks - 1)
    buckets = {first + timedelta(weeks=k): [0, 0, 0] for k in range(weeks)}
    start = datetime.combine(first, time(), tzinfo=now.tzinfo)
    for m in sent:
        if m.sent_at < start:
            continue
        bucket = buckets.get(week_of(m.sent_at))
        if bucket is None:  # sent after `now`: a clock moved back
            continue
        bucket[0] += 1
        bucket[1] += m.message_id in read_at
        bucket[2] += m.replied_at is not None
    total = len(sent)
    return Insight(
        sent=total,
        conversations_started=conversations_started,
        read=len(to_read),
        replied=len(to_reply),
        read_rate=_rate(len(to_read), total),
        reply_rate=_rate(len(to_reply), total),
        median_seconds_to_read=statistics.median(to_read) if to_read else None,
        median_seconds_to_reply=statistics.median(to_reply) if to_reply else None,
        weeks=tuple(WeekCount(week, *counts) for week, counts in buckets.items()),
    )


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class Advice(StrEnum):
    FOLLOW_UP = "follow_up"
    STOP = "stop"


ADVICE_TEXT = {
    Advice.FOLLOW_UP: (
        "No reply yet. A short, friendly follow-up often helps: add something of value — a link, "
        "an answer, a concrete next step — rather than only asking again."
    ),
    Advice.STOP: (
        "Two follow-ups went unanswered. Time to stop here: change the message if you try again later, "
        "add real value, or move on."
    ),
}


@dataclass(frozen=True, slots=True)
class UnansweredThread:
    """A conversation whose last message is the member's: `unanswered` of theirs in a row."""

    conversation_id: ConversationId
    other: MemberId
    last_sent_at: datetime
    unanswered: int
    dismissed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FollowUp:
    thread: UnansweredThread
    advice: Advice

    @property
    def advice_text(self) -> str:
        return ADVICE_TEXT[self.advice]


def advice_for(unanswered: int) -> Advice:
    """The first message plus up to two follow-ups: follow up; past that: stop."""
    return Advice.STOP if unanswered - 1 >= FOLLOW_UPS_BEFORE_STOP else Advice.FOLLOW_UP


def due_follow_ups(threads: Iterable[UnansweredThread], *, now: datetime, after: timedelta) -> list[FollowUp]:
    """Threads waiting at least `after` for a reply and not dismissed since, longest waiting first."""
    due = [
        t
        for t in threads
        if t.unanswered > 0
        and now - t.last_sent_at >= after
        and (t.dismissed_at is None or t.dismissed_at < t.last_sent_at)
    ]
    due.sort(key=lambda t: (t.last_sent_at, t.conversation_id))
    return [FollowUp(t, advice_for(t.unanswered)) for t in due]
