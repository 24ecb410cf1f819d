"""Bulk data for the bench, written straight into the database, shaped exactly as the app would.

Nothing goes through HTTP: members, tokens, connections, 1:1 conversations, participants
(unread counts, read and delivered marks, last activity), messages, and every member's
event log (`message.new` for each participant, numbered through `event_counters`) are
computed in Python with the app's own shaping code (`message_json`, `encode`) and written
with executemany in large batches inside one transaction. Ids are assigned here, so
`conversations.last_message_id` and the participants' marks need no read-back; on
PostgreSQL the id sequences are moved past them afterwards.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.domain.events import EventType
from rapport.domain.model import ConversationId, Member, MemberId, MemberSettings, MessageId, Tier
from rapport.services.shapes import message_json
from rapport.services.uow import encode
from rapport.store.dialect import bulk_load_engine
from rapport.store.messages import MessageRow
from rapport.store.tables import (
    connections,
    conversations,
    event_counters,
    events,
    group_members,
    groups,
    members,
    messages,
    participants,
    read_receipts,
    tokens,
)

BATCH = 20_000
WORDS = [
    "hiring",
    "platform",
    "observability",
    "design",
    "review",
    "pricing",
    "career",
    "growth",
    "remote",
    "onboarding",
    "roadmap",
    "kubernetes",
    "python",
    "latency",
    "budget",
    "quarterly",
    "planning",
    "offsite",
    "interview",
    "candidate",
    "referral",
    "contract",
    "proposal",
    "invoice",
    "meeting",
    "coffee",
    "conference",
    "keynote",
    "slides",
    "demo",
    "feedback",
    "launch",
]
SEARCH_TERMS = ("observability", "kubernetes", "invoice", "keynote", "referral")
"""Searches on the old vocabulary: each of its 32 words is in about 19% of all messages."""


def _vocabulary(size: int) -> list[str]:
    """`size` distinct pronounceable words of 2-4 syllables (4-12 letters), always the same:
    English-like lengths without shipping a word list."""
    rng = random.Random(1907)
    onsets = ["b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "br", "ch", "cl", "cr",
              "dr", "fl", "gr", "pl", "pr", "sh", "sl", "sp", "st", "str", "th", "tr"]  # fmt: skip
    vowels = ["a", "e", "i", "o", "u", "ai", "ea", "ou", "io"]
    codas = ["", "", "", "n", "r", "s", "t", "l", "nd", "st", "ck", "m"]
    taken = set(WORDS)
    out: list[str] = []
    while len(out) < size:
        syllables = rng.choice((2, 2, 3, 3, 3, 4))
        word = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(syllables)) + rng.choice(codas)
        if 4 <= len(word) <= 12 and word not in taken:
            taken.add(word)
            out.append(word)
    return out


VOCABULARY = _vocabulary(4_000)
"""The realistic vocabulary, most frequent first: word k (from 1) is drawn with weight 1/k (Zipf)."""
ZIPF_WORDS_PER_MESSAGE = 8
_ZIPF_CUMULATIVE = list(itertools.accumulate(1 / k for k in range(1, len(VOCABULARY) + 1)))
ZIPF_SEARCH_RANKS = (10, 25, 60, 150, 400, 1_000, 2_500)
"""Searched words by frequency rank (log-spaced): from one in ~8% of messages to one in ~0.05%."""
ZIPF_SEARCH_TERMS = tuple(VOCABULARY[rank - 1] for rank in ZIPF_SEARCH_RANKS)


def zipf_words(rng: random.Random, k: int = ZIPF_WORDS_PER_MESSAGE) -> list[str]:
    """k words of the realistic vocabulary, Zipf-distributed (repeats allowed, as in prose)."""
    return rng.choices(VOCABULARY, cum_weights=_ZIPF_CUMULATIVE, k=k)


@dataclass
class Pair:
    """Two connected members with a 1:1 thread: `a` usually sends, `b` usually receives."""

    a: int
    b: int
    a_handle: str
    b_handle: str
    a_token: str
    b_token: str
    conversation_id: int
    unread_for_a: list[int] = field(default_factory=list)
    """Messages from b that a has not read yet, oldest first (for read receipts)."""


@dataclass
class Plan:
    pairs: int
    unread_per_pair: int
    idle_members: int
    big_members: int
    big_messages: int
    probes: int
    prolific_sent: int = 0
    """Messages sent by one member (engagement insight): 100-message threads, half of them theirs."""


@dataclass
class Dataset:
    pairs: list[Pair]
    idle_tokens: list[str]
    probe_tokens: list[str]
    counts: dict[str, int]
    seconds: float = 0.0
    group_id: int | None = None
    """A group of up to GROUP_SIZE members of the large network (the probes among them)."""
    group_cursors: list[str] = field(default_factory=list)
    """Member-list cursors spread over that group: pages from its start to its end."""
    prolific_token: str = ""
    """The member with `Plan.prolific_sent` sent messages, most of them read and answered."""
    group_chat_id: int | None = None
    group_chat_tokens: list[str] = field(default_factory=list)
    """A token for each of the group chat's participants (its admin first)."""


