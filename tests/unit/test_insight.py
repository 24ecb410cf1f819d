"""Engagement insight (DESIGN §6): which reads count, rates, medians, weeks, follow-up advice."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, date, datetime, timedelta

import pytest

from rapport.domain.insight import (
    ADVICE_TEXT,
    WEEK,
    Advice,
    Read,
    ReceiptSwitches,
    SentMessage,
    SwitchHistory,
    Thread,
    UnansweredThread,
    advice_for,
    due_follow_ups,
    first_visible_reads,
    may_count_read,
    summarise,
    week_start,
)
from rapport.domain.model import ConversationId, ConversationKind, MemberId, MessageId

K = ConversationKind
T0 = datetime(2026, 1, 7, 12, 0, tzinfo=UTC)  # a Wednesday
ME, BOB, CAROL = MemberId(1), MemberId(2), MemberId(3)
ON = SwitchHistory()


def when(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def at(minutes: float) -> float:
    """POSIX seconds, as the domain takes times."""
    return when(minutes).timestamp()


def switches(
    *,
    me: SwitchHistory = ON,
    bob: SwitchHistory = ON,
    network: SwitchHistory = ON,
    blocked: frozenset[MemberId] = frozenset(),
) -> ReceiptSwitches:
    return ReceiptSwitches(sender=me, readers={BOB: bob}, network=network, blocked=blocked)


def read(minutes: float = 5, *, message: int = 10, shared: bool = True, reader: MemberId = BOB, cid: int = 1) -> Read:
    return (ConversationId(cid), reader, MessageId(message), at(minutes), shared)


def sent(message: int = 10, minutes: float = 0, *, cid: int = 1, replied: float | None = None) -> SentMessage:
    return (ConversationId(cid), MessageId(message), at(minutes), at(replied) if replied is not None else None)


def threads(*extra: tuple[int, ConversationKind, MemberId | None]) -> dict[ConversationId, Thread]:
    """Conversation 1 is a direct thread with Bob; `extra` adds (id, kind, reader)."""
    out = {ConversationId(1): Thread(K.DIRECT, BOB)}
    out.update({ConversationId(cid): Thread(kind, reader) for cid, kind, reader in extra})
    return out


def off_between(start: float, end: float | None = None) -> SwitchHistory:
    changes = ((at(start), False),) + (((at(end), True),) if end is not None else ())
    return SwitchHistory(changes, current=end is not None)


# -- SwitchHistory ---------------------------------------------------------------------


def test_a_switch_is_on_before_its_first_recorded_change() -> None:
    history = off_between(10, 20)
    assert history.is_on_at(at(9))
    assert not history.is_on_at(at(10))
    assert not history.is_on_at(at(19))
    assert history.is_on_at(at(20))


# -- may_count_read: one test per rule -------------------------------------------------


def test_a_shared_read_with_every_switch_on_counts() -> None:
    assert may_count_read(read(), kind=K.DIRECT, switches=switches())


@pytest.mark.parametrize("kind", [K.GROUP_CHAT, K.MULTI, K.INMAIL, K.SPONSORED])
def test_kinds_without_receipts_never_count(kind: ConversationKind) -> None:
    assert not may_count_read(read(), kind=kind, switches=switches())


@pytest.mark.parametrize("kind", [K.DIRECT, K.GROUP_MEMBER, K.OPEN_PROFILE])
def test_free_one_to_one_kinds_count(kind: ConversationKind) -> None:
    assert may_count_read(read(), kind=kind, switches=switches())


def test_a_read_not_shared_when_recorded_never_counts() -> None:
    assert not may_count_read(read(shared=False), kind=K.DIRECT, switches=switches())


def test_a_read_while_the_readers_switch_was_off_never_counts_even_once_back_on() -> None:
    assert not may_count_read(read(5), kind=K.DIRECT, switches=switches(bob=off_between(1, 9)))


def test_a_read_while_the_senders_switch_was_off_never_counts() -> None:
    assert not may_count_read(read(5), kind=K.DIRECT, switches=switches(me=off_between(1, 9)))


def test_a_read_while_the_operators_switch_was_off_never_counts() -> None:
    assert not may_count_read(read(5), kind=K.DIRECT, switches=switches(network=off_between(1, 9)))


def test_a_read_before_a_switch_went_off_counts_once_it_is_back_on() -> None:
    assert may_count_read(read(0.5), kind=K.DIRECT, switches=switches(bob=off_between(1, 9)))


@pytest.mark.parametrize("who", ["me", "bob", "network"])
def test_a_switch_off_now_hides_older_reads(who: str) -> None:
    now_off = SwitchHistory(((at(60), False),), current=False)
    assert not may_count_read(read(5), kind=K.DIRECT, switches=switches(**{who: now_off}))  # type: ignore[arg-type]


def test_a_block_now_hides_every_read() -> None:
    assert not may_count_read(read(), kind=K.DIRECT, switches=switches(blocked=frozenset({BOB})))


def test_a_reader_whose_switches_are_unknown_is_treated_as_off() -> None:
    assert not may_count_read(read(reader=CAROL), kind=K.DIRECT, switches=switches())


# -- which messages are read, and when -------------------------------------------------


def test_a_read_covers_every_earlier_message_at_its_earliest_time() -> None:
    mine = [sent(10, 0), sent(12, 1), sent(14, 2)]
    reads = [read(5, message=12), read(3, message=13), read(8, message=20)]
    assert first_visible_reads(mine, reads, threads(), switches()) == {
        MessageId(10): at(3),
        MessageId(12): at(3),
        MessageId(14): at(8),
    }


def test_reads_by_someone_other_than_the_threads_reader_or_elsewhere_are_ignored() -> None:
    mine = [sent(10), sent(30, cid=2)]
    reads = [read(reader=CAROL), read(message=30, cid=2), read(message=50, cid=9)]
    assert first_visible_reads(mine, reads, threads((2, K.MULTI, None)), switches()) == {}


def test_a_hidden_read_does_not_cover_what_a_later_visible_one_does() -> None:
    mine = [sent(10)]
    history = off_between(1, 4)
    found = first_visible_reads(mine, [read(2), read(6, message=11)], threads(), switches(bob=history))
    assert found == {MessageId(10): at(6)}


# -- summarise -------------------------------------------------------------------------


def test_totals_rates_and_medians() -> None:
    mine = [sent(10, 0, replied=10), sent(20, 0, cid=2, replied=30), sent(30, 0, cid=3), sent(40, 0, cid=4)]
    reads = [read(2), read(4, message=20, cid=2), read(6, message=30, cid=3)]
    kinds = threads((2, K.INMAIL, None), (3, K.DIRECT, BOB), (4, K.GROUP_CHAT, None))
    found = summarise(
        sent=mine, reads=reads, threads=kinds, switches=switches(), conversations_started=3, now=when(60), weeks=2
    )
    assert (found.sent, found.conversations_started, found.read, found.replied) == (4, 3, 2, 2)
    assert (found.read_rate, found.reply_rate) == (0.5, 0.5)
    assert found.median_seconds_to_read == 240  # 2 and 6 minutes
    assert found.median_seconds_to_reply == 1200  # 10 and 30 minutes


def test_nothing_sent_gives_no_rates() -> None:
    found = summarise(sent=[], reads=[], threads={}, switches=switches(), conversations_started=0, now=T0, weeks=3)
    assert (found.read_rate, found.reply_rate, found.median_seconds_to_read, found.median_seconds_to_reply) == (
        None,
        None,
        None,
        None,
    )
    assert [w.week for w in found.weeks] == [date(2025, 12, 22), date(2025, 12, 29), date(2026, 1, 5)]
    assert all((w.sent, w.read, w.replied) == (0, 0, 0) for w in found.weeks)


def test_weeks_bucket_messages_by_the_week_they_were_sent_oldest_first() -> None:
    week = 7 * 24 * 60
    mine = [
        sent(1, -3 * week),  # before the window: in the totals only
        sent(2, -week, cid=3, replied=-week + 5),
        sent(3, 0),
        sent(4, 1, cid=2, replied=2),
        sent(5, week + 60),  # after "now": a clock that moved back
    ]
    found = summarise(
        sent=mine,
        reads=[read(3, message=3)],
        threads=threads((2, K.MULTI, None), (3, K.DIRECT, BOB)),
        switches=switches(),
        conversations_started=0,
        now=when(60),
        weeks=2,
    )
    assert found.sent == 5
    assert [(w.week, w.sent, w.read, w.replied) for w in found.weeks] == [
        (date(2025, 12, 29), 1, 0, 1),
        (date(2026, 1, 5), 2, 1, 1),
    ]


def test_a_message_sent_at_monday_midnight_counts_in_the_week_it_starts() -> None:
    monday = -(2 * 24 + 12) * 60  # minutes from T0 (Wednesday noon) to Monday 00:00
    found = summarise(
        sent=[sent(1, monday), sent(2, monday - 0.001)],
        reads=[],
        threads=threads(),
        switches=switches(),
        conversations_started=0,
        now=T0,
        weeks=2,
    )
    assert [(w.week, w.sent) for w in found.weeks] == [(date(2025, 12, 29), 1), (date(2026, 1, 5), 1)]


def test_a_week_starts_on_monday_utc() -> None:
    monday = datetime(2026, 1, 5, tzinfo=UTC).timestamp()
    assert week_start(datetime(2026, 1, 11, 23, 59, tzinfo=UTC).timestamp()) == monday
    assert week_start(monday) == monday
    assert week_start(monday - 1) == monday - 7 * 86_400


@pytest.mark.parametrize("seed", range(20))
def test_summarise_agrees_with_the_rule_applied_to_each_message_and_read(seed: int) -> None:
    """The summary's indexes and sorted lists give what `may_count_read` gives read by read:
    switches changed back and forth, reads out of order, a blocked reader, kinds without receipts."""
    rng = random.Random(seed)
    dave = MemberId(4)
    kinds = {1: (K.DIRECT, BOB), 2: (K.DIRECT, CAROL), 3: (K.INMAIL, None), 4: (K.OPEN_PROFILE, dave)}
    all_threads = {ConversationId(c): Thread(k, r) for c, (k, r) in kinds.items()}

    def history() -> SwitchHistory:
        times = sorted(rng.uniform(-3000, 30_000) for _ in range(rng.randint(0, 3)))
        return SwitchHistory(tuple((at(t), i % 2 == 1) for i, t in enumerate(times)), current=rng.random() < 0.8)

    rules = ReceiptSwitches(
        sender=history(),
        readers={BOB: history(), CAROL: SwitchHistory(), dave: history()},
        network=history() if seed % 2 else ON,
        blocked=frozenset({CAROL}) if seed % 3 == 0 else frozenset(),
    )
    mine = [
        sent(m, rng.uniform(-30_000, 30_000), cid=rng.randint(1, 4), replied=rng.choice([None, rng.uniform(0, 40_000)]))
        for m in range(1, 200)
    ]
    reads = [
        read(
            rng.uniform(-30_000, 40_000), message=rng.randint(1, 220), cid=c, reader=rng.choice([BOB, CAROL, dave, ME])
        )
        for c in (1, 2, 3, 4)
        for _ in range(rng.randint(0, 40))
    ]
    found = summarise(
        sent=mine, reads=reads, threads=all_threads, switches=rules, conversations_started=0, now=when(20_000), weeks=5
    )

    def first_read(cid: int, message: int) -> float | None:
        kind, reader = kinds[cid]
        times = [
            r[3]
            for r in reads
            if r[0] == cid and r[1] == reader and r[2] >= message and may_count_read(r, kind=kind, switches=rules)
        ]
        return min(times, default=None)

    read_at = {m[1]: first_read(m[0], m[1]) for m in mine}
    to_read = [read_at[m[1]] - m[2] for m in mine if read_at[m[1]] is not None]  # type: ignore[operator]
    to_reply = [m[3] - m[2] for m in mine if m[3] is not None]
    first = week_start(when(20_000).timestamp()) - 4 * WEEK
    weeks = [[0, 0, 0] for _ in range(5)]
    for _, message, sent_at, replied_at in mine:
        k = int((sent_at - first) // WEEK)
        if 0 <= k < 5:
            weeks[k][0] += 1
            weeks[k][1] += read_at[message] is not None
            weeks[k][2] += replied_at is not None
    assert (found.read, found.replied) == (len(to_read), len(to_reply))
    assert found.median_seconds_to_read == (round(statistics.median(to_read), 3) if to_read else None)
    assert found.median_seconds_to_reply == round(statistics.median(to_reply), 3)
    assert [[w.sent, w.read, w.replied] for w in found.weeks] == weeks
    assert first_visible_reads(mine, reads, all_threads, rules) == {m: t for m, t in read_at.items() if t is not None}


# -- follow-ups ------------------------------------------------------------------------


def thread(
    cid: int = 1, *, minutes: float = 0, unanswered: int = 1, dismissed: float | None = None
) -> UnansweredThread:
    return UnansweredThread(
        ConversationId(cid), BOB, when(minutes), unanswered, when(dismissed) if dismissed is not None else None
    )


def test_advice_is_follow_up_until_two_follow_ups_went_unanswered() -> None:
    assert [advice_for(n) for n in (1, 2, 3, 4)] == [Advice.FOLLOW_UP, Advice.FOLLOW_UP, Advice.STOP, Advice.STOP]


def test_the_stop_advice_says_change_add_value_or_move_on() -> None:
    text = ADVICE_TEXT[Advice.STOP]
    assert "change the message" in text and "value" in text and "move on" in text


def test_a_thread_is_due_once_it_waited_the_whole_delay() -> None:
    after = timedelta(hours=1)
    assert due_follow_ups([thread()], now=when(59), after=after) == []
    (due,) = due_follow_ups([thread()], now=when(60), after=after)
    assert (due.advice, due.advice_text) == (Advice.FOLLOW_UP, ADVICE_TEXT[Advice.FOLLOW_UP])


def test_due_threads_come_longest_waiting_first() -> None:
    due = due_follow_ups(
        [thread(1, minutes=30), thread(2, minutes=0, unanswered=3)], now=when(600), after=timedelta(hours=1)
    )
    assert [(d.thread.conversation_id, d.advice) for d in due] == [(2, Advice.STOP), (1, Advice.FOLLOW_UP)]


def test_a_dismissal_hides_a_thread_until_a_newer_message() -> None:
    after = timedelta(hours=1)
    assert due_follow_ups([thread(minutes=0, dismissed=90)], now=when(600), after=after) == []
    assert due_follow_ups([thread(minutes=0, dismissed=0)], now=when(600), after=after) == []
    assert len(due_follow_ups([thread(minutes=100, unanswered=2, dismissed=90)], now=when(600), after=after)) == 1


def test_a_thread_with_nothing_unanswered_is_never_due() -> None:
    assert due_follow_ups([thread(unanswered=0)], now=when(600), after=timedelta(hours=1)) == []
