"""Profiles and the degree of connection (API.md: GET /api/v1/members/{handle})."""

from __future__ import annotations

from tests.api.test_accounts import MEMBER_FIELDS, error_code
from tests.conftest import Api


async def test_own_profile_has_degree_null(api: Api) -> None:
    alice = await api.register("alice")
    r = await api.get(alice, "/api/v1/members/alice")
    assert r.status_code == 200
    body = r.json()
    assert body["degree"] is None
    assert set(body["member"]) >= MEMBER_FIELDS
    assert body["member"]["handle"] == "alice"


async def test_degrees_one_two_three(api: Api) -> None:
    alice, bob, carol, dave = [await api.register(h) for h in ("alice", "bob", "carol", "dave")]
    await api.connect(alice, bob)
    await api.connect(bob, carol)
    r = await api.get(alice, "/api/v1/members/bob")
    assert r.json()["degree"] == 1
    r = await api.get(alice, "/api/v1/members/carol")
    assert r.json()["degree"] == 2
    r = await api.get(carol, "/api/v1/members/alice")
    assert r.json()["degree"] == 2
    r = await api.get(alice, "/api/v1/members/dave")
    assert r.status_code == 200
    assert r.json()["degree"] == 3
    assert dave.handle == "dave"


async def test_degree_drops_when_connection_is_removed(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.connect(alice, bob)
    assert (await api.delete(alice, "/api/v1/connections/bob")).status_code == 204
    r = await api.get(bob, "/api/v1/members/alice")
    assert r.json()["degree"] == 3


async def test_unknown_member_is_404(api: Api) -> None:
    alice = await api.register("alice")
    r = await api.get(alice, "/api/v1/members/nobody")
    assert r.status_code == 404
    assert error_code(r) == "member_not_found"


async def test_profile_needs_a_token(api: Api) -> None:
    await api.register("alice")
    r = await api.get(None, "/api/v1/members/alice")
    assert r.status_code == 401


async def test_blocked_member_profile_is_404_both_ways(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    r = await api.post(alice, "/api/v1/blocks", {"handle": "bob"})
    assert r.status_code == 201
    r = await api.get(bob, "/api/v1/members/alice")
    assert r.status_code == 404
    assert error_code(r) == "member_not_found"
    r = await api.get(alice, "/api/v1/members/bob")
    assert r.status_code == 404
    r = await api.delete(alice, "/api/v1/blocks/bob")
    assert r.status_code == 204
    r = await api.get(bob, "/api/v1/members/alice")
    assert r.status_code == 200


async def test_blocked_member_does_not_appear_in_member_search(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.post(alice, "/api/v1/blocks", {"handle": "bob"})
    r = await api.get(bob, "/api/v1/members", params={"q": "ali"})
    assert r.status_code == 200
    assert [m["handle"] for m in r.json()["members"]] == []
    await api.register("alina")
    r = await api.get(bob, "/api/v1/members", params={"q": "ali"})
    assert [m["handle"] for m in r.json()["members"]] == ["alina"]
