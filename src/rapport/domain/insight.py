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
import itertools
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from rapport.domain.model import ConversationId, ConversationKind, MemberId, MessageId
from rapport.domain.receipts import is_receipt_shared

WEEKS_DEFAULT = 12
WEEKS_MAX = 104
FOLLOW_UP_AFTER_DEFAULT = timedelta(days=3)
FOLLOW_UPS_BEFORE_STOP = 2
WEEK = 7 * 86_400
# 1970-01-01 was a Thursday: weeks (Monday 00:00 UTC) start 4 days off the epoch's.
_MONDAY = 4 * 86_400

# Times below are POSIX seconds (floats), not datetimes: one answer handles every message a
# member ever sent (10,000 and more), and the rows are plain tuples for the same reason.


@dataclass(frozen=True, slots=True)
class SwitchHistory:
    """When one switch changed (POSIX seconds, oldest first); it is on before its first
    recorded change (the product's default), and `current` is what it says now."""

    changes: tuple[tuple[float, bool], ...] = ()
    current: bool = True

    def is_on_at(self, at: float) -> bool:
        """The switch's position at `at` (a change at exactly `at` already applies)."""
        if not self.changes:
            return True
        i = bisect.bisect_right(self.changes, (at, True))
        return self.changes[i - 1][1] if i else True


SentMessage = tuple[ConversationId, MessageId, float, float | None]
"""One of the member's messages: (conversation_id, message_id, sent_at, replied_at), where
`replied_at` is when someone else first wrote after it. Plain tuples, straight from the
database: Python stops tracking a tuple of numbers for garbage collection, so 10,000 of
them do not set off full collections the way objects would."""


class Thread(NamedTuple):
    """One of the member's conversations: its kind, and the other member of a 1:1 thread."""

    kind: ConversationKind
    reader: MemberId | None


Read = tuple[ConversationId, MemberId, MessageId, float, bool]
"""A recorded read, (conversation_id, reader, message_id, read_at, shared): `reader`'s
thread showed messages up to `message_id` at `read_at`. Plain tuples, as `SentMessage`."""


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
    return _visible_now(read[1], kind, switches) and _visible_then(read, switches)


def _visible_now(reader: MemberId, kind: ConversationKind, switches: ReceiptSwitches) -> bool:
    """Today's switches and blocks let the sender see `reader`'s receipts in a thread of `kind`."""
    history = switches.readers.get(reader)
    return switches.network.current and is_receipt_shared(
        kind=kind,
        reader_switch=history is not None and history.current,
        sender_switch=switches.sender.current,
        blocked=reader in switches.blocked,
    )


_UNKNOWN = SwitchHistory(current=False)


def _visible_then(read: Read, switches: ReceiptSwitches) -> bool:
    """The read was shared, and every switch was on at the moment it happened."""
    _, reader, _, read_at, shared = read
    history = switches.readers.get(reader, _UNKNOWN)
    return (
        shared
        and switches.network.is_on_at(read_at)
        and history.is_on_at(read_at)
        and switches.sender.is_on_at(read_at)
    )


def first_visible_reads(
    sent: Iterable[SentMessage],
    reads: Iterable[Read],
    threads: Mapping[ConversationId, Thread],
    switches: ReceiptSwitches,
) -> dict[MessageId, float]:
    """When each of the member's messages was first read, counting only reads `may_count_read` allows."""
    mine = list(sent)
    found = _first_reads(_counted_reads(reads, threads, switches), mine)
    return {m[1]: at for m, at in zip(mine, found, strict=True) if at is not None}


_ReadIndex = dict[ConversationId, tuple[list[int], list[float]]]
"""Per conversation: the counted reads' message ids, ascending, and for each the earliest
time of a counted read at or after it."""


