"""Sessions that end (API.md "Safety"): logout, logout everywhere and a password change
revoke tokens, and every affected live socket closes; the others stay open.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import redis.asyncio as aioredis
from tests.api.live_server import Device, LiveServer, device, run_server
from tests.conftest import Api, Member, make_settings
from tests.servers import require_redis
from websockets.exceptions import ConnectionClosed

V1 = "/api/v1"
CLOSE_WAIT = 2.0
"""API.md: a revocation closes the member's sockets within 2 seconds."""


async def login(api: Api, handle: str, password: str = "correct horse") -> Member:
    r = await api.client.post(f"{V1}/auth/login", json={"login": handle, "password": password})
    assert r.status_code == 200, r.text
    return Member(handle, r.json()["token"], r.json()["member"]["id"])


def code(r: Any) -> str:
    return str(r.json()["error"]["code"])


async def closed(dev: Device, wait: float = CLOSE_WAIT) -> list[dict[str, Any]]:
    """Frames until the server closes the socket (fails if it stays open longer than `wait`)."""
    frames: list[dict[str, Any]] = []
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(wait):
            while True:
                frames.append(orjson.loads(await dev.ws.recv()))
    assert dev.ws.close_code == 4401
    return frames


async def still_open(dev: Device) -> None:
    await dev.ping()


# --- HTTP ------------------------------------------------------------------------------------


async def test_logout_everywhere_revokes_every_token_of_the_member_only(api: Api) -> None:
    carol = await api.register("carol")
    laptop = await login(api, "carol")
    dave = await api.register("dave")
    r = await api.post(carol, f"{V1}/auth/logout?everywhere=true")
    assert r.status_code == 204
    for token in (carol, laptop):
        r = await api.get(token, f"{V1}/me")
        assert r.status_code == 401
        assert code(r) == "invalid_token"
    assert (await api.get(dave, f"{V1}/me")).status_code == 200
    assert (await api.get(await login(api, "carol"), f"{V1}/me")).status_code == 200


async def test_logout_with_a_bad_everywhere_flag_is_422_and_revokes_nothing(api: Api) -> None:
    carol = await api.register("carol")
    r = await api.post(carol, f"{V1}/auth/logout?everywhere=maybe")
    assert r.status_code == 422
    assert (await api.get(carol, f"{V1}/me")).status_code == 200


async def test_a_password_change_keeps_this_session_and_ends_the_others(api: Api) -> None:
    carol = await api.register("carol")
    phone = await login(api, "carol")
    r = await api.post(carol, f"{V1}/me/password", {"current": "correct horse", "new": "battery staple"})
    assert r.status_code == 204
    assert (await api.get(carol, f"{V1}/me")).status_code == 200
    assert (await api.get(phone, f"{V1}/me")).status_code == 401
    r = await api.client.post(f"{V1}/auth/login", json={"login": "carol", "password": "correct horse"})
    assert r.status_code == 401
    await login(api, "carol", "battery staple")


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"current": "wrong horse", "new": "battery staple"}, 403, "wrong_password"),
        ({"current": "correct horse", "new": "short"}, 422, "weak_password"),
        ({"current": "correct horse", "new": "x" * 300}, 422, "weak_password"),
        ({"current": "correct horse"}, 422, "validation_error"),
        ({"current": 5, "new": "battery staple"}, 422, "validation_error"),
    ],
)
async def test_a_refused_password_change_changes_nothing(
    api: Api, body: dict[str, Any], status: int, error: str
) -> None:
    carol = await api.register("carol")
    phone = await login(api, "carol")
    r = await api.post(carol, f"{V1}/me/password", body)
    assert r.status_code == status, r.text
    assert code(r) == error
    assert (await api.get(phone, f"{V1}/me")).status_code == 200
    await login(api, "carol")


async def test_a_password_change_needs_a_session(api: Api) -> None:
    r = await api.post(None, f"{V1}/me/password", {"current": "correct horse", "new": "battery staple"})
    assert r.status_code == 401


