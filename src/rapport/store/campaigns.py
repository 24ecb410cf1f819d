"""Advertisers, campaigns, their delivery, and leads.

Opens and clicks are counters on the campaign row. The only per-member rows are the
delivery (the unique campaign x member key; no route shows it to the advertiser) and the
lead, which the member chose to submit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import BigInteger, String, bindparam, delete, exists, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement

from rapport.domain.model import ConversationKind, MemberId, Tier
from rapport.domain.sponsored import Audience, Button, CampaignSpec, CampaignState, LeadForm, Question, fold
from rapport.store.dialect import DIALECTS, ascii_lower, id_rows, insert_or_skip
from rapport.store.prepared import IdList, Prepared
from rapport.store.tables import (
    advertisers,
    campaign_leads,
    campaign_shards,
    campaigns,
    members,
    sponsored_caps,
    sponsored_deliveries,
)
from rapport.store.types import UTCDateTime

# --- advertisers -----------------------------------------------------------------------


async def set_advertiser(conn: AsyncConnection, *, member_id: int, on: bool, at: datetime) -> None:
    if on:
        await conn.execute(insert_or_skip(conn, advertisers, "member_id").values(member_id=member_id, granted_at=at))
    else:
        await conn.execute(delete(advertisers).where(advertisers.c.member_id == member_id))


async def is_advertiser(conn: AsyncConnection, *, member_id: int) -> bool:
    return (await conn.scalar(select(1).where(advertisers.c.member_id == member_id))) is not None


# --- campaigns -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CampaignRow:
    id: int
    advertiser_id: MemberId
    name: str
    subject: str
    body: str
    banner_attachment_id: int | None
    buttons: tuple[Button, ...]
    lead_form: LeadForm | None
    audience: Audience
    state: CampaignState
    audience_size: int
    delivered: int
    skipped: int
    opened: int
    clicked: int
    leads: int
    created_at: datetime
    launched_at: datetime | None
    finished_at: datetime | None


_COLUMNS = tuple(campaigns.c[name] for name in CampaignRow.__slots__)


def _lead_form_json(form: LeadForm | None) -> str | None:
    if form is None:
        return None
    return orjson.dumps(
        {
            "profile_fields": list(form.profile_fields),
            "questions": [{"id": q.id, "label": q.label, "required": q.required} for q in form.questions],
        }
    ).decode()


def _audience_json(audience: Audience) -> str:
    return orjson.dumps(
        {
            "industries": list(audience.industries),
            "locations": list(audience.locations),
            "tiers": [t.value for t in audience.tiers],
            "headline_keywords": list(audience.headline_keywords),
        }
    ).decode()


def _campaign(r: Mapping[str, Any]) -> CampaignRow:
    form = orjson.loads(r["lead_form"]) if r["lead_form"] else None
    audience = orjson.loads(r["audience"])
    return CampaignRow(
        id=r["id"],
        advertiser_id=MemberId(r["advertiser_id"]),
        name=r["name"],
        subject=r["subject"],
        body=r["body"],
        banner_attachment_id=r["banner_attachment_id"],
        buttons=tuple(Button(b["id"], b["label"], b["url"]) for b in orjson.loads(r["buttons"])),
        lead_form=(
            LeadForm(
                tuple(form["profile_fields"]),
                tuple(Question(q["id"], q["label"], q["required"]) for q in form["questions"]),
            )
            if form is not None
            else None
        ),
        audience=Audience(
            industries=tuple(audience["industries"]),
            locations=tuple(audience["locations"]),
            tiers=tuple(Tier(t) for t in audience["tiers"]),
            headline_keywords=tuple(audience["headline_keywords"]),
        ),
        state=CampaignState(r["state"]),
        audience_size=r["audience_size"],
        delivered=r["delivered"],
        skipped=r["skipped"],
        opened=r["opened"],
        clicked=r["clicked"],
        leads=r["leads"],
        created_at=r["created_at"],
        launched_at=r["launched_at"],
        finished_at=r["finished_at"],
    )


async def add(
    conn: AsyncConnection, *, advertiser_id: int, spec: CampaignSpec, banner_attachment_id: int | None, at: datetime
) -> CampaignRow:
    row = (
        await conn.execute(
            insert(campaigns)
            .values(
                advertiser_id=advertiser_id,
                name=spec.name,
                subject=spec.subject,
                body=spec.body,
                banner_attachment_id=banner_attachment_id,
                buttons=orjson.dumps([{"id": b.id, "label": b.label, "url": b.url} for b in spec.buttons]).decode(),
                lead_form=_lead_form_json(spec.lead_form),
                audience=_audience_json(spec.audience),
                state=CampaignState.DRAFT.value,
                created_at=at,
            )
            .returning(*_COLUMNS)
        )
    ).one()
    return _campaign(dict(row._mapping))


_GET = Prepared(select(*_COLUMNS).where(campaigns.c.id == bindparam("campaign_id")))


async def get(conn: AsyncConnection, *, campaign_id: int) -> CampaignRow | None:
    row = await _GET.mapping(conn, campaign_id=campaign_id)
    return _campaign(row) if row else None


async def list_for(conn: AsyncConnection, *, advertiser_id: int) -> list[CampaignRow]:
    """The advertiser's campaigns, newest first."""
    rows = await conn.execute(
        select(*_COLUMNS).where(campaigns.c.advertiser_id == advertiser_id).order_by(campaigns.c.id.desc())
    )
    return [_campaign(dict(r._mapping)) for r in rows]