def _counted_reads(
    reads: Iterable[Read], threads: Mapping[ConversationId, Thread], switches: ReceiptSwitches
) -> _ReadIndex:
    """The reads `may_count_read` allows, indexed for `_first_reads`."""
    counted: dict[ConversationId, list[tuple[int, float]]] = {}
    # Per conversation (one reader, one kind): the reader whose reads may count there (None:
    # none may, today), and whether any switch ever changed; with no change, a read counts
    # then iff it was shared.
    verdicts: dict[ConversationId, tuple[MemberId | None, bool]] = {}
    no_verdict = (None, False)
    for r in reads:
        cid, reader, message_id, read_at, shared = r
        verdict = verdicts.get(cid)
        if verdict is None:
            verdict = verdicts[cid] = _verdict(threads.get(cid), switches) or no_verdict
        counts_for, changed = verdict
        if reader != counts_for:
            continue
        if shared if not changed else _visible_then(r, switches):
            found = counted.get(cid)
            if found is None:
                found = counted[cid] = []
            found.append((message_id, read_at))
    index: _ReadIndex = {}
    for cid, found in counted.items():
        found.sort()
        earliest = [at for _, at in found]
        for i in range(len(earliest) - 2, -1, -1):
            if earliest[i + 1] < earliest[i]:
                earliest[i] = earliest[i + 1]
        index[cid] = ([mid for mid, _ in found], earliest)
    return index


def _verdict(thread: Thread | None, switches: ReceiptSwitches) -> tuple[MemberId, bool] | None:
    """Whose reads may count in a thread today (None: nobody's), and whether a switch ever changed."""
    if thread is None or thread.reader is None:  # no 1:1 thread with receipts
        return None
    if not _visible_now(thread.reader, thread.kind, switches):
        return None
    history = switches.readers.get(thread.reader, _UNKNOWN)
    return thread.reader, bool(history.changes or switches.sender.changes or switches.network.changes)


def _first_reads(index: _ReadIndex, sent: Iterable[SentMessage]) -> list[float | None]:
    """For each message, in order: the earliest counted read of its conversation at or after it
    (a read covers every earlier message). A plain loop: it runs once per message ever sent."""
    out: list[float | None] = []
    lookup, bisect_left, none = index.get, bisect.bisect_left, ((), ())
    for cid, message_id, _, _ in sent:
        ids, earliest = lookup(cid, none)
        i = bisect_left(ids, message_id)
        out.append(earliest[i] if i < len(ids) else None)
    return out


def week_start(at: float) -> float:
    """The Monday 00:00 UTC that starts the week of `at`, in POSIX seconds."""
    return (at - _MONDAY) // WEEK * WEEK + _MONDAY


def summarise(
    *,
    sent: Sequence[SentMessage],
    reads: Iterable[Read],
    threads: Mapping[ConversationId, Thread],
    switches: ReceiptSwitches,
    conversations_started: int,
    now: datetime,
    weeks: int,
) -> Insight:
    """The member's totals over all their messages, and the last `weeks` weeks one by one."""
    index = _counted_reads(reads, threads, switches)
    # Every message the member ever sent (10,000 and more): one loop for the read times, the
    # rest in comprehensions and sorted lists, which run in C.
    read_at = _first_reads(index, sent)
    to_read = [at - m[2] for at, m in zip(read_at, sent, strict=True) if at is not None]
    to_reply = [m[3] - m[2] for m in sent if m[3] is not None]
    first = week_start(now.timestamp()) - (weeks - 1) * WEEK
    bounds = [first + k * WEEK for k in range(weeks + 1)]
    # Messages sent before the window, or after `now` (a clock moved back): totals only.
    counts = zip(
        _per_week([m[2] for m in sent], bounds),
        _per_week([m[2] for at, m in zip(read_at, sent, strict=True) if at is not None], bounds),
        _per_week([m[2] for m in sent if m[3] is not None], bounds),
        strict=True,
    )
    total = len(sent)
    return Insight(
        sent=total,
        conversations_started=conversations_started,
        read=len(to_read),
        replied=len(to_reply),
        read_rate=_rate(len(to_read), total),
        reply_rate=_rate(len(to_reply), total),
        median_seconds_to_read=_median(to_read),
        median_seconds_to_reply=_median(to_reply),
        weeks=tuple(WeekCount(datetime.fromtimestamp(b, UTC).date(), *c) for b, c in zip(bounds, counts, strict=False)),
    )


def _per_week(times: list[float], bounds: list[float]) -> list[int]:
    """How many of `times` fall in each week from `bounds[k]` (included) to `bounds[k + 1]`."""
    times.sort()
    cuts = [bisect.bisect_left(times, b) for b in bounds]
    return [after - before for before, after in itertools.pairwise(cuts)]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _median(seconds: list[float]) -> float | None:
    """To the millisecond: times are stored to the microsecond, read back to the millisecond."""
    return round(statistics.median(seconds), 3) if seconds else None


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
