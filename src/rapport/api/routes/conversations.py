"""Conversations, messages, reads and typing."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from rapport.api.deps import Ctx, CurrentMember
from rapport.api.responses import Json
from rapport.api.routes import parse_id
from rapport.api.schemas import (
    ConversationCreate,
    ConversationOnly,
    ConversationsRead,
    ConversationStarted,
    ConversationUpdate,
    MessageCreate,
    MessageOnly,
    MessagesRead,
    MessageUpdate,
    ParticipantsAdd,
    ReadCreate,
    RecipientsCheck,
    Text,
    TypingCreate,
)
from rapport.services import conversations, messages, participants, receipts

router = APIRouter(prefix="/api/v1/conversations", tags=["conversations"])


@router.post(
    "",
    status_code=201,
    response_model=ConversationStarted,
    responses={200: {"model": ConversationStarted, "description": "A client_id seen before: what it started."}},
)
async def start(body: ConversationCreate, ctx: Ctx, viewer: CurrentMember) -> Json:
    """Start a conversation under the messaging policy; a repeated client_id returns the first (200)."""
    conversation, message, created = await conversations.start(
        ctx,
        viewer,
        to=body.to,
        body=body.body,
        kind=body.kind,
        subject=body.subject,
        client_id=body.client_id,
        attachments=body.attachments,
        group_id=parse_id(body.group_id, "group") if body.group_id else None,
    )
    return Json({"conversation": conversation, "message": message}, status_code=201 if created else 200)


@router.post("/check-recipients")
async def check_recipients(body: RecipientsCheck, ctx: Ctx, viewer: CurrentMember) -> Json:
    """`{recipients: [{handle, ok, kind, code, message}]}`: the policy's answer for each, before sending."""
    return Json({"recipients": await conversations.check_recipients(ctx, viewer, to=body.to)})


@router.get("", response_model=ConversationsRead)
async def inbox(
    ctx: Ctx,
    viewer: CurrentMember,
    filter: Text = Query("all", max_length=20),
    cursor: Text | None = Query(None, max_length=200),
    limit: int = Query(20, ge=1, le=100),
) -> Json:
    return Json(await conversations.inbox(ctx, viewer, filter=filter, cursor=cursor, limit=limit))


@router.get("/{conversation_id}", response_model=ConversationOnly)
async def get(conversation_id: Text, ctx: Ctx, viewer: CurrentMember) -> Json:
    found = await conversations.get(ctx, viewer, conversation_id=parse_id(conversation_id, "conversation"))
    return Json({"conversation": found})


@router.patch("/{conversation_id}", response_model=ConversationOnly)
async def update(conversation_id: Text, body: ConversationUpdate, ctx: Ctx, viewer: CurrentMember) -> Json:
    found = await conversations.update_flags(
        ctx,
        viewer,
        conversation_id=parse_id(conversation_id, "conversation"),
        archived=body.archived,
        muted=body.muted,
        unread=body.unread,
        title=body.title,
    )
    return Json({"conversation": found})


@router.delete("/{conversation_id}", status_code=204)
async def remove(conversation_id: Text, ctx: Ctx, viewer: CurrentMember) -> Response:
    """Delete the conversation for oneself only."""
    await conversations.remove_for_me(ctx, viewer, conversation_id=parse_id(conversation_id, "conversation"))
    return Response(status_code=204)


@router.post("/{conversation_id}/decline", response_model=ConversationOnly)
async def decline(conversation_id: Text, ctx: Ctx, viewer: CurrentMember) -> Json:
    found = await conversations.decline_inmail(ctx, viewer, conversation_id=parse_id(conversation_id, "conversation"))
    return Json({"conversation": found})


@router.get("/{conversation_id}/messages", response_model=MessagesRead)
async def history(
    conversation_id: Text,
    ctx: Ctx,
    viewer: CurrentMember,
    before: Text | None = Query(None, max_length=40),
    limit: int = Query(50, ge=1, le=200),
) -> Json:
    found = await messages.list_messages(
        ctx,
        viewer,
        conversation_id=parse_id(conversation_id, "conversation"),
        before=parse_id(before, "message") if before else None,
        limit=limit,
    )
    return Json({"messages": found})


