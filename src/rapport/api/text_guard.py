"""Refuse, before any route runs, a path or query string that decodes to text no store can hold.

Every route's own parameters are `schemas.Text` too; this guard is what covers routes added
later (and parameters read from `request.query_params` by hand): a `%00` anywhere in the
decoded path or query is a 422, never a string handed to the database.
"""

from __future__ import annotations

from urllib.parse import unquote_plus

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from rapport.api.schemas import unstorable


def refusal(scope: Scope) -> str | None:
    """Why this request's path or query cannot be served, or None."""
    reason = unstorable(scope["path"])
    if reason is not None:
        return f"path: {reason}"
    query: bytes = scope.get("query_string", b"")
    if b"%" in query or b"\x00" in query:
        reason = unstorable(unquote_plus(query.decode("latin-1"), errors="replace"))
        if reason is not None:
            return f"query: {reason}"
    return None


class RefuseUnstorableText:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (reason := refusal(scope)) is not None:
            body = orjson.dumps({"error": {"code": "validation_error", "message": reason}})
            await send(
                {
                    "type": "http.response.start",
                    "status": 422,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
