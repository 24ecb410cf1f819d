"""Security headers on every response, from one middleware.

The policy is strict: scripts, styles, fonts and connections from this origin only (the
web client is ES modules and a stylesheet, with no inline script, style attribute or
`eval`); images and media also from `blob:` and `data:` (previews of files being attached,
the favicon); no framing; no referrer. A response that sets its own policy keeps it
(attachment downloads are stricter: `default-src 'none'; sandbox`). With an S3 store
(RAPPORT_S3_BUCKET), its origin may serve images and media too, for downloads redirected
to it; nothing else is widened. The middleware wraps
the whole stack, outside the error handlers, so refusals and 500s carry the headers too.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rapport.settings import Settings


def content_security_policy(download_origins: Sequence[str] = ()) -> str:
    """The policy; `download_origins` may serve images and media too (an object store that
    downloads are redirected to), and nothing else."""
    files = "".join(f" {origin}" for origin in download_origins)
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' blob: data:{files}",
            f"media-src 'self' blob:{files}",
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


def security_headers(download_origins: Sequence[str] = ()) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(download_origins),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


HEADERS = security_headers()


def download_origins(settings: Settings) -> tuple[str, ...]:
    """Where attachment downloads may be redirected: the S3 store's origin, when one is set."""
    if not settings.s3_bucket:
        return ()
    if settings.s3_endpoint:
        url = urlsplit(settings.s3_endpoint)
        return (f"{url.scheme}://{url.netloc}",)
    bucket, region = settings.s3_bucket, settings.s3_region
    return (f"https://{bucket}.s3.{region}.amazonaws.com", f"https://{bucket}.s3.amazonaws.com")


class SecurityHeaders:
    def __init__(self, app: ASGIApp, headers: Mapping[str, str] = HEADERS) -> None:
        self.app = app
        self.headers = dict(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
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
