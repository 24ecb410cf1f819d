"""The new-message dialog: who may be messaged is the server's answer, explained clearly."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Network, Open

pytestmark = pytest.mark.browser


def start_compose(page: object, to: str, body: str) -> object:
    page.get_by_role("button", name="New message").first.click()  # type: ignore[attr-defined]
    dialog = page.get_by_role("dialog", name="New message")  # type: ignore[attr-defined]
    dialog.get_by_label("To", exact=True).fill(to)
    dialog.get_by_label("Message").fill(body)
    dialog.get_by_role("button", name="Send", exact=True).click()
    return dialog


def test_a_connection_is_messaged_from_the_dialog_by_keyboard(net: Network, open_app: Open) -> None:
    ava = net.member("Ava Morgan")
    ben = net.member("Ben Ortiz", "Staff Engineer at Northwind")
    net.connect(ava, ben)
    page = open_app(ava)
    page.get_by_role("button", name="New message").first.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="New message")
    expect(dialog.get_by_label("To", exact=True)).to_be_focused()
    page.keyboard.type(ben.handle)
    page.keyboard.press("Enter")
    expect(dialog.get_by_test_id("recipient")).to_have_text("Ben Ortiz")
    expect(dialog.get_by_test_id("compose-recipient")).to_contain_text("Staff Engineer at Northwind")
    page.keyboard.press("Tab")
    page.keyboard.type("Hello from the keyboard")
    page.keyboard.press("Control+Enter")
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("message").filter(has_text="Hello from the keyboard")).to_be_visible()
    expect(page.locator(".thread-title")).to_have_text("Ben Ortiz")


def test_an_unconnected_or_blocked_recipient_is_explained_and_an_invitation_offered(
    net: Network, open_app: Open
) -> None:
    ava = net.member("Ava Morgan")
    dan = net.member("Dan Fischer", "VP Sales at Contoso")
    eve = net.member("Eve Laurent")
    net.call("POST", "/api/v1/blocks", eve, {"handle": ava.handle}, status=201)
    page = open_app(ava)

    dialog = start_compose(page, dan.handle, "Hello Dan, I enjoyed your talk.")
    problem = dialog.get_by_test_id("compose-problem")
    expect(problem).to_contain_text("You are not connected with Dan Fischer")
    expect(problem.get_by_test_id("server-message")).to_have_text(
        "You are not connected. Send an invitation to connect first."
    )
    expect(problem).to_contain_text("Premium members can also send an InMail.")
    problem.get_by_role("button", name="Invite Dan Fischer to connect").click()
    expect(problem).to_contain_text("Invitation sent")
    sent = net.call("GET", "/api/v1/invitations?direction=sent", ava)["invitations"]
    assert [(i["to"], i["note"]) for i in sent] == [(dan.handle, "Hello Dan, I enjoyed your talk.")]

    dialog.get_by_role("button", name="Remove Dan Fischer").click()
    dialog.get_by_label("To", exact=True).fill(eve.handle)
    expect(problem).to_be_hidden()
    dialog.get_by_role("button", name="Send", exact=True).click()
    expect(problem.get_by_test_id("server-message")).to_have_text("You cannot message this member.")
    expect(problem).to_contain_text("You can\u2019t message")
    expect(problem.get_by_role("button")).to_have_count(0)  # nothing to offer across a block


def test_a_premium_member_may_send_an_inmail_with_a_subject(net: Network, open_app: Open) -> None:
    pia = net.member("Pia Schultz", "Talent Partner at Globex", premium=True)
    tom = net.member("Tom Becker", "Data Scientist")
    credits = net.call("GET", "/api/v1/me", pia)["inmail_credits"]
    assert credits > 0
    page = open_app(pia)

    dialog = start_compose(page, tom.handle, "Your work on forecasting caught my eye.")
    problem = dialog.get_by_test_id("compose-problem")
    expect(problem).to_contain_text("You are not connected with Tom Becker")
    problem.get_by_role("button", name=f"Send an InMail ({credits} InMail credit").click()
    expect(dialog.get_by_test_id("inmail-credits")).to_contain_text(f"{credits} InMail credit")
    dialog.get_by_label("Subject").fill("A data science role at Globex")
    dialog.get_by_role("button", name="Send InMail").click()

    expect(dialog).to_be_hidden()
    expect(page.locator(".thread-sub")).to_have_text("InMail · A data science role at Globex")
    expect(page.locator("#toast")).to_contain_text(f"{credits - 1} InMail credit")
    assert net.call("GET", "/api/v1/me", pia)["inmail_credits"] == credits - 1
    conversations = net.call("GET", "/api/v1/conversations?filter=inmail", tom)["conversations"]
    assert [c["subject"] for c in conversations] == ["A data science role at Globex"]


def test_several_recipients_by_name_or_handle_with_each_refusal_at_its_chip(net: Network, open_app: Open) -> None:
    ava = net.member("Ava Morgan")
    alan = net.member("Alan Backus", "Compiler Engineer")
    ben = net.member("Ben Ortiz")
    stranger = net.member("Sam Stranger")
    net.connect(ava, alan)
    net.connect(ava, ben)
    page = open_app(ava)
    page.get_by_role("button", name="New message").first.click()
    dialog = page.get_by_role("dialog", name="New message")
    to = dialog.get_by_role("combobox", name="To")

    to.fill("Alan Backus")  # by name: the suggestion is picked with Enter
    expect(dialog.get_by_role("option").filter(has_text="Alan Backus")).to_be_visible()
    to.press("Enter")
    to.fill(ben.handle)  # by handle
    to.press("Enter")
    to.fill(stranger.handle)
    to.press("Enter")
    chips = dialog.get_by_test_id("recipient")
    expect(chips).to_have_count(3)
    refused = chips.filter(has_text="Sam Stranger")
    expect(refused.get_by_test_id("recipient-problem")).to_contain_text("Not connected with Sam Stranger")
    expect(chips.get_by_test_id("recipient-problem")).to_have_count(1)
    expect(dialog).not_to_contain_text("inmail")

    dialog.get_by_label("Message").fill("Kick-off on Monday, all three of us?")
    dialog.get_by_role("button", name="Send", exact=True).click()
    expect(dialog.get_by_test_id("compose-problem")).to_contain_text("Remove the people marked below")
    expect(dialog.get_by_label("Message")).to_have_value("Kick-off on Monday, all three of us?")  # the draft stays
    refused.get_by_role("button", name="Remove Sam Stranger").click()
    dialog.get_by_role("button", name="Send", exact=True).click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("message").filter(has_text="Kick-off on Monday")).to_be_visible()

    started = net.call("GET", "/api/v1/conversations", ava)["conversations"][0]
    assert started["kind"] == "multi"
    assert sorted(p["handle"] for p in started["participants"]) == sorted([ava.handle, alan.handle, ben.handle])
