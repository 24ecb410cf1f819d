"""Uploading and downloading attached files.

Downloads accept the session token in `Authorization: Bearer` or, for GET only, as
`?token=` so that the web client's <img src>, <audio> and <video> elements can load files
they cannot add a header to (the WebSocket already authenticates the same way). Responses
say `Referrer-Policy: no-referrer` and `Cache-Control: private` so the token does not leak
on through links or shared caches.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from rapport.api.deps import BearerScheme, Ctx, CurrentMember, bearer_token
from rapport.api.errors import error_body
from rapport.api.responses import Json
from rapport.api.routes import parse_id
from rapport.api.schemas import ErrorRead, Text
from rapport.api.uploads import MultipartFile
from rapport.domain.errors import Unauthorized
from rapport.domain.files import RangeNotSatisfiable, is_inline, parse_range
from rapport.domain.model import Member
from rapport.services import accounts, attachments

router = APIRouter(prefix="/api/v1/attachments", tags=["attachments"])

_SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-cache",
    "Accept-Ranges": "bytes",
}


async def download_member(
    request: Request,
    ctx: Ctx,
    _: BearerScheme,
    token: Text | None = Query(None, max_length=200, include_in_schema=False),
) -> Member:
    """The member from the bearer header, else from `?token=` (GET downloads only)."""
    if "authorization" in request.headers or not token:
        return await accounts.authenticate(ctx, token=await bearer_token(request))
    if not token.strip():
        raise Unauthorized("Sign in: send Authorization: Bearer <token>.", code="unauthorized")
    return await accounts.authenticate(ctx, token=token.strip())


Downloader = Annotated[Member, Depends(download_member)]


@router.post("", status_code=201)
async def upload(request: Request, ctx: Ctx, viewer: CurrentMember) -> Json:
    """Upload one file (multipart/form-data, the first part with a filename); attach it by id when sending."""
    source = MultipartFile(request)
    name = await source.start()
    attachment = await attachments.upload(ctx, viewer, name=name, chunks=source.chunks())
    return Json({"attachment": attachment}, status_code=201)


def content_disposition(name: str, *, inline: bool) -> str:
    """`inline` or `attachment`, with an ASCII fallback name and the exact name per RFC 5987/6266."""
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    fallback = "".join(c if c.isprintable() and c not in '"\\;' else "_" for c in fallback).strip() or "file"
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


_FILE = {"*/*": {"schema": {"type": "string", "format": "binary"}}}


@router.get(
    "/{attachment_id}",
    response_class=Response,
    responses={
        200: {"description": "The file, with its own type.", "content": _FILE},
        206: {"description": "The range asked for.", "content": _FILE},
        304: {"description": "Not modified (If-None-Match)."},
        416: {"model": ErrorRead, "description": "The range starts past the end."},
    },
)
async def download(
    attachment_id: Text, request: Request, ctx: Ctx, viewer: Downloader, download: bool = Query(False)
) -> Response:
    """The file's bytes; one `Range` gives 206 (or 416 past the end)."""
    row = await attachments.open_file(ctx, viewer, attachment_id=parse_id(attachment_id, "attachment"))
    etag = f'"{row.sha256}"'
    headers = {
        **_SAFE_HEADERS,
        "ETag": etag,
        "Content-Disposition": content_disposition(row.name, inline=is_inline(row.content_type) and not download),
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    header = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if if_range is not None and if_range != etag:
        header = None
    try:
        span = parse_range(header, row.size)
    except RangeNotSatisfiable as exc:
        return Json(
            error_body(exc.code, exc.message),
            status_code=416,
            headers={**headers, "Content-Range": f"bytes */{row.size}"},
        )
    start, end = span or (0, row.size - 1)
    headers["Content-Length"] = str(end - start + 1)
    if span is not None:
        headers["Content-Range"] = f"bytes {start}-{end}/{row.size}"
    return StreamingResponse(
        attachments.read(ctx, row, start=start, end=end),
        status_code=206 if span is not None else 200,
        media_type=row.content_type,
        headers=headers,
    )


@router.get(
    "/{attachment_id}/thumbnail",
    response_class=Response,
    responses={200: {"description": "PNG or JPEG.", "content": {"image/png": {}, "image/jpeg": {}}}},
)
async def thumbnail(attachment_id: Text, ctx: Ctx, viewer: Downloader) -> Response:
    """A small version of an image (at most 320 by 320 pixels), PNG or JPEG."""
    data = await attachments.thumbnail(ctx, viewer, attachment_id=parse_id(attachment_id, "attachment"))
    media_type = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
    return Response(data, media_type=media_type, headers={**_SAFE_HEADERS, "Content-Disposition": "inline"})
