"""The bench's generated network is one the app can serve, on SQLite and PostgreSQL.

It is written straight into the tables, so nothing but this test checks that it obeys the
schema's constraints (PostgreSQL enforces every foreign key) and reads back through the
API as the services would have left it.
"""

from __future__ import annotations

from typing import Any

from bench import dataset
from tests.conftest import Api

PLAN = dataset.Plan(
    pairs=3, unread_per_pair=2, idle_members=2, big_members=120, big_messages=300, probes=2, prolific_sent=100
)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_the_generated_network_reads_back_through_the_api(app: Any, api: Api) -> None:
    data = await dataset.build(app.state.ctx.settings.resolved_database_url, PLAN)
    assert data.counts["messages"] >= PLAN.big_messages
    pair = data.pairs[0]
    assert len(pair.unread_for_a) == PLAN.unread_per_pair

    r = await api.client.get("/api/v1/conversations", headers=bearer(pair.a_token))
    assert r.status_code == 200, r.text
    [thread] = r.json()["conversations"]
    assert thread["id"] == str(pair.conversation_id)
    assert thread["unread_count"] == PLAN.unread_per_pair
    assert thread["last_message"]["id"] == str(pair.unread_for_a[-1])

    r = await api.client.get(f"/api/v1/conversations/{pair.conversation_id}/messages", headers=bearer(pair.b_token))
    assert len(r.json()["messages"]) == 1 + PLAN.unread_per_pair

    # The app writes on top of it: ids and event numbers continue where the load stopped.
    path = f"/api/v1/conversations/{pair.conversation_id}/messages"
    r = await api.client.post(path, json={"body": "after the load"}, headers=bearer(pair.a_token))
    assert r.status_code == 201, r.text
    r = await api.client.get("/api/v1/events", params={"since": 0}, headers=bearer(pair.b_token))
    seqs = [e["seq"] for e in r.json()["events"]]
    assert seqs == list(range(1, len(seqs) + 1))
    assert r.json()["events"][-1]["message"]["body"] == "after the load"

    r = await api.client.get("/api/v1/conversations", headers=bearer(data.probe_tokens[0]))
    assert r.json()["conversations"], "a probe has the deepest inbox of the network"
    r = await api.client.get(
        "/api/v1/search", params={"q": dataset.SEARCH_TERMS[0]}, headers=bearer(data.probe_tokens[0])
    )
    assert r.status_code == 200, r.text

    # The big group: a probe is a member, and the cursors page through all of it.
    assert data.counts["group_members"] == PLAN.big_members
    seen: list[str] = []
    for cursor in data.group_cursors:
        r = await api.client.get(
            f"/api/v1/groups/{data.group_id}/members",
            params={"limit": dataset.GROUP_PAGE, "cursor": cursor},
            headers=bearer(data.probe_tokens[0]),
        )
        assert r.status_code == 200, r.text
        seen += [m["member"]["handle"] for m in r.json()["members"]]
    assert len(seen) == len(set(seen)) == PLAN.big_members

    # The prolific member: everything they sent was answered, most of it read.
    r = await api.client.get("/api/v1/me/insights", headers=bearer(data.prolific_token))
    assert r.status_code == 200, r.text
    found = r.json()
    assert (found["sent"], found["conversations_started"], found["reply_rate"]) == (PLAN.prolific_sent, 2, 1.0)
    assert 0.5 < found["read_rate"] <= 1.0  # a read covers every earlier message of its thread
    # The group chat at its cap: the creator and 50 others, each with a token of their own.
    assert len(data.group_chat_tokens) == dataset.GROUP_CHAT_SIZE
    r = await api.client.get(f"/api/v1/conversations/{data.group_chat_id}", headers=bearer(data.group_chat_tokens[-1]))
    assert r.status_code == 200, r.text
    assert r.json()["conversation"]["kind"] == "group_chat"
    assert len(r.json()["conversation"]["participants"]) == dataset.GROUP_CHAT_SIZE
    path = f"/api/v1/conversations/{data.group_chat_id}/messages"
    r = await api.client.post(path, json={"body": "to all 51"}, headers=bearer(data.group_chat_tokens[3]))
    assert r.status_code == 201, r.text
