"""Settings: editing one's profile and picture, and unblocking; what others see follows."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import Network, Open

pytestmark = pytest.mark.browser


def test_a_member_edits_their_profile_and_picture_and_others_see_it(net: Network, open_app: Open) -> None:
    ava, ben = net.member("Ava Morgan"), net.member("Ben Ortiz")
    net.connect(ava, ben)
    conversation = net.start(ben, ava, "Hello Ava")
    page = open_app(ava, "#/settings")

    page.get_by_label("Headline").fill("Head of Talent at Lumen Labs")
    page.get_by_label("Industry").fill("Recruiting")
    page.get_by_label("Location").fill("Lisbon")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("status").filter(has_text="Profile saved.").first).to_be_visible()
    member = net.call("GET", f"/api/v1/members/{ava.handle}", ben)["member"]
    assert (member["headline"], member["industry"], member["location"]) == (
        "Head of Talent at Lumen Labs",
        "Recruiting",
        "Lisbon",
    )

    picture = io.BytesIO()
    Image.new("RGB", (400, 200), (10, 102, 194)).save(picture, "PNG")
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Upload picture").click()
    chooser.value.set_files({"name": "me.png", "mimeType": "image/png", "buffer": picture.getvalue()})
    expect(page.get_by_text("Picture updated.")).to_be_visible()
    url = net.call("GET", "/api/v1/me", ava)["member"]["avatar_url"]
    assert url.startswith("/avatars/img/")
    expect(page.get_by_role("img", name="Your profile picture")).to_have_attribute("src", url)
    expect(page.get_by_role("button", name="Remove picture")).to_be_visible()

    # Ben's thread header shows the new headline (never "null") and the picture.
    page_b = open_app(ben, f"#/c/{conversation}")
    expect(page_b.locator(".thread-sub")).to_have_text("Head of Talent at Lumen Labs")
    expect(page_b.locator(".thread-head img.avatar")).to_have_attribute("src", url)


def test_blocked_members_are_listed_in_settings_and_can_be_unblocked(net: Network, open_app: Open) -> None:
    ava, cy = net.member("Ava Morgan"), net.member("Cy Hale")
    net.call("POST", "/api/v1/blocks", ava, {"handle": cy.handle}, status=201)
    page = open_app(ava, "#/settings")
    blocked = page.get_by_test_id("blocked-member")
    expect(blocked).to_have_text("Cy HaleUnblock")
    page.get_by_role("button", name="Unblock Cy Hale").click()
    expect(page.get_by_text("You have not blocked anyone.")).to_be_visible()
    assert net.call("GET", "/api/v1/blocks", ava)["blocked"] == []
