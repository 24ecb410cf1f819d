"""The limits a client needs to refuse bad input before sending it (what the server would refuse anyway)."""

from __future__ import annotations

from fastapi import APIRouter

from rapport.api.deps import Ctx
from rapport.api.responses import Json
from rapport.domain.files import REFUSED_EXTENSIONS
from rapport.domain.limits import (
    INMAIL_BODY_MAX,
    INMAIL_SUBJECT_MAX,
    MAX_ATTACHMENTS_PER_MESSAGE,
    MAX_RECIPIENTS,
    MESSAGE_BODY_MAX,
)
from rapport.domain.messages import REACTIONS

router = APIRouter(prefix="/api/v1", tags=["limits"])


@router.get("/limits")
async def limits(ctx: Ctx) -> Json:
    """Sizes, counts, the reaction set and refused file extensions; no sign-in needed, nothing private."""
    return Json(
        {
            "max_attachment_bytes": ctx.settings.max_attachment_bytes,
            "max_attachments_per_message": MAX_ATTACHMENTS_PER_MESSAGE,
            "message_body_max": MESSAGE_BODY_MAX,
            "inmail_body_max": INMAIL_BODY_MAX,
            "inmail_subject_max": INMAIL_SUBJECT_MAX,
            "max_recipients": MAX_RECIPIENTS,
            "reactions": list(REACTIONS),
            "refused_extensions": sorted(REFUSED_EXTENSIONS),
        }
    )
