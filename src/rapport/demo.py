"""`rapport demo`: a realistic demo network, written in bulk, with a progress bar.

Months of history among a few thousand members: 1:1 threads, group chats, messages to several
people, InMail, files (small generated PNG charts and PDFs), reactions and read receipts; and
for `demo1` (Ada Lovelace, Premium with InMail credits) unread threads and pending invitations,
so that a newcomer signing in sees the product working. `demo2` (Alan Backus) is one of demo1's
connections, for a second window.

Everything is computed in Python and written with executemany in large batches inside one
transaction, shaped as the services would have written it (ids assigned here, so the
conversations' last messages and the participants' read marks need no read-back). Nothing
goes through HTTP or the per-message services: 50,000 messages take seconds, not minutes.
Every demo member's password is `rapport-demo`.
"""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from rich.progress import Progress, TaskID
from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.domain.messages import REACTIONS
from rapport.settings import Settings
from rapport.store.blobs import blob_store
from rapport.store.dialect import bulk_load_engine
from rapport.store.migrate import upgrade
from rapport.store.tables import (
    attachments,
    connections,
    conversations,
    event_counters,
    group_members,
    groups,
    invitations,
    members,
    messages,
    participants,
    reactions,
    read_receipts,
)

PASSWORD = "rapport-demo"
BATCH = 5_000
HISTORY_DAYS = 180

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
    "Mary",
    "Amir",
    "Priya",
    "Kwame",
    "Ingrid",
    "Mateo",
    "Yuki",
    "Chioma",
    "Lars",
    "Elif",
    "Rahul",
    "Nadia",
    "Tomás",
    "Aiko",
    "Zainab",
    "Omar",
    "Freya",
    "Diego",
    "Mei",
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
    "Okafor",
    "Nakamura",
    "Lindqvist",
    "Haddad",
    "Mensah",
    "Kowalski",
    "Fernandes",
    "Novak",
]
COMPANIES = [
    "Northwind Health",
    "Contoso",
    "Fabrikam",
    "Globex",
    "Initech",
    "Lumen Labs",
    "Tessellate",
    "Fieldwork",
    "Adyen",
    "Stripe",
    "Figma",
    "Shopify",
    "Umbrella Systems",
    "Wayne Analytics",
    "Stark Energy",
]
ROLES = [
    "Engineering Manager",
    "Product Designer",
    "Data Scientist",
    "Talent Partner",
    "Staff Engineer",
    "Founder",
    "Sales Director",
    "Analyst",
    "CTO",
    "Marketing Lead",
    "Product Manager",
    "Site Reliability Engineer",
    "Engineering Recruiter",
    "Head of People",
    "Solutions Architect",
    "VP Engineering",
]
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
    "Lisbon",
    "Nairobi",
    "São Paulo",
    "Stockholm",
]
GROUPS = [
    ("Python Developers", "Idioms, packaging, performance and the odd flame war about tabs."),
    ("Women in Tech", "Mentoring, jobs and events for women in technology."),
    ("Product Leaders", "Roadmaps, discovery and shipping things people want."),
    ("Fintech Europe", "Payments, open banking and regulation across Europe."),
    ("Remote Work", "Teams that work across time zones, and how they make it work."),
    ("Data & AI", "Models, pipelines and the people who build them."),
    ("Startup Founders", "Fundraising, hiring the first ten, and staying sane."),
    ("Design Systems", "Tokens, components and the politics of a shared library."),
]
TOPICS = [
    "hiring",
    "platform teams",
    "observability",
    "design reviews",
    "pricing",
    "career growth",
    "remote onboarding",
    "the Q3 roadmap",
    "the offsite",
    "our Kubernetes migration",
    "the keynote",
    "on-call",
    "the budget review",
    "the candidate pipeline",
    "the referral programme",
]
OPENERS = [
    "Hi {name}, great to connect! I enjoyed your post on {topic}.",
    "Hello {name} — are you going to the {topic} meetup next week?",
    "{name}, quick question about {topic} when you have a minute.",
    "Thanks for accepting, {name}. Would love to hear how your team handles {topic}.",
    "Hi {name}, a mutual friend said you are the person to ask about {topic}.",
    "Good morning {name}! Do you have 20 minutes this week to talk about {topic}?",
]
LINES = [
    "Thanks! Happy to chat — how about Thursday?",
    "Yes, I'll be there. Let's grab a coffee.",
    "Sure, send me the details and I'll take a look.",
    "Good question. We moved to a weekly cadence and it helped a lot.",
    "Sounds great, talk soon.",
    "I'll share the slides after the talk.",
    "We tried that last year; the hard part was getting buy-in from finance.",
    "Here's the write-up I mentioned: https://example.com/notes/{topic_slug}",
    "Could you send me the job description? I know two people who might fit.",
    "Ha, same here. The first month is always the hardest.",
    "Let me check with my team and get back to you tomorrow.",
    "That's really helpful, thank you!",
    "Are you free on Friday afternoon instead?",
    "I moved the meeting to 3pm, hope that works.",
    "Congratulations on the new role! 🎉",
    "We are hiring two more engineers for {topic}, if you know anyone.",
    "I'd push back a little: the numbers only work if churn stays under 2%.",
    "The recording is up: https://example.com/talks/{topic_slug}?t=42",
    "Agreed. Let's write it down so we don't have this conversation again in six months.",
    "On my way, five minutes late — sorry!",
]
LONG = (
    "Some notes from today, as promised:\n\n"
    "1. {Topic}: we agreed to start small, with one team, and measure before we roll it out further.\n"
    "2. Hiring: two open roles; the loop is four interviews, and we'll share feedback within 48 hours.\n"
    "3. Budget: the tooling spend stays flat; the savings from the old contract pay for the pilot.\n"
    "4. Risks: the migration overlaps with the holiday freeze, so the cut-over moves to January.\n"
    "5. Next steps: I'll send the draft plan on Monday; comments by Wednesday, please.\n\n"
    "Longer version: the discussion kept coming back to ownership. Whoever runs the pilot also needs "
    "the authority to stop it, otherwise we end up with another half-finished platform that everyone "
    "depends on and nobody maintains. I suggested a written charter with a review date, and most people "
    "seemed to like that. The open question is who pays for support after the pilot — let's settle that "
    "before the steering meeting, not in it."
)
INMAIL_SUBJECTS = [
    "A senior role at {company}",
    "Speaking at our conference?",
    "Advisory position",
    "Quick question about {topic}",
    "Partnership opportunity",
    "Your talk on {topic}",
]
NOTES = [
    "Hi Ada, we met at the platform engineering meetup. Would be great to stay in touch.",
    "I'm building a team around {topic} and would love to learn from your experience.",
    "Fellow member of Python Developers here — happy to connect!",
    None,
    "Loved your post on {topic}. Let's connect.",
]