def audience_filter(conn: AsyncConnection, audience: Audience, *, advertiser_id: int) -> list[ColumnElement[bool]]:
    """domain.sponsored.matches, as SQL over `members` (the same ASCII folding); never the advertiser."""
    where: list[ColumnElement[bool]] = [members.c.id != advertiser_id]
    if audience.industries:
        where.append(ascii_lower(conn, members.c.industry).in_({fold(v) for v in audience.industries}))
    if audience.locations:
        where.append(ascii_lower(conn, members.c.location).in_({fold(v) for v in audience.locations}))
    if audience.tiers:
        where.append(members.c.tier.in_([t.value for t in audience.tiers]))
    if audience.headline_keywords:
        headline = ascii_lower(conn, members.c.headline)
        where.append(or_(*(headline.like(f"%{_escape(fold(k))}%", escape="\\") for k in audience.headline_keywords)))
    return where


def _escape(pattern: str) -> str:
    return pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def count_audience(conn: AsyncConnection, *, audience: Audience, advertiser_id: int) -> int:
    """How many members the audience names, the advertiser aside: one COUNT."""
    value = await conn.scalar(
        select(func.count()).select_from(members).where(*audience_filter(conn, audience, advertiser_id=advertiser_id))
    )
    return int(value or 0)


async def member_id_span(conn: AsyncConnection) -> tuple[int, int]:
    """(smallest, largest) member id, (0, -1) with no members: the range delivery shards cover."""
    low, high = (await conn.execute(select(func.min(members.c.id), func.max(members.c.id)))).one()
    return (int(low), int(high)) if low is not None else (0, -1)


async def start_sending(
    conn: AsyncConnection, *, campaign_id: int, audience_size: int, shards: Sequence[tuple[int, int]], at: datetime
) -> bool:
    """Draft -> sending, with its shards; False when it was no longer a draft (a racing launch)."""
    result = await conn.execute(
        update(campaigns)
        .where(campaigns.c.id == campaign_id, campaigns.c.state == CampaignState.DRAFT.value)
        .values(
            state=CampaignState.SENDING.value if shards else CampaignState.SENT.value,
            audience_size=audience_size,
            shards_pending=len(shards),
            launched_at=at,
            finished_at=None if shards else at,
        )
    )
    if result.rowcount != 1:
        return False
    if shards:
        await conn.execute(
            insert(campaign_shards),
            [
                {"campaign_id": campaign_id, "shard": i, "next_id": low, "end_id": high, "done": False}
                for i, (low, high) in enumerate(shards)
            ],
        )
    return True


async def add_to_counter(conn: AsyncConnection, *, campaign_id: int, counter: str, amount: int = 1) -> None:
    """Bump one of the campaign's counters (`opened`, `clicked`, `leads`)."""
    column = campaigns.c[counter]
    await conn.execute(update(campaigns).where(campaigns.c.id == campaign_id).values({column: column + amount}))


# --- delivery --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShardRow:
    campaign_id: int
    shard: int
    next_id: int
    end_id: int
    done: bool


_SHARD = select(
    campaign_shards.c.campaign_id,
    campaign_shards.c.shard,
    campaign_shards.c.next_id,
    campaign_shards.c.end_id,
    campaign_shards.c.done,
).where(campaign_shards.c.campaign_id == bindparam("campaign_id"), campaign_shards.c.shard == bindparam("shard"))
_READ_SHARD = Prepared(_SHARD)
_LOCK_SHARD = Prepared(_SHARD.with_for_update())


