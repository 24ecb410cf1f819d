"""What the routes served ahead of FastAPI share (api/send_route.py, api/inbox_route.py).

Each serves only the requests it is sure of and hands every other one to the FastAPI app
behind it. What they answer must be what FastAPI would: refusals rendered by the same
`errors.domain_error` FastAPI's handlers use, JSON with the security headers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.types import ASGIApp, Send

from rapport.api import errors
from rapport.domain.errors import DomainError

log = logging.getLogger(__name__)


class ThinRoute:
    def __init__(self, app: ASGIApp, state: Any, headers: list[tuple[bytes, bytes]]) -> None:
        self.app = app
        self.state = state  # the application's state: its `ctx` exists once the lifespan ran
        self.headers = headers  # the security headers, already encoded

    async def serve(self, send: Send, work: Callable[[], Awaitable[tuple[int, Any]]]) -> None:
        """Answer with what `work` returns (status, content), or with its refusal."""
        try:
            status, content = await work()
        except DomainError as refused:
            status, headers, content = errors.domain_error(refused)
            extra = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
            await self.answer(send, status, content, extra)
            return
        except Exception as error:
            log.exception("unhandled error", exc_info=error)
            await self.answer(send, 500, errors.INTERNAL_ERROR)
            return
        await self.answer(send, status, content)

    async def answer(
        self, send: Send, status: int, content: Any, extra: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        """`content` as JSON, encoded once, with the security headers (what `Json` and
        SecurityHeaders give a FastAPI answer)."""
        body = orjson.dumps(content)
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body)), *self.headers]
        await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
        await send({"type": "http.response.body", "body": body})
