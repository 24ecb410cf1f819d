from tests.conftest import Api


async def test_a_connected_pair_can_message_and_see_it_read(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.connect(alice, bob)
    r = await api.start(alice, bob, body="hi Bob")
    assert r.status_code == 201
    message = r.json()["message"]
    r = await api.post(bob, f"/api/v1/conversations/{message['conversation_id']}/read", {"message_id": message["id"]})
    assert r.status_code == 204
    r = await api.get(alice, f"/api/v1/conversations/{message['conversation_id']}/messages")
    assert r.json()["messages"][0]["status"] == "read"
