"""Copy the attachment files of a local data directory into the S3 bucket (`rapport attachments migrate-to-s3`).

Resumable: an object already in the bucket is read back and hashed, and skipped when its
bytes are the right ones; anything else is (re)written through the store's own upload path
(multipart, so memory stays bounded) and then read back and hashed too. A local file whose
bytes do not match its name is reported, never copied.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rapport.store.blobs import _KEY, LocalBlobStore
from rapport.store.s3blobs import S3BlobStore

CHUNK = 1024 * 1024


@dataclass
class Outcome:
    copied: int = 0
    skipped: int = 0
    derived: int = 0
    failed: list[str] = field(default_factory=list)


def local_blobs(local: LocalBlobStore) -> list[tuple[str, Path, int]]:
    """(key, path, size) of every blob file under the local store."""
    if not local.root.is_dir():
        return []
    found = [(p.name, p, p.stat().st_size) for p in local.root.glob("??/??/*") if _KEY.fullmatch(p.name)]
    return sorted(found)


async def _local_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with await asyncio.to_thread(path.open, "rb") as file:
        while chunk := await asyncio.to_thread(file.read, CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


async def remote_hash(s3: S3BlobStore, key: str, size: int) -> str:
    digest = hashlib.sha256()
    async for chunk in s3.read(key, start=0, end=size - 1):
        digest.update(chunk)
    return digest.hexdigest()


async def _upload(s3: S3BlobStore, path: Path) -> None:
    staged = s3.stage(head_bytes=0)
    try:
        with await asyncio.to_thread(path.open, "rb") as file:
            while chunk := await asyncio.to_thread(file.read, CHUNK):
                await staged.write(chunk)
        await staged.finish()
        await s3.keep(staged)
    except BaseException:
        await staged.discard()
        raise


async def migrate(
    local: LocalBlobStore,
    s3: S3BlobStore,
    *,
    advance: Callable[[int], None] = lambda n: None,
    say: Callable[[str], None] = lambda line: None,
) -> Outcome:
    """Copy every local blob (and its derived files) into `s3`; `advance` is told the bytes done."""
    outcome = Outcome()
    for key, path, size in local_blobs(local):
        if await _local_hash(path) != key:
            outcome.failed.append(key)
            say(f"{key}: the local file's bytes do not match its name; not copied")
            advance(size)
            continue
        there = await s3.size(key)
        if there == size and await remote_hash(s3, key, size) == key:
            outcome.skipped += 1
        else:
            if there is not None:  # a wrong or partial object from an earlier run: replace it
                await s3.call("delete_object", Key=s3.object_key(key))
            await _upload(s3, path)
            if await s3.size(key) != size or await remote_hash(s3, key, size) != key:
                outcome.failed.append(key)
                say(f"{key}: the copy in the bucket does not read back with the right hash")
                advance(size)
                continue
            outcome.copied += 1
        for derived in sorted(path.parent.glob(f"{key}.*")):
            kind = derived.name[len(key) + 1 :]
            if kind.endswith("gone") or "." in kind:
                continue
            if await s3.get_derived(key, kind) is None:
                await s3.put_derived(key, kind, await asyncio.to_thread(derived.read_bytes))
                outcome.derived += 1
        advance(size)
    return outcome
