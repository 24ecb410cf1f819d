"""Searching messages from the inbox: highlighted snippets inserted safely, keyboard, opening a hit."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Network, Open

pytestmark = pytest.mark.browser


def test_a_search_result_opens_the_thread_at_that_message_highlighted(net: Network, open_app: Open) -> None:
    ava, ben, cy = net.member("Ava Morgan"), net.member("Ben Ortiz"), net.member("Cy Hale")
    outsider = net.member("Dee Quist")
    net.connect(ava, ben)
    net.connect(ben, outsider)
    conversation = net.start(ben, ava, "The quarterly <b>forecast</b> is attached")
    for i in range(40):  # push the match off the first page of history
        net.send(ben if i % 2 else ava, conversation, f"Filler message {i}")
    net.start(outsider, ben, "A secret forecast Ava must never see")
    page = open_app(ava)

    box = page.get_by_role("searchbox", name="Search messages")
    box.fill("forecast")
    hit = page.get_by_test_id("search-message")
    expect(hit).to_have_count(1)
    mark = hit.locator("mark")
    expect(mark).to_have_text("forecast")
    # The body's own "<b>" is text, never markup; nothing but <mark> survives in a snippet.
    expect(hit).to_contain_text("<b>")
    expect(hit.locator("b")).to_have_count(0)
    expect(page.get_by_text("A secret forecast")).to_have_count(0)

    box.press("ArrowDown")
    expect(hit).to_be_focused()
    page.keyboard.press("Enter")
    target = page.get_by_test_id("message").filter(has_text="The quarterly <b>forecast</b> is attached")
    expect(target).to_be_focused()
    expect(target).to_have_class("msg msg-theirs is-highlighted")
    expect(target).to_be_in_viewport()

    # People by handle (or name); Escape clears the box.
    box.fill(cy.handle)
    expect(page.get_by_test_id("search-person").filter(has_text=f"@{cy.handle}")).to_contain_text("Cy Hale")
    box.press("Escape")
    expect(box).to_have_value("")
    expect(page.get_by_test_id("conversation")).to_have_count(1)
