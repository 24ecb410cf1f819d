"""Attachments kept in an S3 bucket (SeaweedFS), through the HTTP API: same contract as on local
disk, nothing on the local disk, and a store that cannot be reached answers 503, never 500."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from tests.api.test_accounts import error_code
from tests.api.test_attachments import png, send, thread, upload, uploaded
from tests.conftest import Api, make_settings
from tests.seaweed import S3Place
from tests.servers import create_pg_database, drop_pg_database, require_postgres

from rapport.api.app import create_app
from rapport.clock import FakeClock
from rapport.services import attachments as attachment_service
from rapport.store.s3blobs import PART_BYTES
from rapport.store.tables import attachments

pytestmark = pytest.mark.postgres


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    """PostgreSQL only: object storage is for the scaled-out set-up, and nothing here depends
    on the dialect (the SQLite path of the same service code runs in test_attachments.py)."""
    url = await create_pg_database(await require_postgres(), migrated=True)
    try:
        yield url
    finally:
        await drop_pg_database(url)


@pytest.fixture
async def app(tmp_path: Path, clock: FakeClock, database_url: str, s3: S3Place) -> AsyncIterator[Any]:
    settings = make_settings(tmp_path, database_url=database_url, **s3.settings())
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


def local_files(api: Api) -> list[Path]:
    root = api.ctx.settings.attachments_dir
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def test_files_live_in_the_bucket_and_downloads_keep_their_authorisation(api: Api, s3: S3Place) -> None:
    alice, bob, carol, cid = await thread(api)
    small = await uploaded(api, alice, b"quarterly numbers", "numbers.txt")
    big_bytes = b"OggS" + os.urandom(2 * PART_BYTES + 1000)  # streamed as a multipart upload
    big = await uploaded(api, alice, big_bytes, "voice.ogg")
    assert big["size"] == len(big_bytes)
    assert (await send(api, alice, cid, [small["id"], big["id"]])).status_code == 201
    r = await api.get(bob, big["url"])
    assert (r.status_code, r.content) == (200, big_bytes)
    r = await api.client.get(big["url"], headers={**bob.auth, "Range": f"bytes={PART_BYTES - 2}-{PART_BYTES + 1}"})
    assert r.status_code == 206
    assert r.content == big_bytes[PART_BYTES - 2 : PART_BYTES + 2]
    assert r.headers["content-range"] == f"bytes {PART_BYTES - 2}-{PART_BYTES + 1}/{len(big_bytes)}"
    assert (await api.get(bob, small["url"])).content == b"quarterly numbers"
    for who in (carol, None):
        r = await api.get(who, big["url"])
        assert r.status_code == (404 if who else 401)
    assert error_code(await api.get(carol, small["url"])) == "attachment_not_found"
    objects = await s3.objects("blobs/")
    assert sorted(objects.values()) == sorted([len(b"quarterly numbers"), len(big_bytes)])
    assert await s3.objects("tmp/") == {}
    assert local_files(api) == []


async def test_thumbnails_are_kept_beside_the_object(api: Api, s3: S3Place) -> None:
    alice, bob, _carol, cid = await thread(api)
    image = await uploaded(api, alice, png(), "pic.png")
    await send(api, alice, cid, [image["id"]])
    first = await api.get(bob, image["thumbnail_url"])
    assert first.status_code == 200
    objects = await s3.objects("blobs/")
    thumbs = [key for key in objects if key.endswith(".thumb")]
    assert len(thumbs) == 1
    assert await s3.get(thumbs[0]) == first.content
    assert (await api.get(bob, image["thumbnail_url"])).content == first.content
    assert local_files(api) == []


async def test_objects_leave_the_bucket_after_the_last_reference_and_the_sweep(
    api: Api, clock: FakeClock, s3: S3Place
) -> None:
    alice, bob, _carol, cid = await thread(api)
    shared = await uploaded(api, alice, b"same bytes twice", "one.txt")
    again = await uploaded(api, alice, b"same bytes twice", "two.txt")
    first = (await send(api, alice, cid, [shared["id"]])).json()["message"]
    await send(api, alice, cid, [again["id"]])
    orphan = await uploaded(api, alice, b"never attached")
    assert len(await s3.objects("blobs/")) == 2
    assert (await api.delete(alice, f"/api/v1/conversations/{cid}/messages/{first['id']}")).status_code == 204
    assert len(await s3.objects("blobs/")) == 2  # the other message still names the bytes
    assert (await api.get(bob, again["url"])).content == b"same bytes twice"
    clock.advance(timedelta(hours=25))
    assert await attachment_service.sweep(api.ctx) == 1
    assert (await api.get(alice, orphan["url"])).status_code == 404
    assert len(await s3.objects("blobs/")) == 1
    await s3.put("blobs/ab/cd/abcd" + "0" * 60, b"stray")  # an object no row names, left by a crash
    assert await attachment_service.sweep(api.ctx) == 1
    assert len(await s3.objects("blobs/")) == 1


async def test_deleting_a_message_while_the_store_is_unreachable_still_succeeds_and_the_sweep_catches_up(
    api: Api, s3: S3Place, caplog: pytest.LogCaptureFixture
) -> None:
    alice, bob, _carol, cid = await thread(api)
    f = await uploaded(api, alice, b"to be deleted")
    message = (await send(api, alice, cid, [f["id"]])).json()["message"]
    working = api.ctx.blob_store
    api.ctx.blob_store = s3.store(secret_key="not-the-secret")  # the same place, refused
    try:
        with caplog.at_level(logging.WARNING):
            r = await api.delete(alice, f"/api/v1/conversations/{cid}/messages/{message['id']}")
        assert r.status_code == 204  # committed: the answer says so, whatever the store does
        assert any("left for the sweep" in rec.getMessage() for rec in caplog.records)
        r = await api.get(bob, f["url"])
        assert r.status_code == 404
        r = await upload(api, alice, b"while it is down")
        assert (r.status_code, error_code(r)) == (503, "storage_unavailable")
    finally:
        await api.ctx.blob_store.aclose()
        api.ctx.blob_store = working
    assert len(await s3.objects("blobs/")) == 1
    assert await attachment_service.sweep(api.ctx) == 1
    assert await s3.objects("blobs/") == {}


async def test_a_download_whose_object_vanished_is_404_and_logged(
    api: Api, s3: S3Place, caplog: pytest.LogCaptureFixture
) -> None:
    alice, bob, _carol, cid = await thread(api)
    f = await uploaded(api, alice, b"soon gone")
    await send(api, alice, cid, [f["id"]])
    for key in await s3.objects("blobs/"):
        await s3.delete(key)
    with caplog.at_level(logging.WARNING, logger="rapport.services.attachments"):
        r = await api.get(bob, f["url"])
    assert r.status_code == 404
    assert error_code(r) == "attachment_not_found"
    assert any("has no blob" in rec.getMessage() for rec in caplog.records)


async def attachment_rows(api: Api) -> int:
    async with api.ctx.db.read() as conn:
        return int(await conn.scalar(select(func.count()).select_from(attachments)) or 0)


@pytest.mark.parametrize("broken", ["wrong-credentials", "no-server"])
async def test_an_unreachable_store_starts_says_so_and_uploads_answer_503(
    tmp_path: Path,
    database_url: str,
    s3: S3Place,
    broken: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = s3.settings()
    if broken == "wrong-credentials":
        config["s3_secret_key"] = "not-the-secret"
    else:
        config["s3_endpoint"] = "http://127.0.0.1:9"
    application = create_app(make_settings(tmp_path, database_url=database_url, **config))
    with caplog.at_level(logging.INFO):
        async with application.router.lifespan_context(application):
            said = [r for r in caplog.records if r.levelno >= logging.ERROR]
            assert len(said) == 1, [r.getMessage() for r in said]
            assert s3.bucket in said[0].getMessage()
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                api = Api(client, application)
                alice = await api.register("alice")
                for data in (b"small file", b"x" * (PART_BYTES + 10)):
                    r = await upload(api, alice, data)
                    assert r.status_code == 503, r.text
                    assert error_code(r) == "storage_unavailable"
                    assert r.headers["retry-after"]
                assert await attachment_rows(api) == 0  # no half-stored row
    assert await s3.objects() == {}
    assert not [p for p in (tmp_path / "attachments").rglob("*") if p.is_file()]
