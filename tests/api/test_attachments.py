"""Attachments over HTTP (DESIGN §3): streamed uploads with a real size limit and a sniffed type,
downloads for the conversation's participants only, ranges, thumbnails, and cleanup."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from tests.api.test_accounts import error_code
from tests.conftest import Api, Member, make_settings

from rapport.api.app import create_app
from rapport.clock import FakeClock
from rapport.services import attachments as attachment_service

LIMIT = 20_000


@pytest.fixture
async def app(tmp_path: Path, clock: FakeClock, database_url: str) -> AsyncIterator[Any]:
    """The usual app, with a small attachment limit so the limit tests stay fast."""
    settings = make_settings(tmp_path, database_url=database_url, max_attachment_bytes=LIMIT)
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


def png(width: int = 640, height: int = 480, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), "red").save(out, "PNG")
    return out.getvalue()


async def upload(api: Api, who: Member | None, data: bytes, name: str = "notes.txt") -> httpx.Response:
    headers = who.auth if who else {}
    return await api.client.post("/api/v1/attachments", files={"file": (name, data, "text/plain")}, headers=headers)


async def uploaded(api: Api, who: Member, data: bytes, name: str = "notes.txt") -> dict[str, Any]:
    r = await upload(api, who, data, name)
    assert r.status_code == 201, r.text
    return dict(r.json()["attachment"])


async def thread(api: Api) -> tuple[Member, Member, Member, str]:
    alice, bob, carol = await api.register("alice"), await api.register("bob"), await api.register("carol")
    await api.connect(alice, bob)
    r = await api.start(alice, bob, body="first")
    assert r.status_code == 201, r.text
    return alice, bob, carol, r.json()["conversation"]["id"]


async def send(api: Api, who: Member, cid: str, ids: list[str], body: str = "see attached") -> httpx.Response:
    return await api.post(who, f"/api/v1/conversations/{cid}/messages", {"body": body, "attachments": ids})


def blob_files(api: Api) -> list[Path]:
    root = api.ctx.settings.attachments_dir
    return [p for p in root.glob("??/??/*") if len(p.name) == 64]


async def test_an_upload_answers_its_shape_with_the_type_sniffed_from_the_bytes(api: Api) -> None:
    alice = await api.register("alice")
    image = await uploaded(api, alice, png(), name="holiday.txt")  # the name lies; the bytes do not
    assert set(image) >= {"id", "name", "size", "content_type", "url"}
    assert (image["name"], image["size"], image["content_type"]) == ("holiday.txt", len(png()), "image/png")
    assert image["url"] == f"/api/v1/attachments/{image['id']}"
    pdf = await uploaded(api, alice, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", name="report.pdf")
    assert pdf["content_type"] == "application/pdf"
    assert pdf["thumbnail_url"] is None
    text = await uploaded(api, alice, "Grüße, 1;2\n".encode(), name="data.csv")
    assert text["content_type"] == "text/csv"


async def test_a_zero_byte_file_is_refused_and_a_one_byte_file_is_taken(api: Api) -> None:
    alice = await api.register("alice")
    r = await upload(api, alice, b"")
    assert r.status_code == 422
    assert error_code(r) == "empty_file"
    one = await uploaded(api, alice, b"x")
    assert (one["size"], one["content_type"]) == (1, "text/plain")


async def test_a_file_of_exactly_the_limit_is_taken_and_one_byte_more_is_413(api: Api) -> None:
    alice, bob, _carol, cid = await thread(api)
    exact = await uploaded(api, alice, b"a" * LIMIT)
    assert exact["size"] == LIMIT
    r = await upload(api, alice, b"b" * (LIMIT + 1))
    assert r.status_code == 413
    assert error_code(r) == "file_too_large"
    assert len(blob_files(api)) == 1  # nothing of the refused file was kept
    assert not list((api.ctx.settings.attachments_dir / "tmp").glob("*.part"))
    assert (await send(api, alice, cid, [exact["id"]])).status_code == 201
    r = await api.get(bob, exact["url"])
    assert r.status_code == 200
    assert r.content == b"a" * LIMIT


async def test_the_limit_counts_the_bytes_received_not_the_content_length_header(api: Api) -> None:
    alice = await api.register("alice")
    boundary = "xyzzy"
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n\r\n'.encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    async def body(size: int) -> AsyncIterator[bytes]:
        yield head
        for _ in range(size // 4096):
            yield b"c" * 4096
        yield b"c" * (size % 4096)
        yield tail

    headers = {**alice.auth, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    r = await api.client.post(
        "/api/v1/attachments", content=body(LIMIT * 3), headers={**headers, "Content-Length": "100"}
    )
    assert r.status_code == 413
    assert error_code(r) == "file_too_large"
    r = await api.client.post(
        "/api/v1/attachments", content=body(10), headers={**headers, "Content-Length": str(10**12)}
    )
    assert r.status_code == 201, r.text
    assert r.json()["attachment"]["size"] == 10


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"\x7fELF\x02\x01\x01" + bytes(200), "photo.jpg"),
        (b"MZ\x90\x00\x03" + bytes(200), "report.pdf"),
        (b"\xcf\xfa\xed\xfe" + bytes(200), "song.mp3"),
        (b"#!/bin/sh\nrm -rf ~\n", "readme.txt"),
        (b"echo hello\r\n", "run.bat"),
        (b"\x00\x01\x02\x03 unknown binary", "data.bin2"),
    ],
)
async def test_executables_and_unknown_kinds_are_refused_whatever_their_name(api: Api, data: bytes, name: str) -> None:
    alice = await api.register("alice")
    r = await upload(api, alice, data, name)
    assert r.status_code == 415, r.text
    assert error_code(r) == "unsupported_file_type"
    assert blob_files(api) == []


async def test_bad_upload_requests_are_clear_4xx(api: Api) -> None:
    alice = await api.register("alice")
    r = await api.client.post(
        "/api/v1/attachments", content=b"raw", headers={**alice.auth, "Content-Type": "text/plain"}
    )
    assert r.status_code == 422
    assert error_code(r) == "multipart_required"
    r = await api.client.post("/api/v1/attachments", data={"note": "no file"}, files={}, headers=alice.auth)
    assert r.status_code == 422
    r = await api.client.post(
        "/api/v1/attachments",
        content=b"--b\r\nContent-Disposition: form-data; name=x; filename=a.txt\r\n\r\ncut off",
        headers={**alice.auth, "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert r.status_code == 422
    assert error_code(r) == "bad_multipart"
    r = await upload(api, None, b"hello")
    assert r.status_code == 401
    error_code(r)


async def test_a_message_carries_at_most_ten_files(api: Api) -> None:
    alice, bob, _carol, cid = await thread(api)
    ids = [(await uploaded(api, alice, f"file {i}".encode(), f"f{i}.txt"))["id"] for i in range(11)]
    r = await send(api, alice, cid, ids)
    assert r.status_code == 422
    assert error_code(r) == "too_many_attachments"
    r = await send(api, alice, cid, ids[:10], body="")
    assert r.status_code == 201, r.text
    files = r.json()["message"]["attachments"]
    assert [f["id"] for f in files] == ids[:10]  # in the order given
    r = await api.get(bob, f"/api/v1/conversations/{cid}/messages")
    assert [f["name"] for f in r.json()["messages"][0]["attachments"]] == [f"f{i}.txt" for i in range(10)]
    events = [e for e in await api.events(bob) if e["type"] == "message.new"]
    assert len(events[-1]["message"]["attachments"]) == 10


async def test_only_ones_own_unattached_uploads_can_be_attached(api: Api) -> None:
    alice, bob, _carol, cid = await thread(api)
    mine = await uploaded(api, alice, b"alice's notes")
    theirs = await uploaded(api, bob, b"bob's notes")
    for ids in ([theirs["id"]], ["999999"], ["abc"], ["-1"], [mine["id"], mine["id"]], [mine["id"], theirs["id"]]):
        r = await send(api, alice, cid, ids)
        assert r.status_code == 422, (ids, r.text)
        assert error_code(r) in ("attachment_not_found", "duplicate_attachment")
    r = await api.get(bob, f"/api/v1/conversations/{cid}/messages")
    assert [m["body"] for m in r.json()["messages"]] == ["first"]  # nothing half-sent
    assert (await api.get(bob, mine["url"])).status_code == 404  # and the refused claim attached nothing
    assert (await send(api, alice, cid, [mine["id"]])).status_code == 201
    r = await send(api, alice, cid, [mine["id"]])  # already on a message
    assert r.status_code == 422
    assert error_code(r) == "attachment_not_found"
    r = await api.start(alice, bob, body="new start", attachments=[theirs["id"]])
    assert r.status_code == 422


async def test_downloads_are_for_the_uploader_and_the_conversations_participants_only(api: Api) -> None:
    alice, bob, carol, cid = await thread(api)
    f = await uploaded(api, alice, b"quarterly numbers", "numbers.txt")
    assert (await api.get(alice, f["url"])).status_code == 200  # the uploader, before attaching
    r = await api.get(bob, f["url"])
    assert r.status_code == 404  # not yet on a message bob can see
    unknown = await api.get(bob, "/api/v1/attachments/987654")
    assert (r.json(), r.status_code) == (unknown.json(), unknown.status_code)
    assert (await send(api, alice, cid, [f["id"]])).status_code == 201
    r = await api.get(bob, f["url"])
    assert r.status_code == 200
    assert r.content == b"quarterly numbers"
    assert r.headers["content-type"].startswith("text/plain")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"].startswith("attachment;")
    for outsider in (carol, await api.register("dave")):
        r = await api.get(outsider, f["url"])
        assert r.status_code == 404
        assert error_code(r) == "attachment_not_found"
        assert r.json() == unknown.json()
        assert (await api.get(outsider, f["url"] + "/thumbnail")).status_code == 404
    r = await api.get(None, f["url"])
    assert r.status_code == 401
    error_code(r)
    for bad in ("abc", "-1", "9" * 30):
        assert (await api.get(bob, f"/api/v1/attachments/{bad}")).status_code == 404


async def test_a_token_in_the_query_serves_img_src_downloads(api: Api) -> None:
    alice, bob, carol, cid = await thread(api)
    f = await uploaded(api, alice, png(), "pic.png")
    await send(api, alice, cid, [f["id"]])
    r = await api.client.get(f["url"], params={"token": bob.token})
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert r.headers["content-disposition"].startswith("inline;")
    assert r.headers["referrer-policy"] == "no-referrer"
    assert (await api.client.get(f["url"], params={"token": carol.token})).status_code == 404
    r = await api.client.get(f["url"], params={"token": "not-a-token"})
    assert r.status_code == 401
    error_code(r)
    assert (await api.client.get(f["url"], params={"token": " "})).status_code == 401
    r = await api.client.get(f["url"] + "/thumbnail", params={"token": bob.token})
    assert r.status_code == 200


async def test_a_member_who_cleared_the_history_no_longer_downloads_its_files(api: Api) -> None:
    alice, bob, _carol, cid = await thread(api)
    f = await uploaded(api, alice, b"old file")
    await send(api, alice, cid, [f["id"]])
    assert (await api.delete(bob, f"/api/v1/conversations/{cid}")).status_code == 204
    assert (await api.get(bob, f["url"])).status_code == 404
    assert (await api.get(alice, f["url"])).status_code == 200


async def test_ranges_give_206_and_past_the_end_416(api: Api) -> None:
    alice, bob, _carol, cid = await thread(api)
    data = bytes(range(256)) * 4  # not text: sniffed as nothing, so wrap it in a known type
    data = b"OggS" + data
    f = await uploaded(api, alice, data, "voice.ogg")
    assert f["content_type"] == "audio/ogg"
    await send(api, alice, cid, [f["id"]])
    size = len(data)
    cases = {
        "bytes=0-9": (0, 9),
        "bytes=10-": (10, size - 1),
        "bytes=-5": (size - 5, size - 1),
        f"bytes=100-{size + 50}": (100, size - 1),
    }
    for header, (first, last) in cases.items():
        r = await api.client.get(f["url"], headers={**bob.auth, "Range": header})
        assert r.status_code == 206, header
        assert r.headers["content-range"] == f"bytes {first}-{last}/{size}"
        assert r.content == data[first : last + 1]
    for header in ("bytes=5-2", "bytes=0-1,4-5", "items=0-1", "bytes=x-y", "bytes=-"):
        r = await api.client.get(f["url"], headers={**bob.auth, "Range": header})
        assert (r.status_code, r.content) == (200, data), header
    huge = "9" * 5000  # past Python's int-string conversion limit: was a 500
    r = await api.client.get(f["url"], headers={**bob.auth, "Range": f"bytes=0-{huge}"})
    assert (r.status_code, r.content) == (206, data)
    for header in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}", "bytes=-0", f"bytes={huge}-"):
        r = await api.client.get(f["url"], headers={**bob.auth, "Range": header})
        assert r.status_code == 416, header
        assert r.headers["content-range"] == f"bytes */{size}"
        assert error_code(r) == "range_not_satisfiable"
    r = await api.client.get(f["url"], headers={**bob.auth, "Range": "bytes=0-3", "If-Range": '"stale"'})
    assert (r.status_code, r.content) == (200, data)
    etag = r.headers["etag"]
    r = await api.client.get(f["url"], headers={**bob.auth, "If-None-Match": etag})
    assert r.status_code == 304


async def test_images_get_a_small_thumbnail_and_others_none(api: Api) -> None:
    alice, bob, _carol, cid = await thread(api)
    image = await uploaded(api, alice, png(640, 480, "RGBA"), "big.png")
    jpeg_bytes = io.BytesIO()
    Image.new("RGB", (500, 1000), "blue").save(jpeg_bytes, "JPEG")
    jpeg = await uploaded(api, alice, jpeg_bytes.getvalue(), "photo.jpg")
    text = await uploaded(api, alice, b"plain words")
    await send(api, alice, cid, [image["id"], jpeg["id"], text["id"]])
    for f, kind in ((image, "PNG"), (jpeg, "JPEG")):
        assert f["thumbnail_url"] == f["url"] + "/thumbnail"
        for _ in range(2):  # made once, then served from the store
            r = await api.get(bob, f["thumbnail_url"])
            assert r.status_code == 200
            small = Image.open(io.BytesIO(r.content))
            assert small.format == kind
            assert max(small.size) <= 320
    r = await api.get(bob, text["url"] + "/thumbnail")
    assert r.status_code == 404
    assert error_code(r) == "no_thumbnail"


async def test_a_broken_image_has_no_thumbnail_but_still_downloads(api: Api) -> None:
    alice = await api.register("alice")
    f = await uploaded(api, alice, b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, "broken.png")
    r = await api.get(alice, f["url"] + "/thumbnail")
    assert r.status_code == 404
    assert error_code(r) == "no_thumbnail"
    assert (await api.get(alice, f["url"])).status_code == 200


async def test_file_names_are_made_safe_and_given_back_per_rfc_5987(api: Api) -> None:
    alice = await api.register("alice")
    f = await uploaded(api, alice, b"%PDF-1.4\n", "../../etc/Résumé «2026».pdf")
    assert f["name"] == "Résumé «2026».pdf"
    r = await api.get(alice, f["url"])
    disposition = r.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Resume 2026.pdf"')
    assert "filename*=UTF-8''R%C3%A9sum%C3%A9%20%C2%AB2026%C2%BB.pdf" in disposition
    f = await uploaded(api, alice, b"hi", 'a"b\\c;\r\n.txt')
    assert "\n" not in f["name"]
    r = await api.get(alice, f["url"])
    assert r.status_code == 200


async def test_an_upload_never_attached_is_swept_after_the_grace_period(api: Api, clock: FakeClock) -> None:
    alice, bob, _carol, cid = await thread(api)
    kept = await uploaded(api, alice, b"attached in time")
    await send(api, alice, cid, [kept["id"]])
    orphan = await uploaded(api, alice, b"forgotten upload")
    assert len(blob_files(api)) == 2
    clock.advance(timedelta(hours=23))
    assert await attachment_service.sweep(api.ctx) == 0
    assert (await api.get(alice, orphan["url"])).status_code == 200
    clock.advance(timedelta(hours=2))
    assert await attachment_service.sweep(api.ctx) == 1
    assert (await api.get(alice, orphan["url"])).status_code == 404
    assert len(blob_files(api)) == 1
    r = await send(api, alice, cid, [orphan["id"]])
    assert r.status_code == 422
    assert (await api.get(bob, kept["url"])).content == b"attached in time"


async def test_the_sweep_removes_blobs_no_row_names(api: Api) -> None:
    alice = await api.register("alice")
    await uploaded(api, alice, b"still wanted")
    stray = api.ctx.settings.attachments_dir / "ab" / "cd" / ("abcd" + "0" * 60)
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"left by a crash")
    assert await attachment_service.sweep(api.ctx) == 1
    assert not stray.exists()
    assert len(blob_files(api)) == 1


async def test_deleting_a_message_takes_its_files_out_of_everyones_view(api: Api) -> None:
    alice, bob, _carol, cid = await thread(api)
    shared = b"same bytes in two messages"
    one = await uploaded(api, alice, shared, "one.txt")
    two = await uploaded(api, alice, shared, "two.txt")
    only = await uploaded(api, alice, b"only here", "only.txt")
    first = (await send(api, alice, cid, [one["id"], only["id"]])).json()["message"]
    await send(api, alice, cid, [two["id"]])
    assert len(blob_files(api)) == 2  # equal content is stored once
    r = await api.delete(alice, f"/api/v1/conversations/{cid}/messages/{first['id']}")
    assert r.status_code == 204
    r = await api.get(bob, f"/api/v1/conversations/{cid}/messages")
    tombstone = next(m for m in r.json()["messages"] if m["id"] == first["id"])
    assert (tombstone["deleted"], tombstone["attachments"]) == (True, [])
    for who in (bob, alice):
        assert (await api.get(who, one["url"])).status_code == 404
        assert (await api.get(who, only["url"])).status_code == 404
    assert (await api.get(bob, two["url"])).content == shared  # the blob another message names stays
    assert len(blob_files(api)) == 1


async def test_limits_tell_a_client_what_the_server_will_refuse(api: Api) -> None:
    r = await api.get(None, "/api/v1/limits")
    assert r.status_code == 200
    limits = r.json()
    assert limits["max_attachment_bytes"] == LIMIT
    assert limits["max_attachments_per_message"] == 10
    assert limits["message_body_max"] == 8_000
    assert "👍" in limits["reactions"]
    assert {"exe", "bat"} <= set(limits["refused_extensions"])
    # what it says is refused, is refused
    alice = await api.register("alice")
    assert (await upload(api, alice, b"hello", name="tool.exe")).status_code == 415
    assert (await upload(api, alice, b"x" * (LIMIT + 1))).status_code == 413


async def test_the_inbox_names_the_files_of_a_file_only_last_message(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.connect(alice, bob)
    cid = (await api.start(alice, bob)).json()["conversation"]["id"]
    file = await uploaded(api, alice, b"%PDF-1.4\n%%EOF\n", name="report.pdf")
    r = await api.post(alice, f"/api/v1/conversations/{cid}/messages", {"body": "", "attachments": [file["id"]]})
    assert r.status_code == 201, r.text
    listed = (await api.get(bob, "/api/v1/conversations")).json()["conversations"]
    last = next(c for c in listed if c["id"] == cid)["last_message"]
    assert last["body"] == ""
    assert [a["name"] for a in last["attachments"]] == ["report.pdf"]
