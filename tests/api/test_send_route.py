"""The send route served ahead of FastAPI (api/send_route.py) answers exactly as the FastAPI
route of the same path: each request below goes once through the whole app and once
straight to the FastAPI stack behind it, and the two answers must match."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.api.test_messages import thread
from tests.conftest import Api

from rapport.api.send_route import SendRoute

SECURITY = ("content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy")


async def fastapi_only(api: Api) -> httpx.AsyncClient:
    """A client for the stack behind the send route (built by the app's first request)."""
    await api.client.get("/healthz")
    outer = api.app.middleware_stack
    assert isinstance(outer, SendRoute)

    async def behind(scope: Any, receive: Any, send: Any) -> None:
        scope["app"] = api.app  # what Starlette sets before its middleware stack
        await outer.app(scope, receive, send)

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=behind), base_url="http://test")


def shape(r: httpx.Response) -> tuple[Any, ...]:
    body = r.json()
    if "message" in body:  # two sends store two messages: compare all but their identity
        body = {k: v for k, v in body["message"].items() if k not in ("id", "created_at", "client_id")}
    headers = {k: r.headers.get(k) for k in ("content-type", "www-authenticate", "retry-after", *SECURITY)}
    return r.status_code, body, headers


async def both(api: Api, direct: httpx.AsyncClient, **request: Any) -> tuple[httpx.Response, httpx.Response]:
    first = await api.client.request("POST", **request)
    second = await direct.request("POST", **request)
    assert shape(first) == shape(second), (first.text, second.text)
    return first, second


@pytest.mark.parametrize(
    ("content", "headers", "status"),
    [
        (b'{"body": "hello"}', {"content-type": "application/json"}, 201),
        (b'{"body": "hello"', {"content-type": "application/json"}, 400),
        (b"", {"content-type": "application/json"}, 422),
        (b'{"body": 5}', {"content-type": "application/json"}, 422),
        (b'{"body": "a\\u0000b"}', {"content-type": "application/json"}, 422),
        (b'{"body": "\\ud800"}', {"content-type": "application/json"}, 422),
        (b'{"body": "hi", "client_id": ""}', {"content-type": "application/json"}, 422),
        (b'{"body": "hi", "attachments": ["nope"]}', {"content-type": "application/json"}, 422),
        (b'{"body": "   "}', {"content-type": "application/json"}, 422),
        (b"body=hello", {"content-type": "application/x-www-form-urlencoded"}, 422),
        (b'{"body": "' + b"x" * (1024 * 1024) + b'"}', {"content-type": "application/json"}, 413),
    ],
)
async def test_each_answer_is_the_fastapi_routes(
    api: Api, content: bytes, headers: dict[str, str], status: int
) -> None:
    alice, _, cid = await thread(api)
    async with await fastapi_only(api) as direct:
        for signed_in, auth in (
            (True, alice.auth),
            (False, {}),
            (False, {"Authorization": "Bearer nope"}),
            (False, {"Authorization": "Basic x"}),
        ):
            r, _ = await both(
                api, direct, url=f"/api/v1/conversations/{cid}/messages", content=content, headers={**headers, **auth}
            )
            if signed_in:
                assert r.status_code == status, r.text
            elif status not in (400, 413):  # refused before the token is read: not JSON, too large
                assert r.status_code == 401, r.text


async def test_unknown_or_unreachable_conversations_and_retries_answer_alike(api: Api) -> None:
    alice, bob, cid = await thread(api)
    carol = await api.register("carol")
    async with await fastapi_only(api) as direct:
        for who, path in (
            (carol, f"/api/v1/conversations/{cid}/messages"),  # not hers: 404, as if it did not exist
            (alice, "/api/v1/conversations/999999/messages"),
            (alice, "/api/v1/conversations/x1/messages"),
        ):
            r, _ = await both(api, direct, url=path, json={"body": "hi"}, headers=who.auth)
            assert r.status_code == 404, r.text
        await api.post(bob, "/api/v1/blocks", {"handle": "alice"})
        r, _ = await both(
            api, direct, url=f"/api/v1/conversations/{cid}/messages", json={"body": "hi"}, headers=alice.auth
        )
        assert r.status_code == 403, r.text

    alice2, _, cid2 = await thread_of(api, "dora", "erin")
    first = await api.post(alice2, f"/api/v1/conversations/{cid2}/messages", {"body": "once", "client_id": "c-1"})
    again = await api.post(alice2, f"/api/v1/conversations/{cid2}/messages", {"body": "once", "client_id": "c-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert all(first.headers.get(h) for h in SECURITY)


async def thread_of(api: Api, a: str, b: str) -> Any:
    one, two = await api.register(a), await api.register(b)
    await api.connect(one, two)
    r = await api.start(one, two, body="first")
    return one, two, r.json()["conversation"]["id"]


async def test_a_body_in_several_chunks_is_read_whole(api: Api) -> None:
    alice, bob, cid = await thread(api)
    text = "chunked " * 900 + "end"

    async def chunks() -> Any:
        payload = b'{"body": "' + text.encode() + b'"}'
        for i in range(0, len(payload), 1_000):
            yield payload[i : i + 1_000]

    r = await api.client.post(
        f"/api/v1/conversations/{cid}/messages",
        content=chunks(),
        headers={**alice.auth, "content-type": "application/json"},
    )
    assert r.status_code == 201, r.text
    seen = await api.get(bob, f"/api/v1/conversations/{cid}/messages")
    assert text in [m["body"] for m in seen.json()["messages"]]
