"""Fast JSON responses (orjson), including pre-encoded event frames."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response


class Json(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def event_page(frames: list[bytes], next_seq: int) -> Response:
    """`{"events": [...], "next": N}` from stored frames, without decoding them."""
    body = b'{"events":[' + b",".join(frames) + b'],"next":%d}' % next_seq
    return Response(body, media_type="application/json")
