"""A live server per test, in each deployment: embedded (SQLite and the in-process bus)
and scaled out (PostgreSQL and Redis pub/sub)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tests.api.live_server import LiveServer, run_server
from tests.conftest import Api, make_settings
from tests.servers import create_pg_database, drop_pg_database, require_postgres, require_redis

DEPLOYMENTS = ["embedded", pytest.param("scaled", marks=[pytest.mark.postgres, pytest.mark.redis])]


@pytest.fixture(params=DEPLOYMENTS)
async def live_server(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LiveServer]:
    # @pytest.mark.ws_compression: a server that accepts permessage-deflate (off by default).
    compression = request.node.get_closest_marker("ws_compression") is not None
    if request.param == "embedded":
        with run_server(make_settings(tmp_path, ws_compression=compression)) as server:
            yield server
        return
    database_url = await create_pg_database(await require_postgres(), migrated=True)
    settings = make_settings(
        tmp_path,
        database_url=database_url,
        ws_compression=compression,
        redis_url=await require_redis(),
        # Each test's member ids start at 1: its own channels keep runs apart on one Redis.
        redis_namespace=f"rapport-test-{uuid.uuid4().hex[:12]}",
    )
    try:
        with run_server(settings) as server:
            yield server
    finally:
        await drop_pg_database(database_url)


@pytest.fixture
async def live_api(live_server: LiveServer) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=live_server.http_url, timeout=20) as client:
        yield Api(client, live_server.app)
