"""The notification bell, its list, the preferences grid and "Turn on push", in Chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.api.live_server import LiveServer, run_server
from tests.browser.conftest import Network, Open
from tests.conftest import make_settings
from tests.notify_servers import BrowserKeys, b64url

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """This module's own server: it accepts a loopback push endpoint, as a test push service needs."""
    settings = make_settings(tmp_path_factory.mktemp("browser-notify"), push_allow_insecure=True)
    with run_server(settings) as server:
        yield server


def test_the_bell_counts_lists_and_leads_to_the_thing(net: Network, open_app: Open) -> None:
    bob, alice, carol = net.member("Bob Lane"), net.member("Alice Park"), net.member("Carol Diaz")
    net.call("POST", "/api/v1/invitations", alice, {"to": bob.handle}, status=201)
    page = open_app(bob)
    bell = page.get_by_role("button", name="Notifications, 1 unread")
    expect(bell).to_be_visible()
    net.call("POST", "/api/v1/invitations", carol, {"to": bob.handle}, status=201)
    expect(page.get_by_role("button", name="Notifications, 2 unread")).to_be_visible()  # live
    page.get_by_role("button", name=re.compile(r"^Notifications")).click()
    panel = page.get_by_role("region", name="Notifications")
    expect(panel.get_by_role("button", name=re.compile("Carol Diaz invited you to connect"))).to_be_visible()
    items = panel.get_by_role("listitem")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("Carol Diaz")  # newest first
    with page.expect_response(lambda r: r.url.endswith("/read")):
        panel.get_by_role("button", name=re.compile("Carol Diaz invited you")).click()
    expect(page).to_have_url(re.compile(r"#/invitations$"))
    expect(page.get_by_role("button", name="Notifications, 1 unread")).to_be_visible()
    page.get_by_role("button", name="Notifications, 1 unread").click()
    with page.expect_response(lambda r: r.url.endswith("/read-all")):
        page.get_by_role("button", name="Mark all as read").click()
    expect(page.get_by_role("button", name="Notifications", exact=True)).to_be_visible()
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    assert net.call("GET", "/api/v1/notifications", bob)["unread_count"] == 0


def test_a_mention_opens_its_conversation(net: Network, open_app: Open) -> None:
    bob, alice, dan = net.member("Bob Stone"), net.member("Alice Wu"), net.member("Dan Ray")
    net.connect(alice, bob)
    net.connect(alice, dan)
    started = net.call(
        "POST", "/api/v1/conversations", alice, {"to": [bob.handle, dan.handle], "body": "kick-off"}, status=201
    )
    conversation = str(started["conversation"]["id"])
    page = open_app(bob, "#/settings")
    net.send(alice, conversation, f"@{bob.handle} can you take this one?")
    page.get_by_role("button", name=re.compile(r"^Notifications, \d+ unread")).click()
    page.get_by_role("button", name=re.compile("Alice Wu mentioned you")).click()
    expect(page).to_have_url(re.compile(rf"#/c/{conversation}$"))


def test_preferences_grid_saves_each_kind_and_channel(net: Network, open_app: Open) -> None:
    ann = net.member("Ann Field")
    page = open_app(ann, "#/settings")
    email = page.get_by_role("checkbox", name="Messages by e-mail", exact=True)
    expect(email).to_be_checked()
    expect(page.get_by_role("checkbox", name="Sponsored messages by e-mail")).not_to_be_checked()
    expect(page.get_by_role("checkbox", name="Mentions by push")).to_be_checked()
    with page.expect_response(lambda r: r.url.endswith("/me/notification-preferences") and r.request.method == "PATCH"):
        email.uncheck()
    with page.expect_response(lambda r: r.url.endswith("/me/notification-preferences") and r.request.method == "PATCH"):
        page.get_by_role("switch", name="Message text in e-mails and pushes").uncheck()
    saved = net.call("GET", "/api/v1/me/notification-preferences", ann)
    assert saved["preferences"]["message"]["email"] is False
    assert saved["preferences"]["message"]["push"] is True
    assert saved["email_previews"] is False
    page.reload()
    expect(page.get_by_role("checkbox", name="Messages by e-mail", exact=True)).not_to_be_checked()
    expect(page.get_by_role("switch", name="Message text in e-mails and pushes")).not_to_be_checked()


def test_turn_on_push_registers_the_service_worker_and_posts_the_subscription(net: Network, open_app: Open) -> None:
    """Permission is asked only on the click. Headless Chromium has no push service to
    subscribe with, so this test stands in for that one browser call (pushManager.subscribe)
    with a subscription whose keys the test made, to a loopback endpoint; everything else —
    the service worker from /sw.js, the permission, the VAPID key, the POST — is real."""
    eve = net.member("Eve Hart")
    keys = BrowserKeys()
    endpoint = "http://127.0.0.1:9/push/eve"
    page = open_app(eve, "#/settings")
    page.context.grant_permissions(["notifications"])
    page.evaluate(
        """([endpoint, p256dh, auth]) => {
            PushManager.prototype.subscribe = async function (options) {
                window.__vapidKeyLength = options.applicationServerKey.byteLength;
                return { endpoint, toJSON: () => ({ endpoint, keys: { p256dh, auth } }) };
            };
        }""",
        [endpoint, b64url(keys.public), b64url(keys.auth)],
    )
    button = page.get_by_role("button", name="Turn on push")
    expect(button).to_be_visible()
    with page.expect_response(lambda r: r.url.endswith("/push/subscriptions") and r.request.method == "POST") as r:
        button.click()
    assert r.value.status == 201
    expect(page.get_by_text("Push is on for this browser.")).to_be_visible()
    assert page.evaluate("() => window.__vapidKeyLength") == 65
    scope = page.evaluate("async () => (await navigator.serviceWorker.getRegistration('/')).scope")
    assert scope.rstrip("/") == net.server.http_url.rstrip("/")
    subscriptions = net.call("GET", "/api/v1/push/subscriptions", eve)["subscriptions"]
    assert [s["endpoint"] for s in subscriptions] == [endpoint]
