"""The in-app notification centre, preferences and push subscriptions (API.md "Notifications")."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api, Member
from tests.notify_servers import BrowserKeys, b64url, unb64url


async def invite(api: Api, a: Member, b: Member) -> str:
    r = await api.post(a, "/api/v1/invitations", {"to": b.handle})
    assert r.status_code == 201, r.text
    return str(r.json()["invitation"]["id"])


async def centre(api: Api, who: Member, **params: Any) -> dict[str, Any]:
    r = await api.get(who, "/api/v1/notifications", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_notifications_are_listed_newest_first_with_an_unread_count_and_pages(api: Api) -> None:
    bob = await api.register("bob")
    senders = [await api.register(f"sender{i}") for i in range(5)]
    for s in senders:
        await invite(api, s, bob)
    page = await centre(api, bob, limit=2)
    assert page["unread_count"] == 5
    assert [n["actor"]["handle"] for n in page["notifications"]] == ["sender4", "sender3"]
    assert all(n["kind"] == "invitation_received" and n["read_at"] is None for n in page["notifications"])
    assert set(page["notifications"][0]) == {
        "id",
        "kind",
        "actor",
        "subject_id",
        "conversation_id",
        "created_at",
        "read_at",
    }
    handles = [n["actor"]["handle"] for n in page["notifications"]]
    while page["next_cursor"]:
        page = await centre(api, bob, limit=2, cursor=page["next_cursor"])
        handles += [n["actor"]["handle"] for n in page["notifications"]]
    assert handles == ["sender4", "sender3", "sender2", "sender1", "sender0"]


async def test_reading_one_and_reading_all(api: Api) -> None:
    bob = await api.register("bob")
    for handle in ("carol", "dave", "erin"):
        await invite(api, await api.register(handle), bob)
    first = (await centre(api, bob))["notifications"][0]
    r = await api.post(bob, f"/api/v1/notifications/{first['id']}/read")
    assert r.status_code == 204
    page = await centre(api, bob)
    assert page["unread_count"] == 2
    assert page["notifications"][0]["read_at"] is not None
    r = await api.post(bob, "/api/v1/notifications/read-all")
    assert r.status_code == 204
    assert (await centre(api, bob))["unread_count"] == 0
    reads = [e for e in await api.events(bob) if e["type"] == "notification.read"]
    assert [e["unread_count"] for e in reads] == [2, 0]


async def test_a_new_notification_is_announced_live(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await invite(api, alice, bob)
    news = [e for e in await api.events(bob) if e["type"] == "notification.new"]
    assert len(news) == 1
    assert news[0]["notification"]["kind"] == "invitation_received"
    assert news[0]["notification"]["actor"]["handle"] == "alice"
    assert not [e for e in await api.events(alice) if e["type"] == "notification.new"]


async def test_someone_elses_notification_is_not_found(api: Api) -> None:
    alice, bob, eve = await api.register("alice"), await api.register("bob"), await api.register("eve")
    await invite(api, alice, bob)
    theirs = (await centre(api, bob))["notifications"][0]["id"]
    for path in (f"/api/v1/notifications/{theirs}/read", "/api/v1/notifications/99999/read"):
        r = await api.post(eve, path)
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "notification_not_found"
    r = await api.post(eve, "/api/v1/notifications/abc/read")
    assert r.status_code == 404
    assert (await centre(api, bob))["unread_count"] == 1
    assert (await centre(api, eve))["notifications"] == []


async def test_bad_paging_is_a_4xx(api: Api) -> None:
    bob = await api.register("bob")
    for params in ({"limit": 0}, {"limit": 1000}, {"cursor": "nope"}, {"cursor": "-1"}):
        r = await api.get(bob, "/api/v1/notifications", params=params)
        assert r.status_code == 422, (params, r.text)


async def test_a_profile_view_notifies_only_when_both_share_receipts(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    r = await api.get(alice, f"/api/v1/members/{bob.handle}")
    assert r.status_code == 200
    await api.get(alice, f"/api/v1/members/{bob.handle}")  # one unread view per visitor is enough
    kinds = [(n["kind"], n["actor"]["handle"]) for n in (await centre(api, bob))["notifications"]]
    assert kinds == [("profile_view", "alice")]
    await api.get(bob, f"/api/v1/members/{bob.handle}")  # one's own profile: nothing
    assert (await centre(api, bob))["unread_count"] == 1

    carol = await api.register("carol")
    r = await api.patch(carol, "/api/v1/me/settings", {"read_receipts_and_typing": False})
    assert r.status_code == 200, r.text
    await api.get(carol, f"/api/v1/members/{bob.handle}")  # carol's switch is off: she stays unseen
    await api.get(bob, f"/api/v1/members/{carol.handle}")  # and she does not see bob's view either
    assert [n["actor"]["handle"] for n in (await centre(api, bob))["notifications"]] == ["alice"]
    assert (await centre(api, carol))["notifications"] == []


async def test_a_lookup_while_composing_is_not_a_profile_view(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    r = await api.get(alice, f"/api/v1/members/{bob.handle}", params={"view": "false"})
    assert r.status_code == 200, r.text
    assert r.json()["member"]["handle"] == "bob"
    assert (await centre(api, bob))["unread_count"] == 0
    await api.get(alice, f"/api/v1/members/{bob.handle}")
    assert (await centre(api, bob))["unread_count"] == 1


async def test_a_blocked_actor_disappears_from_the_centre(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await invite(api, alice, bob)
    r = await api.post(bob, "/api/v1/blocks", {"handle": alice.handle})
    assert r.status_code in (200, 201, 204), r.text
    assert (await centre(api, bob))["notifications"] == []


# --- preferences ------------------------------------------------------------------------


async def test_preferences_default_to_everything_but_sponsored_email(api: Api) -> None:
    bob = await api.register("bob")
    r = await api.get(bob, "/api/v1/me/notification-preferences")
    assert r.status_code == 200
    body = r.json()
    assert body["email_previews"] is True
    assert set(body["preferences"]) == {"message", "inmail", "invitation", "group", "mention", "sponsored"}
    off = [(k, c) for k, chans in body["preferences"].items() for c, on in chans.items() if not on]
    assert off == [("sponsored", "email")]


async def test_preferences_change_in_part_and_stay_changed(api: Api) -> None:
    bob = await api.register("bob")
    r = await api.patch(bob, "/api/v1/me/notification-preferences", {"preferences": {"message": {"email": False}}})
    assert r.status_code == 200, r.text
    r = await api.patch(bob, "/api/v1/me/notification-preferences", {"email_previews": False})
    body = (await api.get(bob, "/api/v1/me/notification-preferences")).json()
    assert body["preferences"]["message"] == {"in_app": True, "email": False, "push": True}
    assert body["email_previews"] is False
    other = (await api.get(await api.register("carol"), "/api/v1/me/notification-preferences")).json()
    assert other["preferences"]["message"]["email"] is True


async def test_an_unknown_kind_or_channel_is_refused_and_nothing_is_stored(api: Api) -> None:
    bob = await api.register("bob")
    for change, code in (
        ({"message": {"email": False}, "sms": {"push": False}}, "unknown_notification_kind"),
        ({"message": {"email": False, "pager": True}}, "unknown_notification_channel"),
    ):
        r = await api.patch(bob, "/api/v1/me/notification-preferences", {"preferences": change})
        assert r.status_code == 422
        assert r.json()["error"]["code"] == code
    for bad in ({"preferences": {"message": {"email": "no"}}}, {"email_previews": "yes"}, {"preferences": []}):
        r = await api.patch(bob, "/api/v1/me/notification-preferences", bad)
        assert r.status_code == 422, bad
    body = (await api.get(bob, "/api/v1/me/notification-preferences")).json()
    assert body["preferences"]["message"]["email"] is True


async def test_in_app_off_keeps_a_kind_out_of_the_centre(api: Api) -> None:
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.patch(bob, "/api/v1/me/notification-preferences", {"preferences": {"invitation": {"in_app": False}}})
    await invite(api, alice, bob)
    assert (await centre(api, bob))["notifications"] == []


# --- push subscriptions -----------------------------------------------------------------


async def test_the_vapid_key_is_an_uncompressed_p256_point(api: Api) -> None:
    bob = await api.register("bob")
    r = await api.get(bob, "/api/v1/push/vapid-key")
    assert r.status_code == 200
    key = r.json()["key"]
    raw = unb64url(key)
    assert len(raw) == 65 and raw[0] == 4
    assert (await api.get(bob, "/api/v1/push/vapid-key")).json()["key"] == key


async def test_push_endpoints_must_be_public_https(api: Api) -> None:
    """SSRF: the server would POST to whatever URL it is given."""
    bob = await api.register("bob")
    keys = BrowserKeys()
    for endpoint in (
        "http://push.example.com/x",  # not https
        "https://127.0.0.1/x",  # loopback
        "https://10.1.2.3/x",  # private
        "https://169.254.169.254/latest/meta-data",  # link-local (cloud metadata)
        "https://[::1]/x",
        "https://localhost/x",
        "https://user:pw@push.example.com/x",
        "ftp://push.example.com/x",
        "not a url",
        "https:///nohost",
    ):
        r = await api.post(bob, "/api/v1/push/subscriptions", keys.subscription(endpoint))
        assert r.status_code == 422, (endpoint, r.text)
        assert r.json()["error"]["code"] == "invalid_push_endpoint", endpoint
    assert (await api.get(bob, "/api/v1/push/subscriptions")).json() == {"subscriptions": []}


async def test_malformed_subscription_keys_are_refused(api: Api) -> None:
    bob = await api.register("bob")
    good = BrowserKeys()
    public, auth = b64url(good.public), b64url(good.auth)
    for keys in (
        {"p256dh": "***", "auth": auth},
        {"p256dh": public[:-4], "auth": auth},
        {"p256dh": b64url(b"\x04" + b"\x01" * 64), "auth": auth},  # not on the curve
        {"p256dh": public, "auth": b64url(b"short")},
        {"p256dh": public, "auth": "!!"},
        {"p256dh": public},
    ):
        r = await api.post(bob, "/api/v1/push/subscriptions", {"endpoint": "https://push.example.com/x", "keys": keys})
        assert r.status_code == 422, (keys, r.text)
    r = await api.post(bob, "/api/v1/push/subscriptions", {"keys": {"p256dh": public, "auth": auth}})
    assert r.status_code == 422
    assert (await api.get(bob, "/api/v1/push/subscriptions")).json() == {"subscriptions": []}


async def test_subscriptions_are_ones_own(api: Api) -> None:
    bob, eve = await api.register("bob"), await api.register("eve")
    api.ctx.settings = api.ctx.settings.with_(push_allow_insecure=True)  # a loopback push service, as in tests
    r = await api.post(bob, "/api/v1/push/subscriptions", BrowserKeys().subscription("http://127.0.0.1:9/push/1"))
    assert r.status_code == 201, r.text
    sub = r.json()["subscription"]
    assert set(sub) == {"id", "endpoint", "created_at"}
    assert [s["id"] for s in (await api.get(bob, "/api/v1/push/subscriptions")).json()["subscriptions"]] == [sub["id"]]
    assert (await api.get(eve, "/api/v1/push/subscriptions")).json()["subscriptions"] == []
    r = await api.delete(eve, f"/api/v1/push/subscriptions/{sub['id']}")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "push_subscription_not_found"
    assert (await api.delete(bob, f"/api/v1/push/subscriptions/{sub['id']}")).status_code == 204
    assert (await api.get(bob, "/api/v1/push/subscriptions")).json()["subscriptions"] == []


async def test_the_service_worker_is_served_from_the_root(api: Api) -> None:
    r = await api.client.get("/sw.js")
    assert r.status_code == 200
    assert "javascript" in r.headers["content-type"]
    assert "showNotification" in r.text
