"""Safety across processes (API.md "Safety"): two real `rapport serve` processes, A and B,
on one PostgreSQL and one private Redis. A session revoked through A ends on B at once —
B's socket closes and B's token cache refuses the token — and rate limits count across both.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import orjson
import pytest
from websockets.exceptions import ConnectionClosed

from tests.api.live_server import device
from tests.conftest import Api, Member
from tests.scale.conftest import server_env
from tests.scale.processes import RedisProcess, ServerProcess
from tests.servers import create_pg_database, drop_pg_database, require_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
V1 = "/api/v1"
CLOSE_WAIT = 2.0


@dataclass
class Pair:
    a: ServerProcess
    b: ServerProcess


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    workdir = tmp_path_factory.mktemp("safety")
    server_url = asyncio.run(require_postgres())
    redis = RedisProcess(workdir)
    database_url = asyncio.run(create_pg_database(server_url, migrated=True))
    env = server_env(database_url, redis.url, workdir / "var")
    # Limits on, with API.md's defaults, except registrations: every test registers from here.
    env.update(RAPPORT_RATE_LIMITS="on", RAPPORT_RATE_LIMIT_REGISTRATION="1000 per hour")
    servers = [ServerProcess(name, env, workdir) for name in ("A", "B")]
    try:
        redis.start()
        for server in servers:
            server.start()
        for server in servers:
            server.wait_ready()
        yield Pair(*servers)
    finally:
        for server in servers:
            server.terminate()
        redis.kill()
        asyncio.run(drop_pg_database(database_url))


@contextlib.asynccontextmanager
async def client(server: ServerProcess) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        yield Api(http, None)


async def login(api: Api, handle: str) -> Member:
    r = await api.client.post(f"{V1}/auth/login", json={"login": handle, "password": "correct horse"})
    assert r.status_code == 200, r.text
    return Member(handle, r.json()["token"], r.json()["member"]["id"])


async def test_logout_everywhere_on_a_closes_the_socket_on_b_and_b_refuses_the_token(pair: Pair) -> None:
    async with client(pair.a) as on_a, client(pair.b) as on_b:
        carol = await on_a.register("rev-carol")
        laptop = await login(on_b, "rev-carol")
        # B has looked both tokens up (and cached them): its cache must not outlive the revocation.
        for token in (carol, laptop):
            assert (await on_b.get(token, f"{V1}/me")).status_code == 200
        async with device(pair.b.live, laptop) as socket_on_b:
            assert (await on_a.post(carol, f"{V1}/auth/logout?everywhere=true")).status_code == 204
            with pytest.raises(ConnectionClosed):
                async with asyncio.timeout(CLOSE_WAIT):
                    while True:
                        frame = orjson.loads(await socket_on_b.ws.recv())
            assert frame["error"]["code"] == "session_ended"
            assert socket_on_b.ws.close_code == 4401
        for token in (carol, laptop):
            assert (await on_b.get(token, f"{V1}/me")).status_code == 401
            assert (await on_a.get(token, f"{V1}/me")).status_code == 401


async def test_a_password_change_on_b_ends_the_other_sessions_on_a(pair: Pair) -> None:
    async with client(pair.a) as on_a, client(pair.b) as on_b:
        dave = await on_a.register("rev-dave")
        phone = await login(on_a, "rev-dave")
        assert (await on_a.get(phone, f"{V1}/me")).status_code == 200
        async with device(pair.a.live, phone) as socket_on_a, device(pair.a.live, dave) as kept:
            r = await on_b.post(dave, f"{V1}/me/password", {"current": "correct horse", "new": "battery staple"})
            assert r.status_code == 204
            with pytest.raises(ConnectionClosed):
                async with asyncio.timeout(CLOSE_WAIT):
                    while True:
                        await socket_on_a.ws.recv()
            await kept.ping()
        assert (await on_a.get(phone, f"{V1}/me")).status_code == 401
        assert (await on_a.get(dave, f"{V1}/me")).status_code == 200


async def test_a_profile_change_on_a_is_seen_on_b_at_once(pair: Pair) -> None:
    async with client(pair.a) as on_a, client(pair.b) as on_b:
        erin = await on_a.register("rev-erin")
        assert (await on_b.get(erin, f"{V1}/me")).json()["member"]["name"] == "Rev-Erin Tester"
        assert (await on_a.patch(erin, f"{V1}/me", {"name": "Erin Renamed"})).status_code == 200
        # The bus's message is already on its way when A answers; B applies it on arrival.
        names = set()
        async with asyncio.timeout(CLOSE_WAIT):
            while "Erin Renamed" not in names:
                names.add((await on_b.get(erin, f"{V1}/me")).json()["member"]["name"])


def limited(r: httpx.Response) -> None:
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "rate_limited"
    assert int(r.headers["Retry-After"]) >= 1


async def test_failed_logins_are_counted_across_processes(pair: Pair) -> None:
    async with client(pair.a) as on_a, client(pair.b) as on_b:
        await on_a.register("lim-frank")
        for n in range(10):
            api = on_a if n % 2 else on_b
            r = await api.client.post(f"{V1}/auth/login", json={"login": "lim-frank", "password": "wrong horse"})
            assert r.status_code == 401
        for api in (on_a, on_b):
            limited(await api.client.post(f"{V1}/auth/login", json={"login": "lim-frank", "password": "correct horse"}))


async def test_a_burst_of_sends_is_counted_across_processes(pair: Pair) -> None:
    async with client(pair.a) as on_a, client(pair.b) as on_b:
        gina, hal = await on_a.register("lim-gina"), await on_b.register("lim-hal")
        r = await on_a.post(gina, f"{V1}/invitations", {"to": hal.handle})
        assert r.status_code == 201, r.text
        assert (await on_b.post(hal, f"{V1}/invitations/{r.json()['invitation']['id']}/accept")).status_code == 200
        r = await on_a.start(gina, hal, body="first")
        assert r.status_code == 201, r.text
        path = f"{V1}/conversations/{r.json()['conversation']['id']}/messages"
        for n in range(19):
            assert (await (on_a if n % 2 else on_b).post(gina, path, {"body": f"m{n}"})).status_code == 201
        limited(await on_a.post(gina, path, {"body": "one too many"}))
        limited(await on_b.post(gina, path, {"body": "one too many"}))
