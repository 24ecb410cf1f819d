"""Sponsored messages: advertiser accounts, campaigns, their leads, and the recipient's actions."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from rapport.api.deps import Admin, Ctx, CurrentMember
from rapport.api.responses import Json
from rapport.api.routes import parse_id
from rapport.api.routes.attachments import Downloader
from rapport.api.schemas import (
    AdvertiserUpdate,
    CampaignCreate,
    CampaignOnly,
    CampaignsRead,
    CampaignWithStats,
    ClickCreate,
    ClickRead,
    LeadCreate,
    LeadOnly,
    LeadsRead,
    MemberOnly,
    Text,
)
from rapport.services import attachments, campaigns, sponsored
from rapport.services.shapes import member_json

router = APIRouter(prefix="/api/v1", tags=["sponsored"])


@router.put("/admin/members/{handle}/advertiser", response_model=MemberOnly, dependencies=[Admin], tags=["admin"])
async def set_advertiser(handle: Text, body: AdvertiserUpdate, ctx: Ctx) -> Json:
    """Grant or withdraw the right to run campaigns."""
    member = await campaigns.set_advertiser(ctx, handle=handle, on=body.advertiser)
    return Json({"member": member_json(member), "advertiser": body.advertiser})


@router.post("/campaigns", status_code=201, response_model=CampaignOnly)
async def create(body: CampaignCreate, ctx: Ctx, viewer: CurrentMember) -> Json:
    """A draft campaign (advertisers only); its audience size is counted at once."""
    form = body.lead_form
    campaign = await campaigns.create(
        ctx,
        viewer,
        name=body.name,
        subject=body.subject,
        body=body.body,
        buttons=[(b.label, b.url) for b in body.buttons],
        banner_attachment=parse_id(body.banner_attachment, "attachment") if body.banner_attachment else None,
        lead_form=(
            (form.profile_fields, [(q.id, q.label, q.required) for q in form.questions]) if form is not None else None
        ),
        audience=body.audience.model_dump(),
    )
    return Json({"campaign": campaign}, status_code=201)


@router.get("/campaigns", response_model=CampaignsRead)
async def list_campaigns(ctx: Ctx, viewer: CurrentMember) -> Json:
    return Json({"campaigns": await campaigns.list_campaigns(ctx, viewer)})


@router.get("/campaigns/{campaign_id}", response_model=CampaignWithStats)
async def get(campaign_id: Text, ctx: Ctx, viewer: CurrentMember) -> Json:
    """The campaign, its delivery progress, and its funnel as counts."""
    campaign, stats = await campaigns.get(ctx, viewer, campaign_id=parse_id(campaign_id, "campaign"))
    return Json({"campaign": campaign, "stats": stats})


@router.post("/campaigns/{campaign_id}/launch", status_code=202, response_model=CampaignOnly)
async def launch(campaign_id: Text, ctx: Ctx, viewer: CurrentMember) -> Json:
    """Start delivery in the background; follow `delivered` and `skipped` on the campaign."""
    campaign = await campaigns.launch(ctx, viewer, campaign_id=parse_id(campaign_id, "campaign"))
    return Json({"campaign": campaign}, status_code=202)


@router.get("/campaigns/{campaign_id}/leads", response_model=LeadsRead)
async def leads(
    campaign_id: Text, ctx: Ctx, viewer: CurrentMember, format: Literal["json", "csv"] = Query("json")
) -> Response:
    """The members who sent the lead form, with their answers: JSON, or CSV to download."""
    cid = parse_id(campaign_id, "campaign")
    if format == "csv":
        chunks = campaigns.leads_csv(ctx, viewer, campaign_id=cid)
        first = await anext(chunks)  # the checks (403, 404) run before the 200 is sent

        async def body() -> object:
            yield first
            async for chunk in chunks:
                yield chunk

        return StreamingResponse(
            body(),  # type: ignore[arg-type]
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="campaign-{cid}-leads.csv"'},
        )
    return Json({"leads": await campaigns.leads(ctx, viewer, campaign_id=cid)})


@router.post("/conversations/{conversation_id}/sponsored/click", response_model=ClickRead)
async def click(conversation_id: Text, body: ClickCreate, ctx: Ctx, viewer: CurrentMember) -> Json:
    """A button of a sponsored message the viewer received: counted, and its URL returned."""
    url = await sponsored.click(
        ctx, viewer, conversation_id=parse_id(conversation_id, "conversation"), button_id=body.button_id
    )
    return Json({"url": url})


@router.post("/conversations/{conversation_id}/sponsored/lead", status_code=201, response_model=LeadOnly)
async def submit_lead(conversation_id: Text, body: LeadCreate, ctx: Ctx, viewer: CurrentMember) -> Json:
    """Send the lead form: the advertiser will see this member and these answers."""
    lead = await sponsored.submit_lead(
        ctx, viewer, conversation_id=parse_id(conversation_id, "conversation"), answers=body.answers
    )
    return Json({"lead": lead}, status_code=201)


@router.get("/conversations/{conversation_id}/sponsored/banner")
async def banner(conversation_id: Text, ctx: Ctx, viewer: Downloader) -> Response:
    """The banner image of a sponsored message, for its recipient (`?token=` works, for <img>)."""
    row = await sponsored.banner(ctx, viewer, conversation_id=parse_id(conversation_id, "conversation"))
    return StreamingResponse(
        attachments.read(ctx, row, start=0, end=row.size - 1),
        media_type=row.content_type,
        headers={
            "Content-Length": str(row.size),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "private, max-age=3600",
        },
    )
