"""The Insights page: the member's figures, the weekly chart and its table, follow-ups."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.api.live_server import LiveServer, run_server
from tests.browser.conftest import Network, Open
from tests.conftest import make_settings

pytestmark = pytest.mark.browser
FOLLOW_UP_AFTER = 1


@pytest.fixture(scope="module")
def browser_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of this module's own, with RAPPORT_FOLLOW_UP_AFTER at one second."""
    settings = make_settings(Path(tmp_path_factory.mktemp("insights")), follow_up_after_seconds=FOLLOW_UP_AFTER)
    with run_server(settings) as server:
        yield server


def test_insights_count_only_visible_reads_and_list_follow_ups(net: Network, open_app: Open) -> None:
    alice = net.member("Alice Okafor")
    bob = net.member("Bob Lindqvist")
    carol = net.member("Carol Mendes")
    net.connect(alice, bob)
    net.connect(alice, carol)
    to_bob = net.start(alice, bob, "Could we talk about the roadmap?")
    to_carol = net.start(alice, carol, "Are you hiring this quarter?")
    last_to_bob = net.call("GET", f"/api/v1/conversations/{to_bob}/messages", bob)["messages"][0]["id"]
    net.call("POST", f"/api/v1/conversations/{to_bob}/read", bob, {"message_id": last_to_bob}, status=204)
    # Carol reads with her switch off: that read must never count, even once she turns it back on.
    net.settings(carol, read_receipts_and_typing=False)
    last_to_carol = net.call("GET", f"/api/v1/conversations/{to_carol}/messages", carol)["messages"][0]["id"]
    net.call("POST", f"/api/v1/conversations/{to_carol}/read", carol, {"message_id": last_to_carol}, status=204)
    net.settings(carol, read_receipts_and_typing=True)
    time.sleep(FOLLOW_UP_AFTER + 0.2)

    page = open_app(alice, "#/inbox")
    page.get_by_role("link", name="Insights").click()
    expect(page.get_by_role("heading", name="Insights", level=1)).to_be_visible()
    expect(page.get_by_test_id("insight-sent")).to_have_text("2")
    expect(page.get_by_test_id("insight-started")).to_have_text("2")
    expect(page.get_by_test_id("insight-read-rate")).to_have_text("50%")
    expect(page.get_by_test_id("insight-reply-rate")).to_have_text("0%")
    chart = page.get_by_role("img", name=re.compile("Messages sent, read and replied to, per week"))
    expect(chart).to_be_visible()
    expect(page.locator("[data-testid=insight-chart] rect")).to_have_count(12 * 3)
    page.get_by_text("Show the numbers as a table").click()
    table = page.get_by_test_id("insight-table")
    expect(table.get_by_role("row")).to_have_count(1 + 12)
    expect(table.get_by_role("row").last).to_contain_text("2")

    follow_ups = page.get_by_test_id("follow-ups")
    expect(follow_ups.locator(".follow-up")).to_have_count(2)
    expect(follow_ups).to_contain_text("Follow up")
    expect(follow_ups).to_contain_text("add something of value")
    page.get_by_role("button", name="Dismiss follow-up with Bob Lindqvist").click()
    expect(follow_ups.locator(".follow-up")).to_have_count(1)
    expect(follow_ups).not_to_contain_text("Bob Lindqvist")
    assert [f["member"]["handle"] for f in net.call("GET", "/api/v1/me/follow-ups", alice)["follow_ups"]] == [
        carol.handle
    ]

    # Bob sees only his own figures: nothing sent, nothing to follow up.
    other = open_app(bob, "#/insights")
    expect(other.get_by_test_id("insight-sent")).to_have_text("0")
    expect(other.get_by_test_id("insight-read-rate")).to_have_text("—")
    expect(other.get_by_test_id("follow-ups")).to_contain_text("Nothing to follow up on")

    page.get_by_role("link", name="Follow up with Carol Mendes").click()
    expect(page).to_have_url(re.compile(rf"#/c/{to_carol}$"))
    expect(page.get_by_test_id("message").get_by_text("Are you hiring this quarter?")).to_be_visible()


def test_the_period_changes_the_number_of_weeks(net: Network, open_app: Open) -> None:
    dana = net.member("Dana Whitfield")
    page = open_app(dana, "#/insights")
    expect(page.locator("[data-testid=insight-chart] rect")).to_have_count(12 * 3)
    page.get_by_label("Period of the weekly chart").select_option("4")
    expect(page.locator("[data-testid=insight-chart] rect")).to_have_count(4 * 3)
