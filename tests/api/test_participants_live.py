"""A removed participant's sockets go quiet at once (DESIGN §2 group chats, §4 delivery):
live frames follow the participant rows, over the in-process bus and over Redis."""

from __future__ import annotations

from tests.api.live_server import LiveServer, device
from tests.api.test_live import V1, barrier, send, start, typing_http
from tests.conftest import Api


async def test_a_removed_participant_hears_nothing_more_of_the_conversation(
    live_api: Api, live_server: LiveServer
) -> None:
    alice, bob, carol = [await live_api.register(h) for h in ("alice", "bob", "carol")]
    r = await live_api.post(alice, f"{V1}/groups", {"name": "Guild", "visibility": "open"})
    group = r.json()["group"]["id"]
    for m in (bob, carol):
        assert (await live_api.post(m, f"{V1}/groups/{group}/join")).status_code == 200
    chat = (await start(live_api, alice, bob, carol, body="plans", group_id=group))["conversation_id"]
    await live_api.connect(alice, bob)
    direct = (await start(live_api, alice, bob, body="just us"))["conversation_id"]  # for the barrier

    async with device(live_server, bob) as b1:
        await send(live_api, carol, chat, "before")
        await b1.expect("message.new", conversation_id=chat)
        r = await live_api.delete(carol, f"{V1}/conversations/{chat}/participants/bob")
        assert r.status_code == 204
        await b1.expect("conversation.removed", conversation_id=chat)

        await send(live_api, alice, chat, "after bob")
        await typing_http(live_api, carol, chat, True)
        r = await live_api.patch(alice, f"{V1}/conversations/{chat}", {"title": "Without bob"})
        assert r.status_code == 200
        r = await live_api.post(alice, f"{V1}/conversations/{chat}/participants", {"handles": []})
        assert r.status_code == 422
        frames = await barrier(live_api, b1, direct)
        assert [f for f in frames if f.get("conversation_id") == chat] == []
        assert [f for f in frames if (f.get("message") or {}).get("conversation_id") == chat] == []
