"""The advertiser's side of sponsored messages: accounts, drafts, launch, stats and leads.

Only members the operator made advertisers create campaigns (others: 403 `not_advertiser`);
an advertiser sees only their own (another's: 404, as if it did not exist). What an
advertiser learns of recipients is counts (`stats`), plus the leads members chose to send.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.domain.errors import Invalid, NotFound, NotPermitted
from rapport.domain.model import Member
from rapport.domain.sponsored import (
    CampaignState,
    check_audience,
    check_campaign,
    check_launch,
    check_lead_form,
)
from rapport.services import campaign_delivery
from rapport.services.context import Context
from rapport.services.shapes import iso, member_json
from rapport.services.uow import UnitOfWork
from rapport.store import attachments, members
from rapport.store import campaigns as store
from rapport.store.campaigns import CampaignRow

BANNER_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
LEADS_PAGE = 1000


async def set_advertiser(ctx: Context, *, handle: str, on: bool) -> Member:
    """The operator grants (or withdraws) the right to run campaigns."""
    async with UnitOfWork(ctx) as uow:
        member = await members.get_by_handle(uow.conn, handle=handle)
        if member is None:
            raise NotFound("No such member.", code="member_not_found")
        await store.set_advertiser(uow.conn, member_id=member.id, on=on, at=uow.now)
    return member


async def _require_advertiser(conn: AsyncConnection, member: Member) -> None:
    if not await store.is_advertiser(conn, member_id=member.id):
        raise NotPermitted("Only advertiser accounts run campaigns.", code="not_advertiser")


async def _own(conn: AsyncConnection, member: Member, campaign_id: int) -> CampaignRow:
    await _require_advertiser(conn, member)
    campaign = await store.get(conn, campaign_id=campaign_id)
    if campaign is None or campaign.advertiser_id != member.id:
        raise NotFound("No such campaign.", code="campaign_not_found")
    return campaign


async def create(
    ctx: Context,
    advertiser: Member,
    *,
    name: str,
    subject: str,
    body: str,
    buttons: Sequence[tuple[str, str]],
    banner_attachment: int | None,
    lead_form: tuple[Sequence[str], Sequence[tuple[str, str, bool]]] | None,
    audience: Mapping[str, Sequence[str]],
) -> dict[str, Any]:
    """Store a draft; every rule of domain.sponsored is checked now, so a draft can launch."""
    form = check_lead_form(*lead_form) if lead_form is not None else None
    spec = check_campaign(
        name=name,
        subject=subject,
        body=body,
        buttons=buttons,
        lead_form=form,
        audience=check_audience(
            industries=audience.get("industries", ()),
            locations=audience.get("locations", ()),
            tiers=audience.get("tiers", ()),
            headline_keywords=audience.get("headline_keywords", ()),
        ),
    )
    async with UnitOfWork(ctx) as uow:
        await _require_advertiser(uow.conn, advertiser)
        if banner_attachment is not None:
            banner = await attachments.get(uow.conn, attachment_id=banner_attachment)
            if banner is None or banner.owner_id != advertiser.id:
                raise NotFound("No such attachment.", code="attachment_not_found")
            if banner.content_type not in BANNER_TYPES:
                raise Invalid("A banner is a PNG, JPEG, GIF or WebP image.", code="banner_not_image")
        campaign = await store.add(
            uow.conn, advertiser_id=advertiser.id, spec=spec, banner_attachment_id=banner_attachment, at=uow.now
        )
        size = await store.count_audience(uow.conn, audience=campaign.audience, advertiser_id=advertiser.id)
    return campaign_json(campaign, audience_size=size)


async def list_campaigns(ctx: Context, advertiser: Member) -> list[dict[str, Any]]:
    async with ctx.db.read() as conn:
        await _require_advertiser(conn, advertiser)
        found = await store.list_for(conn, advertiser_id=advertiser.id)
        return [await _shown(conn, c) for c in found]


async def get(ctx: Context, advertiser: Member, *, campaign_id: int) -> tuple[dict[str, Any], dict[str, int]]:
    """The campaign with its funnel: counts only, never who."""
    async with ctx.db.read() as conn:
        campaign = await _own(conn, advertiser, campaign_id)
        return await _shown(conn, campaign), stats_json(campaign)


async def _shown(conn: AsyncConnection, campaign: CampaignRow) -> dict[str, Any]:
    """A draft's audience size is counted now (one COUNT); a launched one's was fixed at launch."""
    size = campaign.audience_size
    if campaign.state is CampaignState.DRAFT:
        size = await store.count_audience(conn, audience=campaign.audience, advertiser_id=campaign.advertiser_id)
    return campaign_json(campaign, audience_size=size)


async def launch(ctx: Context, advertiser: Member, *, campaign_id: int) -> dict[str, Any]:
    """Draft -> sending: fix the audience size and hand delivery to durable jobs (202)."""
    async with UnitOfWork(ctx) as uow:
        campaign = await _own(uow.conn, advertiser, campaign_id)
        check_launch(campaign.state)
        size = await store.count_audience(uow.conn, audience=campaign.audience, advertiser_id=advertiser.id)
        await campaign_delivery.plan(uow, campaign, audience_size=size)
        launched = await store.get(uow.conn, campaign_id=campaign.id)
        assert launched is not None
    await campaign_delivery.started(ctx)
    return campaign_json(launched, audience_size=launched.audience_size)


def campaign_json(campaign: CampaignRow, *, audience_size: int) -> dict[str, Any]:
    form = campaign.lead_form
    audience = campaign.audience
    return {
        "id": str(campaign.id),
        "name": campaign.name,
        "state": campaign.state.value,
        "audience_size": audience_size,
        "delivered": campaign.delivered,
        "skipped": campaign.skipped,
        "created_at": iso(campaign.created_at),
        "launched_at": iso(campaign.launched_at),
        "finished_at": iso(campaign.finished_at),
        "subject": campaign.subject,
        "body": campaign.body,
        "banner_attachment": str(campaign.banner_attachment_id) if campaign.banner_attachment_id else None,
        "banner_url": (
            f"/api/v1/attachments/{campaign.banner_attachment_id}" if campaign.banner_attachment_id else None
        ),
        "buttons": [{"id": b.id, "label": b.label, "url": b.url} for b in campaign.buttons],
        "lead_form": (
            {
                "profile_fields": list(form.profile_fields),
                "questions": [{"id": q.id, "label": q.label, "required": q.required} for q in form.questions],
            }
            if form is not None
            else None
        ),
        "audience": {
            "industries": list(audience.industries),
            "locations": list(audience.locations),
            "tiers": [t.value for t in audience.tiers],
            "headline_keywords": list(audience.headline_keywords),
        },
    }


def stats_json(campaign: CampaignRow) -> dict[str, int]:
    return {"sent": campaign.delivered, "opened": campaign.opened, "clicked": campaign.clicked, "leads": campaign.leads}


async def leads(ctx: Context, advertiser: Member, *, campaign_id: int) -> list[dict[str, Any]]:
    """Members who chose to send their details, with their answers, oldest first."""
    return [lead async for lead in _leads(ctx, advertiser, campaign_id)]


async def _leads(ctx: Context, advertiser: Member, campaign_id: int) -> AsyncIterator[dict[str, Any]]:
    async with ctx.db.read() as conn:
        await _own(conn, advertiser, campaign_id)
    after = 0
    while True:
        async with ctx.db.read() as conn:
            page = await store.list_leads(conn, campaign_id=campaign_id, after_id=after, limit=LEADS_PAGE)
            people = await members.list_by_ids(conn, ids={lead.member_id for _, lead in page})
        for lead_id, lead in page:
            member = people.get(lead.member_id)
            yield {
                "member": member_json(member) if member else None,
                "answers": lead.answers,
                "submitted_at": iso(lead.submitted_at),
            }
            after = lead_id
        if len(page) < LEADS_PAGE:
            return


async def leads_csv(ctx: Context, advertiser: Member, *, campaign_id: int) -> AsyncIterator[bytes]:
    """The leads as CSV (RFC 4180), streamed a page at a time: handle, name, the form's fields, time.

    Cells that a spreadsheet would read as a formula get a leading apostrophe (CSV injection)."""
    async with ctx.db.read() as conn:
        campaign = await _own(conn, advertiser, campaign_id)
    form = campaign.lead_form
    fields = [*(form.profile_fields if form else ()), *(q.id for q in (form.questions if form else ()))]
    columns = ["handle", *fields, "submitted_at"]
    yield _csv_line(columns)
    async for lead in _leads(ctx, advertiser, campaign_id):
        member = lead["member"] or {}
        row = [member.get("handle") or "", *(lead["answers"].get(f, "") for f in fields), lead["submitted_at"] or ""]
        yield _csv_line(row)


def _csv_line(cells: Sequence[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([_defuse(c) for c in cells])
    return out.getvalue().encode()


def _defuse(cell: str) -> str:
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell
