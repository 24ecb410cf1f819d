"""The inbox page, `GET /api/v1/conversations`, as one plain ASGI function ahead of FastAPI.

Clients ask for it on every start and every reconnect, and at 1M messages its SQL took about
0.5 ms of the 2.2 ms of server CPU a page cost: FastAPI's general path (a Request object,
dependency solving for the context, the token and three query parameters, the exception
stack) was a quarter of the rest. Here the query string is read once, the member comes from
the same token cache, the same service builds the page and it is encoded once, as the send
route does for sends (api/send_route.py).

Only requests this function is sure of are served here: a bearer token, and nothing in the
query but `filter` among the inbox filters, `limit` from 1 to 100 and a cursor of URL-safe
base64, each at most once. Anything else (no token, an unknown or repeated parameter, a value
FastAPI would validate and refuse) goes on, unread, to the FastAPI route of the same path, so
every such refusal is exactly the one it gives and that route stays the one OpenAPI
documents. Refusals from the service itself are rendered by `errors`, as FastAPI's handlers
render them.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import Receive, Scope, Send

from rapport.api.text_guard import refusal
from rapport.api.thin_route import ThinRoute
from rapport.services import accounts, conversations
from rapport.services.context import Context

PATH = "/api/v1/conversations"
_LIMIT = re.compile(r"[1-9][0-9]{0,2}")
_CURSOR = re.compile(r"[A-Za-z0-9_=-]{1,200}")


class InboxRoute(ThinRoute):
    """Serves inbox pages itself; hands every other request, untouched, to `app`."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or scope["path"] != PATH
            or (request := _decoded(scope)) is None
        ):
            await self.app(scope, receive, send)
            return
        token, filter, cursor, limit = request
        ctx: Context = self.state.ctx

        async def page() -> tuple[int, Any]:
            viewer = await accounts.authenticate(ctx, token=token)
            return 200, await conversations.inbox(ctx, viewer, filter=filter, cursor=cursor, limit=limit)

        await self.serve(send, page)


def _decoded(scope: Scope) -> tuple[str, str, str | None, int] | None:
    """The bearer token, filter, cursor and limit, when the request is one this route may serve."""
    token = None
    for name, value in scope["headers"]:
        if name == b"authorization":  # the first, as Starlette's headers.get reads it
            scheme, _, rest = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and rest.strip():
                token = rest.strip()
            break
    if token is None or refusal(scope) is not None:
        return None
    # As Starlette reads a query string.
    pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    params = dict(pairs)
    if len(params) != len(pairs) or not params.keys() <= {"filter", "cursor", "limit"}:
        return None
    filter = params.get("filter", "all")
    limit = params.get("limit", "20")
    cursor = params.get("cursor")
    if filter not in conversations.FILTERS or not _LIMIT.fullmatch(limit) or int(limit) > 100:
        return None
    if cursor is not None and not _CURSOR.fullmatch(cursor):
        return None
    return token, filter, cursor, int(limit)
