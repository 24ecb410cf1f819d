"""File contents, stored once per distinct content under its SHA-256, behind a small interface.

`LocalBlobStore` keeps them under the data directory; `S3BlobStore` (store/s3blobs.py) in a
bucket of any S3-compatible store, with the same few methods. Uploads are first staged
(streamed to a temporary file, hashed and counted as they arrive) and kept only once their
database row is committed, so a kept blob always has had a row; `remove_unless` takes care of
the reverse race (see there).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

if TYPE_CHECKING:
    from rapport.settings import Settings

_KEY = re.compile(r"[0-9a-f]{64}")
WRITE_BUFFER = 1024 * 1024
READ_CHUNK = 256 * 1024
STALE_SECONDS = 24 * 3600


class Staged:
    """An upload being received: hashed and counted as it comes, its bytes passed on in batches.

    Subclasses say where a batch goes (`_put`) and what finishing or discarding means.
    """

    batch_bytes = WRITE_BUFFER

    def __init__(self, *, head_bytes: int) -> None:
        self.size = 0
        self.head = b""
        self._head_bytes = head_bytes
        self._hash = hashlib.sha256()
        self._buffer = bytearray()

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    async def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self._hash.update(chunk)
        if len(self.head) < self._head_bytes:
            self.head += chunk[: self._head_bytes - len(self.head)]
        self._buffer += chunk
        if len(self._buffer) >= self.batch_bytes:
            await self._flush()

    async def _flush(self) -> None:
        data, self._buffer = bytes(self._buffer), bytearray()
        await self._put(data)

    async def _put(self, data: bytes) -> None:
        raise NotImplementedError

    async def finish(self) -> None:
        """Everything received is durably staged."""
        raise NotImplementedError

    async def discard(self) -> None:
        raise NotImplementedError


class FileStaged(Staged):
    """Staged in a temporary file under the data directory."""

    def __init__(self, path: Path, *, head_bytes: int) -> None:
        super().__init__(head_bytes=head_bytes)
        self.path = path
        self._file: BinaryIO | None = None

    async def _put(self, data: bytes) -> None:
        if self._file is None:
            self._file = await asyncio.to_thread(self.path.open, "wb")
        await asyncio.to_thread(self._file.write, data)

    async def finish(self) -> None:
        """Everything received is on disk (and synced: a kept blob survives a power cut)."""
        await self._flush()
        assert self._file is not None
        file = self._file

        def sync() -> None:
            file.flush()
            os.fsync(file.fileno())
            file.close()

        await asyncio.to_thread(sync)

    async def discard(self) -> None:
        if self._file is not None:
            await asyncio.to_thread(self._file.close)
        await asyncio.to_thread(self.path.unlink, True)


class BlobStore(Protocol):
    async def start(self) -> None:
        """Get ready to serve; a store that cannot be reached says so in the log, and does not raise."""
        ...

    async def aclose(self) -> None: ...

    def stage(self, *, head_bytes: int) -> Staged: ...

    async def keep(self, staged: Staged) -> None: ...

    async def size(self, key: str) -> int | None: ...

    def read(self, key: str, *, start: int, end: int) -> AsyncIterator[bytes]: ...

    async def get_derived(self, key: str, kind: str) -> bytes | None: ...

    async def put_derived(self, key: str, kind: str, data: bytes) -> None: ...

    async def remove_unless(self, key: str, still_needed: Callable[[], Awaitable[bool]]) -> bool: ...

    async def keys(self) -> list[str]: ...

    async def tidy(self, *, now: float | None = None) -> None:
        """Remove what crashed uploads or removals left behind, once older than a day (`now`: for tests)."""
        ...


class LocalBlobStore:
    """Blobs as files: `<root>/ab/cd/<sha256>`, derived files (thumbnails) beside them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"

    def _path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise ValueError("blob keys are SHA-256 hex digests")
        return self.root / key[:2] / key[2:4] / key

    async def start(self) -> None:
        await asyncio.to_thread(self.tmp.mkdir, parents=True, exist_ok=True)

    async def aclose(self) -> None:
        pass

    def stage(self, *, head_bytes: int) -> Staged:
        self.tmp.mkdir(parents=True, exist_ok=True)
        return FileStaged(self.tmp / f"{uuid.uuid4().hex}.part", head_bytes=head_bytes)

    async def keep(self, staged: Staged) -> None:
        """Move a finished upload into place; an equal blob already there is simply replaced."""
        assert isinstance(staged, FileStaged)
        target = self._path(staged.sha256)

        def move() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged.path, target)

        await asyncio.to_thread(move)

    async def size(self, key: str) -> int | None:
        try:
            return (await asyncio.to_thread(self._path(key).stat)).st_size
        except FileNotFoundError:
            return None

    async def read(self, key: str, *, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes `start` to `end` inclusive, in chunks."""
        file = await asyncio.to_thread(self._path(key).open, "rb")
        try:
            await asyncio.to_thread(file.seek, start)
            left = end - start + 1
            while left > 0:
                chunk = await asyncio.to_thread(file.read, min(READ_CHUNK, left))
                if not chunk:
                    break
                left -= len(chunk)
                yield chunk
        finally:
            await asyncio.to_thread(file.close)

    def _derived(self, key: str, kind: str) -> Path:
        return self._path(key).with_name(f"{key}.{kind}")

    async def get_derived(self, key: str, kind: str) -> bytes | None:
        try:
            return await asyncio.to_thread(self._derived(key, kind).read_bytes)
        except FileNotFoundError:
            return None

    async def put_derived(self, key: str, kind: str, data: bytes) -> None:
        path = self._derived(key, kind)
        part = self.tmp / f"{uuid.uuid4().hex}.part"

        def write() -> None:
            self.tmp.mkdir(parents=True, exist_ok=True)
            part.write_bytes(data)
            os.replace(part, path)

        await asyncio.to_thread(write)

    async def remove_unless(self, key: str, still_needed: Callable[[], Awaitable[bool]]) -> bool:
        """Remove a blob (and what was derived from it) unless, checked after moving it aside, it is needed.

        An upload of the same content may commit its row and move its copy into place while
        we decide; moving the blob aside first and asking again afterwards means we either see
        that row (and put the blob back) or the upload's own copy lands after ours left.
        """
        path = self._path(key)
        aside = path.with_name(f"{key}.{uuid.uuid4().hex}.gone")
        try:
            await asyncio.to_thread(os.replace, path, aside)
        except FileNotFoundError:
            return False
        if await still_needed():
            if await asyncio.to_thread(path.exists):  # the upload's own copy is already back in place
                await asyncio.to_thread(aside.unlink, True)
            else:
                await asyncio.to_thread(os.replace, aside, path)
            return False
        await asyncio.to_thread(aside.unlink, True)
        for derived in await asyncio.to_thread(lambda: list(path.parent.glob(f"{key}.*"))):
            if not derived.name.endswith(".gone"):
                await asyncio.to_thread(derived.unlink, True)
        return True

    async def keys(self) -> list[str]:
        """Every blob's key (for sweeping blobs no row names any more)."""

        def scan() -> list[str]:
            if not self.root.is_dir():
                return []
            return [p.name for p in self.root.glob("??/??/*") if _KEY.fullmatch(p.name)]

        return await asyncio.to_thread(scan)

    async def tidy(self, *, now: float | None = None) -> None:
        """Remove temporary files a crashed upload or removal left behind (older than a day)."""
        cutoff = (time.time() if now is None else now) - STALE_SECONDS

        def scan() -> None:
            debris = [*self.tmp.glob("*.part"), *self.root.glob("??/??/*.gone")] if self.root.is_dir() else []
            for path in debris:
                with contextlib.suppress(FileNotFoundError):
                    if path.stat().st_mtime < cutoff:
                        path.unlink()

        await asyncio.to_thread(scan)


def blob_store(settings: Settings) -> BlobStore:
    """The blob store configured for this server: the S3 bucket when one is named, else local files.

    The S3 client library is imported only then, so a server on local files never loads it.
    """
    if settings.s3_bucket:
        from rapport.store.s3blobs import S3BlobStore

        return S3BlobStore.from_settings(settings)
    return LocalBlobStore(settings.attachments_dir)
