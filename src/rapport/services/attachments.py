"""Files attached to messages: upload, claim by a message, download, thumbnails and cleanup.

An upload is streamed to a temporary file (or object), counted and hashed as it arrives (never held in
memory), sniffed from its first bytes (domain.files decides what is accepted), recorded, and
only then kept in the content-addressed blob store. A message claims its sender's unattached
uploads; uploads nobody claims are swept after a grace period, and a blob is removed once no
row names it any more.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.domain.errors import Invalid, NotFound, TooLarge, Unavailable
from rapport.domain.files import SNIFF_BYTES, UPLOAD_GRACE, classify, may_download, safe_name
from rapport.domain.model import Member, MemberId, MessageId
from rapport.services.context import Context
from rapport.services.rate_limits import Action
from rapport.services.uow import UnitOfWork
from rapport.store import attachments as store
from rapport.store.attachments import AttachmentRow
from rapport.store.blobs import BlobStore, blob_store

log = logging.getLogger(__name__)

THUMBNAIL_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/tiff"})
THUMBNAIL_SIZE = (320, 320)
THUMBNAIL_MAX_PIXELS = 50_000_000
SWEEP_INTERVAL = 3600.0


def blobs(ctx: Context) -> BlobStore:
    """The server's one blob store (one S3 client per process, not one per request)."""
    if ctx.blob_store is None:
        ctx.blob_store = blob_store(ctx.settings)
    return ctx.blob_store


def attachment_json(row: AttachmentRow) -> dict[str, Any]:
    url = f"/api/v1/attachments/{row.id}"
    return {
        "id": str(row.id),
        "name": row.name,
        "size": row.size,
        "content_type": row.content_type,
        "url": url,
        "thumbnail_url": f"{url}/thumbnail" if row.content_type in THUMBNAIL_TYPES else None,
    }


async def upload(ctx: Context, owner: Member, *, name: str, chunks: AsyncIterator[bytes]) -> dict[str, Any]:
    """Receive one file: refused past the size limit (counted on bytes received) or when its type is not taken."""
    await ctx.limits.hit(Action.UPLOAD, str(owner.id))
    limit = ctx.settings.max_attachment_bytes
    name = safe_name(name)
    store_ = blobs(ctx)
    staged = store_.stage(head_bytes=SNIFF_BYTES)
    try:
        sniffed = False
        async for chunk in chunks:
            await staged.write(chunk)
            if staged.size > limit:
                raise TooLarge(f"A file may have at most {limit:,} bytes.", code="file_too_large")
            if not sniffed and len(staged.head) >= SNIFF_BYTES:
                classify(staged.head, name=name, complete=False)  # refuse early, before the rest arrives
                sniffed = True
        kind = classify(staged.head, name=name, complete=True)
        await staged.finish()
        async with UnitOfWork(ctx) as uow:
            row = await store.add(
                uow.conn,
                owner_id=owner.id,
                sha256=staged.sha256,
                name=name,
                size=staged.size,
                content_type=kind.content_type,
                at=uow.now,
            )
        try:
            await store_.keep(staged)  # after the commit: a kept blob always has a row
        except Exception:
            # The store failed (S3 unreachable): the row must not outlive the bytes it names.
            async with UnitOfWork(ctx) as uow:
                await store.remove(uow.conn, attachment_id=row.id)
            raise
    except BaseException:
        await staged.discard()
        raise
    return attachment_json(row)


