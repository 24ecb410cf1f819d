"""The member's data rights (API.md "Safety"): an export of what they see, streamed as a
zip, and erasure that leaves their messages to the others as "Deleted member"."""

from __future__ import annotations

import hashlib
import io
import zipfile
from typing import Any

import orjson
import pytest
from tests.api.live_server import LiveServer, device
from tests.conftest import Api, Member
from websockets.exceptions import ConnectionClosed

from rapport.services import attachments as attachment_service
from rapport.services import data_rights
from rapport.store import members as member_store

V1 = "/api/v1"


def code(r: Any) -> str:
    return str(r.json()["error"]["code"])


async def upload(api: Api, who: Member, data: bytes, name: str) -> str:
    r = await api.client.post(f"{V1}/attachments", files={"file": (name, data, "text/plain")}, headers=who.auth)
    assert r.status_code == 201, r.text
    return str(r.json()["attachment"]["id"])


async def send(api: Api, who: Member, conversation: str, body: str, attachments: list[str] | None = None) -> str:
    payload: dict[str, Any] = {"body": body}
    if attachments:
        payload["attachments"] = attachments
    r = await api.post(who, f"{V1}/conversations/{conversation}/messages", payload)
    assert r.status_code == 201, r.text
    return str(r.json()["message"]["id"])


async def world(api: Api) -> dict[str, Any]:
    """Alice and Bob talk (with files both ways); Carol and Dave talk without Alice."""
    alice, bob, carol, dave = [await api.register(h) for h in ("alice", "bob", "carol", "dave")]
    await api.connect(alice, bob)
    await api.connect(carol, dave)
    first = (await api.start(alice, bob, body="hello bob")).json()
    conversation = first["conversation"]["id"]
    alice_file = b"".join(b"line %d of alice's notes\n" % n for n in range(8_000))
    await send(api, alice, conversation, "my file", [await upload(api, alice, alice_file, "alice.txt")])
    await send(api, bob, conversation, "my file too", [await upload(api, bob, b"bob's bytes", "bob.txt")])
    secret = (await api.start(carol, dave, body="carol's secret")).json()["conversation"]["id"]
    assert (await api.post(alice, f"{V1}/invitations", {"to": "dave"})).status_code == 201
    return {
        "alice": alice, "bob": bob, "carol": carol, "dave": dave,
        "conversation": conversation, "secret": secret, "alice_file": alice_file,
    }  # fmt: skip


async def export(api: Api, who: Member) -> zipfile.ZipFile:
    r = await api.get(who, f"{V1}/me/export")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert "attachment" in r.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    assert archive.testzip() is None
    return archive


def load(archive: zipfile.ZipFile, name: str) -> Any:
    return orjson.loads(archive.read(name))


# --- export ------------------------------------------------------------------------------------------


async def test_the_export_holds_the_members_own_data_and_nothing_of_others(api: Api) -> None:
    w = await world(api)
    archive = await export(api, w["alice"])
    names = set(archive.namelist())
    profile = load(archive, "profile.json")
    assert (profile["member"]["handle"], profile["email"]) == ("alice", "alice@example.com")
    assert "read_receipts_and_typing" in profile["settings"]
    assert [m["handle"] for m in load(archive, "connections.json")] == ["bob"]
    assert [i["to"] for i in load(archive, "invitations.json")["sent"]] == ["dave"]  # pending, as she sees them
    # One's own conversations only.
    assert f"conversations/{w['conversation']}.json" in names
    assert f"conversations/{w['secret']}.json" not in names
    thread = load(archive, f"conversations/{w['conversation']}.json")
    assert [m["body"] for m in thread["messages"]] == ["hello bob", "my file", "my file too"]
    assert b"carol's secret" not in b"".join(archive.read(n) for n in names)
    # Files: those Alice sent, byte for byte; not Bob's.
    files = load(archive, "attachments.json")
    assert [f["name"] for f in files] == ["alice.txt"]
    assert archive.read(files[0]["file"]) == w["alice_file"]
    assert not any("bob.txt" in n for n in names)


async def test_the_export_shows_receipts_only_as_the_member_may_see_them(api: Api) -> None:
    w = await world(api)
    alice, bob, conversation = w["alice"], w["bob"], w["conversation"]
    r = await api.patch(bob, f"{V1}/me/settings", {"read_receipts_and_typing": False})
    assert r.status_code == 200
    newest = await send(api, alice, conversation, "did you read this?")
    assert (await api.post(bob, f"{V1}/conversations/{conversation}/read", {"message_id": newest})).status_code == 204
    thread = load(await export(api, alice), f"conversations/{conversation}.json")
    mine = [m for m in thread["messages"] if m["sender"]["handle"] == "alice"]
    assert mine and all(m["status"] != "read" and m["read_by"] == [] for m in mine)
    assert all(m["status"] is None for m in thread["messages"] if m["sender"]["handle"] == "bob")


