"""Text no store can hold (U+0000, lone surrogates) is a 422 wherever a client can send it.

PostgreSQL refuses NUL in text and no store encodes a lone surrogate: before the shared
`Text` type these answered 500 on PostgreSQL. Each case runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.conftest import ADMIN, Api

NUL = "a\x00b"
SURROGATE = "a\ud800b"

# JSON with a lone surrogate must be built by hand: httpx's encoder refuses it.
SURROGATE_JSON = '"a\\ud800b"'


def _json(fields: dict[str, Any], bad_field: str, bad: str) -> str:
    """A JSON body with `bad_field` set to `bad`, written as JSON text (escapes kept)."""
    import json

    encoded = json.dumps(fields)[:-1]
    value = SURROGATE_JSON if bad == SURROGATE else json.dumps(bad)
    return f'{encoded}{", " if fields else ""}"{bad_field}": {value}}}'


BODIES = [
    ("POST", "/api/v1/auth/register", {"name": "N", "email": "n@example.com", "password": "pw-123456"}, "handle"),
    ("POST", "/api/v1/auth/register", {"handle": "nn", "email": "n@example.com", "password": "pw-123456"}, "name"),
    ("POST", "/api/v1/auth/register", {"handle": "nn", "name": "N", "password": "pw-123456"}, "email"),
    ("POST", "/api/v1/auth/register", {"handle": "nn", "name": "N", "email": "n@example.com"}, "password"),
    ("POST", "/api/v1/auth/login", {"password": "pw"}, "login"),
    ("POST", "/api/v1/auth/login", {"login": "alice"}, "password"),
    ("PATCH", "/api/v1/me", {}, "name"),
    ("PATCH", "/api/v1/me", {}, "headline"),
    ("PATCH", "/api/v1/me", {}, "location"),
    ("POST", "/api/v1/blocks", {}, "handle"),
    ("POST", "/api/v1/invitations", {}, "to"),
    ("POST", "/api/v1/invitations", {"to": "bob"}, "note"),
    ("POST", "/api/v1/groups", {}, "name"),
    ("POST", "/api/v1/groups", {"name": "G"}, "description"),
    ("POST", "/api/v1/conversations", {"to": ["bob"]}, "body"),
    ("POST", "/api/v1/conversations", {"to": ["bob"], "body": "hi"}, "subject"),
    ("POST", "/api/v1/conversations", {"to": ["bob"], "body": "hi"}, "client_id"),
]


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "surrogate"])
async def test_bodies_refuse_unstorable_text(api: Api, bad: str) -> None:
    alice = await api.register("alice")
    await api.register("bob")
    headers = {**alice.auth, "Content-Type": "application/json"}
    for method, path, fields, field in BODIES:
        r = await api.client.request(method, path, content=_json(fields, field, bad).encode(), headers=headers)
        assert r.status_code == 422, (method, path, field, r.status_code, r.text)
        assert r.json()["error"]["code"] == "validation_error"
    # a list item too
    r = await api.client.post(
        "/api/v1/conversations",
        content=('{"body": "hi", "to": [' + (SURROGATE_JSON if bad == SURROGATE else '"a\\u0000b"') + "]}").encode(),
        headers=headers,
    )
    assert r.status_code == 422, r.text
    r = await api.client.put(
        "/api/v1/admin/members/alice/tier",
        content=_json({}, "tier", bad).encode(),
        headers={"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"},
    )
    assert r.status_code == 422, r.text
    # nothing was stored: alice's profile is unchanged, and she can still sign in
    r = await api.get(alice, "/api/v1/me")
    assert r.status_code == 200 and "\x00" not in r.text


PATHS = [
    ("GET", "/api/v1/members?q=a%00b"),
    ("GET", "/api/v1/members/al%00ice"),
    ("DELETE", "/api/v1/blocks/b%00ob"),
    ("DELETE", "/api/v1/connections/b%00ob"),
    ("GET", "/api/v1/groups/1%00"),
    ("GET", "/api/v1/conversations?cursor=%00"),
    ("GET", "/api/v1/conversations/1%00/messages"),
    ("PUT", "/api/v1/conversations/1/messages/1/reactions/%00"),
    ("GET", "/api/v1/search?q=%00"),
    ("GET", "/api/v1/search?q=x&with=b%00ob"),
    ("GET", "/api/v1/invitations?direction=%00"),
    ("GET", "/api/v1/attachments/1?token=%00"),
    ("GET", "/avatars/a%00.svg"),
    ("GET", "/api/v1/no-such-route/%00"),
]


async def test_paths_and_queries_refuse_nul(api: Api) -> None:
    alice = await api.register("alice")
    await api.register("bob")
    for method, path in PATHS:
        r = await api.client.request(method, path, headers=alice.auth)
        assert r.status_code == 422, (method, path, r.status_code, r.text)
        assert r.json()["error"]["code"] == "validation_error"
    # the same routes with ordinary text still work
    r = await api.get(alice, "/api/v1/members?q=bo")
    assert r.status_code == 200 and [m["handle"] for m in r.json()["members"]] == ["bob"]


async def test_text_that_is_merely_unusual_is_kept(api: Api) -> None:
    """Emoji, other scripts and control characters other than NUL are text like any other."""
    alice = await api.register("alice")
    r = await api.patch(alice, "/api/v1/me", {"headline": "Ingénieure 🚀 \u200d\t日本"})
    assert r.status_code == 200, r.text
    assert r.json()["member"]["headline"] == "Ingénieure 🚀 \u200d\t日本"


async def _exchange(reader: Any, writer: Any, request: bytes) -> tuple[int, bytes]:
    """One request and its response on an open connection (Content-Length bodies only)."""
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def test_the_keep_alive_connection_survives_a_refusal(live_server: Any) -> None:
    """On a real server (SQLite and PostgreSQL): a refused request leaves the connection usable."""
    import asyncio

    reader, writer = await asyncio.open_connection(live_server.host, live_server.port)
    try:
        host = f"Host: {live_server.host}\r\n".encode()
        body = b'{"login": "a\\u0000b", "password": "x"}'
        login = (
            b"POST /api/v1/auth/login HTTP/1.1\r\n" + host + b"Content-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        assert (await _exchange(reader, writer, login))[0] == 422
        status, _ = await _exchange(reader, writer, b"GET /api/v1/members%00 HTTP/1.1\r\n" + host + b"\r\n")
        assert status == 422
        status, answer = await _exchange(reader, writer, b"GET /healthz HTTP/1.1\r\n" + host + b"\r\n")
        assert status == 200 and answer == b'{"ok":true}'
    finally:
        writer.close()


async def test_bodies_that_are_not_json_are_a_400(api: Api) -> None:
    """Nesting past the parser's depth and bytes that are not UTF-8 are a bad request, not a 500."""
    for body in (b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe{}", b'{"login": '):
        r = await api.client.post("/api/v1/auth/login", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, (body[:20], r.status_code, r.text)
        assert r.json()["error"]["code"] == "bad_request"
