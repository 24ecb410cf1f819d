"""Attachments across machines with no shared disk: two `rapport serve` processes, each with a
data directory of its own, on one PostgreSQL, one Redis and one SeaweedFS bucket.

A file uploaded and attached through one process downloads, byte for byte, through the other
for a participant; an outsider gets 404 there too; the object is in the bucket and neither
process kept anything of it on its local disk.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from rapport.store.s3blobs import PART_BYTES
from tests.scale.conftest import server_env
from tests.scale.processes import ServerProcess
from tests.scale.test_scale_out import client, connect
from tests.seaweed import S3Place, SeaweedFS, new_place
from tests.servers import create_pg_database, drop_pg_database, require_postgres, require_redis

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
V1 = "/api/v1"


@dataclass
class Pair:
    a: ServerProcess
    b: ServerProcess
    place: S3Place
    data_dirs: tuple[Path, Path]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, seaweedfs: SeaweedFS) -> Iterator[Pair]:
    workdir = tmp_path_factory.mktemp("s3-pair")
    database_url = asyncio.run(create_pg_database(asyncio.run(require_postgres())))
    redis_url = asyncio.run(require_redis())
    place = new_place(seaweedfs, seaweedfs.probe_bucket)
    servers: list[ServerProcess] = []
    try:
        dirs = (workdir / "a-var", workdir / "b-var")
        for name, data_dir in zip(("A", "B"), dirs, strict=True):
            env = {**server_env(database_url, redis_url, data_dir), **place.env()}
            servers.append(ServerProcess(name, env, workdir).start())
        for server in servers:
            server.wait_ready()
        yield Pair(servers[0], servers[1], place, dirs)
    finally:
        for server in servers:
            server.terminate()
        asyncio.run(drop_pg_database(database_url))


def files_under(root: Path) -> list[Path]:
    """Every file a process has under its data directory."""
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def test_a_file_uploaded_through_one_process_downloads_through_the_other(pair: Pair) -> None:
    data = b"OggS" + os.urandom(PART_BYTES + 54_321)  # more than one part: a multipart upload
    async with client(pair.a) as on_a, client(pair.b) as on_b:
        alice = await on_a.register("s3alice")
        bob = await on_b.register("s3bob")
        carol = await on_b.register("s3carol")
        await connect(on_a, alice, on_b, bob)
        r = await on_a.client.post(
            f"{V1}/attachments", files={"file": ("voice.ogg", data, "audio/ogg")}, headers=alice.auth
        )
        assert r.status_code == 201, r.text
        attachment = r.json()["attachment"]
        r = await on_a.start(alice, bob, body="listen", attachments=[attachment["id"]])
        assert r.status_code == 201, r.text

        r = await on_b.get(bob, attachment["url"])
        assert r.status_code == 200, r.text
        assert hashlib.sha256(r.content).hexdigest() == hashlib.sha256(data).hexdigest()
        r = await on_b.client.get(attachment["url"], headers={**bob.auth, "Range": "bytes=0-3"})
        assert (r.status_code, r.content) == (206, b"OggS")
        for api in (on_a, on_b):
            r = await api.get(carol, attachment["url"])
            assert r.status_code == 404
            assert r.json()["error"]["code"] == "attachment_not_found"

    key = hashlib.sha256(data).hexdigest()
    objects = await pair.place.objects()
    assert objects == {f"blobs/{key[:2]}/{key[2:4]}/{key}": len(data)}
    for data_dir in pair.data_dirs:
        assert files_under(data_dir / "attachments") == []
        assert not any(p.stat().st_size >= len(data) for p in files_under(data_dir))
