"""`rapport attachments migrate-to-s3`, run as an operator would, against SeaweedFS."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
from pathlib import Path

from rapport.store.s3blobs import PART_BYTES
from tests.seaweed import S3Place


def put_local(root: Path, data: bytes, *, name: str | None = None) -> str:
    key = name or hashlib.sha256(data).hexdigest()
    path = root / "attachments" / key[:2] / key[2:4] / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return key


async def migrate(data_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "rapport", "attachments", "migrate-to-s3"]
    full_env = {**os.environ, "RAPPORT_DATA_DIR": str(data_dir), **env}
    for name in [k for k in full_env if k.startswith("RAPPORT_S3_") and k not in env]:
        del full_env[name]
    return await asyncio.to_thread(
        subprocess.run, command, env=full_env, capture_output=True, text=True, timeout=120, check=False
    )


def blob_key(key: str) -> str:
    return f"blobs/{key[:2]}/{key[2:4]}/{key}"


async def test_migrate_copies_verifies_and_resumes(tmp_path: Path, s3: S3Place) -> None:
    small, big = b"a small file", os.urandom(PART_BYTES + 4321)
    small_key, big_key = put_local(tmp_path, small), put_local(tmp_path, big)
    thumb = tmp_path / "attachments" / small_key[:2] / small_key[2:4] / f"{small_key}.thumb"
    thumb.write_bytes(b"thumbnail bytes")
    env = s3.env()

    done = await migrate(tmp_path, env)
    assert done.returncode == 0, done.stderr
    assert "copied 2, already there 0, thumbnails 1, failed 0" in done.stdout
    assert await s3.get(blob_key(small_key)) == small
    assert await s3.get(blob_key(big_key)) == big
    assert await s3.get(blob_key(small_key) + ".thumb") == b"thumbnail bytes"
    assert await s3.objects("tmp/") == {}

    await s3.put(blob_key(big_key), b"half")  # an interrupted earlier run left a wrong object
    again = await migrate(tmp_path, env)
    assert again.returncode == 0, again.stderr
    assert "copied 1, already there 1, thumbnails 0, failed 0" in again.stdout
    assert await s3.get(blob_key(big_key)) == big

    corrupt = put_local(tmp_path, b"rotten bytes", name="f" * 64)
    failed = await migrate(tmp_path, env)
    assert failed.returncode == 1
    assert "already there 2" in failed.stdout and "failed 1" in failed.stdout
    assert corrupt in failed.stdout + failed.stderr
    assert blob_key(corrupt) not in await s3.objects()


async def test_migrate_needs_a_bucket_and_says_when_the_store_is_unreachable(tmp_path: Path, s3: S3Place) -> None:
    put_local(tmp_path, b"something")
    no_bucket = await migrate(tmp_path, {})
    assert no_bucket.returncode == 2
    assert "RAPPORT_S3_BUCKET" in no_bucket.stderr
    unreachable = await migrate(tmp_path, {**s3.env(), "RAPPORT_S3_SECRET_KEY": "wrong"})
    assert unreachable.returncode == 1
    assert "run again to resume" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr
