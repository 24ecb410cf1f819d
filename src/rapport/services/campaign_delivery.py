"""Delivering a launched campaign, as durable jobs that survive crashes and share the work.

Launch splits the member-id space into shards (`SHARD_SPAN` ids each) and enqueues one job
per shard in the launch's own transaction. A job delivers its shard a page at a time. A
read takes the next `PAGE` members of the audience by id (never the whole audience),
decides each (domain.sponsored.delivery_decision) and shapes their `message.new`; then one
write transaction, if the shard's cursor is still where the read found it, takes the
recipients' frequency-cap slots (re-checking opt-out and blocks), writes their threads in
bulk, moves the cursor and counts `delivered` / `skipped` — all or nothing. So a crash
repeats at most the page that did not commit, and the delivery row's unique key
(campaign x member) makes even that harmless. Several processes run different shards at
once; two that hold the same shard (a lease that expired) take turns on its row lock, and
the one that finds the cursor moved reads the page again.

The write is `background` work: on SQLite it lets members' writes queued for the one
writer go first, and holds it only for its SQL (nothing is read or shaped inside it).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rapport import jobs
from rapport.domain.events import EventType
from rapport.domain.model import ConversationId, Member, MemberId, MessageId
from rapport.domain.sponsored import (
    CampaignState,
    RecipientFacts,
    check_launch,
    delivery_decision,
    frequency_cutoff,
)
from rapport.services import notifications
from rapport.services.context import Context
from rapport.services.shapes import iso, message_json
from rapport.services.sponsored import profile_values, sponsored_json
from rapport.services.uow import UnitOfWork
from rapport.store import campaigns as store
from rapport.store import members, social
from rapport.store.campaigns import CampaignRow, Candidate, NewThread, ShardRow
from rapport.store.dialect import reserve_ids
from rapport.store.messages import MessageRow
from rapport.store.tables import conversations, messages

KIND = "campaign_delivery"
SHARD_SPAN = 25_000
"""Member ids per shard: a 100,000-member network is four jobs that processes can share."""
PAGE = 50
"""Members per page. A page's read and its write each run without yielding (SQLite statements
run inline), a few ms of CPU apiece; about half of that is fixed per page, so smaller pages
would cost more CPU per recipient for shorter pauses."""
SLICE_SECONDS = 5.0
"""A job delivers pages for this long, then reschedules itself: well inside its lease."""


async def plan(uow: UnitOfWork, campaign: CampaignRow, *, audience_size: int) -> None:
    """Mark the campaign sending, with one shard per `SHARD_SPAN` member ids, and enqueue their jobs."""
    low, high = await store.member_id_span(uow.conn)
    spans = [(start, min(start + SHARD_SPAN - 1, high)) for start in range(low, high + 1, SHARD_SPAN)]
    shards = spans if audience_size else []
    if not await store.start_sending(
        uow.conn, campaign_id=campaign.id, audience_size=audience_size, shards=shards, at=uow.now
    ):
        check_launch(CampaignState.SENDING)  # a launch that raced this one got there first
    for shard in range(len(shards)):
        await jobs.enqueue(
            uow.conn,
            kind=KIND,
            key=f"{campaign.id}:{shard}",
            payload={"campaign_id": campaign.id, "shard": shard},
            run_at=uow.now,
            now=uow.now,
        )


async def started(ctx: Context) -> None:
    """After the launch committed: have this process's runner look for the new jobs now."""
    if ctx.jobs is not None:
        await ctx.jobs.wake()


def register(ctx: Context) -> None:
    """Run delivery jobs in this process."""
    assert ctx.jobs is not None, "delivery runs on the process's job runner"
    # One page at a time per process: shards in the same process would otherwise queue their
    # pages for the writer together, and a member's send would wait behind all of them.
    # Other processes still take other shards.
    one_page = asyncio.Semaphore(1)

    async def handle(job: jobs.Job) -> jobs.Reschedule | None:
        campaign_id, shard = int(job.payload["campaign_id"]), int(job.payload["shard"])
        deadline = time.monotonic() + SLICE_SECONDS
        while True:
            async with one_page:
                more = await deliver_page(ctx, campaign_id=campaign_id, shard=shard)
            if not more:
                return None
            if time.monotonic() > deadline:
                return jobs.Reschedule(payload=job.payload)
            await asyncio.sleep(0)  # let requests that arrived during the page take their turn first

    ctx.jobs.register(KIND, handle, max_attempts=10)


@dataclass(frozen=True, slots=True)
class _Page:
    """What a read found for the shard's next page: the members to try, and where the cursor goes."""

    position: ShardRow
    campaign: CampaignRow
    wanted: list[_Shown]
    fresh: int
    """Members of the page not delivered to by this campaign yet: each is delivered or skipped."""
    next_id: int
    done: bool


