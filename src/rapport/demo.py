"""`rapport demo`: a realistic demo network, built fast with a progress bar.

Members, connections and groups go in by bulk inserts; conversations and messages go
through the real services, so inboxes, unread counts and event logs are exactly what the
product would have produced. Every demo member's password is `rapport-demo`.
"""

from __future__ import annotations

import random
from datetime import timedelta

from argon2 import PasswordHasher
from rich.progress import Progress
from sqlalchemy import func, insert, select

from rapport.bus.memory import MemoryBus
from rapport.clock import FakeClock, SystemClock
from rapport.domain.model import GroupRole, MemberId
from rapport.services import conversations, messages
from rapport.services.context import Context, NetworkSwitches
from rapport.settings import Settings
from rapport.store.dialect import Database
from rapport.store.migrate import upgrade
from rapport.store.tables import connections, event_counters, group_members, groups, members

PASSWORD = "rapport-demo"
FIRST = [
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Ken",
    "Barbara",
    "Donald",
    "Frances",
    "Edsger",
    "Radia",
    "Tim",
    "Katherine",
    "Dennis",
    "Hedy",
    "Guido",
    "Anita",
    "Bjarne",
    "Shafi",
    "Leslie",
    "Sophie",
    "Yukihiro",
    "Jean",
    "Niklaus",
    "Carol",
    "Ivan",
    "Fei-Fei",
    "Vint",
    "Lynn",
    "John",
]
LAST = [
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Thompson",
    "Liskov",
    "Knuth",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Berners-Lee",
    "Johnson",
    "Ritchie",
    "Lamarr",
    "Rossum",
    "Borg",
    "Stroustrup",
    "Goldwasser",
    "Lamport",
    "Wilson",
    "Matsumoto",
    "Sammet",
    "Wirth",
    "Shaw",
    "Sutherland",
    "Li",
    "Cerf",
    "Conway",
    "Backus",
]
COMPANY_SUFFIXES = ["Labs", "Systems", "Group", "AI"]
INDUSTRIES = [
    "Software",
    "Financial Services",
    "Healthcare",
    "Education",
    "Manufacturing",
    "Consulting",
    "Retail",
    "Energy",
]
CITIES = [
    "Berlin",
    "London",
    "Paris",
    "New York",
    "San Francisco",
    "Toronto",
    "Bangalore",
    "Singapore",
    "Sydney",
    "Amsterdam",
]
ROLES = [
    "Engineering Manager",
    "Product Designer",
    "Data Scientist",
    "Recruiter",
    "Staff Engineer",
    "Founder",
    "Sales Director",
    "Analyst",
    "CTO",
    "Marketing Lead",
]
GROUPS = [
    "Python Developers",
    "Women in Tech",
    "Product Leaders",
    "Fintech Europe",
    "Remote Work",
    "Data & AI",
    "Startup Founders",
    "Design Systems",
]
OPENERS = [
    "Hi {name}, great to connect! I enjoyed your post on {topic}.",
    "Hello {name} — are you going to the {topic} meetup next week?",
    "{name}, quick question about {topic} when you have a minute.",
    "Thanks for accepting, {name}. Would love to hear how your team handles {topic}.",
]
REPLIES = [
    "Thanks! Happy to chat — how about Thursday?",
    "Yes, I'll be there. Let's grab a coffee.",
    "Sure, send me the details and I'll take a look.",
    "Good question. We moved to a weekly cadence and it helped a lot.",
    "Sounds great, talk soon.",
    "I'll share the slides after the talk.",
]
TOPICS = [
    "hiring",
    "platform teams",
    "observability",
    "design reviews",
    "pricing",
    "career growth",
    "remote onboarding",
]


async def build_demo(settings: Settings, *, members: int = 300, if_empty: bool = False, seed: int = 7) -> None:
    rng = random.Random(seed)
    await upgrade(settings.resolved_database_url)
    db = Database(settings.resolved_database_url, sqlite_synchronous="NORMAL")
    try:
        async with db.read() as conn:
            existing = int(await conn.scalar(select(func.count()).select_from(members_table)) or 0)
        if existing and if_empty:
            print(f"demo: the network already has {existing} members; nothing to do")
            return
        with Progress() as progress:
            ids = await _members(db, rng, members, existing, progress)
            pairs = await _connections(db, rng, ids, progress)
            await _groups(db, rng, ids, progress)
            await _conversations(settings, db, rng, ids, pairs, progress)
        print(
            f"demo: {len(ids)} members, {len(pairs)} connections. "
            f"Sign in as demo1 … demo{len(ids)} with password {PASSWORD!r}."
        )
    finally:
        await db.dispose()


members_table = members