@dataclass
class File:
    """A generated file: its bytes, once, and how attachments name it."""

    name: str
    content_type: str
    data: bytes
    sha256: str = ""

    def __post_init__(self) -> None:
        self.sha256 = hashlib.sha256(self.data).hexdigest()


def _chart_png(title_seed: int, colour: tuple[int, int, int]) -> bytes:
    """A small bar chart (PIL only): what a shared screenshot of a dashboard might look like."""
    from PIL import Image, ImageDraw

    rng = random.Random(title_seed)
    image = Image.new("RGB", (480, 300), (250, 250, 248))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 479, 40), fill=colour)
    for i in range(8):
        height = rng.randint(30, 220)
        x = 30 + i * 55
        draw.rectangle((x, 280 - height, x + 36, 280), fill=tuple(max(0, c - 40 * (i % 2)) for c in colour))
    draw.line((20, 280, 460, 280), fill=(90, 90, 90), width=2)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _pdf(title: str) -> bytes:
    """A tiny, valid one-page PDF with one line of text."""
    content = f"BT /F1 18 Tf 72 720 Td ({title}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def demo_files() -> list[File]:
    colours = [(10, 102, 194), (5, 118, 66), (145, 89, 7), (180, 35, 24), (94, 53, 177), (0, 121, 140)]
    charts = ["pipeline", "latency-p99", "q3-revenue", "signups", "hiring-funnel", "cloud-costs"]
    files = [File(f"{name}.png", "image/png", _chart_png(i, colours[i])) for i, name in enumerate(charts)]
    for title in ("Offer letter - draft", "Roadmap Q3", "Meeting notes"):
        files.append(File(f"{title.lower().replace(' - ', '-').replace(' ', '-')}.pdf", "application/pdf", _pdf(title)))
    return files