async def read_shard(conn: AsyncConnection, *, campaign_id: int, shard: int) -> ShardRow | None:
    """The shard's position, unlocked: where the next page would start."""
    row = await _READ_SHARD.first(conn, campaign_id=campaign_id, shard=shard)
    return ShardRow(*row) if row else None


async def lock_shard(conn: AsyncConnection, *, campaign_id: int, shard: int) -> ShardRow | None:
    """The shard's position, locked until commit on PostgreSQL (SQLite has one writer anyway),
    so two processes that picked up the same shard deliver each page once."""
    row = await _LOCK_SHARD.first(conn, campaign_id=campaign_id, shard=shard)
    return ShardRow(*row) if row else None


@dataclass(frozen=True, slots=True)
class Candidate:
    """A member of the audience, with what the delivery decision and the lead form need."""

    member_id: MemberId
    name: str
    headline: str
    industry: str
    location: str
    email: str
    sponsored_messages: bool
    last_sponsored_at: datetime | None
    already_delivered: bool


async def audience_page(
    conn: AsyncConnection,
    *,
    campaign_id: int,
    advertiser_id: int,
    audience: Audience,
    from_id: int,
    end_id: int,
    limit: int,
) -> list[Candidate]:
    """The next members of the audience with id in [from_id, end_id], in id order: a page,
    never the whole audience."""
    delivered = exists().where(
        sponsored_deliveries.c.campaign_id == campaign_id, sponsored_deliveries.c.member_id == members.c.id
    )
    rows = await conn.execute(
        select(
            members.c.id,
            members.c.name,
            members.c.headline,
            members.c.industry,
            members.c.location,
            members.c.email,
            members.c.sponsored_messages,
            sponsored_caps.c.last_received_at,
            delivered.label("already"),
        )
        .select_from(members.outerjoin(sponsored_caps, sponsored_caps.c.member_id == members.c.id))
        .where(
            members.c.id >= from_id,
            members.c.id <= end_id,
            *audience_filter(conn, audience, advertiser_id=advertiser_id),
        )
        .order_by(members.c.id)
        .limit(limit)
    )
    return [Candidate(MemberId(r[0]), r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7], bool(r[8])) for r in rows.all()]


def _claim_caps(dialect: str) -> Prepared:
    # One statement with fixed SQL whatever the number of members (their ids are one parameter).
    # The member's opt-out and blocks are checked again here, in the write transaction: the
    # page decided on a read made before it, and a member who opted out or blocked the
    # advertiser since then must not be sent the message.
    sql = (
        "INSERT INTO sponsored_caps (member_id, last_received_at) "
        f"SELECT value, :at FROM {id_rows(dialect, 'ids')} JOIN members ON members.id = value "
        "WHERE members.sponsored_messages AND NOT EXISTS (SELECT 1 FROM blocks WHERE "
        "(blocks.blocker_id = :advertiser AND blocks.blocked_id = value) "
        "OR (blocks.blocker_id = value AND blocks.blocked_id = :advertiser)) "
        "ON CONFLICT (member_id) DO UPDATE SET last_received_at = excluded.last_received_at "
        "WHERE sponsored_caps.last_received_at <= :cutoff RETURNING member_id"
    )
    return Prepared(
        text(sql)
        .bindparams(
            bindparam("ids", type_=IdList()),
            bindparam("advertiser", type_=BigInteger()),
            bindparam("at", type_=UTCDateTime()),
            bindparam("cutoff", type_=UTCDateTime()),
        )
        .columns(member_id=BigInteger()),
        dialect=dialect,
    )


_CLAIM_CAPS = {dialect: _claim_caps(dialect) for dialect in DIALECTS}


async def claim_caps(
    conn: AsyncConnection, *, member_ids: Sequence[int], advertiser_id: int, at: datetime, cutoff: datetime
) -> set[int]:
    """Take the frequency-cap slot of each member whose last sponsored message is older than
    `cutoff` (or who never got one), who still takes sponsored messages and has no block with
    the advertiser; returns those taken.

    One conditional upsert: under PostgreSQL's row locks, two campaigns delivering at once
    cannot both take a member's slot; the second sees the first's commit and takes nothing.
    """
    if not member_ids:
        return set()
    rows = await _CLAIM_CAPS[conn.dialect.name].rows(
        conn, ids=member_ids, advertiser=advertiser_id, at=at, cutoff=cutoff
    )
    return {int(r[0]) for r in rows}


