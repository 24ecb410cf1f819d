"""Accounts: register, login, logout, /me, settings and the admin tier route (API.md)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.conftest import ADMIN, Api


def error_code(r: httpx.Response) -> str:
    body = r.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) >= {"code", "message"}, body
    return str(body["error"]["code"])


MEMBER_FIELDS = {"id", "handle", "name", "headline", "industry", "location", "tier", "open_profile", "avatar_url"}


def registration(handle: str = "carol", **changes: Any) -> dict[str, Any]:
    return {
        "handle": handle,
        "name": "Carol Tester",
        "email": f"{handle}@example.com",
        "password": "correct horse",
        **changes,
    }


async def test_register_answers_201_with_member_and_token(api: Api) -> None:
    r = await api.client.post("/api/v1/auth/register", json=registration())
    assert r.status_code == 201
    body = r.json()
    assert set(body) >= {"member", "token"}
    assert set(body["member"]) >= MEMBER_FIELDS
    assert body["member"]["handle"] == "carol"
    assert body["member"]["tier"] == "free"
    assert body["member"]["open_profile"] is False
    assert isinstance(body["member"]["id"], str)
    assert isinstance(body["token"], str) and body["token"]


async def test_the_token_from_register_signs_in(api: Api) -> None:
    r = await api.client.post("/api/v1/auth/register", json=registration())
    token = r.json()["token"]
    r = await api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    assert r.json()["member"]["handle"] == "carol"


async def test_duplicate_handle_is_409(api: Api) -> None:
    await api.register("carol")
    r = await api.client.post("/api/v1/auth/register", json=registration("carol", email="other@example.com"))
    assert r.status_code == 409
    assert error_code(r) == "handle_taken"


async def test_duplicate_handle_differing_only_in_case_is_409(api: Api) -> None:
    await api.register("carol")
    r = await api.client.post("/api/v1/auth/register", json=registration("CAROL", email="other@example.com"))
    assert r.status_code == 409


async def test_duplicate_email_is_409(api: Api) -> None:
    await api.register("carol")
    r = await api.client.post("/api/v1/auth/register", json=registration("carol2", email="carol@example.com"))
    assert r.status_code == 409
    assert error_code(r) == "email_taken"


@pytest.mark.parametrize(
    "changes",
    [
        {"handle": "ab"},
        {"handle": "x" * 31},
        {"handle": "has space"},
        {"handle": "émile"},
        {"handle": ""},
        {"email": "not-an-email"},
        {"email": ""},
        {"password": "short"},
        {"password": "x" * 257},
        {"name": ""},
        {"name": "   "},
        {"name": "n" * 101},
    ],
)
async def test_bad_registration_inputs_are_422(api: Api, changes: dict[str, Any]) -> None:
    r = await api.client.post("/api/v1/auth/register", json=registration(**changes))
    assert r.status_code == 422, r.text
    error_code(r)


@pytest.mark.parametrize("missing", ["handle", "name", "email", "password"])
async def test_missing_registration_field_is_422(api: Api, missing: str) -> None:
    body = registration()
    del body[missing]
    r = await api.client.post("/api/v1/auth/register", json=body)
    assert r.status_code == 422
    assert error_code(r) == "validation_error"


async def test_failed_registration_stores_nothing(api: Api) -> None:
    r = await api.client.post("/api/v1/auth/register", json=registration(password="short"))
    assert r.status_code == 422
    r = await api.client.post("/api/v1/auth/register", json=registration())
    assert r.status_code == 201


@pytest.mark.parametrize("login", ["carol", "carol@example.com", "CAROL@Example.com"])
async def test_login_with_handle_or_email(api: Api, login: str) -> None:
    await api.register("carol")
    r = await api.client.post("/api/v1/auth/login", json={"login": login, "password": "correct horse"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["member"]["handle"] == "carol"
    r = await api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert r.status_code == 200


@pytest.mark.parametrize(("login", "password"), [("carol", "wrong password"), ("nobody", "correct horse"), ("", "")])
async def test_login_failures_are_401_with_one_answer(api: Api, login: str, password: str) -> None:
    await api.register("carol")
    r = await api.client.post("/api/v1/auth/login", json={"login": login, "password": password})
    assert r.status_code == 401
    assert error_code(r) == "invalid_credentials"


async def test_logout_revokes_only_that_token(api: Api) -> None:
    carol = await api.register("carol")
    r = await api.client.post("/api/v1/auth/login", json={"login": "carol", "password": "correct horse"})
    second = {"Authorization": f"Bearer {r.json()['token']}"}
    r = await api.post(carol, "/api/v1/auth/logout")
    assert r.status_code == 204
    assert r.content == b""
    r = await api.get(carol, "/api/v1/me")
    assert r.status_code == 401
    assert error_code(r) == "invalid_token"
    r = await api.client.get("/api/v1/me", headers=second)
    assert r.status_code == 200


async def test_logout_twice_is_401(api: Api) -> None:
    carol = await api.register("carol")
    assert (await api.post(carol, "/api/v1/auth/logout")).status_code == 204
    r = await api.post(carol, "/api/v1/auth/logout")
    assert r.status_code == 401


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic abc"},
        {"Authorization": "rp_x"},
    ],
)
async def test_no_or_bad_token_is_401(api: Api, headers: dict[str, str]) -> None:
    r = await api.client.get("/api/v1/me", headers=headers)
    assert r.status_code == 401
    error_code(r)


async def test_me_shows_member_settings_and_credits(api: Api) -> None:
    carol = await api.register("carol")
    r = await api.get(carol, "/api/v1/me")
    assert r.status_code == 200
    body = r.json()
    assert set(body) >= {"member", "settings", "inmail_credits"}
    assert set(body["member"]) >= MEMBER_FIELDS
    assert set(body["settings"]) >= {
        "read_receipts_and_typing",
        "open_profile",
        "messages_from_group_members",
        "sponsored_messages",
    }
    assert body["inmail_credits"] == 0


@pytest.mark.parametrize(("tier", "credits"), [("premium_career", 5), ("premium_business", 15), ("free", 0)])
async def test_premium_tiers_come_with_inmail_credits(api: Api, tier: str, credits: int) -> None:
    carol = await api.register("carol")
    await api.set_tier(carol, tier)
    r = await api.get(carol, "/api/v1/me")
    assert r.json()["inmail_credits"] == credits
    assert r.json()["member"]["tier"] == tier


async def test_update_profile(api: Api) -> None:
    carol = await api.register("carol")
    r = await api.patch(carol, "/api/v1/me", {"headline": "Engineer", "location": "Lyon"})
    assert r.status_code == 200
    member = r.json()["member"]
    assert member["headline"] == "Engineer"
    assert member["location"] == "Lyon"
    assert member["name"] == "Carol Tester"


async def test_update_profile_rejects_blank_name_and_wrong_types(api: Api) -> None:
    carol = await api.register("carol")
    assert (await api.patch(carol, "/api/v1/me", {"name": ""})).status_code == 422
    assert (await api.patch(carol, "/api/v1/me", {"headline": ["x"]})).status_code == 422
    assert (await api.patch(carol, "/api/v1/me", {"headline": "h" * 201})).status_code == 422


async def test_settings_switch(api: Api) -> None:
    carol = await api.register("carol")
    r = await api.patch(carol, "/api/v1/me/settings", {"read_receipts_and_typing": False})
    assert r.status_code == 200
    assert r.json()["settings"]["read_receipts_and_typing"] is False
    r = await api.get(carol, "/api/v1/me")
    assert r.json()["settings"]["read_receipts_and_typing"] is False


async def test_open_profile_needs_premium(api: Api) -> None:
    carol = await api.register("carol")
    r = await api.patch(carol, "/api/v1/me/settings", {"open_profile": True})
    assert r.status_code == 403
    assert error_code(r) == "premium_required"
    r = await api.get(carol, "/api/v1/me")
    assert r.json()["settings"]["open_profile"] is False


async def test_premium_member_may_switch_open_profile_on(api: Api) -> None:
    carol = await api.register("carol")
    await api.set_tier(carol, "premium_career")
    r = await api.patch(carol, "/api/v1/me/settings", {"open_profile": True})
    assert r.status_code == 200
    assert r.json()["settings"]["open_profile"] is True
    r = await api.get(carol, "/api/v1/me")
    assert r.json()["member"]["open_profile"] is True


async def test_settings_wrong_type_is_422(api: Api) -> None:
    carol = await api.register("carol")
    r = await api.patch(carol, "/api/v1/me/settings", {"open_profile": "yes"})
    assert r.status_code == 422
    assert error_code(r) == "validation_error"


async def test_admin_sets_a_tier(api: Api) -> None:
    carol = await api.register("carol")
    r = await api.client.put(
        "/api/v1/admin/members/carol/tier",
        json={"tier": "premium_business"},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert r.status_code == 200
    assert r.json()["member"]["tier"] == "premium_business"
    r = await api.get(carol, "/api/v1/members/carol")
    assert r.json()["member"]["tier"] == "premium_business"


async def test_admin_route_without_token_is_401(api: Api) -> None:
    await api.register("carol")
    r = await api.client.put("/api/v1/admin/members/carol/tier", json={"tier": "premium_career"})
    assert r.status_code == 401
    error_code(r)


async def test_admin_route_with_a_member_token_is_refused(api: Api) -> None:
    carol = await api.register("carol")
    r = await api.put(carol, "/api/v1/admin/members/carol/tier", {"tier": "premium_career"})
    assert r.status_code in (401, 403)
    error_code(r)
    r = await api.get(carol, "/api/v1/me")
    assert r.json()["member"]["tier"] == "free"


async def test_admin_route_with_wrong_token_is_refused(api: Api) -> None:
    await api.register("carol")
    r = await api.client.put(
        "/api/v1/admin/members/carol/tier",
        json={"tier": "premium_career"},
        headers={"Authorization": "Bearer not-the-admin-token"},
    )
    assert r.status_code in (401, 403)
    error_code(r)


async def test_admin_unknown_tier_is_422_and_unknown_member_404(api: Api) -> None:
    await api.register("carol")
    admin = {"Authorization": f"Bearer {ADMIN}"}
    r = await api.client.put("/api/v1/admin/members/carol/tier", json={"tier": "gold"}, headers=admin)
    assert r.status_code == 422
    r = await api.client.put("/api/v1/admin/members/nobody/tier", json={"tier": "free"}, headers=admin)
    assert r.status_code == 404
    assert error_code(r) == "member_not_found"