class _Builder:
    def __init__(self, tag: str, start_ids: dict[str, int], rng: random.Random, now: datetime) -> None:
        self.tag = tag
        self.rng = rng
        self.now = now
        self.next_member = start_ids["members"]
        self.next_conversation = start_ids["conversations"]
        self.next_message = start_ids["messages"]
        self.password_hash = PasswordHasher(time_cost=2, memory_cost=19_456).hash(secrets.token_hex(8))
        self.member_rows: list[dict[str, Any]] = []
        self.token_rows: list[dict[str, Any]] = []
        self.connection_rows: list[dict[str, Any]] = []
        self.people: dict[MemberId, Member] = {}
        self.last_seq: dict[int, int] = {}

    def member(self, kind: str, i: int) -> int:
        member_id = self.next_member
        self.next_member += 1
        handle = f"{self.tag}{kind}{i}"
        name = f"{kind.title()} {i}"
        headline = f"{self.rng.choice(WORDS).title()} lead"
        self.member_rows.append(
            {
                "id": member_id,
                "handle": handle,
                "email": f"{handle}@bench.rapport.invalid",
                "password_hash": self.password_hash,
                "name": name,
                "headline": headline,
                "industry": "Software",
                "location": "Berlin",
                "tier": "free",
                "open_profile": False,
                "inmail_balance": 0,
                "inmail_granted_through": self.now.year * 12 + self.now.month - 1,
                "created_at": self.now - timedelta(days=60),
            }
        )
        self.people[MemberId(member_id)] = Member(
            id=MemberId(member_id),
            handle=handle,
            name=name,
            headline=headline,
            industry="Software",
            location="Berlin",
            avatar_url=None,
            tier=Tier.FREE,
            settings=MemberSettings(),
        )
        self.last_seq[member_id] = 0
        return member_id

    def token(self, member_id: int) -> str:
        token = "rp_" + secrets.token_urlsafe(32)
        self.token_rows.append(
            {
                "token_hash": hashlib.sha256(token.encode()).hexdigest(),
                "member_id": member_id,
                "created_at": self.now - timedelta(days=1),
            }
        )
        return token

    def connect(self, a: int, b: int) -> None:
        at = self.now - timedelta(days=45)
        self.connection_rows.append({"member_id": a, "other_id": b, "created_at": at})
        self.connection_rows.append({"member_id": b, "other_id": a, "created_at": at})


@dataclass
class _Thread:
    id: int
    a: int
    b: int
    times: list[datetime]
    senders: list[int]


def _threads(
    builder: _Builder, specs: Sequence[tuple[int, int, int, datetime, timedelta]], *, tail_from_b: int = 0
) -> list[_Thread]:
    """(a, b, message count, first time, gap) -> threads with each message's time and sender;
    senders alternate, except that the last `tail_from_b` messages all come from b."""
    out = []
    for a, b, n, first, gap in specs:
        cid = builder.next_conversation
        builder.next_conversation += 1
        senders = [a if k % 2 == 0 else b for k in range(n - tail_from_b)] + [b] * tail_from_b
        out.append(_Thread(cid, a, b, [first + gap * k for k in range(n)], senders))
    return out


