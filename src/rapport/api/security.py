"""Security headers on every response, from one middleware.

The policy is strict: scripts, styles, fonts and connections from this origin only (the
web client is ES modules and a stylesheet, with no inline script, style attribute or
`eval`); images and media also from `blob:` and `data:` (previews of files being attached,
the favicon); no framing; no referrer. A response that sets its own policy keeps it
(attachment downloads are stricter: `default-src 'none'; sandbox`). The middleware wraps
the whole stack, outside the error handlers, so refusals and 500s carry the headers too.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "media-src 'self' blob:",
        "font-src 'self'",
        "connect-src 'self'",  # CSP3: 'self' also matches ws:/wss: to this host
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)


_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)
_SWAGGER_CDN = "https://cdn.jsdelivr.net"


def docs_page(*, openapi_url: str, title: str) -> HTMLResponse:
    """FastAPI's Swagger UI page (operators' API browser), with a policy of its own: its
    bundle comes from a CDN and it starts with one inline script, allowed by hash only."""
    page = get_swagger_ui_html(openapi_url=openapi_url, title=title)
    body = bytes(page.body)
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode()}'"
        for m in _INLINE_SCRIPT.finditer(body)
    )
    policy = "; ".join(
        (
            "default-src 'self'",
            f"script-src {_SWAGGER_CDN} {hashes}",
            f"style-src {_SWAGGER_CDN}",
            "img-src 'self' data: https://fastapi.tiangolo.com",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        )
    )
    return HTMLResponse(body, headers={"Content-Security-Policy": policy})