@dataclass(frozen=True, slots=True)
class NewThread:
    member_id: MemberId
    conversation_id: int
    message_id: int


def _thread_rows(dialect: str) -> str:
    """A row source `t(member_id, conversation_id, message_id)` over the `:threads` parameter,
    JSON text `[[member, conversation, message], ...]`."""
    if dialect == "sqlite":
        return (
            "(SELECT value ->> 0 AS member_id, value ->> 1 AS conversation_id, value ->> 2 AS message_id "
            "FROM json_each(:threads)) AS t"
        )
    return (
        "(SELECT CAST(value ->> 0 AS bigint) AS member_id, CAST(value ->> 1 AS bigint) AS conversation_id, "
        "CAST(value ->> 2 AS bigint) AS message_id FROM jsonb_array_elements(CAST(:threads AS jsonb))) AS t"
    )


_THREAD_INSERTS = (
    "INSERT INTO conversations (id, kind, subject, created_by, created_at, updated_at, last_message_id) "
    f"SELECT conversation_id, '{ConversationKind.SPONSORED.value}', :subject, :advertiser_id, :at, :at, message_id "
    "FROM {rows}",
    "INSERT INTO participants (conversation_id, member_id, joined_at, last_activity_at, unread_count) "
    "SELECT conversation_id, member_id, :at, :at, 1 FROM {rows}",
    "INSERT INTO messages (id, conversation_id, sender_id, body, created_at) "
    "SELECT message_id, conversation_id, :advertiser_id, :body, :at FROM {rows}",
    "INSERT INTO sponsored_deliveries (campaign_id, member_id, conversation_id, message_id, delivered_at) "
    "SELECT :campaign_id, member_id, conversation_id, message_id, :at FROM {rows}",
)
_TYPES = {
    "threads": String(),
    "subject": String(),
    "body": String(),
    "advertiser_id": BigInteger(),
    "campaign_id": BigInteger(),
    "at": UTCDateTime(),
}


def _thread_insert(sql: str, dialect: str) -> Prepared:
    sql = sql.format(rows=_thread_rows(dialect))
    types: dict[str, Any] = {n: t for n, t in _TYPES.items() if f":{n}" in sql}
    return Prepared(text(sql).bindparams(*(bindparam(n, type_=t) for n, t in types.items())), dialect=dialect)


_ADD_THREADS = {dialect: tuple(_thread_insert(sql, dialect) for sql in _THREAD_INSERTS) for dialect in DIALECTS}


async def add_threads(
    conn: AsyncConnection, *, campaign: CampaignRow, threads: Sequence[NewThread], at: datetime
) -> None:
    """One sponsored conversation per recipient: the conversation, its one participant (the
    recipient; the advertiser is none, so they can never see a read or a delivery), the
    message and the delivery row; each table in one INSERT ... SELECT over all the threads
    (one JSON parameter), so no row is built in Python."""
    if not threads:
        return
    params = {
        "threads": orjson.dumps([[t.member_id, t.conversation_id, t.message_id] for t in threads]).decode(),
        "subject": campaign.subject,
        "body": campaign.body,
        "advertiser_id": campaign.advertiser_id,
        "campaign_id": campaign.id,
        "at": at,
    }
    for statement in _ADD_THREADS[conn.dialect.name]:
        await statement.execute(conn, **params)


_MOVE_SHARD = Prepared(
    update(campaign_shards)
    .where(campaign_shards.c.campaign_id == bindparam("of_campaign"), campaign_shards.c.shard == bindparam("of_shard"))
    .values(next_id=bindparam("to_id"), done=bindparam("finished"))
)
_COUNT_PAGE = Prepared(
    update(campaigns)
    .where(campaigns.c.id == bindparam("of_campaign"))
    .values(
        delivered=campaigns.c.delivered + bindparam("more_delivered"),
        skipped=campaigns.c.skipped + bindparam("more_skipped"),
        shards_pending=campaigns.c.shards_pending - bindparam("shards_finished"),
    )
    .returning(campaigns.c.shards_pending)
)
_FINISH = Prepared(
    update(campaigns)
    .where(campaigns.c.id == bindparam("of_campaign"))
    .values(state=CampaignState.SENT.value, finished_at=bindparam("at"))
)


