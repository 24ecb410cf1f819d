"""Blobs in a bucket of any S3-compatible store, so processes on many machines serve the same files.

Layout inside the bucket (under an optional prefix):

    blobs/ab/cd/<sha256>          the file, named by its content like LocalBlobStore's
    blobs/ab/cd/<sha256>.thumb    what was derived from it, beside it
    tmp/<uuid>.part               an upload being received (a multipart upload, then an object)
    tmp/<sha256>.<uuid>.gone      a blob set aside while deciding whether to remove it

Why stage under a temporary key: the content's SHA-256, and so its name, is known only after
the last byte. An upload is therefore streamed as a multipart upload (parts of `PART_BYTES`,
the S3 minimum, so a server holds at most one part of each upload in memory, never the
file) to a temporary key, and once its row has committed it is copied server-side to its
name: one copy inside the store, no byte through the app twice. Two cheaper paths skip it:
content already in the bucket (a duplicate) costs one HEAD, and a file smaller than one part
is still in memory when its row commits, so it is PUT straight to its name.

Every failure to reach the store, or a refusal of our credentials, is `Unavailable`
(the API answers 503), logged once when the store goes from working to failing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from rapport.domain.errors import Unavailable
from rapport.store.blobs import _KEY, READ_CHUNK, STALE_SECONDS, Staged

if TYPE_CHECKING:
    from rapport.settings import Settings

log = logging.getLogger(__name__)

PART_BYTES = 5 * 1024 * 1024
"""Smallest part S3 accepts (but the last): the most of an upload a server holds in memory."""
MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})


class Missing(Exception):
    """The object is not there."""


class S3Staged(Staged):
    """An upload streamed part by part to a temporary key while it is hashed and counted."""

    batch_bytes = PART_BYTES

    def __init__(self, store: S3BlobStore, *, head_bytes: int) -> None:
        super().__init__(head_bytes=head_bytes)
        self.store = store
        self.key = f"{store.prefix}tmp/{uuid.uuid4().hex}.part"
        self.small: bytes | None = None
        """The whole file, when it fit in one part: PUT straight to its name by `keep`."""
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._completed = False

    async def _put(self, data: bytes) -> None:
        if self._upload_id is None:
            started = await self.store.call("create_multipart_upload", Key=self.key)
            self._upload_id = started["UploadId"]
        number = len(self._parts) + 1
        part = await self.store.call(
            "upload_part", Key=self.key, UploadId=self._upload_id, PartNumber=number, Body=data
        )
        self._parts.append({"ETag": part["ETag"], "PartNumber": number})

    async def finish(self) -> None:
        """Complete the multipart upload: the bytes are in the store before the row is written."""
        if self._upload_id is None:
            self.small, self._buffer = bytes(self._buffer), bytearray()
            return
        if self._buffer:
            await self._flush()
        await self.store.call(
            "complete_multipart_upload",
            Key=self.key,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts},
        )
        self._completed = True

    async def discard(self) -> None:
        """Drop what was staged; best effort (tidy() removes what a failure here leaves)."""
        self.small = None
        with contextlib.suppress(Unavailable, Missing):
            if self._completed:
                await self.store.call("delete_object", Key=self.key)
            elif self._upload_id is not None:
                await self.store.call("abort_multipart_upload", Key=self.key, UploadId=self._upload_id)
        self._completed = False
        self._upload_id = None


class S3BlobStore:
    """The BlobStore interface (store/blobs.py) over the S3 API, with one long-lived aiobotocore client."""

    def __init__(
        self,
        *,
        bucket: str,
        endpoint: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        region: str = "us-east-1",
        prefix: str = "",
    ) -> None:
        self.bucket = bucket
        self.endpoint = endpoint
        self.region = region
        self.prefix = prefix
        self._access_key = access_key
        self._secret_key = secret_key
        self._client: Any = None
        self._exit = AsyncExitStack()
        self._opening = asyncio.Lock()
        self._healthy = True

    @classmethod
    def from_settings(cls, settings: Settings) -> S3BlobStore:
        assert settings.s3_bucket
        return cls(
            bucket=settings.s3_bucket,
            endpoint=settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            region=settings.s3_region,
            prefix=f"{settings.s3_prefix.strip('/')}/" if settings.s3_prefix.strip("/") else "",
        )

    @property
    def where(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" + (f" at {self.endpoint}" if self.endpoint else "")

    async def _open(self) -> Any:
        async with self._opening:
            if self._client is None:
                from aiobotocore.session import get_session
                from botocore.config import Config

                config = Config(
                    region_name=self.region,
                    signature_version="s3v4",
                    s3={"addressing_style": "path" if self.endpoint else "auto"},
                    retries={"max_attempts": 2, "mode": "standard"},
                    connect_timeout=3,
                    read_timeout=30,
                    max_pool_connections=64,
                )
                self._client = await self._exit.enter_async_context(
                    get_session().create_client(
                        "s3",
                        endpoint_url=self.endpoint,
                        aws_access_key_id=self._access_key,
                        aws_secret_access_key=self._secret_key,
                        config=config,
                    )
                )
            return self._client

    async def call(self, operation: str, **kwargs: Any) -> Any:
        """One S3 operation on our bucket: `Missing` for an absent object, `Unavailable` for any other failure."""
        from aiohttp import ClientError as HttpError
        from botocore.exceptions import BotoCoreError, ClientError

        client = self._client or await self._open()
        try:
            result = await getattr(client, operation)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in MISSING_CODES and "Key" in kwargs:
                raise Missing(kwargs["Key"]) from exc
            self._failed(f"{operation}: {code or exc}")
            raise Unavailable(
                "Files cannot be stored or read right now; try again shortly.", code="storage_unavailable"
            ) from exc
        except (BotoCoreError, HttpError, OSError, TimeoutError) as exc:
            self._failed(f"{operation}: {type(exc).__name__}: {exc}")
            raise Unavailable(
                "Files cannot be stored or read right now; try again shortly.", code="storage_unavailable"
            ) from exc
        if not self._healthy:
            self._healthy = True
            log.warning("attachment store %s answers again", self.where)
        return result

    def _failed(self, what: str) -> None:
        if self._healthy:
            self._healthy = False
            log.error(
                "attachment store %s unreachable (%s): uploads and downloads answer 503 until it is back",
                self.where,
                what,
            )

    async def start(self) -> None:
        """Check the bucket answers to our credentials; if not, say so once and serve anyway."""
        with contextlib.suppress(Unavailable):
            await self.call("head_bucket")
            log.info("attachments in %s", self.where)

    async def aclose(self) -> None:
        await self._exit.aclose()
        self._client = None

    def object_key(self, key: str) -> str:
        if not _KEY.fullmatch(key):
            raise ValueError("blob keys are SHA-256 hex digests")
        return f"{self.prefix}blobs/{key[:2]}/{key[2:4]}/{key}"

    def stage(self, *, head_bytes: int) -> Staged:
        return S3Staged(self, head_bytes=head_bytes)

    async def keep(self, staged: Staged) -> None:
        """Put a finished upload under its name (after its row committed); the staged copy goes."""
        assert isinstance(staged, S3Staged)
        target = self.object_key(staged.sha256)
        if await self.size(staged.sha256) is None:
            if staged.small is not None:
                await self.call("put_object", Key=target, Body=staged.small)
            else:
                await self.call("copy_object", Key=target, CopySource={"Bucket": self.bucket, "Key": staged.key})
        await staged.discard()

    async def size(self, key: str) -> int | None:
        try:
            head = await self.call("head_object", Key=self.object_key(key))
        except Missing:
            return None
        return int(head["ContentLength"])

    async def read(self, key: str, *, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes `start` to `end` inclusive, streamed from the store as they come."""
        if end < start:
            return
        try:
            got = await self.call("get_object", Key=self.object_key(key), Range=f"bytes={start}-{end}")
        except Missing:
            log.warning("blob %s vanished from %s while being read", key, self.where)
            return
        body = got["Body"]
        try:
            while chunk := await body.read(READ_CHUNK):
                yield chunk
        finally:
            body.close()

    def _derived(self, key: str, kind: str) -> str:
        return f"{self.object_key(key)}.{kind}"

    async def get_derived(self, key: str, kind: str) -> bytes | None:
        try:
            got = await self.call("get_object", Key=self._derived(key, kind))
        except Missing:
            return None
        async with got["Body"] as body:
            data: bytes = await body.read()
        return data

    async def put_derived(self, key: str, kind: str, data: bytes) -> None:
        await self.call("put_object", Key=self._derived(key, kind), Body=data)

    async def remove_unless(self, key: str, still_needed: Callable[[], Awaitable[bool]]) -> bool:
        """Remove a blob (and what was derived from it) unless, checked after setting it aside, it is needed.

        As in LocalBlobStore: an upload of the same content commits its row and then looks for
        the blob. Setting the blob aside (a server-side copy, then deleting the original) before
        asking means we either see that row and put the blob back, or the upload finds the name
        free and puts its own copy there.
        """
        path = self.object_key(key)
        aside = f"{self.prefix}tmp/{key}.{uuid.uuid4().hex}.gone"
        try:
            await self.call("copy_object", Key=aside, CopySource={"Bucket": self.bucket, "Key": path})
        except Missing:
            return False
        await self.call("delete_object", Key=path)
        if await still_needed():
            if await self.size(key) is None:
                await self.call("copy_object", Key=path, CopySource={"Bucket": self.bucket, "Key": aside})
            await self.call("delete_object", Key=aside)
            return False
        await self.call("delete_object", Key=aside)
        for derived in await self._list(f"{path}."):
            await self.call("delete_object", Key=derived["Key"])
        return True

    async def _list(self, prefix: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = await self.call("list_objects_v2", Prefix=prefix, **({"ContinuationToken": token} if token else {}))
            found += page.get("Contents", [])
            if not page.get("IsTruncated"):
                return found
            token = page["NextContinuationToken"]

    async def keys(self) -> list[str]:
        """Every blob's key (for sweeping blobs no row names any more)."""
        names = (entry["Key"].rsplit("/", 1)[-1] for entry in await self._list(f"{self.prefix}blobs/"))
        return [name for name in names if _KEY.fullmatch(name)]

    async def tidy(self, *, now: float | None = None) -> None:
        """Remove staged uploads and set-aside blobs a crash left behind (older than a day)."""
        cutoff = (datetime.now(UTC) if now is None else datetime.fromtimestamp(now, UTC)) - timedelta(
            seconds=STALE_SECONDS
        )
        for entry in await self._list(f"{self.prefix}tmp/"):
            if entry["LastModified"] < cutoff:
                with contextlib.suppress(Missing):
                    await self.call("delete_object", Key=entry["Key"])
        page = await self.call("list_multipart_uploads", Prefix=f"{self.prefix}tmp/")
        for upload in page.get("Uploads", []):
            if upload["Initiated"] < cutoff:
                with contextlib.suppress(Missing):
                    await self.call("abort_multipart_upload", Key=upload["Key"], UploadId=upload["UploadId"])
