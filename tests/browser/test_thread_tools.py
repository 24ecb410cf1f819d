"""The thread's tools: links, folding, the counter, reactions, the conversation menu, the keyboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Network, Open, composer

pytestmark = pytest.mark.browser


def test_links_are_safe_long_messages_fold_and_the_counter_warns(net: Network, open_app: Open) -> None:
    ava, ben = net.member("Ava Morgan"), net.member("Ben Ortiz")  # no headlines: nothing says "null"
    net.connect(ava, ben)
    long_text = "Agenda:\n" + "\n".join(f"{i}. A point worth discussing at length" for i in range(1, 40))
    conversation = net.start(ben, ava, "Slides: https://example.com/deck?v=2. Not this: javascript:alert(1)")
    net.send(ben, conversation, long_text)
    page = open_app(ava, f"#/c/{conversation}")

    link = page.get_by_role("link", name="https://example.com/deck?v=2")
    expect(link).to_have_attribute("href", "https://example.com/deck?v=2")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    expect(link).to_have_attribute("target", "_blank")
    expect(page.get_by_role("link", name="javascript:alert(1)")).to_have_count(0)
    expect(page.locator(".thread-head")).not_to_contain_text("null")
    expect(page.locator(".thread-intro")).not_to_contain_text("null")

    more = page.get_by_role("button", name="See more")
    expect(more).to_have_attribute("aria-expanded", "false")
    more.click()
    expect(page.get_by_role("button", name="See less")).to_have_attribute("aria-expanded", "true")

    counter = page.get_by_test_id("char-count")
    expect(counter).to_be_hidden()
    composer(page).fill("x" * 7_900)
    expect(counter).to_have_text("100 characters left")


def test_reactions_are_live_for_everyone_with_who_reacted(net: Network, open_app: Open) -> None:
    ava, ben = net.member("Ava Morgan"), net.member("Ben Ortiz")
    net.connect(ava, ben)
    conversation = net.start(ben, ava, "We shipped the release!")
    page_a = open_app(ava, f"#/c/{conversation}")
    page_b = open_app(ben, f"#/c/{conversation}")

    message = page_a.get_by_test_id("message").filter(has_text="We shipped")
    message.hover()
    message.get_by_role("button", name="React").click()
    page_a.get_by_role("button", name="React with 🎉").click()

    chip = page_b.get_by_test_id("reaction")
    expect(chip).to_have_attribute("data-emoji", "🎉")
    expect(chip).to_contain_text("1")
    expect(chip).to_have_attribute("title", "Ava Morgan reacted with 🎉")
    chip.click()  # Ben joins in from the chip
    expect(page_a.get_by_test_id("reaction")).to_contain_text("2")
    expect(page_a.get_by_test_id("reaction")).to_have_attribute("title", "You, Ben Ortiz reacted with 🎉")

    stored = net.call("GET", f"/api/v1/conversations/{conversation}/messages", ava)["messages"][0]["reactions"]
    assert stored == [{"emoji": "🎉", "count": 2, "members": [ava.handle, ben.handle]}]

    page_a.get_by_test_id("reaction").click()  # and takes it back
    expect(page_b.get_by_test_id("reaction")).to_contain_text("1")


def test_the_conversation_menu_mutes_archives_deletes_and_blocks(net: Network, open_app: Open) -> None:
    ava, ben, cy = net.member("Ava Morgan"), net.member("Ben Ortiz"), net.member("Cy Hale")
    net.connect(ava, ben)
    net.connect(ava, cy)
    with_ben = net.start(ben, ava, "Hello from Ben")
    with_cy = net.start(cy, ava, "Hello from Cy")
    page = open_app(ava, f"#/c/{with_ben}")

    def choose(item: str) -> None:
        page.get_by_role("button", name="Conversation actions").click()
        page.get_by_role("menuitem", name=item).click()

    choose("Mute conversation")
    expect(page.get_by_role("status").filter(has_text="Conversation muted")).to_be_visible()
    assert net.call("GET", f"/api/v1/conversations/{with_ben}", ava)["conversation"]["muted"] is True
    # The menu by keyboard: open with ArrowDown, move, Escape returns to the button.
    menu_button = page.get_by_role("button", name="Conversation actions")
    menu_button.focus()
    menu_button.press("ArrowDown")
    expect(page.get_by_role("menuitem", name="Unmute conversation")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("menuitem", name="Archive conversation")).to_be_focused()
    page.keyboard.press("Escape")
    expect(menu_button).to_be_focused()

    choose("Archive conversation")
    expect(page.get_by_test_id("conversation").filter(has_text="Ben Ortiz")).to_have_count(0)
    assert net.call("GET", f"/api/v1/conversations/{with_ben}", ava)["conversation"]["archived"] is True

    page.goto(f"/#/c/{with_cy}")
    choose("Mark as unread")
    expect(page).to_have_url(re.compile("#/inbox$"))  # marking unread leaves the thread
    with_cy_item = page.get_by_test_id("conversation").filter(has_text="Cy Hale")
    expect(with_cy_item.get_by_test_id("unread-badge")).to_be_visible()

    page.goto(f"/#/c/{with_cy}")
    choose("Block Cy Hale")
    page.get_by_role("dialog", name="Block Cy Hale?").get_by_role("button", name="Block").click()
    expect(page.get_by_role("status").filter(has_text="You blocked Cy Hale")).to_be_visible()
    assert [m["handle"] for m in net.call("GET", "/api/v1/blocks", ava)["blocked"]] == [cy.handle]
    page.get_by_role("button", name="Conversation actions").click()
    expect(page.get_by_role("menuitem", name="Unblock Cy Hale")).to_be_visible()
    page.keyboard.press("Escape")

    choose("Delete conversation for me")
    dialog = page.get_by_role("dialog", name="Delete this conversation?")
    dialog.get_by_role("button", name="Delete for me").click()
    expect(page.get_by_test_id("conversation").filter(has_text="Cy Hale")).to_have_count(0)
    ids = [c["id"] for c in net.call("GET", "/api/v1/conversations", ava)["conversations"]]
    assert with_cy not in ids


def test_arrow_keys_move_through_messages_and_tools_are_one_tab_stop(net: Network, open_app: Open) -> None:
    ava, ben = net.member("Ava Morgan"), net.member("Ben Ortiz")
    net.connect(ava, ben)
    conversation = net.start(ben, ava, "First")
    net.send(ava, conversation, "Second")
    net.send(ben, conversation, "Third")
    page = open_app(ava, f"#/c/{conversation}")
    rows = page.get_by_test_id("message")
    expect(rows).to_have_count(3)
    third = rows.filter(has_text="Third")
    expect(third).to_have_attribute("tabindex", "0")
    expect(rows.filter(has_text="First")).to_have_attribute("tabindex", "-1")
    third.focus()
    page.keyboard.press("ArrowUp")
    second = rows.filter(has_text="Second")
    expect(second).to_be_focused()
    # Tab enters the message's toolbar at one button; arrows move inside it.
    page.keyboard.press("Tab")
    expect(second.get_by_role("button", name="React")).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(second.get_by_role("button", name="Edit message")).to_be_focused()
    page.keyboard.press("Tab")
    expect(rows.filter(has_text="Third").get_by_role("button", name="React")).to_be_focused()


def test_focus_lands_in_the_inbox_after_signing_in(net: Network, open_app: Open) -> None:
    ava, ben = net.member("Ava Morgan"), net.member("Ben Ortiz")
    net.connect(ava, ben)
    net.start(ben, ava, "Welcome aboard")
    page = open_app(None, "#/login")
    page.get_by_label("Email or handle").fill(ava.handle)
    page.get_by_label("Password").fill("correct horse")
    page.get_by_role("button", name="Sign in").click()
    first = page.get_by_test_id("conversation").filter(has_text="Welcome aboard").get_by_role("link")
    expect(first).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("textbox", name="Write a message")).to_be_focused()


def test_a_live_reload_of_the_inbox_keeps_the_keyboard_on_its_conversation(net: Network, open_app: Open) -> None:
    ava, ben, cy = net.member("Ava Morgan"), net.member("Ben Ortiz"), net.member("Cy Hale")
    net.connect(ava, ben)
    net.connect(ava, cy)
    first = net.start(ben, ava, "Welcome aboard")
    from_cy = net.start(cy, ava, "Hello from Cy")
    page = open_app(ava, "#/inbox")
    link = page.get_by_test_id("conversation").filter(has_text="Welcome aboard").get_by_role("link")
    link.focus()
    expect(link).to_be_focused()
    net.send(cy, from_cy, "Still there?")  # the inbox reloads live, Cy's thread moves up
    expect(page.get_by_test_id("conversation").filter(has_text="Still there?")).to_be_visible()
    expect(page.get_by_test_id("conversation").filter(has_text="Welcome aboard").get_by_role("link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(f"#/c/{first}$"))