async def test_a_profile_change_is_seen_at_once_through_the_token_cache(api: Api) -> None:
    """Lookups are cached per process; a change to the member's row drops them."""
    carol = await api.register("carol")
    assert (await api.get(carol, f"{V1}/me")).json()["member"]["name"] == "Carol Tester"
    assert (await api.patch(carol, f"{V1}/me", {"name": "Carol Renamed"})).status_code == 200
    assert (await api.get(carol, f"{V1}/me")).json()["member"]["name"] == "Carol Renamed"
    await api.set_tier(carol, "premium_career")
    assert (await api.get(carol, f"{V1}/me")).json()["member"]["tier"] == "premium_career"


# --- live sockets -----------------------------------------------------------------------------


async def test_logout_closes_the_socket_of_that_token_only(live_api: Api, live_server: LiveServer) -> None:
    carol = await live_api.register("carol")
    laptop = await login(live_api, "carol")
    async with device(live_server, carol) as phone_socket, device(live_server, laptop) as laptop_socket:
        r = await live_api.post(carol, f"{V1}/auth/logout")
        assert r.status_code == 204
        frames = await closed(phone_socket)
        assert frames[-1]["error"]["code"] == "session_ended"
        await still_open(laptop_socket)


async def test_logout_everywhere_closes_every_socket_of_the_member(live_api: Api, live_server: LiveServer) -> None:
    carol = await live_api.register("carol")
    laptop = await login(live_api, "carol")
    dave = await live_api.register("dave")
    async with (
        device(live_server, carol) as one,
        device(live_server, laptop) as two,
        device(live_server, dave) as other,
    ):
        assert (await live_api.post(carol, f"{V1}/auth/logout?everywhere=true")).status_code == 204
        await closed(one)
        await closed(two)
        await still_open(other)


async def test_a_password_change_closes_the_other_sockets(live_api: Api, live_server: LiveServer) -> None:
    carol = await live_api.register("carol")
    phone = await login(live_api, "carol")
    async with device(live_server, carol) as kept, device(live_server, phone) as ended:
        r = await live_api.post(carol, f"{V1}/me/password", {"current": "correct horse", "new": "battery staple"})
        assert r.status_code == 204
        await closed(ended)
        await still_open(kept)


@pytest.mark.redis
async def test_after_a_bus_outage_sockets_of_sessions_ended_meanwhile_are_closed(tmp_path: Path) -> None:
    """A revocation published while Redis was unreachable never arrives: when the bus comes
    back, each process looks its open sockets' sessions up again and closes the ended ones."""
    url = await require_redis()
    name = f"rapport-test-{uuid.uuid4().hex[:12]}"
    settings = make_settings(
        tmp_path, redis_url=f"{url}?client_name={name}", redis_namespace=f"rapport-test-{uuid.uuid4().hex[:12]}"
    )
    admin = aioredis.from_url(url)
    try:
        with run_server(settings) as server:
            async with httpx.AsyncClient(base_url=server.http_url, timeout=20) as http:
                api = Api(http, server.app)
                carol, dave = await api.register("carol"), await api.register("dave")
                async with device(server, carol) as ended, device(server, dave) as kept:
                    # The session ends without a word on the bus (as if its message were lost).
                    with sqlite3.connect(tmp_path / "rapport.db") as db:
                        db.execute("DELETE FROM tokens WHERE member_id = ?", (int(carol.id),))
                    killed = 0
                    for client in await admin.client_list(_type="pubsub"):
                        if client.get("name") == name:
                            killed += int(await admin.client_kill_filter(_id=client["id"]))
                    assert killed == 1
                    with pytest.raises(ConnectionClosed):
                        while True:
                            await ended.recv(10.0)
                    assert ended.ws.close_code == 4401
                    await kept.ping()
    finally:
        await admin.aclose()
