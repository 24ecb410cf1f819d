"""Signing up and in, settings, invitations, and the phone layout."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, Network, Open

pytestmark = pytest.mark.browser


def test_sign_up_sign_out_and_sign_in(net: Network, open_app: Open) -> None:
    handle = f"nora{net.run}"
    page = open_app(None, "#/signup")
    expect(page.get_by_role("heading", name="Join your professional network")).to_be_visible()
    page.get_by_label("Full name").fill("Nora Quinn")
    page.get_by_label("Handle").fill(handle)
    page.get_by_label("Email").fill(f"{handle}@example.com")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Messaging")).to_be_visible()
    expect(page.get_by_text("No conversations yet.")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Welcome back")).to_be_visible()
    page.get_by_label("Email or handle").fill(handle)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).not_to_be_empty()
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Messaging")).to_be_visible()
    expect(page.get_by_role("banner")).to_contain_text("Nora Quinn")


def test_settings_switches_are_saved(net: Network, open_app: Open) -> None:
    free = net.member("Ava Morgan")
    premium = net.member("Pia Schultz", premium=True)
    page = open_app(free, "#/settings")
    receipts = page.get_by_role("switch", name="Read receipts and typing indicators")
    open_profile = page.get_by_role("switch", name="Open Profile")
    groups = page.get_by_role("switch", name="Messages from group members")
    expect(receipts).to_be_checked()
    expect(open_profile).to_be_disabled()  # premium only
    expect(groups).to_be_checked()
    groups.focus()
    with page.expect_response(lambda r: r.url.endswith("/me/settings")):
        page.keyboard.press("Space")
    expect(groups).not_to_be_checked()
    assert net.call("GET", "/api/v1/me", free)["settings"]["messages_from_group_members"] is False
    page.reload()
    expect(page.get_by_role("switch", name="Messages from group members")).not_to_be_checked()

    page = open_app(premium, "#/settings")
    open_profile = page.get_by_role("switch", name="Open Profile")
    expect(open_profile).to_be_enabled()
    with page.expect_response(lambda r: r.url.endswith("/me/settings")):
        open_profile.click()
    expect(open_profile).to_be_checked()
    assert net.call("GET", "/api/v1/me", premium)["settings"]["open_profile"] is True


def test_invitations_are_accepted_declined_and_withdrawn(net: Network, open_app: Open) -> None:
    ava = net.member("Ava Morgan")
    ben = net.member("Ben Ortiz", "Staff Engineer at Northwind")
    cleo = net.member("Cleo Park")
    dan = net.member("Dan Fischer")
    net.call("POST", "/api/v1/invitations", ben, {"to": ava.handle, "note": "We met at PyCon"}, status=201)
    page = open_app(ava, "#/invitations")
    expect(page.get_by_test_id("invitation-badge")).to_have_text("1")
    received = page.get_by_test_id("invitations")
    expect(received).to_contain_text("We met at PyCon")

    # A new invitation arrives live.
    net.call("POST", "/api/v1/invitations", cleo, {"to": ava.handle}, status=201)
    expect(page.get_by_role("button", name="Decline invitation from Cleo Park")).to_be_visible()
    expect(page.get_by_test_id("invitation-badge")).to_have_text("2")
    page.get_by_role("button", name="Decline invitation from Cleo Park").click()
    page.get_by_role("button", name="Accept invitation from Ben Ortiz").click()
    expect(received.get_by_role("button", name="Message")).to_be_visible()
    expect(page.get_by_test_id("invitation-badge")).to_be_hidden()
    assert [m["handle"] for m in net.call("GET", "/api/v1/connections", ava)["connections"]] == [ben.handle]

    page.get_by_label("Handle").fill(dan.handle)
    page.get_by_role("button", name="Send invitation").click()
    page.get_by_role("button", name="Sent", exact=True).click()
    page.get_by_role("button", name="Withdraw invitation to Dan Fischer").click()
    expect(received).to_contain_text("withdrawn")
    assert net.call("GET", "/api/v1/invitations?direction=received", dan)["invitations"] == []


def test_phone_width_shows_the_list_and_the_thread_as_separate_panes(net: Network, open_app: Open) -> None:
    ava = net.member("Ava Morgan")
    ben = net.member("Ben Ortiz")
    net.connect(ava, ben)
    conversation = net.start(
        ben, ava, "Are you around this afternoon? I would love to walk you through the roadmap before Friday"
    )
    page = open_app(ava, viewport=PHONE)
    inbox = page.get_by_role("region", name="Messaging")
    item = page.get_by_test_id("conversation").filter(has_text="this afternoon")
    expect(item).to_be_visible()
    expect(page.get_by_role("region", name="Conversation")).to_be_hidden()
    # Nothing is cut off at phone width, long previews included.
    for element in (
        item.locator("time"),
        item.get_by_test_id("unread-badge"),
        page.get_by_role("button", name="New message"),
    ):
        expect(element).to_be_in_viewport(ratio=0.99)
    # The thread is not on screen, so the message is not read.
    assert net.call("GET", f"/api/v1/conversations/{conversation}", ava)["conversation"]["unread_count"] == 1

    item.click()
    expect(page.get_by_test_id("message").filter(has_text="this afternoon")).to_be_visible()
    expect(inbox).to_be_hidden()
    expect(item.get_by_test_id("unread-badge")).to_have_count(0)
    expect(page.get_by_role("button", name="Send")).to_be_in_viewport(ratio=0.99)
    page.get_by_role("link", name="Back to conversations").click()
    expect(inbox).to_be_visible()
    expect(page.get_by_role("region", name="Conversation")).to_be_hidden()


def test_inbox_filters_archive_and_mark_unread(net: Network, open_app: Open) -> None:
    ava = net.member("Ava Morgan")
    ben = net.member("Ben Ortiz")
    cleo = net.member("Cleo Park")
    net.connect(ava, ben)
    net.connect(ava, cleo)
    with_ben = net.start(ben, ava, "Quarterly numbers are in")
    net.start(ava, cleo, "Lunch on Friday?")
    page = open_app(ava)
    items = page.get_by_test_id("conversation")
    expect(items).to_have_text([re.compile("Cleo Park"), re.compile("Ben Ortiz")])  # newest first

    page.get_by_role("button", name="Unread", exact=True).click()
    expect(items).to_have_text([re.compile("Quarterly numbers")])
    page.get_by_role("button", name="All", exact=True).click()
    items.filter(has_text="Quarterly numbers").click()
    expect(page.get_by_test_id("message")).to_have_count(1)
    page.get_by_role("button", name="Conversation actions").click()
    page.get_by_role("menuitem", name="Archive conversation").click()
    expect(items).to_have_text([re.compile("Cleo Park")])
    page.get_by_role("button", name="Archived", exact=True).click()
    expect(items).to_have_text([re.compile("Ben Ortiz")])
    assert net.call("GET", f"/api/v1/conversations/{with_ben}", ava)["conversation"]["archived"] is True

    page.get_by_role("button", name="All", exact=True).click()
    items.filter(has_text="Cleo Park").click()
    page.get_by_role("button", name="Conversation actions").click()
    page.get_by_role("menuitem", name="Mark as unread").click()
    expect(items.filter(has_text="Cleo Park").get_by_test_id("unread-badge")).to_have_text("1")