async def _members(db: Database, rng: random.Random, count: int, offset: int, progress: Progress) -> list[MemberId]:
    task = progress.add_task("members", total=count)
    password_hash = PasswordHasher(time_cost=2, memory_cost=19_456).hash(PASSWORD)
    now = SystemClock().now()
    rows = []
    for i in range(offset + 1, offset + count + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        tier = rng.choices(["free", "premium_career", "premium_business"], [80, 12, 8])[0]
        rows.append(
            {
                "handle": f"demo{i}",
                "email": f"demo{i}@demo.rapport.invalid",
                "password_hash": password_hash,
                "name": f"{first} {last}",
                "headline": f"{rng.choice(ROLES)} at {rng.choice(LAST)} {rng.choice(COMPANY_SUFFIXES)}",
                "industry": rng.choice(INDUSTRIES),
                "location": rng.choice(CITIES),
                "tier": tier,
                "open_profile": tier != "free" and rng.random() < 0.3,
                "inmail_balance": {"free": 0, "premium_career": 5, "premium_business": 15}[tier],
                "inmail_granted_through": now.year * 12 + now.month - 1,
                "created_at": now,
            }
        )
    async with db.write() as conn:
        await conn.execute(insert(members), rows)
        found = await conn.execute(select(members.c.id).where(members.c.handle.in_([r["handle"] for r in rows])))
        ids = sorted(MemberId(r[0]) for r in found)
        await conn.execute(insert(event_counters), [{"member_id": m, "last_seq": 0} for m in ids])
    progress.update(task, completed=count)
    return ids


async def _connections(
    db: Database, rng: random.Random, ids: list[MemberId], progress: Progress
) -> list[tuple[MemberId, MemberId]]:
    task = progress.add_task("connections", total=len(ids))
    pairs: set[tuple[MemberId, MemberId]] = set()
    for i, member in enumerate(ids):
        for other in rng.sample(ids, k=min(len(ids), rng.randint(3, 12))):
            if other != member:
                pairs.add((min(member, other), max(member, other)))
        progress.update(task, completed=i + 1)
    now = SystemClock().now()
    rows = [{"member_id": a, "other_id": b, "created_at": now} for a, b in pairs]
    rows += [{"member_id": b, "other_id": a, "created_at": now} for a, b in pairs]
    async with db.write() as conn:
        await conn.execute(insert(connections), rows)
    return sorted(pairs)


async def _groups(db: Database, rng: random.Random, ids: list[MemberId], progress: Progress) -> None:
    task = progress.add_task("groups", total=len(GROUPS))
    now = SystemClock().now()
    async with db.write() as conn:
        for i, name in enumerate(GROUPS):
            group_id = (
                await conn.execute(
                    insert(groups)
                    .values(name=name, description=f"A place for {name.lower()}.", created_at=now)
                    .returning(groups.c.id)
                )
            ).scalar_one()
            chosen = rng.sample(ids, k=min(len(ids), rng.randint(20, 60)))
            await conn.execute(
                insert(group_members),
                [
                    {
                        "group_id": group_id,
                        "member_id": m,
                        "role": (GroupRole.ADMIN if j == 0 else GroupRole.MEMBER).value,
                        "joined_at": now,
                    }
                    for j, m in enumerate(chosen)
                ],
            )
            progress.update(task, completed=i + 1)


async def _conversations(
    settings: Settings,
    db: Database,
    rng: random.Random,
    ids: list[MemberId],
    pairs: list[tuple[MemberId, MemberId]],
    progress: Progress,
) -> None:
    chosen = rng.sample(pairs, k=min(len(pairs), max(20, len(ids))))
    task = progress.add_task("conversations", total=len(chosen))
    clock = FakeClock(SystemClock().now() - timedelta(days=14))
    ctx = Context(
        settings=settings, db=db, bus=MemoryBus(), clock=clock, network=NetworkSwitches(receipts_default=True)
    )
    from rapport.store import members as member_store

    async with db.read() as conn:
        people = await member_store.list_by_ids(conn, ids=ids)
    step = timedelta(days=14) / max(1, len(chosen) * 4)
    for i, (a, b) in enumerate(chosen):
        first, second = (people[a], people[b]) if rng.random() < 0.5 else (people[b], people[a])
        opener = rng.choice(OPENERS).format(name=second.name.split()[0], topic=rng.choice(TOPICS))
        conversation, _, _ = await conversations.start(ctx, first, to=[second.handle], body=opener)
        conversation_id = int(conversation["id"])
        for turn in range(rng.randint(0, 4)):
            clock.advance(step)
            author = second if turn % 2 == 0 else first
            await messages.reply(ctx, author, conversation_id=conversation_id, body=rng.choice(REPLIES))
        clock.advance(step)
        progress.update(task, completed=i + 1)