async def advance_shard(
    conn: AsyncConnection,
    *,
    campaign_id: int,
    shard: int,
    next_id: int,
    delivered: int,
    skipped: int,
    done: bool,
    at: datetime,
) -> CampaignState:
    """Move the shard past the page just delivered and count it; the last shard to finish
    marks the campaign sent. Returns the campaign's state after this page."""
    # (Parameters are not named after the columns they set: Core reserves those names.)
    await _MOVE_SHARD.execute(conn, of_campaign=campaign_id, of_shard=shard, to_id=next_id, finished=done)
    pending = await _COUNT_PAGE.scalar(
        conn,
        of_campaign=campaign_id,
        more_delivered=delivered,
        more_skipped=skipped,
        shards_finished=1 if done else 0,
    )
    if done and pending == 0:
        await _FINISH.execute(conn, of_campaign=campaign_id, at=at)
        return CampaignState.SENT
    return CampaignState.SENDING


# --- the member's side -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    campaign_id: int
    member_id: MemberId
    conversation_id: int
    message_id: int
    clicked: bool
    declined: bool


_DELIVERY = (
    sponsored_deliveries.c.campaign_id,
    sponsored_deliveries.c.member_id,
    sponsored_deliveries.c.conversation_id,
    sponsored_deliveries.c.message_id,
    sponsored_deliveries.c.clicked,
    sponsored_deliveries.c.declined,
)


async def get_delivery(conn: AsyncConnection, *, conversation_id: int, member_id: int) -> DeliveryRow | None:
    """The delivery behind a sponsored conversation, if `member_id` is its recipient."""
    row = (
        await conn.execute(
            select(*_DELIVERY).where(
                sponsored_deliveries.c.conversation_id == conversation_id,
                sponsored_deliveries.c.member_id == member_id,
            )
        )
    ).first()
    return DeliveryRow(*row) if row else None


async def mark_clicked(conn: AsyncConnection, *, campaign_id: int, member_id: int) -> bool:
    """True the first time this recipient clicks (so the counter counts members, not clicks)."""
    result = await conn.execute(
        update(sponsored_deliveries)
        .where(
            sponsored_deliveries.c.campaign_id == campaign_id,
            sponsored_deliveries.c.member_id == member_id,
            sponsored_deliveries.c.clicked.is_(False),
        )
        .values(clicked=True)
    )
    return result.rowcount == 1


async def mark_declined(conn: AsyncConnection, *, campaign_id: int, member_id: int) -> None:
    await conn.execute(
        update(sponsored_deliveries)
        .where(sponsored_deliveries.c.campaign_id == campaign_id, sponsored_deliveries.c.member_id == member_id)
        .values(declined=True)
    )


async def get_email(conn: AsyncConnection, *, member_id: int) -> str:
    return str(await conn.scalar(select(members.c.email).where(members.c.id == member_id)) or "")


# --- leads -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeadRow:
    member_id: MemberId
    answers: dict[str, str]
    submitted_at: datetime


async def add_lead(
    conn: AsyncConnection, *, campaign_id: int, member_id: int, answers: Mapping[str, str], at: datetime
) -> bool:
    """False when this member already sent a lead for this campaign."""
    result = await conn.execute(
        insert_or_skip(conn, campaign_leads, "campaign_id", "member_id").values(
            campaign_id=campaign_id, member_id=member_id, answers=orjson.dumps(dict(answers)).decode(), submitted_at=at
        )
    )
    return result.rowcount == 1


async def has_lead(conn: AsyncConnection, *, campaign_id: int, member_id: int) -> bool:
    found = await conn.scalar(
        select(1).where(campaign_leads.c.campaign_id == campaign_id, campaign_leads.c.member_id == member_id)
    )
    return found is not None


async def list_leads(
    conn: AsyncConnection, *, campaign_id: int, after_id: int = 0, limit: int = 1000
) -> list[tuple[int, LeadRow]]:
    """(lead id, lead) in submission order, a page at a time (the CSV streams them)."""
    rows = await conn.execute(
        select(campaign_leads.c.id, campaign_leads.c.member_id, campaign_leads.c.answers, campaign_leads.c.submitted_at)
        .where(campaign_leads.c.campaign_id == campaign_id, campaign_leads.c.id > after_id)
        .order_by(campaign_leads.c.id)
        .limit(limit)
    )
    return [(r[0], LeadRow(MemberId(r[1]), orjson.loads(r[2]), r[3])) for r in rows]
