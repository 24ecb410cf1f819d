"""Abuse limits with API.md's defaults (API.md "Safety"): 429 `rate_limited` with
Retry-After for each limited action, none for normal use, and none with RAPPORT_RATE_LIMITS=off.
The client address comes from X-Forwarded-For only behind a trusted proxy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.api.live_server import run_server
from tests.conftest import Api, Member, make_settings

from rapport.api.app import create_app
from rapport.clock import FakeClock

V1 = "/api/v1"
PEER = "127.0.0.1"  # what httpx's ASGI transport reports as the client


@pytest.fixture
async def make_api(tmp_path: Path, clock: FakeClock, database_url: str) -> AsyncIterator[Any]:
    """Apps with API.md's default limits (the shared fixture's are generous), and any overrides."""
    apps: list[Any] = []

    async def make(**overrides: Any) -> Api:
        settings = make_settings(tmp_path / str(len(apps)), database_url=database_url, rate_limits={}, **overrides)
        app = create_app(settings, clock=clock)
        context = app.router.lifespan_context(app)
        await context.__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        apps.append((context, client))
        return Api(client, app)

    try:
        yield make
    finally:
        for context, client in apps:
            await client.aclose()
            await context.__aexit__(None, None, None)


@pytest.fixture
async def api(make_api: Any) -> Api:
    result: Api = await make_api()
    return result


def limited(r: httpx.Response) -> int:
    """Asserts a 429 `rate_limited` and returns its Retry-After."""
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "rate_limited"
    retry_after = int(r.headers["Retry-After"])
    assert retry_after >= 1
    return retry_after


async def login(api: Api, handle: str, password: str, **headers: str) -> httpx.Response:
    return await api.client.post(f"{V1}/auth/login", json={"login": handle, "password": password}, headers=headers)


async def register(api: Api, handle: str, **headers: str) -> httpx.Response:
    body = {"handle": handle, "name": handle, "email": f"{handle}@example.com", "password": "correct horse"}
    return await api.client.post(f"{V1}/auth/register", json=body, headers=headers)


# --- failed logins ---------------------------------------------------------------------------


async def test_ten_failed_logins_lock_the_account_even_for_the_right_password(api: Api) -> None:
    await api.register("carol")
    for _ in range(10):
        assert (await login(api, "carol", "wrong horse")).status_code == 401
    retry_after = limited(await login(api, "carol", "correct horse"))
    assert retry_after <= 15 * 60
    # By e-mail it is the same account; another account from the same address still signs in.
    limited(await login(api, "carol@example.com", "correct horse"))
    await api.register("dave")
    assert (await login(api, "dave", "correct horse")).status_code == 200


async def test_successful_logins_do_not_count(api: Api) -> None:
    await api.register("carol")
    for _ in range(12):
        assert (await login(api, "carol", "correct horse")).status_code == 200


async def test_a_spray_across_accounts_is_stopped_per_address(api: Api) -> None:
    for n in range(50):
        assert (await login(api, f"nobody{n}", "guess")).status_code == 401
    await api.register("carol")
    limited(await login(api, "carol", "correct horse"))


async def test_unknown_accounts_are_limited_like_real_ones(api: Api) -> None:
    """Limits must not tell who is a member."""
    for _ in range(10):
        assert (await login(api, "nobody", "guess")).status_code == 401
    limited(await login(api, "nobody", "guess"))


async def test_wrong_current_passwords_count_as_failed_logins(api: Api) -> None:
    carol = await api.register("carol")
    for _ in range(10):
        r = await api.post(carol, f"{V1}/me/password", {"current": "guess", "new": "battery staple"})
        assert r.status_code == 403
    limited(await api.post(carol, f"{V1}/me/password", {"current": "correct horse", "new": "battery staple"}))
    limited(await login(api, "carol", "correct horse"))


# --- client address ---------------------------------------------------------------------------


async def test_forwarded_for_is_ignored_without_trusted_proxies(api: Api) -> None:
    for n in range(50):
        assert (await login(api, f"nobody{n}", "guess", **{"X-Forwarded-For": f"203.0.113.{n}"})).status_code == 401
    limited(await login(api, "someone", "guess", **{"X-Forwarded-For": "198.51.100.1"}))


async def test_behind_a_trusted_proxy_each_forwarded_client_is_counted_apart(make_api: Any) -> None:
    api = await make_api(trusted_proxies=(f"{PEER}/32",))
    for n in range(50):
        r = await login(api, f"nobody{n}", "guess", **{"X-Forwarded-For": "203.0.113.7"})
        assert r.status_code == 401
    limited(await login(api, "other", "guess", **{"X-Forwarded-For": "203.0.113.7"}))
    # A client cannot escape by writing its own X-Forwarded-For: the proxy appends the real one.
    limited(await login(api, "other", "guess", **{"X-Forwarded-For": "10.9.9.9, 203.0.113.7"}))
    assert (await login(api, "other", "guess", **{"X-Forwarded-For": "198.51.100.1"})).status_code == 401


# --- registrations, sends, uploads, typing ------------------------------------------------------------


async def test_twenty_registrations_per_address_per_hour(make_api: Any) -> None:
    api = await make_api(trusted_proxies=(PEER,))
    for n in range(20):
        assert (await register(api, f"member{n}")).status_code == 201
    limited(await register(api, "member20"))
    assert (await register(api, "member21", **{"X-Forwarded-For": "198.51.100.1"})).status_code == 201


async def pair(api: Api) -> tuple[Member, Member, str]:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.connect(alice, bob)
    r = await api.start(alice, bob, body="first")
    assert r.status_code == 201, r.text
    return alice, bob, r.json()["conversation"]["id"]


async def test_a_burst_of_twenty_sends_then_429(api: Api) -> None:
    alice, bob, conversation = await pair(api)
    for n in range(19):  # the conversation's first message was one
        r = await api.post(alice, f"{V1}/conversations/{conversation}/messages", {"body": f"m{n}"})
        assert r.status_code == 201, r.text
    retry_after = limited(await api.post(alice, f"{V1}/conversations/{conversation}/messages", {"body": "more"}))
    assert retry_after <= 20
    limited(await api.start(alice, bob, body="new thread"))
    # Counted per member: the other side still writes.
    assert (await api.post(bob, f"{V1}/conversations/{conversation}/messages", {"body": "hi"})).status_code == 201


async def test_thirty_uploads_per_minute(api: Api) -> None:
    alice = await api.register("alice")

    async def upload(n: int) -> httpx.Response:
        files = {"file": (f"n{n}.txt", f"note {n}".encode(), "text/plain")}
        return await api.client.post(f"{V1}/attachments", files=files, headers=alice.auth)

    for n in range(30):
        assert (await upload(n)).status_code == 201
    limited(await upload(30))


async def test_typing_updates_are_limited(api: Api) -> None:
    alice, _, conversation = await pair(api)
    for _ in range(20):
        assert (await api.post(alice, f"{V1}/conversations/{conversation}/typing", {"typing": True})).status_code == 204
    limited(await api.post(alice, f"{V1}/conversations/{conversation}/typing", {"typing": True}))


async def test_off_means_off(make_api: Any) -> None:
    api = await make_api(rate_limits_enabled=False)
    alice, _, conversation = await pair(api)
    for n in range(25):
        r = await api.post(alice, f"{V1}/conversations/{conversation}/messages", {"body": f"m{n}"})
        assert r.status_code == 201
    for _ in range(12):
        assert (await login(api, "alice", "wrong horse")).status_code == 401
    assert (await login(api, "alice", "correct horse")).status_code == 200


async def test_normal_use_meets_no_limit(api: Api) -> None:
    alice, bob, conversation = await pair(api)
    for n in range(5):
        for who in (alice, bob):
            r = await api.post(who, f"{V1}/conversations/{conversation}/messages", {"body": f"m{n}"})
            assert r.status_code == 201
    assert (await login(api, "alice", "wrong horse")).status_code == 401
    assert (await login(api, "alice", "correct horse")).status_code == 200


async def test_a_local_client_cannot_pick_its_address_on_a_real_server(tmp_path: Path) -> None:
    """uvicorn itself, by default, takes X-Forwarded-For from 127.0.0.1: the server must not,
    or any local client could spread its attempts over invented addresses."""
    settings = make_settings(tmp_path, rate_limits={})
    with run_server(settings) as server:
        async with httpx.AsyncClient(base_url=server.http_url) as client:
            for n in range(50):
                body = {"login": f"nobody{n}", "password": "guess"}
                r = await client.post(f"{V1}/auth/login", json=body, headers={"X-Forwarded-For": f"203.0.113.{n}"})
                assert r.status_code == 401, r.text
            r = await client.post(
                f"{V1}/auth/login", json={"login": "x", "password": "y"}, headers={"X-Forwarded-For": "198.51.100.1"}
            )
            limited(r)
