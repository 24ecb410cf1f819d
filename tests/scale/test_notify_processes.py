"""Due e-mails are rows: they survive a crash and go out once however many servers run.

Real `rapport serve` processes on one fresh PostgreSQL database, with their job runners on
(RAPPORT_JOBS), a short RAPPORT_EMAIL_DELAY, and a real SMTP server (aiosmtpd) on loopback.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.notify_servers import SmtpSink
from tests.scale.conftest import server_env
from tests.scale.processes import ServerProcess
from tests.servers import create_pg_database, drop_pg_database, require_postgres

pytestmark = [pytest.mark.postgres]

DELAY_SECONDS = 2


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    url = await create_pg_database(await require_postgres(), migrated=True)
    try:
        yield url
    finally:
        await drop_pg_database(url)


def env_for(database_url: str, smtp: SmtpSink, data_dir: Path) -> dict[str, str]:
    env = server_env(database_url, "", data_dir)
    env.pop("RAPPORT_REDIS_URL", None)  # e-mail needs no bus: each process may run alone
    env.update(
        RAPPORT_SMTP_URL=smtp.url,
        RAPPORT_EMAIL_DELAY=str(DELAY_SECONDS),
        RAPPORT_JOBS_POLL_SECONDS="0.2",
        RAPPORT_MIGRATED="1",
    )
    return env


class Client:
    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=20)

    def register(self, handle: str) -> str:
        r = self.http.post(
            "/api/v1/auth/register",
            json={
                "handle": handle,
                "name": handle.title(),
                "email": f"{handle}@example.com",
                "password": "pw-pw-pw-pw",
            },
        )
        assert r.status_code == 201, r.text
        token = str(r.json()["token"])
        # Only message digests in these tests: no invitation e-mails.
        prefs = {"preferences": {"invitation": {"email": False}}}
        assert self.http.patch("/api/v1/me/notification-preferences", json=prefs, headers=_auth(token)).is_success
        return token

    def connect(self, a: str, b: str, b_handle: str) -> None:
        r = self.http.post("/api/v1/invitations", json={"to": b_handle}, headers=_auth(a))
        assert r.status_code == 201, r.text
        r = self.http.post(f"/api/v1/invitations/{r.json()['invitation']['id']}/accept", headers=_auth(b))
        assert r.status_code == 200, r.text

    def start(self, a: str, to: str, body: str) -> None:
        r = self.http.post("/api/v1/conversations", json={"to": [to], "body": body}, headers=_auth(a))
        assert r.status_code == 201, r.text


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def jobs_left(database_url: str) -> int:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(text("SELECT count(*) FROM jobs WHERE state != 'failed'")) or 0)
    finally:
        await engine.dispose()


async def settle(database_url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while await jobs_left(database_url):
        assert time.monotonic() < deadline, "jobs still waiting"
        await asyncio.sleep(0.2)


async def test_a_due_email_is_sent_after_a_crash_and_restart(tmp_path: Path, database_url: str, smtp: SmtpSink) -> None:
    env = env_for(database_url, smtp, tmp_path / "var")
    first = ServerProcess("first", env, tmp_path).start()
    try:
        first.wait_ready()
        client = Client(first.url)
        alice, bob = client.register("alice"), client.register("bob")
        client.connect(alice, bob, "bob")
        client.start(alice, "bob", "are you still there?")
        client.http.close()
        first.kill()  # SIGKILL before the e-mail is due: only the row remembers it
    finally:
        first.terminate()
    await asyncio.sleep(DELAY_SECONDS + 1)
    assert smtp.to("bob@example.com") == []
    second = ServerProcess("second", env, tmp_path).start()
    try:
        second.wait_ready()
        mails = await smtp.wait_for(1, timeout=30)
        await settle(database_url)
        assert [m["To"] for m in mails] == ["bob@example.com"]
        assert "are you still there?" in mails[0].get_body(preferencelist=("plain",)).get_content()
    finally:
        second.terminate()


async def test_two_servers_send_each_digest_exactly_once(tmp_path: Path, database_url: str, smtp: SmtpSink) -> None:
    env = env_for(database_url, smtp, tmp_path / "var")
    servers = [ServerProcess(name, env, tmp_path).start() for name in ("A", "B")]
    try:
        for server in servers:
            server.wait_ready()
        clients = [Client(s.url) for s in servers]
        hub = clients[0].register("hub")
        count = 12
        for i in range(count):
            client = clients[i % 2]
            sender = client.register(f"sender{i}")
            client.connect(sender, hub, "hub")
            client.start(sender, "hub", f"note {i}")
        for client in clients:
            client.http.close()
        mails = await smtp.wait_for(count, timeout=60)
        await settle(database_url)
        await asyncio.sleep(1)  # a duplicate would have been sent by now
        subjects = Counter(m["Subject"] for m in smtp.to("hub@example.com"))
        assert len(smtp.messages) == count, [m["Subject"] for m in mails]
        assert all(n == 1 for n in subjects.values()), subjects
    finally:
        for server in servers:
            server.terminate()
