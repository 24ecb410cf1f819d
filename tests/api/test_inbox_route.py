"""The inbox page served ahead of FastAPI (api/inbox_route.py) answers exactly as the FastAPI
route of the same path: each request below goes once through the whole app and once straight
to the FastAPI stack behind it, and the two answers must match; the requests it may serve
never reach FastAPI."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.conftest import Api, Member

from rapport.api.inbox_route import InboxRoute
from rapport.api.send_route import SendRoute

SECURITY = ("content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy")


async def stacks(api: Api) -> tuple[InboxRoute, httpx.AsyncClient]:
    """The inbox route, and a client for the FastAPI stack behind it."""
    await api.client.get("/healthz")  # builds the app's middleware stack
    outer = api.app.middleware_stack
    assert isinstance(outer, SendRoute) and isinstance(outer.app, InboxRoute)
    inbox: InboxRoute = outer.app

    async def behind(scope: Any, receive: Any, send: Any) -> None:
        scope["app"] = api.app  # what Starlette sets before its middleware stack
        await inbox.app(scope, receive, send)

    return inbox, httpx.AsyncClient(transport=httpx.ASGITransport(app=behind), base_url="http://test")


def shape(r: httpx.Response) -> tuple[Any, ...]:
    headers = {k: r.headers.get(k) for k in ("content-type", "www-authenticate", *SECURITY)}
    return r.status_code, r.json(), headers


async def inbox_of(api: Api) -> tuple[Member, list[Member]]:
    alice = await api.register("alice")
    others = [await api.register(f"friend{i}") for i in range(3)]
    for other in others:
        await api.connect(alice, other)
        assert (await api.start(alice, other, body=f"hello {other.handle}")).status_code == 201
    return alice, others


SERVED = ["", "?limit=2", "?filter=unread", "?filter=archived&limit=100", "?limit=1&filter=all", "?cursor=abc"]
PASSED_ON = ["?limit=0", "?limit=101", "?limit=abc", "?limit=05", "?limit=", "?filter=bogus", "?filter=" + "x" * 30]
PASSED_ON += ["?limit=2&limit=3", "?other=1", "?cursor=%21%21", "?cursor=", "?cursor=a%00b", "?token=abc"]


@pytest.mark.parametrize("query", SERVED + PASSED_ON)
async def test_answers_as_fastapi_does(api: Api, query: str) -> None:
    alice, _ = await inbox_of(api)
    _, direct = await stacks(api)
    for headers in ({"authorization": f"Bearer {alice.token}"}, {}, {"authorization": "Bearer nope"}):
        first = await api.client.get("/api/v1/conversations" + query, headers=headers)
        second = await direct.get("/api/v1/conversations" + query, headers=headers)
        assert shape(first) == shape(second), (query, headers, first.text, second.text)


async def test_serves_valid_pages_itself_and_pages_through(api: Api) -> None:
    alice, others = await inbox_of(api)
    inbox, _ = await stacks(api)

    async def unreachable(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError(f"passed on: {scope['path']}?{scope['query_string']!r}")

    alone = InboxRoute(unreachable, api.app.state, inbox.headers)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=alone), base_url="http://test") as client:
        auth = {"authorization": f"Bearer {alice.token}"}
        seen, cursor = [], None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            r = await client.get("/api/v1/conversations", params=params, headers=auth)
            assert r.status_code == 200, r.text
            assert r.headers["x-content-type-options"] == "nosniff"
            seen += [c["last_message"]["body"] for c in r.json()["conversations"]]
            cursor = r.json()["next_cursor"]
            if cursor is None:
                break
        assert seen == [f"hello {o.handle}" for o in reversed(others)]
        r = await client.get("/api/v1/conversations", headers={"authorization": "Bearer nope"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"
        assert (await client.get("/api/v1/conversations?cursor=abc", headers=auth)).status_code == 422
