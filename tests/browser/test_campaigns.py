"""Sponsored messages in the web client: the advertiser console (draft with preview, audience
size, launch, live progress, funnel, leads and their CSV) and the recipient's message (label,
banner, buttons, the lead form pre-filled and editable, no composer)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.api.live_server import LiveServer, run_server
from tests.browser.conftest import Network, Open, Person
from tests.conftest import ADMIN, make_settings

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of this module's own whose job runner runs, as in production: it delivers campaigns."""
    settings = make_settings(Path(tmp_path_factory.mktemp("campaigns")), jobs_enabled=True, jobs_poll_seconds=0.2)
    with run_server(settings) as server:
        yield server


def advertiser(net: Network, name: str) -> Person:
    person = net.member(name)
    r = net.http.put(
        f"/api/v1/admin/members/{person.handle}/advertiser",
        json={"advertiser": True},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert r.status_code == 200, r.text
    return person


def in_industry(net: Network, name: str, industry: str, **profile: str) -> Person:
    person = net.member(name)
    net.call("PATCH", "/api/v1/me", person, {"industry": industry, **profile})
    return person


def banner_file(tmp_path: Path) -> Path:
    path = tmp_path / "banner.png"
    out = io.BytesIO()
    Image.new("RGB", (600, 200), "teal").save(out, "PNG")
    path.write_bytes(out.getvalue())
    return path


def test_an_advertiser_builds_launches_and_follows_a_campaign(net: Network, open_app: Open, tmp_path: Path) -> None:
    industry = f"Aerospace {net.run}"  # this test's audience alone, on the shared server
    acme = advertiser(net, "Acme Rockets")
    reader = in_industry(net, "Rita Reader", industry, location="Lisbon")
    opted_out = in_industry(net, "Oscar Optout", industry)
    net.settings(opted_out, sponsored_messages=False)
    in_industry(net, "Bea Banker", f"Banking {net.run}")

    page = open_app(acme, "#/inbox")
    page.get_by_role("link", name="Campaigns").click()
    expect(page.get_by_role("heading", name="Campaigns", level=1)).to_be_visible()
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Campaign name (only you see it)").fill("Launch week")
    page.get_by_label("Subject (at most 60 characters)").fill("Fly with us")
    page.get_by_label("Message (at most 1,500 characters)").fill("Our engineers build rockets. Join them.")
    page.get_by_label("Banner image (optional)").set_input_files(str(banner_file(tmp_path)))
    expect(page.get_by_text("Banner: banner.png")).to_be_visible()
    page.get_by_label("Button 1 label").fill("See jobs")
    page.get_by_label("Button 1 link (https)").fill("https://rockets.example/jobs")
    page.get_by_role("group", name="Profile fields").get_by_label("Email").check()
    page.get_by_role("group", name="Profile fields").get_by_label("Location").check()
    page.get_by_label("Your questions").fill("What would you like to build?")
    page.get_by_label("Industries (comma separated)").fill(industry.lower())
    # the preview shows the message as a member will see it
    preview = page.get_by_role("complementary", name="Preview")
    expect(preview.get_by_test_id("sponsored-label")).to_have_text("Sponsored")
    expect(preview.get_by_role("button", name="See jobs")).to_be_visible()
    expect(preview.get_by_text("Fly with us")).to_be_visible()
    expect(preview.get_by_role("img", name="Banner from Acme Rockets")).to_be_visible()
    expect(preview.get_by_label("What would you like to build?")).to_be_visible()
    page.get_by_role("button", name="Save draft").click()

    expect(page.get_by_role("heading", name="Launch week", level=1)).to_be_visible()
    expect(page.get_by_test_id("campaign-state")).to_have_text("draft")
    expect(page.get_by_test_id("campaign-audience")).to_have_text("2")
    page.get_by_role("button", name="Launch").click()
    page.get_by_role("dialog").get_by_role("button", name="Launch").click()
    expect(page.get_by_test_id("campaign-progress")).to_have_text("Sent: 1 delivered, 1 skipped.")
    expect(page.get_by_test_id("campaign-state")).to_have_text("sent")
    expect(page.get_by_role("button", name="Launch")).to_be_hidden()

    # the recipient's side
    member = open_app(reader, "#/inbox")
    member.get_by_test_id("conversation").filter(has_text="Acme Rockets").first.click()
    card = member.get_by_test_id("sponsored-card")
    expect(card.get_by_test_id("sponsored-label")).to_have_text("Sponsored")
    expect(member.get_by_test_id("message").get_by_text("Our engineers build rockets. Join them.")).to_be_visible()
    banner = card.get_by_role("img", name="Banner from Acme Rockets")
    expect(banner).to_be_visible()
    assert member.evaluate("(img) => img.naturalWidth", banner.element_handle()) == 600
    expect(member.get_by_role("textbox", name="Write a message")).to_be_hidden()
    expect(member.get_by_text("Sponsored messages cannot be answered.")).to_be_visible()
    email = card.get_by_label("Email")
    expect(email).to_have_value(f"{reader.handle}@example.com")
    expect(card.get_by_label("Location")).to_have_value("Lisbon")
    email.fill("rita@work.example")  # the member may change a pre-filled field
    card.get_by_role("button", name="Send my details").click()
    expect(card.get_by_role("alert")).to_have_text("What would you like to build? is needed.")
    card.get_by_label("What would you like to build?").fill("Landers")
    card.get_by_role("button", name="Send my details").click()
    expect(card.get_by_test_id("lead-thanks")).to_have_text("Thanks — Acme Rockets has your details.")
    with member.expect_popup() as popup:
        card.get_by_role("button", name="See jobs").click()
    popup.value.close()
    expect(card.get_by_role("link", name="https://rockets.example/jobs")).to_be_visible()

    # back in the console: the funnel and the leads
    page.reload()
    funnel = page.get_by_role("img", name=re.compile("Funnel"))
    expect(funnel).to_have_accessible_name(re.compile("1 sent, 1 opened, 1 clicked, 1 leads"))
    table = page.get_by_test_id("leads-table")
    expect(table.get_by_role("row")).to_have_count(2)
    expect(table.get_by_role("row").last).to_contain_text("rita@work.example")
    expect(table.get_by_role("row").last).to_contain_text("Landers")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download leads (CSV)").click()
    text = Path(download.value.path()).read_text()
    lines = text.strip().splitlines()
    assert lines[0] == "handle,location,email,q1,submitted_at"
    assert lines[1].startswith(f"{reader.handle},Lisbon,rita@work.example,Landers,")
    assert not page.js_errors and not member.js_errors


def test_a_member_who_is_no_advertiser_sees_no_console(net: Network, open_app: Open) -> None:
    someone = net.member("Nora Nobody")
    page = open_app(someone, "#/inbox")
    expect(page.get_by_role("link", name="Messaging", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Campaigns")).to_be_hidden()
    page.goto("/#/campaigns")
    expect(page.get_by_text("Campaigns are for advertiser accounts.")).to_be_visible()


def test_a_member_says_not_interested(net: Network, open_app: Open) -> None:
    industry = f"Shipping {net.run}"
    acme = advertiser(net, "Acme Boats")
    sailor = in_industry(net, "Sam Sailor", industry)
    campaign = net.call(
        "POST",
        "/api/v1/campaigns",
        acme,
        {
            "name": "Boats",
            "subject": "Sail away",
            "body": "Boats for everyone.",
            "buttons": [{"label": "Browse", "url": "https://boats.example"}],
            "audience": {"industries": [industry]},
        },
        status=201,
    )["campaign"]
    net.call("POST", f"/api/v1/campaigns/{campaign['id']}/launch", acme, status=202)
    page = open_app(sailor, "#/inbox")
    page.get_by_test_id("conversation").filter(has_text="Acme Boats").first.click()
    card = page.get_by_test_id("sponsored-card")
    card.get_by_role("button", name="Not interested").click()
    expect(card.get_by_text("You said you are not interested. This conversation is archived.")).to_be_visible()
    found: Any = net.call("GET", "/api/v1/conversations?filter=sponsored", sailor)
    assert found["conversations"] == []
