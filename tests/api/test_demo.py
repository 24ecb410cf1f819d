"""`rapport demo`: the network it writes in bulk is one the app serves as if members had made it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import make_settings

from rapport.api.app import create_app
from rapport.demo import PASSWORD, build_demo


@pytest.fixture
async def demo(tmp_path: Path, database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, int]]]:
    settings = make_settings(tmp_path, database_url=database_url or None)
    counts = await build_demo(settings, members=150, messages=3_000)
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
    ):
        yield client, counts


async def sign_in(client: httpx.AsyncClient, handle: str) -> dict[str, str]:
    r = await client.post("/api/v1/auth/login", json={"login": handle, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def test_demo1_sees_a_lived_in_network(demo: tuple[httpx.AsyncClient, dict[str, int]]) -> None:
    client, counts = demo
    assert counts["members"] == 150
    assert counts["messages"] >= 3_000
    assert counts["attachments"] > 0 and counts["reactions"] > 0
    ada = await sign_in(client, "demo1")
    me = (await client.get("/api/v1/me", headers=ada)).json()
    assert me["member"]["name"] == "Ada Lovelace"
    assert me["member"]["tier"] != "free" and me["inmail_credits"] > 0

    inbox = (await client.get("/api/v1/conversations?limit=100", headers=ada)).json()["conversations"]
    kinds = {c["kind"] for c in inbox}
    assert {"direct", "group_chat", "multi", "inmail"} <= kinds
    assert sum(1 for c in inbox if c["unread_count"]) >= 5
    unread = (await client.get("/api/v1/conversations?filter=unread", headers=ada)).json()["conversations"]
    assert unread and all(c["unread_count"] > 0 for c in unread)
    assert any(c["last_message"]["sender"]["handle"] == "demo2" for c in unread)  # Alan's photo and PDF

    pending = (await client.get("/api/v1/invitations?direction=received", headers=ada)).json()["invitations"]
    assert len([i for i in pending if i["state"] == "pending"]) >= 5

    # Alan's thread: files that download for its participants, a thumbnail for the chart.
    with_alan = next(
        c for c in inbox if [p["handle"] for p in c["participants"] if p["handle"] != "demo1"] == ["demo2"]
    )
    history = (await client.get(f"/api/v1/conversations/{with_alan['id']}/messages", headers=ada)).json()["messages"]
    files: list[dict[str, Any]] = [a for m in history for a in m["attachments"]]
    assert {a["content_type"] for a in files} >= {"image/png", "application/pdf"}
    for a in files:
        got = await client.get(a["url"], headers=ada)
        assert got.status_code == 200 and len(got.content) == a["size"]
    chart = next(a for a in files if a["thumbnail_url"])
    assert (await client.get(chart["thumbnail_url"], headers=ada)).status_code == 200
    alan = await sign_in(client, "demo2")
    assert (await client.get(files[0]["url"], headers=alan)).status_code == 200
    stranger = await sign_in(client, "demo150")
    assert (await client.get(files[0]["url"], headers=stranger)).status_code == 404

    # Search finds the history; reactions and read receipts are there as the app would show them.
    found = (await client.get("/api/v1/search?q=coffee", headers=ada)).json()["results"]
    assert found and all("<mark>" in r["snippet"] or r["match"] == "participant" for r in found)
    pages = [
        (await client.get(f"/api/v1/conversations/{c['id']}/messages?limit=200", headers=ada)).json()["messages"]
        for c in inbox
    ]
    shown = [m for page in pages for m in page]
    assert any(m["reactions"] for m in shown)
    assert any(m["status"] == "read" and m["read_by"] for m in shown)