@dataclass
class Thread:
    id: int
    kind: str
    members: list[int]
    title: str | None = None
    subject: str | None = None
    group_id: int | None = None
    created_by: int = 0
    pair_key: str | None = None
    inmail_state: str | None = None
    inmail_charged: bool = False
    # (time, sender, body, files) in time order; ids are given when every thread is known
    posts: list[tuple[datetime, int, str, list[File]]] = field(default_factory=list)
    unread_for: dict[int, int] = field(default_factory=dict)
    """member -> how many of the newest messages that member has not read."""


class Network:
    """The demo's rows, computed before anything is written."""

    def __init__(self, rng: random.Random, now: datetime, start: dict[str, int], count: int, offset: int) -> None:
        self.rng = rng
        self.now = now
        self.start = start
        self.files = demo_files()
        self.member_ids = list(range(start["members"], start["members"] + count))
        self.names: dict[int, str] = {}
        self.member_rows = self._members(offset)
        self.pairs: set[tuple[int, int]] = set()
        self.group_rows: list[dict[str, Any]] = []
        self.group_member_rows: list[dict[str, Any]] = []
        self.group_of: dict[int, list[int]] = {}
        self.threads: list[Thread] = []
        self.next_conversation = start["conversations"]
        self.invitation_rows: list[dict[str, Any]] = []

    # --- people -------------------------------------------------------------------------

    def _members(self, offset: int) -> list[dict[str, Any]]:
        rng = self.rng
        password_hash = PasswordHasher(time_cost=2, memory_cost=19_456).hash(PASSWORD)
        month = self.now.year * 12 + self.now.month - 1
        fixed = {
            0: ("Ada Lovelace", "Engineering Manager at Analytical Engines", "premium_business", False),
            1: ("Alan Backus", "Staff Engineer at Fortran Labs", "free", False),
            2: ("Grace Hopper", "Principal Engineer at Compiler Works", "premium_career", True),
        }
        rows = []
        for i, member_id in enumerate(self.member_ids):
            if offset == 0 and i in fixed:
                name, headline, tier, open_profile = fixed[i]
            else:
                name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                headline = f"{rng.choice(ROLES)} at {rng.choice(COMPANIES)}"
                tier = rng.choices(["free", "premium_career", "premium_business"], [85, 10, 5])[0]
                open_profile = tier != "free" and rng.random() < 0.3
            handle = f"demo{offset + i + 1}"
            self.names[member_id] = name
            rows.append(
                {
                    "id": member_id,
                    "handle": handle,
                    "email": f"{handle}@demo.rapport.invalid",
                    "password_hash": password_hash,
                    "name": name,
                    "headline": headline,
                    "industry": rng.choice(INDUSTRIES),
                    "location": rng.choice(CITIES),
                    "tier": tier,
                    "open_profile": open_profile,
                    "inmail_balance": {"free": 0, "premium_career": 5, "premium_business": 15}[tier],
                    "inmail_granted_through": month,
                    "created_at": self.now - timedelta(days=HISTORY_DAYS + rng.randint(1, 400)),
                }
            )
        return rows

    def connect(self, a: int, b: int) -> None:
        if a != b:
            self.pairs.add((min(a, b), max(a, b)))

    def connected(self, a: int, b: int) -> bool:
        return (min(a, b), max(a, b)) in self.pairs

    def connections(self) -> None:
        ids, rng = self.member_ids, self.rng
        ada = ids[0]
        for other in ids[1 : min(len(ids), 61)]:
            self.connect(ada, other)
        for member in ids:
            for _ in range(rng.randint(3, 10)):
                self.connect(member, ids[int(len(ids) * rng.random() ** 1.5)])

    def make_groups(self) -> None:
        ids, rng = self.member_ids, self.rng
        at = self.now - timedelta(days=HISTORY_DAYS + 30)
        for i, (name, description) in enumerate(GROUPS):
            group_id = self.start["groups"] + i
            chosen = rng.sample(ids[1:], k=min(len(ids) - 1, rng.randint(40, 250)))
            if i < 4:
                chosen = [ids[0], *chosen]  # Ada is an admin of the first four
            self.group_of[group_id] = chosen
            self.group_rows.append(
                {
                    "id": group_id,
                    "name": name,
                    "description": description,
                    "visibility": "open" if i % 2 == 0 else "request",
                    "created_at": at,
                }
            )
            self.group_member_rows += [
                {"group_id": group_id, "member_id": m, "role": "admin" if j == 0 else "member", "joined_at": at}
                for j, m in enumerate(chosen)
            ]

    def invitations(self) -> None:
        """Pending invitations to demo1 from people outside her network, and a few she sent."""
        ids, rng = self.member_ids, self.rng
        ada = ids[0]
        strangers = [m for m in ids[len(ids) // 2 :] if not self.connected(ada, m)]
        next_id = self.start["invitations"]
        for k, sender in enumerate(strangers[:8]):
            note = rng.choice(NOTES)
            self.invitation_rows.append(
                {
                    "id": next_id,
                    "from_id": sender,
                    "to_id": ada,
                    "note": note.format(topic=rng.choice(TOPICS)) if note else None,
                    "state": "pending",
                    "created_at": self.now - timedelta(hours=5 + 17 * k),
                }
            )
            next_id += 1
        for k, recipient in enumerate(strangers[8:11]):
            self.invitation_rows.append(
                {
                    "id": next_id,
                    "from_id": ada,
                    "to_id": recipient,
                    "note": None,
                    "state": "pending",
                    "created_at": self.now - timedelta(days=2 + k),
                }
            )
            next_id += 1

    # --- conversations -------------------------------------------------------------------

    def thread(self, kind: str, people: list[int], **extra: Any) -> Thread:
        t = Thread(self.next_conversation, kind, people, created_by=people[0], **extra)
        self.next_conversation += 1
        self.threads.append(t)
        return t

    def body(self, author: int, other: int | None, opener: bool) -> str:
        rng = self.rng
        topic = rng.choice(TOPICS)
        if opener and other is not None:
            return rng.choice(OPENERS).format(name=self.names[other].split()[0], topic=topic)
        if rng.random() < 0.004:
            return LONG.format(Topic=topic[:1].upper() + topic[1:])
        slug = topic.replace(" ", "-").replace("'", "")
        return rng.choice(LINES).format(topic=topic, topic_slug=slug)

    def files_for(self) -> list[File]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.012:
            return [rng.choice(self.files)]
        if roll < 0.014:
            return rng.sample(self.files, 2)
        return []

    def converse(
        self, t: Thread, count: int, start: datetime, end: datetime, *, first_sender: int | None = None
    ) -> None:
        """`count` messages between `start` and `end`, mostly alternating, sometimes with files."""
        rng = self.rng
        span = max(60.0, (end - start).total_seconds())
        times = sorted(start + timedelta(seconds=rng.random() * span) for _ in range(count))
        speaker = first_sender if first_sender is not None else t.members[0]
        for k, at in enumerate(times):
            if k and (len(t.members) > 2 or rng.random() < 0.7):
                others = [m for m in t.members if m != speaker]
                speaker = rng.choice(others) if len(t.members) > 2 else others[0]
            listener = next((m for m in t.members if m != speaker), None)
            files = self.files_for()
            body = "" if files and rng.random() < 0.4 else self.body(speaker, listener, opener=k == 0)
            t.posts.append((at, speaker, body, files))

    def demo1_threads(self) -> None:
        ids, rng, now = self.member_ids, self.rng, self.now
        ada = ids[0]
        friends = [b if a == ada else a for a, b in sorted(self.pairs) if ada in (a, b)]
        for k, friend in enumerate(friends[:45]):
            t = self.thread("direct", [friend, ada], pair_key=f"{min(ada, friend)}:{max(ada, friend)}")
            start = now - timedelta(days=rng.randint(5, HISTORY_DAYS))
            end = now - timedelta(minutes=20 + k * k * 90)
            self.converse(t, rng.randint(6, 40), start, end, first_sender=friend if k % 3 else ada)
            if k < 9:  # the newest few end with messages Ada has not read yet
                tail = rng.randint(1, 3)
                for j in range(tail):
                    at = end + timedelta(minutes=3 * (j + 1))
                    t.posts.append((at, friend, self.body(friend, ada, opener=False), self.files_for() if j else []))
                t.unread_for[ada] = tail
        # One thread with a photo and a PDF, near the top of the inbox.
        alan = ids[1]
        key = f"{min(ada, alan)}:{max(ada, alan)}"
        shared = next((x for x in self.threads if x.pair_key == key), None)
        if shared is not None:
            last = shared.posts[-1][0] if shared.posts else now - timedelta(hours=2)
            shared.posts.append(
                (last + timedelta(minutes=1), alan, "Here's the pipeline chart from this morning.", [self.files[0]])
            )
            shared.posts.append((last + timedelta(minutes=2), alan, "", [self.files[7]]))
            shared.unread_for[ada] = shared.unread_for.get(ada, 0) + 2

    def group_chats(self) -> None:
        rng, now, ada = self.rng, self.now, self.member_ids[0]
        for n, (group_id, people) in enumerate(list(self.group_of.items())[:6]):
            chosen = rng.sample(people[1:], k=min(len(people) - 1, rng.randint(4, 11)))
            admin = people[0]
            members_ = [admin, *[m for m in chosen if m != admin]]
            if n < 4 and ada not in members_:
                members_.append(ada)
            name = GROUPS[n][0]
            t = self.thread(
                "group_chat",
                members_,
                group_id=group_id,
                title=f"{name}: {rng.choice(['meetup crew', 'organisers', 'reading group', 'mentors'])}",
            )
            self.converse(
                t,
                rng.randint(60, 160),
                now - timedelta(days=rng.randint(30, HISTORY_DAYS)),
                now - timedelta(hours=rng.randint(1, 72)),
            )
            if ada in members_ and n % 2 == 0:
                t.unread_for[ada] = 4

    def multi(self) -> None:
        rng, now, ada = self.rng, self.now, self.member_ids[0]
        friends = [b if a == ada else a for a, b in sorted(self.pairs) if ada in (a, b)]
        for n in range(4):
            people = [ada, *rng.sample(friends, k=min(len(friends), 3))]
            t = self.thread("multi", people, title=["Offsite planning", "Hiring panel", None, "Book club"][n])
            self.converse(
                t, rng.randint(15, 50), now - timedelta(days=rng.randint(10, 90)), now - timedelta(days=n, hours=3)
            )

    def inmail(self) -> None:
        rng, now, ids = self.rng, self.now, self.member_ids
        ada = ids[0]
        premium = [r["id"] for r in self.member_rows if r["tier"] != "free" and r["id"] != ada]
        if not premium:
            return
        # Two InMails to Ada, waiting for her answer.
        outside = [m for m in premium if not self.connected(ada, m)]
        for k, sender in enumerate(outside[:2]):
            company = rng.choice(COMPANIES)
            t = self.thread(
                "inmail",
                [sender, ada],
                subject=INMAIL_SUBJECTS[k].format(company=company, topic=rng.choice(TOPICS)),
                inmail_state="pending",
                inmail_charged=True,
            )
            t.posts.append(
                (
                    now - timedelta(hours=6 + 20 * k),
                    sender,
                    f"Hi Ada, I lead engineering hiring at {company}. Would you be open to a short call about a role "
                    "that fits your background?",
                    [],
                )
            )
            t.unread_for[ada] = 1
        # InMail among the rest of the network: some answered, some declined, some waiting.
        for _ in range(min(60, len(premium) * 3)):
            sender, recipient = rng.choice(premium), rng.choice(ids[1:])
            if sender == recipient or self.connected(sender, recipient):
                continue
            state = rng.choice(["pending", "accepted", "accepted", "declined"])
            t = self.thread(
                "inmail",
                [sender, recipient],
                subject=rng.choice(INMAIL_SUBJECTS).format(company=rng.choice(COMPANIES), topic=rng.choice(TOPICS)),
                inmail_state=state,
                inmail_charged=True,
            )
            start = now - timedelta(days=rng.randint(1, HISTORY_DAYS))
            t.posts.append((start, sender, self.body(sender, recipient, opener=True), []))
            if state == "accepted":
                self.converse(
                    t, rng.randint(1, 6), start + timedelta(hours=2), start + timedelta(days=3), first_sender=recipient
                )

    def direct_threads(self, target: int) -> None:
        """1:1 threads among the whole network until the history has `target` messages."""
        rng, now = self.rng, self.now
        used = {t.pair_key for t in self.threads if t.pair_key}
        pairs = [p for p in sorted(self.pairs) if f"{p[0]}:{p[1]}" not in used]
        rng.shuffle(pairs)
        total = sum(len(t.posts) for t in self.threads)
        for a, b in pairs:
            if total >= target:
                break
            first, second = (a, b) if rng.random() < 0.5 else (b, a)
            t = self.thread("direct", [first, second], pair_key=f"{a}:{b}")
            count = min(target - total, max(1, int(rng.expovariate(1 / 9))))
            start = now - timedelta(days=rng.random() * HISTORY_DAYS)
            end = min(now - timedelta(minutes=5), start + timedelta(days=rng.random() * 20))
            self.converse(t, count, start, end)
            if rng.random() < 0.15:
                t.unread_for[second] = 1
            total += len(t.posts)


@dataclass
class Rows:
    conversations: list[dict[str, Any]] = field(default_factory=list)
    participants: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    reactions: list[dict[str, Any]] = field(default_factory=list)
    receipts: list[dict[str, Any]] = field(default_factory=list)


def rows_for(net: Network) -> Rows:
    """Message ids in time order (within a thread too), and every row that follows from them."""
    rng = net.rng
    out = Rows()
    order = sorted((post[0], ti, k) for ti, t in enumerate(net.threads) for k, post in enumerate(t.posts))
    ids: dict[tuple[int, int], int] = {}
    for n, (_, ti, k) in enumerate(order):
        ids[(ti, k)] = net.start["messages"] + n
    next_attachment = net.start["attachments"]
    ada = net.member_ids[0]
    for ti, t in enumerate(net.threads):
        if not t.posts:
            continue
        last = len(t.posts) - 1
        out.conversations.append(
            {
                "id": t.id,
                "kind": t.kind,
                "subject": t.subject,
                "pair_key": t.pair_key,
                "group_id": t.group_id,
                "created_by": t.created_by,
                "created_at": t.posts[0][0],
                "updated_at": t.posts[-1][0],
                "last_message_id": ids[(ti, last)],
                "inmail_sender_id": t.members[0] if t.kind == "inmail" else None,
                "inmail_recipient_id": t.members[1] if t.kind == "inmail" else None,
                "inmail_state": t.inmail_state,
                "inmail_charged": t.inmail_charged,
                "title": t.title,
            }
        )
        for k, (at, sender, body, files) in enumerate(t.posts):
            mid = ids[(ti, k)]
            out.messages.append(
                {
                    "id": mid,
                    "conversation_id": t.id,
                    "sender_id": sender,
                    "body": body,
                    "created_at": at,
                    "client_id": None,
                    "attachment_count": len(files),
                }
            )
            for position, f in enumerate(files):
                out.attachments.append(
                    {
                        "id": next_attachment,
                        "owner_id": sender,
                        "sha256": f.sha256,
                        "name": f.name,
                        "size": len(f.data),
                        "content_type": f.content_type,
                        "created_at": at,
                        "message_id": mid,
                        "conversation_id": t.id,
                        "position": position,
                    }
                )
                next_attachment += 1
            if body and rng.random() < 0.08:
                for who in rng.sample(
                    [m for m in t.members if m != sender], k=min(len(t.members) - 1, rng.randint(1, 3))
                ):
                    out.reactions.append(
                        {
                            "message_id": mid,
                            "member_id": who,
                            "emoji": rng.choice(REACTIONS[:6]),
                            "created_at": at + timedelta(minutes=rng.randint(1, 300)),
                        }
                    )
        for member in t.members:
            # Unread: at most the newest run of messages from others (one's own are never unread).
            trailing = next((n for n, post in enumerate(reversed(t.posts)) if post[1] == member), len(t.posts))
            unread = min(t.unread_for.get(member, 0), trailing)
            read_through = last - unread
            out.participants.append(
                {
                    "conversation_id": t.id,
                    "member_id": member,
                    "joined_at": t.posts[0][0],
                    "last_activity_at": t.posts[-1][0],
                    "unread_count": unread,
                    "read_up_to": ids[(ti, read_through)] if read_through >= 0 else 0,
                    "delivered_up_to": ids[(ti, last)],
                }
            )
            # Ada's partners in 1:1 threads have read what she sent: she sees "Read" under it.
            if t.kind == "direct" and ada in t.members and member != ada and unread == 0:
                out.receipts.append(
                    {
                        "conversation_id": t.id,
                        "reader_id": member,
                        "message_id": ids[(ti, last)],
                        "read_at": t.posts[-1][0] + timedelta(minutes=4),
                        "shared": True,
                    }
                )
    return out


TABLE_ORDER: list[tuple[str, Table]] = [
    ("members", members),
    ("event_counters", event_counters),
    ("connections", connections),
    ("groups", groups),
    ("group members", group_members),
    ("invitations", invitations),
    ("conversations", conversations),
    ("participants", participants),
    ("messages", messages),
    ("attachments", attachments),
    ("reactions", reactions),
    ("read receipts", read_receipts),
]


async def _start_ids(conn: AsyncConnection) -> dict[str, int]:
    out = {}
    for name, table in (
        ("members", members),
        ("conversations", conversations),
        ("messages", messages),
        ("attachments", attachments),
        ("groups", groups),
        ("invitations", invitations),
    ):
        out[name] = int(await conn.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1
    return out


async def _insert(
    conn: AsyncConnection, table: Table, rows: list[dict[str, Any]], progress: Progress, task: TaskID
) -> None:
    for i in range(0, len(rows), BATCH):
        await conn.execute(insert(table), rows[i : i + BATCH])
        progress.advance(task, len(rows[i : i + BATCH]))


async def _store_files(settings: Settings, files: Iterable[File]) -> None:
    """Each generated file once in the blob store (local files or S3), as an upload would put it."""
    store = blob_store(settings)
    await store.start()
    try:
        for f in files:
            if await store.size(f.sha256) is not None:
                continue
            staged = store.stage(head_bytes=0)
            await staged.write(f.data)
            await staged.finish()
            await store.keep(staged)
    finally:
        await store.aclose()


async def build_demo(
    settings: Settings, *, members: int = 2_000, messages: int = 50_000, if_empty: bool = False, seed: int = 7
) -> dict[str, int]:
    """Fill the database with a demo network; returns what was written (counts by table)."""
    url = settings.resolved_database_url
    await upgrade(url)
    engine = bulk_load_engine(url, pragmas=("foreign_keys=ON",))
    sqlite = engine.dialect.name == "sqlite"

    counts: dict[str, int] = {}
    try:
        async with engine.begin() as conn:
            existing = int(await conn.scalar(select(func.count()).select_from(members_table)) or 0)
            if existing and if_empty:
                print(f"demo: the network already has {existing} members; nothing to do")
                return {}
            with Progress() as progress:
                plan = progress.add_task("planning", total=6)
                net = Network(
                    random.Random(seed),
                    datetime.now(UTC).replace(microsecond=0),
                    await _start_ids(conn),
                    members,
                    existing,
                )
                for step in (
                    net.connections,
                    net.make_groups,
                    net.invitations,
                    net.demo1_threads,
                    net.group_chats,
                    net.multi,
                ):
                    step()
                    progress.advance(plan)
                net.inmail()
                net.direct_threads(messages)
                rows = rows_for(net)
                await _store_files(settings, net.files)
                tables = {
                    "members": net.member_rows,
                    "event_counters": [{"member_id": m, "last_seq": 0} for m in net.member_ids],
                    "connections": [
                        {"member_id": x, "other_id": y, "created_at": net.now - timedelta(days=HISTORY_DAYS + 10)}
                        for a, b in sorted(net.pairs)
                        for x, y in ((a, b), (b, a))
                    ],
                    "groups": net.group_rows,
                    "group members": net.group_member_rows,
                    "invitations": net.invitation_rows,
                    "conversations": rows.conversations,
                    "participants": rows.participants,
                    "messages": rows.messages,
                    "attachments": rows.attachments,
                    "reactions": rows.reactions,
                    "read receipts": rows.receipts,
                }
                for name, table in TABLE_ORDER:
                    task = progress.add_task(name, total=len(tables[name]))
                    await _insert(conn, table, tables[name], progress, task)
                    counts[name] = len(tables[name])
            if not sqlite:
                for name in ("members", "conversations", "messages", "attachments", "groups", "invitations"):
                    await conn.execute(
                        text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT MAX(id) FROM {name}))")
                    )
    finally:
        await engine.dispose()
    if sqlite:
        _finish_sqlite(make_url(url).database or "")
    first = net.member_rows[0]["handle"]
    print(
        f"demo: {counts['members']:,} members, {counts['connections'] // 2:,} connections, "
        f"{counts['conversations']:,} conversations, {counts['messages']:,} messages, "
        f"{counts['attachments']:,} files, {counts['reactions']:,} reactions.\n"
        f"Sign in as {first} (Ada Lovelace) with password {PASSWORD!r}; in a second window, as "
        f"{net.member_rows[1]['handle']} (Alan Backus), one of her connections."
    )
    return counts


members_table = members


def _finish_sqlite(path: str) -> None:
    """Rebuild an external-content FTS5 index no trigger keeps in step, and fold the WAL into the file."""
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
