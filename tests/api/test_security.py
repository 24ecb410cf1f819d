"""What operators rely on: security headers on every response, and no session token in the log."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx
from tests.api.live_server import device, run_server
from tests.conftest import Api, make_settings

from rapport.api.access_log import redact
from rapport.api.app import create_app

BASE = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


async def test_every_response_carries_the_security_headers(api: Api) -> None:
    alice = await api.register("alice")
    responses = {
        "app shell": await api.client.get("/"),
        "stylesheet": await api.client.get("/static/app.css"),
        "module": await api.client.get("/static/js/app.js"),
        "api": await api.get(alice, "/api/v1/me"),
        "401": await api.get(None, "/api/v1/me"),
        "404": await api.get(alice, "/api/v1/no-such-thing"),
        "405": await api.client.put("/api/v1/members"),
        "422": await api.get(alice, "/api/v1/members?q=%00"),
        "413": await api.client.post("/api/v1/auth/login", content=b"x" * (2 * 1024 * 1024)),
        "static 404": await api.client.get("/static/nope.js"),
        "openapi": await api.client.get("/openapi.json"),
        "health": await api.client.get("/healthz"),
        "avatar": await api.client.get("/avatars/alice.svg"),
    }
    for what, r in responses.items():
        for name, value in BASE.items():
            assert r.headers.get(name) == value, (what, name, r.status_code)
        policy = r.headers["content-security-policy"]
        directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
        assert directives["default-src"] == ["'self'"], what
        assert directives["script-src"] == ["'self'"], what  # no inline script, no eval
        assert directives["frame-ancestors"] == ["'none'"], what
        assert directives["object-src"] == ["'none'"], what
        assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, what
    assert responses["app shell"].status_code == 200
    assert responses["module"].status_code == 200


async def test_downloads_keep_their_stricter_policy_and_docs_allow_only_their_script(api: Api) -> None:
    alice = await api.register("alice")
    r = await api.client.post(
        "/api/v1/attachments", files={"file": ("a.txt", b"hello", "text/plain")}, headers=alice.auth
    )
    url = r.json()["attachment"]["url"]
    r = await api.get(alice, url)
    assert r.status_code == 200
    assert r.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert r.headers["x-frame-options"] == "DENY"
    r = await api.client.get("/api/docs")
    assert r.status_code == 200 and "swagger-ui" in r.text
    policy = r.headers["content-security-policy"]
    assert "'sha256-" in policy and "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy


def test_redaction_covers_every_token_parameter() -> None:
    assert redact('1.2.3.4 - "GET /api/v1/ws?token=rp_abc-_9&since=3 HTTP/1.1"') == (
        '1.2.3.4 - "GET /api/v1/ws?token=[redacted]&since=3 HTTP/1.1"'
    )
    assert redact("/api/v1/attachments/7?download=1&TOKEN=rp_x") == "/api/v1/attachments/7?download=1&TOKEN=[redacted]"
    assert redact("/x?access_token=abc") == "/x?access_token=[redacted]"
    assert redact("/x?tokens=1&notoken=2") == "/x?tokens=1&notoken=[redacted]"
    assert redact("/api/v1/me") == "/api/v1/me"


def test_the_log_filter_redacts_arguments_and_leaves_lines_without_a_query_alone() -> None:
    import logging

    from rapport.api.access_log import RedactTokens

    def record(*args: object) -> logging.LogRecord:
        return logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d', args, None)

    plain = record("127.0.0.1:5", "POST", "/api/v1/conversations/1/messages", "1.1", 201)
    args = plain.args
    assert RedactTokens().filter(plain) and plain.args is args  # nothing rebuilt
    leaky = record("127.0.0.1:5", "GET", "/api/v1/ws?since=1&Token=rp_secret", "1.1", 101)
    assert RedactTokens().filter(leaky)
    assert "rp_secret" not in leaky.getMessage() and "Token=[redacted]" in leaky.getMessage()
    inline = logging.LogRecord("uvicorn.error", logging.INFO, "", 0, "GET /api/v1/ws?token=rp_x [accepted]", (), None)
    assert RedactTokens().filter(inline) and inline.getMessage() == "GET /api/v1/ws?token=[redacted] [accepted]"


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


async def test_tokens_in_urls_never_reach_the_server_log(tmp_path: Path) -> None:
    """A real uvicorn with its access log on: the WebSocket's and a download's `?token=`
    appear in the log lines only as `token=[redacted]`."""
    with run_server(make_settings(tmp_path), log_level="info") as server:
        lines = _Lines()
        loggers = [logging.getLogger(name) for name in ("uvicorn.access", "uvicorn.error")]
        for logger in loggers:
            logger.addHandler(lines)
        try:
            async with httpx.AsyncClient(base_url=server.http_url, timeout=20) as client:
                api = Api(client, server.app)
                alice = await api.register("alice")
                r = await client.post(
                    "/api/v1/attachments", files={"file": ("a.txt", b"hello", "text/plain")}, headers=alice.auth
                )
                url = r.json()["attachment"]["url"]
                assert (await client.get(f"{url}?token={alice.token}")).status_code == 200
                assert (await client.get(f"/api/v1/attachments/999?token={alice.token}")).status_code == 404
                async with device(server, alice) as socket:
                    await socket.ping()
            for _ in range(200):  # the server thread writes its lines after answering
                text = "\n".join(lines.lines)
                if text.count("token=[redacted]") >= 3 and "WebSocket" in text:
                    break
                await asyncio.sleep(0.02)
        finally:
            for logger in loggers:
                logger.removeHandler(lines)
        text = "\n".join(lines.lines)
        assert alice.token not in text
        assert alice.token.removeprefix("rp_") not in text
        assert text.count("token=[redacted]") >= 3, text  # two downloads and the socket
        assert "/api/v1/ws?token=[redacted]" in text, text


async def test_only_an_s3_store_widens_images_and_media_and_only_to_itself(tmp_path: Path) -> None:
    """Downloads may be redirected to the object store: its origin (and no other) may serve
    images and media. The policy is built once per app; no request needs the store."""
    cases = {
        "local": ({}, ""),
        "endpoint": ({"s3_bucket": "files", "s3_endpoint": "https://s3.internal:8333/"}, " https://s3.internal:8333"),
        "aws": (
            {"s3_bucket": "files", "s3_region": "eu-west-1"},
            " https://files.s3.eu-west-1.amazonaws.com https://files.s3.amazonaws.com",
        ),
    }
    for what, (overrides, extra) in cases.items():
        app = create_app(make_settings(tmp_path, **overrides), migrate=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            r = await client.get("/healthz")  # served without the lifespan: no store is touched
        policy = r.headers["content-security-policy"]
        assert f"img-src 'self' blob: data:{extra};" in policy, what
        assert f"media-src 'self' blob:{extra};" in policy, what
        assert "script-src 'self';" in policy and "connect-src 'self';" in policy, what
