"""Shared fixtures: an app per test on a fresh database, and a client that registers members.

Each such test runs twice: on SQLite in a temporary directory, and on a fresh PostgreSQL
database (tests/servers.py says where, and what happens when the server is missing).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from rapport.api.app import create_app
from rapport.clock import FakeClock
from rapport.settings import Settings
from tests.seaweed import S3Place, SeaweedFS, new_place, start_seaweedfs
from tests.servers import create_pg_database, drop_pg_database, require_postgres

ADMIN = "test-admin-token"


GENEROUS_LIMITS = {
    "registration": "10000 per hour",
    "send": "10000 per minute",
    "upload": "10000 per minute",
    "login_failure_account": "1000 per 15 minutes",
    "login_failure_address": "1000 per 15 minutes",
}
"""Limits stay on in tests, but a test registering 50 members from one address or sending 100
messages in a loop is normal use there; tests of the limits themselves use API.md's defaults."""


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    base = Settings(
        rate_limits=GENEROUS_LIMITS,
        data_dir=tmp_path,
        admin_token=ADMIN,
        password_time_cost=1,
        password_memory_cost=64,
        sqlite_synchronous="NORMAL",
        # Tests run due jobs by hand (`await api.ctx.jobs.run_due()`) on the fake clock.
        jobs_enabled=False,
    )
    return base.with_(**overrides)


@dataclass
class Member:
    handle: str
    token: str
    id: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Api:
    """A thin test client: `api.register("alice")`, `api.post(alice, path, json)`."""

    def __init__(self, client: httpx.AsyncClient, app: Any) -> None:
        self.client = client
        self.app = app

    @property
    def ctx(self) -> Any:
        return self.app.state.ctx

    async def register(self, handle: str, *, name: str | None = None) -> Member:
        r = await self.client.post(
            "/api/v1/auth/register",
            json={
                "handle": handle,
                "name": name or handle.title() + " Tester",
                "email": f"{handle}@example.com",
                "password": "correct horse",
            },
        )
        assert r.status_code == 201, r.text
        body = r.json()
        return Member(handle, body["token"], body["member"]["id"])

    async def get(self, who: Member | None, path: str, **kw: Any) -> httpx.Response:
        return await self.client.get(path, headers=who.auth if who else {}, **kw)

    async def post(self, who: Member | None, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return await self.client.post(path, json=json, headers=who.auth if who else {}, **kw)

    async def patch(self, who: Member | None, path: str, json: Any = None) -> httpx.Response:
        return await self.client.patch(path, json=json, headers=who.auth if who else {})

    async def put(self, who: Member | None, path: str, json: Any = None) -> httpx.Response:
        return await self.client.put(path, json=json, headers=who.auth if who else {})

    async def delete(self, who: Member | None, path: str) -> httpx.Response:
        return await self.client.delete(path, headers=who.auth if who else {})

    async def set_tier(self, member: Member, tier: str) -> None:
        r = await self.client.put(
            f"/api/v1/admin/members/{member.handle}/tier",
            json={"tier": tier},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        assert r.status_code == 200, r.text

    async def connect(self, a: Member, b: Member) -> None:
        r = await self.post(a, "/api/v1/invitations", {"to": b.handle})
        assert r.status_code == 201, r.text
        r = await self.post(b, f"/api/v1/invitations/{r.json()['invitation']['id']}/accept")
        assert r.status_code == 200, r.text

    async def start(self, a: Member, *to: Member, body: str = "hello", **extra: Any) -> httpx.Response:
        return await self.post(a, "/api/v1/conversations", {"to": [m.handle for m in to], "body": body, **extra})

    async def events(self, who: Member, since: int = 0) -> list[dict[str, Any]]:
        r = await self.get(who, f"/api/v1/events?since={since}")
        assert r.status_code == 200, r.text
        return r.json()["events"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=STORES)
async def database_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """Every test that uses the app runs on each store: SQLite (under the test's data
    directory) and a fresh PostgreSQL database, dropped afterwards."""
    if request.param == "sqlite":
        yield ""
        return
    url = await create_pg_database(await require_postgres(), migrated=True)
    try:
        yield url
    finally:
        await drop_pg_database(url)


@pytest.fixture
async def app(tmp_path: Path, clock: FakeClock, database_url: str) -> AsyncIterator[Any]:
    application = create_app(make_settings(tmp_path, database_url=database_url), clock=clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def api(app: Any) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield Api(client, app)


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """One SeaweedFS (S3 API on loopback) for the whole session, started on first use; its
    `probe_bucket` (made while waiting for it to be writable) is the bucket tests share."""
    server = start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3(seaweedfs: SeaweedFS) -> S3Place:
    """An empty place of its own in the session's bucket, for one test."""
    return new_place(seaweedfs, seaweedfs.probe_bucket)