def _rows(builder: _Builder, threads: list[_Thread]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Rows for these threads, as the services would have written them, in batches by table."""
    order = sorted(((t.times[k], ti, k) for ti, t in enumerate(threads) for k in range(len(t.times))))
    # Message ids follow `order`, so each thread's last one is known before any is written:
    # conversations go in first, as the messages' foreign key wants on PostgreSQL.
    last_id: dict[int, int] = {}
    for n, (_, ti, _) in enumerate(order):
        last_id[threads[ti].id] = builder.next_message + n
    state: dict[tuple[int, int], dict[str, Any]] = {}
    for t in threads:
        for m in (t.a, t.b):
            state[(t.id, m)] = {
                "conversation_id": t.id,
                "member_id": m,
                "joined_at": t.times[0],
                "last_activity_at": t.times[0],
                "unread_count": 0,
                "read_up_to": 0,
                "delivered_up_to": 0,
            }
    conv_rows = [
        {
            "id": t.id,
            "kind": "direct",
            "subject": None,
            "pair_key": f"{min(t.a, t.b)}:{max(t.a, t.b)}",
            "group_id": None,
            "created_by": t.a,
            "created_at": t.times[0],
            "updated_at": t.times[-1],
            "last_message_id": last_id[t.id],
            "inmail_charged": False,
        }
        for t in threads
    ]
    for i in range(0, len(conv_rows), BATCH):
        yield "conversations", conv_rows[i : i + BATCH]
    msg_batch: list[dict[str, Any]] = []
    ev_batch: list[dict[str, Any]] = []
    people = builder.people
    zero = MemberId(0)
    for at, ti, k in order:
        t = threads[ti]
        sender = t.senders[k]
        other = t.b if sender == t.a else t.a
        mid = builder.next_message
        builder.next_message += 1
        # Six words of the old 32-word vocabulary (so its searches stay comparable with earlier
        # reports), then a sentence of the Zipf-distributed one.
        words = builder.rng.sample(WORDS, 6)
        prose = " ".join(zipf_words(builder.rng))
        body = f"{' '.join(words).capitalize()} — {prose} — message {mid}."
        msg_batch.append(
            {
                "id": mid,
                "conversation_id": t.id,
                "sender_id": sender,
                "body": body,
                "created_at": at,
                "client_id": None,
                "attachment_count": 0,
            }
        )
        row = MessageRow(
            id=MessageId(mid),
            conversation_id=ConversationId(t.id),
            sender_id=MemberId(sender),
            body=body,
            created_at=at,
            edited_at=None,
            deleted=False,
            client_id=None,
            attachment_count=0,
        )
        stamp = at.isoformat().replace("+00:00", "Z")
        cid = str(t.id)
        for viewer, member in ((zero, other), (MemberId(sender), sender)):
            payload = {"conversation_id": cid, "message": message_json(row, viewer=viewer, members=people)}
            seq = builder.last_seq[member] + 1
            builder.last_seq[member] = seq
            ev_batch.append(
                {
                    "member_id": member,
                    "seq": seq,
                    "type": EventType.MESSAGE_NEW.value,
                    "body": encode(EventType.MESSAGE_NEW, stamp, payload).decode(),
                    "created_at": at,
                }
            )
        # conversations.record_message: the sender has read and holds it; the other has one more unread.
        mine, theirs = state[(t.id, sender)], state[(t.id, other)]
        mine.update(last_activity_at=at, unread_count=0, read_up_to=mid, delivered_up_to=mid)
        theirs.update(last_activity_at=at, unread_count=theirs["unread_count"] + 1)
        if len(ev_batch) >= BATCH:
            yield "messages", msg_batch
            yield "events", ev_batch
            msg_batch, ev_batch = [], []
    if msg_batch:
        yield "messages", msg_batch
        yield "events", ev_batch
    part_rows = list(state.values())
    for i in range(0, len(part_rows), BATCH):
        yield "participants", part_rows[i : i + BATCH]


TABLES = {
    "members": members,
    "tokens": tokens,
    "connections": connections,
    "conversations": conversations,
    "participants": participants,
    "messages": messages,
    "events": events,
    "event_counters": event_counters,
    "read_receipts": read_receipts,
}


async def _start_ids(conn: AsyncConnection) -> dict[str, int]:
    out = {}
    for name in ("members", "conversations", "messages"):
        table = TABLES[name]
        out[name] = int(await conn.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1
    return out


async def build(
    url: str, plan: Plan, *, seed: int = 7, progress: Callable[[str, int, int], None] | None = None
) -> Dataset:
    """Create the bench's members and threads in one transaction; returns who is who."""
    import time

    started = time.perf_counter()
    rng = random.Random(seed)
    tag = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(4)) + secrets.token_hex(2)
    engine = bulk_load_engine(url, pragmas=("cache_size=-1000000",))
    sqlite = engine.dialect.name == "sqlite"

    now = datetime.now(UTC).replace(microsecond=0)
    try:
        async with engine.begin() as conn:
            b = _Builder(tag, await _start_ids(conn), rng, now)
            # The live pairs (throughput, delivery, receipts, typing).
            pair_list: list[Pair] = []
            specs = []
            for i in range(plan.pairs):
                a, z = b.member("pa", i), b.member("pb", i)
                b.connect(a, z)
                handles = b.people[MemberId(a)].handle, b.people[MemberId(z)].handle
                pair_list.append(Pair(a, z, *handles, b.token(a), b.token(z), 0))
                # a opens; b writes the last messages, so a has them to read one by one.
                specs.append((a, z, 1 + plan.unread_per_pair, now - timedelta(hours=2), timedelta(seconds=1)))
            live = _threads(b, specs, tail_from_b=plan.unread_per_pair)
            for p, t in zip(pair_list, live, strict=True):
                p.conversation_id = t.id
            idle_tokens = [b.token(b.member("idle", i)) for i in range(plan.idle_members)]
            # The large network: a skewed choice of partners, so the first members have big inboxes.
            big = [b.member("m", i) for i in range(plan.big_members)]
            probe_tokens = [b.token(m) for m in big[: plan.probes]]
            chat_members = big[:GROUP_CHAT_SIZE]
            chat_tokens = [b.token(m) for m in chat_members]
            seen: set[tuple[int, int]] = set()
            big_specs = []
            remaining = plan.big_messages
            span = timedelta(days=30).total_seconds()
            while remaining > 0 and len(big) > 1:
                x = big[int(len(big) * rng.random() ** 2)]
                y = big[rng.randrange(len(big))]
                key = (min(x, y), max(x, y))
                if x == y or key in seen:
                    continue
                seen.add(key)
                b.connect(x, y)
                n = min(remaining, rng.randint(1, 9))
                remaining -= n
                first = now - timedelta(seconds=span * rng.random() + 3600 * 3)
                big_specs.append((x, y, n, first, timedelta(seconds=rng.randint(5, 600))))
            # One prolific member for engagement insight: threads of 100 messages over 12 weeks,
            # alternating, so they sent half; their partners read most of what they sent.
            prolific_token = ""
            prolific_specs = []
            if plan.prolific_sent > 0:
                pro = b.member("pro", 0)
                prolific_token = b.token(pro)
                per_thread = 50
                for i in range(-(-plan.prolific_sent // per_thread)):
                    partner = b.member("prp", i)
                    b.connect(pro, partner)
                    # At most 99 gaps of an hour: the thread ends before now.
                    first = now - timedelta(days=5 + 79 * rng.random())
                    gap = timedelta(seconds=rng.randint(60, 3600))
                    prolific_specs.append((pro, partner, 2 * per_thread, first, gap))
            threads = live + _threads(b, big_specs) + _threads(b, prolific_specs)
            total = sum(len(t.times) for t in threads)
            await _insert(conn, "members", b.member_rows, progress)
            await _insert(conn, "tokens", b.token_rows, progress)
            await _insert(conn, "connections", b.connection_rows, progress)
            group_id, group_cursors = await _group(conn, big[:GROUP_SIZE], now)
            done = 0
            for name, rows in _rows(b, threads):
                await _insert(conn, name, rows, None)
                if name == "messages":
                    done += len(rows)
                    if progress:
                        progress("messages", done, total)
            if prolific_specs:
                await _read_most(conn, sender=prolific_specs[0][0], rng=rng, progress=progress)
            counters = [{"member_id": m, "last_seq": s} for m, s in b.last_seq.items()]
            await _insert(conn, "event_counters", counters, progress)
            # Ids of b's messages to a in each live thread, for a to read one by one.
            rows = await conn.execute(
                select(messages.c.conversation_id, messages.c.id)
                .where(
                    messages.c.conversation_id.in_([p.conversation_id for p in pair_list]),
                    messages.c.sender_id.in_([p.b for p in pair_list]),
                )
                .order_by(messages.c.id)
            )
            by_conv: dict[int, list[int]] = {}
            for cid, mid in rows:
                by_conv.setdefault(cid, []).append(mid)
            for p in pair_list:
                p.unread_for_a = by_conv.get(p.conversation_id, [])
            if not sqlite:
                for name in ("members", "conversations", "messages"):
                    await conn.execute(
                        text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT MAX(id) FROM {name}))")
                    )
            chat_id = await _group_chat(conn, group_id, chat_members, now) if len(chat_members) > 1 else None
    finally:
        await engine.dispose()
    if sqlite:
        _finish_sqlite(make_url(url).database or "")
    counts = {
        "members": len(b.member_rows),
        "conversations": len(threads),
        "messages": total,
        "events": 2 * total,
        "big_network_members": plan.big_members,
        "big_network_messages": plan.big_messages,
    }
    counts["group_members"] = min(GROUP_SIZE, len(big))
    return Dataset(
        pair_list,
        idle_tokens,
        probe_tokens,
        counts,
        time.perf_counter() - started,
        group_id,
        group_cursors,
        prolific_token,
        chat_id,
        chat_tokens if chat_id is not None else [],
    )


