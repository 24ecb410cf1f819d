"""One cluster per module: `rapport serve` processes (A and B, then C and W) sharing one fresh
PostgreSQL database and one private Redis.

The database starts empty: A and B migrate it at the same moment on start, which is
what a rolling deploy does (the migrations serialise on an advisory lock).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import ADMIN
from tests.scale.processes import RedisProcess, ServerProcess
from tests.servers import create_pg_database, drop_pg_database, require_postgres


@dataclass
class Cluster:
    database_url: str
    redis: RedisProcess
    env: dict[str, str]
    workdir: Path
    servers: list[ServerProcess] = field(default_factory=list)

    @property
    def a(self) -> ServerProcess:
        return self.servers[0]

    @property
    def b(self) -> ServerProcess:
        return self.servers[1]

    def spawn(self, name: str, *, workers: int = 1) -> ServerProcess:
        """Start one more server on the same database and Redis; the fixture stops it."""
        server = ServerProcess(name, self.env, self.workdir, workers=workers).start()
        self.servers.append(server)
        return server

    def server(self, name: str) -> ServerProcess:
        return next(s for s in self.servers if s.name == name)

    def logs(self) -> str:
        return "\n".join(f"--- {s.name} ---\n{s.tail()}" for s in self.servers)


def server_env(database_url: str, redis_url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env.update(
        RAPPORT_DATABASE_URL=database_url,
        RAPPORT_REDIS_URL=redis_url,
        # Member ids start at 1 in every test database: a namespace keeps runs apart.
        RAPPORT_REDIS_NAMESPACE=f"rapport-scale-{uuid.uuid4().hex[:12]}",
        RAPPORT_ADMIN_TOKEN=ADMIN,
        RAPPORT_DATA_DIR=str(data_dir),
        RAPPORT_PASSWORD_TIME_COST="1",
        RAPPORT_PASSWORD_MEMORY_COST="64",
        # Load: many members registered from one address, senders in bursts.
        RAPPORT_RATE_LIMITS="off",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    workdir = tmp_path_factory.mktemp("cluster")
    server_url = asyncio.run(require_postgres())
    redis = RedisProcess(workdir)
    database_url = asyncio.run(create_pg_database(server_url))
    cluster = Cluster(database_url, redis, server_env(database_url, redis.url, workdir / "var"), workdir)
    try:
        redis.start()
        for name in ("A", "B"):
            cluster.spawn(name)
        for server in cluster.servers:
            server.wait_ready()
        # Servers that later tests kill or stop start now, while the first tests run:
        # starting Python processes is most of this module's time.
        cluster.spawn("C")
        cluster.spawn("W", workers=2)
        yield cluster
    finally:
        for server in cluster.servers:
            server.terminate()
        redis.kill()
        asyncio.run(drop_pg_database(database_url))
