"""Reports, the operator's moderation queue, and the member's data rights (API.md "Safety")."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from rapport.api.deps import Admin, Ctx, CurrentMember
from rapport.api.responses import Json
from rapport.api.routes import parse_id
from rapport.api.schemas import AccountDelete, ReportCreate, ReportResolve, Text
from rapport.services import data_rights, moderation

router = APIRouter(prefix="/api/v1", tags=["safety"])


@router.post("/conversations/{conversation_id}/report", status_code=201)
async def report(conversation_id: Text, body: ReportCreate, ctx: Ctx, viewer: CurrentMember) -> Json:
    """Report a conversation one is in: it leaves one's inbox; the reported member is not told."""
    found = await moderation.report(
        ctx,
        viewer,
        conversation_id=parse_id(conversation_id, "conversation"),
        reason=body.reason,
        note=body.note,
        block=body.block,
    )
    return Json({"report": found}, status_code=201)


@router.get("/admin/reports", dependencies=[Admin], tags=["admin"])
async def list_reports(ctx: Ctx, state: str = Query("open", pattern="^(open|resolved)$")) -> Json:
    return Json({"reports": await moderation.list_reports(ctx, state=state)})


@router.post("/admin/reports/{report_id}/resolve", dependencies=[Admin], tags=["admin"])
async def resolve(report_id: Text, body: ReportResolve, ctx: Ctx) -> Json:
    found = await moderation.resolve(ctx, report_id=parse_id(report_id, "report"), action=body.action)
    return Json({"report": found})


@router.post("/admin/members/{handle}/suspend", dependencies=[Admin], tags=["admin"])
async def suspend(handle: Text, ctx: Ctx) -> Json:
    return Json({"member": await moderation.suspend(ctx, handle=handle)})


@router.post("/admin/members/{handle}/unsuspend", dependencies=[Admin], tags=["admin"])
async def unsuspend(handle: Text, ctx: Ctx) -> Json:
    return Json({"member": await moderation.unsuspend(ctx, handle=handle)})


@router.get("/me/export", response_class=StreamingResponse, responses={200: {"content": {"application/zip": {}}}})
async def export(ctx: Ctx, viewer: CurrentMember) -> StreamingResponse:
    """Everything the member sees, as a zip streamed while it is written."""
    return StreamingResponse(
        data_rights.export(ctx, viewer),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="rapport-{viewer.handle}.zip"',
            "Cache-Control": "no-store",
        },
    )


@router.delete("/me", status_code=204)
async def erase(body: AccountDelete, ctx: Ctx, viewer: CurrentMember) -> Response:
    """Erase the account (with its password); messages stay for others as "Deleted member"."""
    await data_rights.erase(ctx, viewer, password=body.password)
    return Response(status_code=204)