def _parse_id(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


async def claim(
    uow: UnitOfWork, *, ids: Sequence[str], owner: MemberId, message_id: int, conversation_id: int
) -> list[dict[str, Any]]:
    """Attach the owner's own, not yet attached uploads to a message; returns their JSON shapes.

    Any other id (unknown, someone else's, already on a message, swept) is refused the same way,
    so that the answer tells nothing about other members' files.
    """
    if not ids:
        return []
    if len(set(ids)) != len(ids):
        raise Invalid("The same attachment is named twice.", code="duplicate_attachment")
    for position, raw in enumerate(ids):
        attachment_id = _parse_id(raw)
        if attachment_id is None or not await store.claim(
            uow.conn,
            attachment_id=attachment_id,
            owner_id=owner,
            message_id=message_id,
            conversation_id=conversation_id,
            position=position,
        ):
            raise Invalid(f"No such attachment: {raw[:40]!r}. Upload it first.", code="attachment_not_found")
    files = await store.list_for_messages(uow.conn, message_ids=[message_id])
    return [attachment_json(r) for r in files.get(MessageId(message_id), [])]


async def for_messages(conn: AsyncConnection, message_ids: Iterable[int]) -> dict[MessageId, list[dict[str, Any]]]:
    """The JSON shapes of each message's files, in the order the sender gave them."""
    rows = await store.list_for_messages(conn, message_ids=message_ids)
    return {mid: [attachment_json(r) for r in files] for mid, files in rows.items()}


async def release(uow: UnitOfWork, *, message_id: int) -> None:
    """A deleted message's files leave everyone's view; blobs no other row names leave the disk after commit."""
    keys = await store.delete_for_message(uow.conn, message_id=message_id)
    if keys:
        ctx = uow.ctx

        async def remove_blobs() -> None:
            try:
                await collect(ctx, keys)
            except Unavailable:  # the deletion has committed; the hourly sweep removes what is left
                log.warning(
                    "attachment store unreachable: %d blob(s) of message %s left for the sweep", len(keys), message_id
                )

        uow.after_commit(remove_blobs)


async def reindex(uow: UnitOfWork, *, message_id: int, body: str) -> None:
    """Nothing to do: the search index follows message bodies inside the same transaction in the
    store itself (FTS5 triggers on SQLite, an expression index on PostgreSQL; migration 0002)."""


async def collect(ctx: Context, keys: Iterable[str]) -> int:
    """Remove the blobs among `keys` that no row names; returns how many went."""
    store_ = blobs(ctx)
    removed = 0
    for key in keys:

        async def still_needed(key: str = key) -> bool:
            async with ctx.db.read() as conn:
                return bool(await store.referenced(conn, keys=[key]))

        removed += await store_.remove_unless(key, still_needed)
    return removed


async def visible(ctx: Context, viewer: Member, *, attachment_id: int) -> AttachmentRow:
    """The file, if the viewer may fetch it (domain.files.may_download); else 404."""
    async with ctx.db.read() as conn:
        row = await store.get(conn, attachment_id=attachment_id)
        if row is None:
            raise NotFound("No such attachment.", code="attachment_not_found")
        is_uploader = row.owner_id == viewer.id
        viewing = (
            None
            if is_uploader or row.message_id is None
            else await store.get_viewing(conn, message_id=row.message_id, member_id=viewer.id)
        )
    allowed = may_download(
        is_uploader=is_uploader,
        message_id=row.message_id,
        is_participant=viewing is not None and viewing.is_participant,
        cleared_through=viewing.cleared_through if viewing else 0,
        message_deleted=viewing.message_deleted if viewing else False,
    )
    if not allowed:
        raise NotFound("No such attachment.", code="attachment_not_found")
    return row


async def open_file(ctx: Context, viewer: Member, *, attachment_id: int) -> AttachmentRow:
    """A file the viewer may download and whose bytes are there."""
    row = await visible(ctx, viewer, attachment_id=attachment_id)
    if await blobs(ctx).size(row.sha256) is None:
        log.warning("attachment %s has no blob %s", row.id, row.sha256)
        raise NotFound("No such attachment.", code="attachment_not_found")
    return row


def read(ctx: Context, row: AttachmentRow, *, start: int, end: int) -> AsyncIterator[bytes]:
    """Bytes `start` to `end` (inclusive) of a file already checked with `open_file`."""
    return blobs(ctx).read(row.sha256, start=start, end=end)


async def thumbnail(ctx: Context, viewer: Member, *, attachment_id: int) -> bytes:
    """A small PNG or JPEG of an image, made on first request and kept beside the blob."""
    row = await visible(ctx, viewer, attachment_id=attachment_id)
    if row.content_type not in THUMBNAIL_TYPES:
        raise NotFound("This file has no thumbnail.", code="no_thumbnail")
    store_ = blobs(ctx)
    cached = await store_.get_derived(row.sha256, "thumb")
    if cached is not None:
        return cached
    if await store_.size(row.sha256) is None:
        raise NotFound("No such attachment.", code="attachment_not_found")
    data = b"".join([chunk async for chunk in store_.read(row.sha256, start=0, end=row.size - 1)])
    made = await asyncio.to_thread(_make_thumbnail, data)
    if made is None:
        raise NotFound("This image cannot be shown small.", code="no_thumbnail")
    await store_.put_derived(row.sha256, "thumb", made)
    return made


def _make_thumbnail(data: bytes) -> bytes | None:
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > THUMBNAIL_MAX_PIXELS:
                    return None
                image.draft("RGB", THUMBNAIL_SIZE)
                image.thumbnail(THUMBNAIL_SIZE)
                out = io.BytesIO()
                if image.mode in ("RGBA", "LA", "P"):
                    image.convert("RGBA").save(out, "PNG", optimize=True)
                else:
                    image.convert("RGB").save(out, "JPEG", quality=80)
                return out.getvalue()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None  # a broken or hostile image: no thumbnail, the file itself is still there


async def sweep(ctx: Context) -> int:
    """Remove uploads never attached within the grace period, then blobs no row names; returns blobs removed."""
    async with UnitOfWork(ctx) as uow:
        keys = await store.delete_unclaimed(uow.conn, created_before=uow.now - UPLOAD_GRACE)
    removed = await collect(ctx, keys)
    # Blobs left behind by a crash between a commit and the removal that should have followed it.
    store_ = blobs(ctx)
    every = await store_.keys()
    for i in range(0, len(every), 500):
        batch = every[i : i + 500]
        async with ctx.db.read() as conn:
            named = await store.referenced(conn, keys=batch)
        removed += await collect(ctx, [k for k in batch if k not in named])
    await store_.tidy()
    return removed


def start_sweeper(ctx: Context, *, interval: float = SWEEP_INTERVAL) -> Callable[[], Awaitable[None]]:
    """Sweep every `interval` seconds in the background; returns the coroutine function that stops it."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await sweep(ctx)
            except Unavailable:
                log.warning("attachment sweep skipped: the attachment store is unreachable")
            except Exception:  # a failed sweep is retried next time; it must not stop the server
                log.exception("attachment sweep failed")

    task = asyncio.create_task(loop(), name="attachment-sweeper")

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return stop