GROUP_SIZE = 20_000
GROUP_PAGE = 50
GROUP_CHAT_SIZE = 51
"""A group chat at its cap: the creator and 50 others."""


async def _group_chat(conn: AsyncConnection, group_id: int, member_ids: list[int], now: datetime) -> int:
    """A group chat of the big group, started by its admin (written after the ids' sequences are set)."""
    chat_id = (
        await conn.execute(
            insert(conversations)
            .values(kind="group_chat", group_id=group_id, created_by=member_ids[0], created_at=now, updated_at=now)
            .returning(conversations.c.id)
        )
    ).scalar_one()
    await conn.execute(
        insert(participants),
        [{"conversation_id": chat_id, "member_id": m, "joined_at": now, "last_activity_at": now} for m in member_ids],
    )
    return int(chat_id)


async def _group(conn: AsyncConnection, member_ids: list[int], now: datetime) -> tuple[int, list[str]]:
    """One big open group (its first member the admin), and cursors to page through it."""
    group_id = (
        await conn.execute(
            insert(groups)
            .values(name="Bench group", description="", visibility="open", created_at=now)
            .returning(groups.c.id)
        )
    ).scalar_one()
    rows = [
        {"group_id": group_id, "member_id": m, "role": "admin" if i == 0 else "member", "joined_at": now}
        for i, m in enumerate(member_ids)
    ]
    for i in range(0, len(rows), BATCH):
        await conn.execute(insert(group_members), rows[i : i + BATCH])
    ordered = sorted(member_ids)
    cursors = [""] + [str(ordered[i - 1]) for i in range(GROUP_PAGE, len(ordered), GROUP_PAGE)]
    return int(group_id), cursors