async def test_the_export_is_streamed_not_built_in_memory(api: Api) -> None:
    """A 3 MB file leaves in chunks far smaller than itself."""
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.connect(alice, bob)
    conversation = (await api.start(alice, bob, body="hi")).json()["conversation"]["id"]
    big = b"".join(b"line %d of a long text\n" % n for n in range(140_000))
    await send(api, alice, conversation, "big", [await upload(api, alice, big, "big.txt")])
    async with api.ctx.db.read() as conn:
        viewer = await member_store.get(conn, member_id=int(alice.id))
    assert viewer is not None
    chunks = [chunk async for chunk in data_rights.export(api.ctx, viewer)]
    assert max(len(c) for c in chunks) < len(big) // 4
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert archive.read(load(archive, "attachments.json")[0]["file"]) == big


async def test_the_export_needs_a_session(api: Api) -> None:
    assert (await api.get(None, f"{V1}/me/export")).status_code == 401


# --- erasure ----------------------------------------------------------------------------------------


async def erase(api: Api, who: Member, password: str = "correct horse") -> Any:
    return await api.client.request("DELETE", f"{V1}/me", json={"password": password}, headers=who.auth)


async def test_erasure_leaves_the_messages_to_the_others_as_deleted_member(api: Api) -> None:
    w = await world(api)
    alice, bob, conversation = w["alice"], w["bob"], w["conversation"]
    r = await erase(api, alice)
    assert r.status_code == 204
    messages = (await api.get(bob, f"{V1}/conversations/{conversation}/messages")).json()["messages"]
    by = {m["body"]: m["sender"] for m in messages}
    assert by["hello bob"]["handle"] is None
    assert by["hello bob"]["name"] == "Deleted member"
    assert by["my file too"]["handle"] == "bob"
    assert (await api.get(bob, f"{V1}/members/alice")).status_code == 404
    assert (await api.get(bob, f"{V1}/connections")).json()["connections"] == []
    # Gone: the session, the sign-in; the handle and e-mail are free again.
    assert (await api.get(alice, f"{V1}/me")).status_code == 401
    r = await api.client.post(f"{V1}/auth/login", json={"login": "alice", "password": "correct horse"})
    assert r.status_code == 401
    newcomer = await api.register("alice")
    # A new member with the old handle (and, on SQLite, maybe the old id) sees nothing of the past.
    assert (await api.get(newcomer, f"{V1}/conversations")).json()["conversations"] == []
    assert (await api.get(newcomer, f"{V1}/conversations/{conversation}")).status_code == 404
    await api.connect(newcomer, bob)
    fresh = (await api.start(newcomer, bob, body="hi again")).json()["conversation"]["id"]
    assert fresh != conversation


async def test_erasure_removes_the_members_files_but_not_shared_content(api: Api) -> None:
    w = await world(api)
    alice, bob = w["alice"], w["bob"]
    shared = b"the same bytes, sent by both"
    conversation = w["conversation"]
    await send(api, alice, conversation, "shared", [await upload(api, alice, shared, "a.txt")])
    await send(api, bob, conversation, "shared", [await upload(api, bob, shared, "b.txt")])
    blobs = attachment_service.blobs(api.ctx)
    own_key = hashlib.sha256(w["alice_file"]).hexdigest()
    shared_key = hashlib.sha256(shared).hexdigest()
    assert await blobs.size(own_key) == len(w["alice_file"])
    assert (await erase(api, alice)).status_code == 204
    assert await blobs.size(own_key) is None
    assert await blobs.size(shared_key) == len(shared)
    messages = (await api.get(bob, f"{V1}/conversations/{conversation}/messages")).json()["messages"]
    assert [m["attachments"] for m in messages if m["body"] == "my file"] == [[]]
    assert [len(m["attachments"]) for m in messages if m["body"] == "my file too"] == [1]


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [({"password": "wrong horse"}, 403, "wrong_password"), ({}, 422, "validation_error")],
)
async def test_a_refused_erasure_erases_nothing(api: Api, body: dict[str, Any], status: int, error: str) -> None:
    alice = await api.register("alice")
    r = await api.client.request("DELETE", f"{V1}/me", json=body, headers=alice.auth)
    assert r.status_code == status
    assert code(r) == error
    assert (await api.get(alice, f"{V1}/me")).status_code == 200


async def test_erasure_closes_the_members_sockets(live_api: Api, live_server: LiveServer) -> None:
    alice = await live_api.register("alice")
    async with device(live_server, alice) as socket:
        assert (await erase(live_api, alice)).status_code == 204
        with pytest.raises(ConnectionClosed):
            while True:
                await socket.recv(2.0)
        assert socket.ws.close_code == 4401
