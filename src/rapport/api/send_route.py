"""The send route as one plain ASGI function, ahead of FastAPI.

Every message takes `POST /api/v1/conversations/{id}/messages`, and FastAPI's general path
for it (a Request object, dependency solving, a body decoded into a model through a
generic field, an exception-handler stack, response rendering) cost more server CPU than
storing the message durably. Here the body is read once, decoded once and validated once
against the same `MessageCreate` model, the member comes from the same token cache, the
same service stores the message, and the answer is encoded once.

Only the accepted path is special. A request this function would have to refuse before
the service runs (no bearer token, a body that is not the model, too large a body, text no
store can hold) goes on to the FastAPI route of the same path with its body replayed, so
every such refusal is exactly the one FastAPI gives — and that route stays the one
OpenAPI documents. Refusals from the service itself are rendered by `errors`, the same
function FastAPI's handlers use.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError
from starlette.types import Message, Receive, Scope, Send

from rapport.api.schemas import MessageCreate
from rapport.api.text_guard import refusal
from rapport.api.thin_route import ThinRoute
from rapport.services import accounts, messages
from rapport.services.context import Context

PATH = re.compile(r"/api/v1/conversations/([0-9]{1,18})/messages")
BODY_LIMIT = 1024 * 1024


class SendRoute(ThinRoute):
    """Serves accepted sends itself; hands every other request, unread, to `app`."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or (match := PATH.fullmatch(scope["path"])) is None:
            await self.app(scope, receive, send)
            return
        received, body = await _read_body(receive)
        request = _decoded(scope, body) if body is not None else None
        if request is None:
            await self.app(scope, _replaying(received, receive), send)
            return
        token, fields = request
        ctx: Context = self.state.ctx

        async def store() -> tuple[int, Any]:
            viewer = await accounts.authenticate(ctx, token=token)
            message, created = await messages.reply(
                ctx,
                viewer,
                conversation_id=int(match.group(1)),
                body=fields.body,
                client_id=fields.client_id,
                attachments=fields.attachments,
            )
            return 201 if created else 200, {"message": message}

        await self.serve(send, store)


async def _read_body(receive: Receive) -> tuple[list[Message], bytes | None]:
    """The messages received, and the body when it came whole within the limit."""
    received: list[Message] = []
    size = 0
    while True:
        message = await receive()
        received.append(message)
        if message["type"] != "http.request":
            return received, None
        size += len(message.get("body", b""))
        if size > BODY_LIMIT:
            return received, None
        if not message.get("more_body", False):
            return received, b"".join(m.get("body", b"") for m in received)


def _decoded(scope: Scope, body: bytes) -> tuple[str, MessageCreate] | None:
    """The bearer token and the message, when the request is one this route may serve."""
    token = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, rest = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and rest.strip():
                token = rest.strip()
        elif name == b"content-type" and not value.startswith(b"application/json"):
            return None
    if token is None or not body or refusal(scope) is not None:
        return None
    try:
        # json, as FastAPI reads bodies: a lone surrogate escape decodes, and `Text` refuses it.
        fields = MessageCreate.model_validate(json.loads(body))
    except (ValueError, ValidationError):
        return None
    return token, fields


def _replaying(received: list[Message], receive: Receive) -> Receive:
    """A receive that gives again what was already received, then what comes next."""
    pending = list(received)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay
