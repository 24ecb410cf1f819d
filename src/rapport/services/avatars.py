"""Profile pictures: an uploaded image, cropped to its centre square and made small on the server.

The picture is kept apart from the attachment it came from (an attachment never sent is swept
after a day) and served at a versioned public URL, like the generated avatars: every member may
see every avatar, so no token is needed and browsers may cache it for good.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import warnings

from rapport.domain.errors import Invalid, NotFound
from rapport.domain.model import Member
from rapport.services import attachments as attachment_service
from rapport.services.context import Context
from rapport.services.sessions import forget_member
from rapport.store import avatars as store
from rapport.store import members

AVATAR_PX = 256


def avatar_path(member_id: int, version: str) -> str:
    return f"/avatars/img/{member_id}/{version}.png"


async def set_avatar(ctx: Context, viewer: Member, *, attachment_id: int) -> Member:
    """Make one of the viewer's own uploaded images their avatar (centre square, 256 px)."""
    row = await attachment_service.open_file(ctx, viewer, attachment_id=attachment_id)
    if row.owner_id != viewer.id:
        raise NotFound("No such attachment.", code="attachment_not_found")
    if row.content_type not in attachment_service.THUMBNAIL_TYPES:
        raise Invalid("A profile picture is a PNG, JPEG, GIF or WebP image.", code="avatar_not_an_image")
    data = b"".join([c async for c in attachment_service.read(ctx, row, start=0, end=row.size - 1)])
    square = await asyncio.to_thread(centre_square, data)
    if square is None:
        raise Invalid("This image cannot be read.", code="avatar_unreadable")
    version = hashlib.sha256(square).hexdigest()[:12]
    async with ctx.db.write() as conn:
        await store.save(
            conn, member_id=viewer.id, version=version, content_type="image/png", data=square, at=ctx.clock.now()
        )
        await members.save_profile(conn, member_id=viewer.id, fields={"avatar_url": avatar_path(viewer.id, version)})
        member = await members.get(conn, member_id=viewer.id)
    assert member is not None
    await forget_member(ctx, viewer.id)  # cached token lookups would keep serving the old picture
    return member


async def remove_avatar(ctx: Context, viewer: Member) -> Member:
    """Back to the generated initials."""
    async with ctx.db.write() as conn:
        await store.remove(conn, member_id=viewer.id)
        await members.save_profile(conn, member_id=viewer.id, fields={"avatar_url": None})
        member = await members.get(conn, member_id=viewer.id)
    assert member is not None
    await forget_member(ctx, viewer.id)
    return member


async def image(ctx: Context, *, member_id: int, version: str) -> bytes:
    """The picture at this version; an old or unknown one is 404."""
    async with ctx.db.read() as conn:
        found = await store.get(conn, member_id=member_id)
    if found is None or found[0] != version:
        raise NotFound("No such picture.", code="avatar_not_found")
    return found[2]


def centre_square(data: bytes) -> bytes | None:
    """The largest centred square of the image, scaled to AVATAR_PX, as PNG; None if unreadable."""
    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:
                if opened.width * opened.height > attachment_service.THUMBNAIL_MAX_PIXELS:
                    return None
                upright = ImageOps.exif_transpose(opened)
                square = ImageOps.fit(upright.convert("RGBA"), (AVATAR_PX, AVATAR_PX), centering=(0.5, 0.5))
                out = io.BytesIO()
                square.save(out, "PNG", optimize=True)
                return out.getvalue()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None
