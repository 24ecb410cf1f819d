"""Two members in two browsers: live messages, receipts, typing, the privacy switch, reconnects."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Network, Open, barrier, composer, sync_socket

pytestmark = pytest.mark.browser


def is_read_report(response: Any) -> bool:
    return response.request.method == "POST" and response.url.endswith("/read")


def test_a_message_arrives_live_is_read_and_shows_typing(net: Network, open_app: Open) -> None:
    ava = net.member("Ava Morgan", "Head of Talent at Lumen Labs")
    ben = net.member("Ben Ortiz", "Staff Engineer at Northwind")
    net.connect(ava, ben)
    conversation = net.start(ben, ava, "Hi Ava, thanks for connecting!")
    page_a = open_app(ava, f"#/c/{conversation}")
    page_b = open_app(ben)

    composer(page_a).fill("Great to meet you, Ben. Coffee on Tuesday?")
    composer(page_a).press("Enter")

    # Ben's inbox updates without a reload, with an unread badge; receiving is not reading.
    item = page_b.get_by_test_id("conversation").filter(has_text="Coffee on Tuesday?")
    expect(item).to_have_count(1)
    expect(item.get_by_test_id("unread-badge")).to_have_text("1")
    receipt = page_a.get_by_test_id("receipt")
    expect(receipt).to_have_attribute("data-status", "delivered")
    expect(receipt).to_have_text("Delivered")
    expect(page_a.get_by_test_id("reader-avatar")).to_have_count(0)

    # Ben opens the thread: Ava sees "Read" with the time and Ben's avatar.
    item.click()
    expect(page_b.get_by_test_id("message").filter(has_text="Coffee on Tuesday?")).to_be_visible()
    expect(receipt).to_have_attribute("data-status", "read")
    expect(receipt).to_contain_text("Read ")
    expect(page_a.get_by_role("img", name="Read by Ben Ortiz")).to_be_visible()
    expect(item.get_by_test_id("unread-badge")).to_have_count(0)

    # Ben types: Ava sees it; when Ben sends, the indicator goes away and the message comes.
    composer(page_b).press_sequentially("Tuesday works")
    typing = page_a.get_by_test_id("typing")
    expect(typing).to_have_text("Ben Ortiz is typing…")
    composer(page_b).press("Enter")
    expect(page_a.get_by_test_id("message").filter(has_text="Tuesday works")).to_be_visible()
    expect(typing).to_have_text("")


@pytest.mark.parametrize("switched_off_by", ["reader", "sender"])
def test_the_privacy_switch_hides_receipts_and_typing_both_ways(
    net: Network, open_app: Open, switched_off_by: str
) -> None:
    ava = net.member("Ava Morgan", "Head of Talent at Lumen Labs")
    ben = net.member("Ben Ortiz", "Staff Engineer at Northwind")
    cleo = net.member("Cleo Park", "Recruiter")
    net.connect(ava, ben)
    net.connect(ava, cleo)
    net.connect(ben, cleo)
    conversation = net.start(ava, ben, "Morning Ben, a quick question about the roadmap")
    if switched_off_by == "sender":
        net.settings(ava, read_receipts_and_typing=False)
    page_a = open_app(ava, f"#/c/{conversation}")
    page_b = open_app(ben, "#/settings" if switched_off_by == "reader" else "#/inbox")

    if switched_off_by == "reader":
        switch = page_b.get_by_role("switch", name="Read receipts and typing indicators")
        expect(switch).to_be_checked()
        with page_b.expect_response(lambda r: r.url.endswith("/me/settings")):
            switch.click()
        expect(switch).not_to_be_checked()
        page_b.get_by_role("link", name="Messaging").first.click()

    # Ben opens the thread (a read is recorded, but must not be shared) and both type.
    with page_b.expect_response(is_read_report):
        page_b.get_by_test_id("conversation").filter(has_text="roadmap").click()
    composer(page_a).press_sequentially("Also, one more")
    composer(page_b).press_sequentially("Sure, ask away")
    sync_socket(page_a)
    sync_socket(page_b)
    # The side whose own switch is on still reports typing: the other side's server-side switch must hide it.
    on, off = (page_b, page_a) if switched_off_by == "sender" else (page_a, page_b)
    assert any('"typing":true' in f for f in on.frames_sent)
    assert not any('"typing"' in f for f in off.frames_sent)

    # Barriers: anything the server would have sent about those reads and typing is in by now.
    barrier(net, page_a, ava, cleo, "Barrier for Ava")
    barrier(net, page_b, ben, cleo, "Barrier for Ben")
    assert page_a.get_by_test_id("typing").inner_text() == ""
    assert page_b.get_by_test_id("typing").inner_text() == ""
    assert page_a.get_by_test_id("reader-avatar").count() == 0
    assert page_a.get_by_test_id("receipt").get_attribute("data-status") in ("sent", "delivered")

    # And the server's stored view agrees after a reload.
    page_a.reload()
    expect(page_a.get_by_test_id("message").filter(has_text="roadmap")).to_be_visible()
    assert page_a.get_by_test_id("receipt").get_attribute("data-status") in ("sent", "delivered")
    assert page_a.get_by_test_id("reader-avatar").count() == 0


def test_reads_are_reported_only_while_the_page_is_visible(net: Network, open_app: Open) -> None:
    ava = net.member("Ava Morgan")
    ben = net.member("Ben Ortiz")
    cleo = net.member("Cleo Park")
    net.connect(ava, ben)
    net.connect(ava, cleo)
    conversation = net.start(ben, ava, "Did you see the proposal?")
    page_a = open_app(ava, f"#/c/{conversation}")
    expect(page_a.get_by_test_id("message")).to_have_count(1)
    page_b = open_app(ben, f"#/c/{conversation}")
    page_a.evaluate(
        "() => { Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});"
        " document.dispatchEvent(new Event('visibilitychange')); }"
    )
    net.send(ben, conversation, "It is in the shared folder")
    expect(page_a.get_by_test_id("message").filter(has_text="shared folder")).to_be_visible()
    expect(page_b.get_by_test_id("receipt")).to_have_attribute("data-status", "delivered")
    barrier(net, page_a, ava, cleo, "Barrier for Ava")
    newest = page_b.get_by_test_id("message").filter(has_text="shared folder")
    expect(newest.get_by_test_id("receipt")).to_have_attribute("data-status", "delivered")
    assert newest.get_by_test_id("reader-avatar").count() == 0  # the first message was read, this one not yet

    # Visible again: now the newest message displayed is reported, and Ben sees it read.
    with page_a.expect_response(is_read_report) as report:
        page_a.evaluate(
            "() => { delete document.visibilityState; document.dispatchEvent(new Event('visibilitychange')); }"
        )
    assert report.value.request.post_data_json["message_id"] == page_a.evaluate(
        "() => String(Math.max(...[...window.rapport.thread.messages.keys()].map(Number)))"
    )
    expect(newest.get_by_test_id("receipt")).to_have_attribute("data-status", "read")
    expect(newest.get_by_role("img", name="Read by Ava Morgan")).to_be_visible()


def test_a_dropped_connection_reconnects_and_catches_up(net: Network, open_app: Open) -> None:
    ava = net.member("Ava Morgan")
    ben = net.member("Ben Ortiz")
    net.connect(ava, ben)
    conversation = net.start(ava, ben, "Are we still on for Friday?")
    page_a = open_app(ava, f"#/c/{conversation}")
    page_b = open_app(ben)  # on the inbox: Ben receives, but does not read
    before = page_b.evaluate("() => window.rapport.live.lastSeq")

    page_b.context.set_offline(True)
    page_b.evaluate("() => window.rapport.live.drop()")
    expect(page_b.locator("#conn-status")).to_contain_text("Reconnecting")
    net.send(ava, conversation, "Moved to 3 pm")
    net.send(ava, conversation, "Room 4B")
    page_b.context.set_offline(False)

    expect(page_b.locator("#conn-status")).to_be_hidden()
    # "Delivered" comes only from Ben's acknowledgement of the events replayed since his last seq.
    expect(page_a.get_by_test_id("receipt")).to_have_attribute("data-status", "delivered")
    item = page_b.get_by_test_id("conversation").filter(has_text="Room 4B")
    expect(item.get_by_test_id("unread-badge")).to_have_text("3")
    assert page_b.evaluate("() => window.rapport.live.lastSeq") > before
    item.click()
    for text in ("Are we still on", "Moved to 3 pm", "Room 4B"):
        expect(page_b.get_by_test_id("message").filter(has_text=text)).to_have_count(1)
    expect(page_a.get_by_test_id("receipt")).to_have_attribute("data-status", "read")


def test_history_loads_older_pages_when_scrolled_up(net: Network, open_app: Open) -> None:
    ava = net.member("Ava Morgan")
    ben = net.member("Ben Ortiz")
    net.connect(ava, ben)
    conversation = net.start(ava, ben, "Message 1")
    for n in range(2, 46):
        net.send(ava if n % 3 else ben, conversation, f"Message {n}")
    page = open_app(ava, f"#/c/{conversation}")
    expect(page.get_by_test_id("message").filter(has_text="Message 45")).to_be_visible()
    expect(page.get_by_test_id("message")).to_have_count(30)
    page.locator(".msg-scroll").evaluate("el => { el.scrollTop = 0; }")
    expect(page.get_by_test_id("message")).to_have_count(45)
    expect(page.get_by_text("This is the start of your conversation.")).to_be_attached()
    expect(page.get_by_test_id("message").first).to_contain_text("Message 1")


def test_my_messages_can_be_edited_and_deleted_and_others_see_it_live(net: Network, open_app: Open) -> None:
    ava = net.member("Ava Morgan")
    ben = net.member("Ben Ortiz")
    net.connect(ava, ben)
    conversation = net.start(ava, ben, "The review is on Tuesdy")
    net.send(ava, conversation, "Wrong thread, sorry")
    page_a = open_app(ava, f"#/c/{conversation}")
    page_b = open_app(ben, f"#/c/{conversation}")
    typo = page_a.get_by_test_id("message").filter(has_text="Tuesdy")
    typo.hover()
    typo.get_by_role("button", name="Edit message").click()
    editor = page_a.get_by_role("textbox", name="Edit message")
    expect(editor).to_be_focused()
    editor.fill("The review is on Tuesday")
    editor.press("Enter")
    expect(typo).to_have_count(0)
    edited = page_b.get_by_test_id("message").filter(has_text="The review is on Tuesday")
    expect(edited).to_contain_text("(edited)")

    wrong = page_a.get_by_test_id("message").filter(has_text="Wrong thread")
    wrong.hover()
    wrong.get_by_role("button", name="Delete message").click()
    page_a.get_by_role("dialog", name="Delete this message?").get_by_role("button", name="Delete").click()
    expect(page_b.get_by_test_id("message").filter(has_text="This message was deleted.")).to_have_count(1)
    expect(page_b.get_by_test_id("message").filter(has_text="Wrong thread")).to_have_count(0)