@router.post(
    "/{conversation_id}/messages",
    status_code=201,
    response_model=MessageOnly,
    responses={200: {"model": MessageOnly, "description": "A client_id seen before: the message it sent."}},
)
async def send(conversation_id: Text, body: MessageCreate, ctx: Ctx, viewer: CurrentMember) -> Json:
    message, created = await messages.reply(
        ctx,
        viewer,
        conversation_id=parse_id(conversation_id, "conversation"),
        body=body.body,
        client_id=body.client_id,
        attachments=body.attachments,
    )
    return Json({"message": message}, status_code=201 if created else 200)


@router.patch("/{conversation_id}/messages/{message_id}", response_model=MessageOnly)
async def edit(conversation_id: Text, message_id: Text, body: MessageUpdate, ctx: Ctx, viewer: CurrentMember) -> Json:
    message = await messages.edit(
        ctx,
        viewer,
        conversation_id=parse_id(conversation_id, "conversation"),
        message_id=parse_id(message_id, "message"),
        body=body.body,
    )
    return Json({"message": message})


@router.delete("/{conversation_id}/messages/{message_id}", status_code=204)
async def delete(conversation_id: Text, message_id: Text, ctx: Ctx, viewer: CurrentMember) -> Response:
    await messages.delete(
        ctx,
        viewer,
        conversation_id=parse_id(conversation_id, "conversation"),
        message_id=parse_id(message_id, "message"),
    )
    return Response(status_code=204)


@router.put("/{conversation_id}/messages/{message_id}/reactions/{emoji}", status_code=204)
async def react(conversation_id: Text, message_id: Text, emoji: Text, ctx: Ctx, viewer: CurrentMember) -> Response:
    await messages.react(
        ctx,
        viewer,
        conversation_id=parse_id(conversation_id, "conversation"),
        message_id=parse_id(message_id, "message"),
        emoji=emoji,
        on=True,
    )
    return Response(status_code=204)


@router.delete("/{conversation_id}/messages/{message_id}/reactions/{emoji}", status_code=204)
async def unreact(conversation_id: Text, message_id: Text, emoji: Text, ctx: Ctx, viewer: CurrentMember) -> Response:
    await messages.react(
        ctx,
        viewer,
        conversation_id=parse_id(conversation_id, "conversation"),
        message_id=parse_id(message_id, "message"),
        emoji=emoji,
        on=False,
    )
    return Response(status_code=204)


@router.post("/{conversation_id}/read", status_code=204)
async def read(conversation_id: Text, body: ReadCreate, ctx: Ctx, viewer: CurrentMember) -> Response:
    """The newest message the open thread displayed: the only thing that counts as a read."""
    await receipts.mark_read(
        ctx,
        viewer,
        conversation_id=parse_id(conversation_id, "conversation"),
        message_id=parse_id(body.message_id, "message"),
    )
    return Response(status_code=204)


@router.post("/{conversation_id}/typing", status_code=204)
async def typing(conversation_id: Text, body: TypingCreate, ctx: Ctx, viewer: CurrentMember) -> Response:
    await receipts.set_typing(
        ctx, viewer, conversation_id=parse_id(conversation_id, "conversation"), typing=body.typing
    )
    return Response(status_code=204)


@router.post("/{conversation_id}/participants", response_model=ConversationOnly)
async def add_participants(conversation_id: Text, body: ParticipantsAdd, ctx: Ctx, viewer: CurrentMember) -> Json:
    """Add members to a group chat or multi conversation: all of them, or none."""
    found = await participants.add(
        ctx, viewer, conversation_id=parse_id(conversation_id, "conversation"), handles=body.handles
    )
    return Json({"conversation": found})


@router.delete("/{conversation_id}/participants/{handle}", status_code=204)
async def remove_participant(conversation_id: Text, handle: Text, ctx: Ctx, viewer: CurrentMember) -> Response:
    """Remove a participant; one's own handle leaves the conversation."""
    await participants.remove(ctx, viewer, conversation_id=parse_id(conversation_id, "conversation"), handle=handle)
    return Response(status_code=204)
