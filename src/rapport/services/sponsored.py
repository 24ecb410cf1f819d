"""The member's side of sponsored messages: the thread's `sponsored` block, clicks, leads, "not interested".

A sponsored conversation has one participant, its recipient: the advertiser is the
message's sender but never a participant, so nothing a participant can see (delivery,
reads) ever reaches them. Opens and clicks only move the campaign's counters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.domain.errors import Conflict, NotFound
from rapport.domain.model import Member, MemberId
from rapport.domain.sponsored import PROFILE_FIELDS, check_lead
from rapport.services import attachments as attachment_service
from rapport.services.context import Context
from rapport.services.shapes import iso, member_json
from rapport.services.uow import UnitOfWork
from rapport.store import attachments, conversations, members
from rapport.store import campaigns as store
from rapport.store.attachments import AttachmentRow
from rapport.store.campaigns import CampaignRow, DeliveryRow


def profile_values(*, name: str, headline: str, industry: str, location: str, email: str) -> dict[str, str]:
    """What a lead form pre-fills, by field name (domain.sponsored.PROFILE_FIELDS)."""
    values = {"name": name, "headline": headline, "industry": industry, "location": location, "email": email}
    return {f: values[f] for f in PROFILE_FIELDS}


def sponsored_json(
    campaign: CampaignRow,
    advertiser: Member | None,
    *,
    conversation_id: int,
    profile: Mapping[str, str],
    lead_submitted: bool = False,
    declined: bool = False,
) -> dict[str, Any]:
    """The `sponsored` block of the message, as its recipient sees it: button ids and labels
    (the URL comes back from a click, which is how clicks are counted), the form pre-filled."""
    form = campaign.lead_form
    return {
        "advertiser": member_json(advertiser) if advertiser else None,
        "banner_url": (
            f"/api/v1/conversations/{conversation_id}/sponsored/banner" if campaign.banner_attachment_id else None
        ),
        "buttons": [{"id": b.id, "label": b.label} for b in campaign.buttons],
        "lead_form": (
            {
                "profile_fields": list(form.profile_fields),
                "questions": [{"id": q.id, "label": q.label, "required": q.required} for q in form.questions],
                "prefill": {f: profile.get(f, "") for f in form.profile_fields},
            }
            if form is not None
            else None
        ),
        "lead_submitted": lead_submitted,
        "declined": declined,
    }


async def _profile(conn: AsyncConnection, member: Member) -> dict[str, str]:
    email = await store.get_email(conn, member_id=member.id)
    return profile_values(
        name=member.name, headline=member.headline, industry=member.industry, location=member.location, email=email
    )


async def decorate(
    conn: AsyncConnection, *, conversation_id: int, viewer: Member, shown: Sequence[dict[str, Any]]
) -> None:
    """Add the `sponsored` block to the messages of a sponsored thread the viewer received."""
    delivery = await store.get_delivery(conn, conversation_id=conversation_id, member_id=viewer.id)
    if delivery is None:
        return
    campaign = await store.get(conn, campaign_id=delivery.campaign_id)
    if campaign is None:
        return
    advertiser = await members.get(conn, member_id=campaign.advertiser_id)
    block = sponsored_json(
        campaign,
        advertiser,
        conversation_id=conversation_id,
        profile=await _profile(conn, viewer),
        lead_submitted=await store.has_lead(conn, campaign_id=campaign.id, member_id=viewer.id),
        declined=delivery.declined,
    )
    for message in shown:
        if message["id"] == str(delivery.message_id):
            message["sponsored"] = block


async def _delivery(conn: AsyncConnection, viewer: Member, conversation_id: int) -> tuple[DeliveryRow, CampaignRow]:
    """The campaign behind a sponsored thread; 404 unless the viewer is its recipient."""
    delivery = await store.get_delivery(conn, conversation_id=conversation_id, member_id=viewer.id)
    campaign = await store.get(conn, campaign_id=delivery.campaign_id) if delivery else None
    if delivery is None or campaign is None:
        raise NotFound("No such conversation.", code="conversation_not_found")
    return delivery, campaign


async def click(ctx: Context, viewer: Member, *, conversation_id: int, button_id: str) -> str:
    """A recipient follows a button: count them once as having clicked, and give the URL."""
    async with UnitOfWork(ctx) as uow:
        _, campaign = await _delivery(uow.conn, viewer, conversation_id)
        button = next((b for b in campaign.buttons if b.id == button_id), None)
        if button is None:
            raise NotFound("No such button.", code="button_not_found")
        if await store.mark_clicked(uow.conn, campaign_id=campaign.id, member_id=viewer.id):
            await store.add_to_counter(uow.conn, campaign_id=campaign.id, counter="clicked")
    return button.url


async def submit_lead(
    ctx: Context, viewer: Member, *, conversation_id: int, answers: Mapping[str, str]
) -> dict[str, Any]:
    """The recipient sends the lead form: from now on the advertiser sees them and their answers."""
    async with UnitOfWork(ctx) as uow:
        _, campaign = await _delivery(uow.conn, viewer, conversation_id)
        fresh = await members.get(uow.conn, member_id=viewer.id) or viewer
        lead = check_lead(campaign.lead_form, answers, await _profile(uow.conn, fresh))
        if not await store.add_lead(uow.conn, campaign_id=campaign.id, member_id=viewer.id, answers=lead, at=uow.now):
            raise Conflict("You already sent your details for this campaign.", code="lead_already_submitted")
        await store.add_to_counter(uow.conn, campaign_id=campaign.id, counter="leads")
    return {"answers": lead, "submitted_at": iso(uow.now)}


async def decline(uow: UnitOfWork, *, conversation_id: int, member_id: MemberId) -> None:
    """ "Not interested": remembered on the delivery, and the thread leaves the inbox (archived)."""
    delivery = await store.get_delivery(uow.conn, conversation_id=conversation_id, member_id=member_id)
    if delivery is None:
        raise NotFound("No such conversation.", code="conversation_not_found")
    await store.mark_declined(uow.conn, campaign_id=delivery.campaign_id, member_id=member_id)
    await conversations.save_participant(
        uow.conn, conversation_id=conversation_id, member_id=member_id, fields={"archived": True}
    )


async def record_open(uow: UnitOfWork, *, conversation_id: int, member_id: MemberId) -> None:
    """The recipient opened the thread for the first time: one more for the campaign's `opened`.
    Nothing else is written: which member opened stays in their own read position only."""
    delivery = await store.get_delivery(uow.conn, conversation_id=conversation_id, member_id=member_id)
    if delivery is not None:
        await store.add_to_counter(uow.conn, campaign_id=delivery.campaign_id, counter="opened")


async def banner(ctx: Context, viewer: Member, *, conversation_id: int) -> AttachmentRow:
    """The campaign's banner image, for its recipients (the advertiser reads it as their upload)."""
    async with ctx.db.read() as conn:
        _, campaign = await _delivery(conn, viewer, conversation_id)
        row = (
            await attachments.get(conn, attachment_id=campaign.banner_attachment_id)
            if campaign.banner_attachment_id
            else None
        )
    if row is None or await attachment_service.blobs(ctx).size(row.sha256) is None:
        raise NotFound("This message has no banner.", code="banner_not_found")
    return row