async def _read_most(
    conn: AsyncConnection, *, sender: int, rng: random.Random, progress: Callable[[str, int, int], None] | None
) -> None:
    """Shared reads of about 80% of `sender`'s messages by the other member, a few minutes after each."""
    rows = (
        await conn.execute(
            select(messages.c.id, messages.c.conversation_id, messages.c.created_at, participants.c.member_id)
            .select_from(messages.join(participants, participants.c.conversation_id == messages.c.conversation_id))
            .where(messages.c.sender_id == sender, participants.c.member_id != sender)
        )
    ).all()
    receipts = [
        {
            "conversation_id": cid,
            "reader_id": reader,
            "message_id": mid,
            "read_at": at + timedelta(seconds=rng.randint(30, 900)),
            "shared": True,
        }
        for mid, cid, at, reader in rows
        if rng.random() < 0.8
    ]
    await _insert(conn, "read_receipts", receipts, progress)


async def _insert(
    conn: AsyncConnection, name: str, rows: list[dict[str, Any]], progress: Callable[[str, int, int], None] | None
) -> None:
    for i in range(0, len(rows), BATCH):
        await conn.execute(insert(TABLES[name]), rows[i : i + BATCH])
        if progress:
            progress(name, min(len(rows), i + BATCH), len(rows))


def _finish_sqlite(path: str) -> None:
    """Rebuild an external-content FTS5 index that no trigger keeps in step with `messages`,
    and fold the WAL into the database so the server's first commit does not pay for it."""
    import sqlite3

    db = sqlite3.connect(path, isolation_level=None)
    try:
        found = db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql LIKE '%VIRTUAL TABLE%fts5%'"
        ).fetchall()
        for name, sql in found:
            kept_by_trigger = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'messages' AND sql LIKE ?",
                (f"%INSERT INTO {name}%",),
            ).fetchone()
            if "content=" in sql.replace(" ", "").lower() and not kept_by_trigger:
                db.execute(f'INSERT INTO "{name}"("{name}") VALUES (\'rebuild\')')
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