async def deliver_page(ctx: Context, *, campaign_id: int, shard: int) -> bool:
    """Deliver the shard's next page; True while pages remain.

    The page is read, decided and shaped on a read connection first, so the write transaction
    only takes the cap slots and inserts: it holds the database's one writer (SQLite) for
    its SQL alone, and waits for the members' own writes queued before it. It goes ahead only
    if the shard's cursor is still where the read found it; if another runner moved it, the
    page is read again."""
    page = await _read_page(ctx, campaign_id=campaign_id, shard=shard)
    if page is None:
        return False
    async with UnitOfWork(ctx, background=True) as uow:
        position = await store.lock_shard(uow.conn, campaign_id=campaign_id, shard=shard)
        if position is None or position.done:
            return False
        if position.next_id != page.position.next_id:
            return True  # another runner delivered this page meanwhile
        campaign, wanted = page.campaign, page.wanted
        cutoff = frequency_cutoff(uow.now, ctx.settings.sponsored_interval_days)
        # The cap is taken, not only read: a campaign delivering at the same moment loses the race cleanly.
        taken = await store.claim_caps(
            uow.conn,
            member_ids=[w.member_id for w in wanted],
            advertiser_id=campaign.advertiser_id,
            at=uow.now,
            cutoff=cutoff,
        )
        chosen = [w for w in wanted if w.member_id in taken]
        conversation_ids = await reserve_ids(uow.conn, conversations, len(chosen))
        message_ids = await reserve_ids(uow.conn, messages, len(chosen))
        threads = [
            NewThread(w.member_id, cid, mid) for w, cid, mid in zip(chosen, conversation_ids, message_ids, strict=True)
        ]
        await store.add_threads(uow.conn, campaign=campaign, threads=threads, at=uow.now)
        await store.advance_shard(
            uow.conn,
            campaign_id=campaign.id,
            shard=shard,
            next_id=page.next_id,
            delivered=len(threads),
            skipped=page.fresh - len(threads),
            done=page.done,
            at=uow.now,
        )
        # E-mail and push follow each recipient's `sponsored` preferences (notify/alerts decides, later).
        await notifications.schedule_message_alerts(uow, conversation_ids=conversation_ids)
        for w, t in zip(chosen, threads, strict=True):
            uow.emit(EventType.MESSAGE_NEW, [w.member_id], w.event(t, at=uow.now))
    return not page.done


async def _read_page(ctx: Context, *, campaign_id: int, shard: int) -> _Page | None:
    """The shard's next page as of now, decided and shaped; None when the shard is finished."""
    async with ctx.db.read() as conn:
        position = await store.read_shard(conn, campaign_id=campaign_id, shard=shard)
        campaign = await store.get(conn, campaign_id=campaign_id)
        if position is None or position.done or campaign is None or campaign.state is not CampaignState.SENDING:
            return None
        page = await store.audience_page(
            conn,
            campaign_id=campaign.id,
            advertiser_id=campaign.advertiser_id,
            audience=campaign.audience,
            from_id=position.next_id,
            end_id=position.end_id,
            limit=PAGE,
        )
        fresh = [c for c in page if not c.already_delivered]
        blocked = await social.blocked_among(
            conn, member_id=campaign.advertiser_id, others=[c.member_id for c in fresh]
        )
        cutoff = frequency_cutoff(ctx.clock.now(), ctx.settings.sponsored_interval_days)
        wanted = [
            c
            for c in fresh
            if delivery_decision(
                RecipientFacts(c.member_id, c.sponsored_messages, c.member_id in blocked, c.last_sponsored_at),
                advertiser=campaign.advertiser_id,
                cutoff=cutoff,
            )
            is None
        ]
        advertiser = await members.get(conn, member_id=campaign.advertiser_id) if wanted else None
    done = len(page) < PAGE
    shape = _Shaper(campaign, advertiser, at=ctx.clock.now())
    return _Page(
        position=position,
        campaign=campaign,
        wanted=[shape(c) for c in wanted],
        fresh=len(fresh),
        next_id=position.end_id + 1 if done else page[-1].member_id + 1,
        done=done,
    )


@dataclass(frozen=True, slots=True)
class _Shown:
    """A recipient's `message.new`, shaped before the write: only the ids it will get are missing."""

    member_id: MemberId
    message: dict[str, Any]
    sponsored: dict[str, Any]
    banner: bool

    def event(self, thread: NewThread, *, at: datetime) -> dict[str, Any]:
        conversation_id = thread.conversation_id
        sponsored = self.sponsored
        if self.banner:
            sponsored = {**sponsored, "banner_url": f"/api/v1/conversations/{conversation_id}/sponsored/banner"}
        shown = {
            **self.message,
            "id": str(thread.message_id),
            "conversation_id": str(conversation_id),
            "created_at": iso(at),
            "sponsored": sponsored,
        }
        return {"conversation_id": str(conversation_id), "message": shown}


class _Shaper:
    """Each recipient's `message.new`: the message as their thread shows it, `sponsored` block
    included. The parts every recipient shares are shaped once per page."""

    def __init__(self, campaign: CampaignRow, advertiser: Member | None, *, at: datetime) -> None:
        row = MessageRow(
            id=MessageId(0),
            conversation_id=ConversationId(0),
            sender_id=campaign.advertiser_id,
            body=campaign.body,
            created_at=at,
            edited_at=None,
            deleted=False,
            client_id=None,
            attachment_count=0,
        )
        people = {campaign.advertiser_id: advertiser} if advertiser else {}
        self.message = message_json(row, viewer=MemberId(0), members=people)
        self.campaign = campaign
        self.advertiser = advertiser

    def __call__(self, c: Candidate) -> _Shown:
        profile = profile_values(
            name=c.name, headline=c.headline, industry=c.industry, location=c.location, email=c.email
        )
        sponsored = sponsored_json(self.campaign, self.advertiser, conversation_id=0, profile=profile)
        return _Shown(c.member_id, self.message, sponsored, self.campaign.banner_attachment_id is not None)
