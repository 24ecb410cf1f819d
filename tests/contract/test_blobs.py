"""The blob-store contract (store/blobs.py), run against every store: local files and S3 (SeaweedFS).

What the attachment service relies on: staged bytes are hashed and counted, kept under their
SHA-256, read back whole or in part, derived files live and die with their blob, removal
is safe against an upload of the same content racing it, and leftovers are tidied.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rapport.domain.errors import Unavailable
from rapport.store.blobs import STALE_SECONDS, BlobStore, LocalBlobStore
from rapport.store.s3blobs import PART_BYTES, S3BlobStore
from tests.seaweed import S3Place


@pytest.fixture(params=["local", "s3"])
async def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    store: BlobStore
    if request.param == "local":
        store = LocalBlobStore(tmp_path / "attachments")
    else:
        place: S3Place = request.getfixturevalue("s3")
        store = place.store()
    await store.start()
    try:
        yield store
    finally:
        await store.aclose()


async def put(blobs: BlobStore, data: bytes, *, chunk: int = 64 * 1024) -> str:
    staged = blobs.stage(head_bytes=16)
    for i in range(0, len(data), chunk):
        await staged.write(data[i : i + chunk])
    await staged.finish()
    await blobs.keep(staged)
    return staged.sha256


async def read_all(blobs: BlobStore, key: str, start: int, end: int) -> bytes:
    return b"".join([chunk async for chunk in blobs.read(key, start=start, end=end)])


async def leftovers(blobs: BlobStore) -> list[str]:
    """Staged or set-aside debris: temporary files, or objects and multipart uploads under tmp/."""
    if isinstance(blobs, LocalBlobStore):
        return [p.name for p in blobs.tmp.glob("*")] + [p.name for p in blobs.root.glob("??/??/*.gone")]
    assert isinstance(blobs, S3BlobStore)
    objects = await blobs.call("list_objects_v2", Prefix=f"{blobs.prefix}tmp/")
    uploads = await blobs.call("list_multipart_uploads", Prefix=f"{blobs.prefix}tmp/")
    return [o["Key"] for o in objects.get("Contents", [])] + [u["Key"] for u in uploads.get("Uploads", [])]


async def test_staged_bytes_are_counted_hashed_and_kept_under_their_sha256(blobs: BlobStore) -> None:
    data = b"hello, object storage\n" * 100
    staged = blobs.stage(head_bytes=5)
    await staged.write(data[:7])
    await staged.write(data[7:])
    assert (staged.size, staged.head) == (len(data), b"hello")
    await staged.finish()
    await blobs.keep(staged)
    key = hashlib.sha256(data).hexdigest()
    assert staged.sha256 == key
    assert await blobs.size(key) == len(data)
    assert await read_all(blobs, key, 0, len(data) - 1) == data
    assert await read_all(blobs, key, 6, 20) == data[6:21]
    assert await blobs.keys() == [key]
    assert await leftovers(blobs) == []


async def test_a_file_larger_than_one_part_is_kept_whole(blobs: BlobStore) -> None:
    data = os.urandom(2 * PART_BYTES + 12_345)
    key = await put(blobs, data, chunk=256 * 1024)
    assert key == hashlib.sha256(data).hexdigest()
    assert await blobs.size(key) == len(data)
    assert await read_all(blobs, key, 0, len(data) - 1) == data
    assert await read_all(blobs, key, PART_BYTES - 3, PART_BYTES + 2) == data[PART_BYTES - 3 : PART_BYTES + 3]
    assert await leftovers(blobs) == []


async def test_an_empty_range_reads_nothing_and_an_unknown_key_has_no_size(blobs: BlobStore) -> None:
    key = await put(blobs, b"")
    assert await blobs.size(key) == 0
    assert await read_all(blobs, key, 0, -1) == b""
    assert await blobs.size("0" * 64) is None
    with pytest.raises(ValueError):
        await blobs.size("../../etc/passwd")


async def test_equal_content_is_stored_once(blobs: BlobStore) -> None:
    big = os.urandom(PART_BYTES + 1)
    first, again = await put(blobs, big), await put(blobs, big)
    small = await put(blobs, b"small"), await put(blobs, b"small")
    assert first == again
    assert sorted(await blobs.keys()) == sorted({first, small[0]})
    assert await read_all(blobs, first, 0, len(big) - 1) == big
    assert await leftovers(blobs) == []


async def test_a_discarded_upload_leaves_nothing(blobs: BlobStore) -> None:
    for size in (10, PART_BYTES * 2 + 1):  # in memory or a file; a multipart upload under way
        staged = blobs.stage(head_bytes=4)
        await staged.write(b"x" * size)
        await staged.discard()
    finished = blobs.stage(head_bytes=4)
    await finished.write(os.urandom(PART_BYTES + 1))
    await finished.finish()
    await finished.discard()
    assert await blobs.keys() == []
    assert await leftovers(blobs) == []


async def test_derived_files_live_beside_their_blob_and_leave_with_it(blobs: BlobStore) -> None:
    key = await put(blobs, b"an image, say")
    assert await blobs.get_derived(key, "thumb") is None
    await blobs.put_derived(key, "thumb", b"small")
    assert await blobs.get_derived(key, "thumb") == b"small"
    assert await blobs.keys() == [key]  # derived files are not blobs

    async def not_needed() -> bool:
        return False

    assert await blobs.remove_unless(key, not_needed) is True
    assert await blobs.size(key) is None
    assert await blobs.get_derived(key, "thumb") is None
    assert await blobs.keys() == []
    assert await blobs.remove_unless(key, not_needed) is False  # already gone
    assert await leftovers(blobs) == []


async def test_a_blob_still_needed_is_not_removed(blobs: BlobStore) -> None:
    key = await put(blobs, b"still named by a row")

    async def needed() -> bool:
        return True

    assert await blobs.remove_unless(key, needed) is False
    assert await read_all(blobs, key, 0, 19) == b"still named by a row"
    assert await leftovers(blobs) == []


async def test_an_upload_of_the_same_content_racing_a_removal_keeps_its_blob(blobs: BlobStore) -> None:
    """The upload commits its row and keeps its copy while the removal is deciding."""
    data = os.urandom(PART_BYTES + 7)
    key = await put(blobs, data)

    async def upload_commits_meanwhile() -> bool:
        await put(blobs, data)  # its row committed just before: the blob is needed after all
        return True

    assert await blobs.remove_unless(key, upload_commits_meanwhile) is False
    assert await read_all(blobs, key, 0, len(data) - 1) == data

    async def row_committed_before_its_copy() -> bool:
        return True  # the upload's row is there; its copy has not arrived yet

    assert await blobs.remove_unless(key, row_committed_before_its_copy) is False
    assert await blobs.size(key) == len(data)
    assert await leftovers(blobs) == []


async def test_tidy_removes_debris_older_than_a_day_only(blobs: BlobStore) -> None:
    stuck = blobs.stage(head_bytes=4)
    await stuck.write(os.urandom(PART_BYTES + 1))  # a crash mid-upload
    finished = blobs.stage(head_bytes=4)
    await finished.write(os.urandom(PART_BYTES + 1))
    await finished.finish()  # a crash between finishing and keeping
    kept = await put(blobs, b"kept")
    if isinstance(blobs, LocalBlobStore):
        await stuck.finish()  # the local store writes its file in batches; make it whole on disk
    assert await leftovers(blobs) != []
    await blobs.tidy()
    assert await leftovers(blobs) != []  # fresh: an upload may still be under way
    await blobs.tidy(now=time.time() + STALE_SECONDS + 60)
    assert await leftovers(blobs) == []
    assert await blobs.keys() == [kept]


async def test_an_unreachable_bucket_starts_with_one_log_line_and_then_refuses(
    s3: S3Place, caplog: pytest.LogCaptureFixture
) -> None:
    """Wrong credentials, no server, no such bucket: start() does not raise, every operation is Unavailable."""
    for store, refuses in (
        (s3.store(secret_key="wrong"), True),
        (s3.store(endpoint="http://127.0.0.1:9", access_key="a", secret_key="b"), True),
        # SeaweedFS creates a missing bucket on the first PUT; AWS would refuse it. Either way: said at start.
        (s3.store(bucket=f"no-such-bucket-{s3.prefix}"), False),
    ):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="rapport.store.s3blobs"):
            await store.start()
            errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
            assert len(errors) == 1
            assert "unreachable" in errors[0]
            assert f"s3://{store.bucket}/" in errors[0]
            if refuses:
                staged = store.stage(head_bytes=4)
                await staged.write(b"tiny")
                await staged.finish()
                with pytest.raises(Unavailable):
                    await store.keep(staged)
                big = store.stage(head_bytes=4)
                with pytest.raises(Unavailable):
                    await big.write(os.urandom(PART_BYTES))
                with pytest.raises(Unavailable):
                    await store.size("0" * 64)
                assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1  # said once
        await store.aclose()
    assert await s3.objects() == {}
