"""The Groups page and a group chat's participants panel, in Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Network, Open, Person, composer

pytestmark = pytest.mark.browser


def open_group(net: Network, admin: Person, name: str, *members: Person) -> str:
    group = net.call("POST", "/api/v1/groups", admin, {"name": name, "visibility": "open"}, status=201)["group"]["id"]
    for m in members:
        net.call("POST", f"/api/v1/groups/{group}/join", m)
    return str(group)


def test_request_approval_members_and_a_group_chat(net: Network, open_app: Open) -> None:
    ana = net.member("Ana Ruiz")
    ben = net.member("Ben Okoye")
    page_a = open_app(ana, "#/groups")
    expect(page_a.get_by_test_id("group-quota")).to_have_text("15 of 15 group messages left this month")
    name = f"Design Guild {ana.handle}"
    page_a.get_by_label("Group name").fill(name)
    page_a.get_by_label("Description (optional)").fill("Typography and grids")
    page_a.get_by_role("button", name="Create group").click()
    expect(page_a.get_by_role("heading", name=name, level=1)).to_be_visible()
    expect(page_a.get_by_text("Requests to join · You are an admin")).to_be_visible()

    page_b = open_app(ben, "#/groups")
    page_b.get_by_label("Find groups").fill(ana.handle)
    page_b.get_by_role("button", name="Search").click()
    results = page_b.get_by_test_id("group-results")
    expect(results.get_by_test_id("group")).to_have_count(1)
    results.get_by_role("button", name=f"Request to join {name}").click()
    expect(results.get_by_role("button", name=f"Withdraw request to join {name}")).to_be_visible()
    expect(page_b.get_by_test_id("my-groups").get_by_test_id("group")).to_have_count(1)

    # Ana's open group page learns of the request when she reloads it; she approves Ben.
    page_a.reload()
    requests = page_a.get_by_test_id("group-requests")
    requests.get_by_role("button", name="Approve Ben Okoye").click()
    members = page_a.get_by_test_id("group-members")
    expect(members.get_by_test_id("group-member")).to_have_count(2)
    expect(members.get_by_test_id("group-member").filter(has_text="Ben Okoye")).to_contain_text(f"@{ben.handle}")

    # Ben is a member now, and sees the members too; a stranger sees no one.
    page_b.goto(f"/#/groups/{page_a.url.rsplit('/', 1)[-1]}")
    expect(page_b.get_by_test_id("group-members").get_by_test_id("group-member")).to_have_count(2)
    expect(page_b.get_by_role("button", name="Leave group")).to_be_visible()

    # Ana starts a group chat with Ben from the group's page.
    page_a.get_by_role("checkbox", name="Include Ben Okoye").check()
    page_a.get_by_label("First message").fill("Welcome to the guild chat")
    page_a.get_by_role("button", name="Start group chat").click()
    expect(page_a).to_have_url(re.compile(r"#/c/\d+$"))
    expect(page_a.get_by_test_id("message").filter(has_text="Welcome to the guild chat")).to_be_visible()
    expect(page_a.get_by_role("button", name="Participants")).to_be_visible()


def test_participants_panel_title_mentions_and_removal(net: Network, open_app: Open) -> None:
    ana = net.member("Ana Ruiz")
    ben = net.member("Ben Okoye")
    cara = net.member("Cara Lind")
    group = open_group(net, ana, f"Guild {ana.handle}", ben, cara)
    started = net.call(
        "POST", "/api/v1/conversations", ana, {"to": [ben.handle], "body": "Kick-off", "group_id": group}, status=201
    )
    cid = started["conversation"]["id"]
    page_a = open_app(ana, f"#/c/{cid}")
    page_b = open_app(ben, f"#/c/{cid}")
    expect(page_b.get_by_test_id("message").filter(has_text="Kick-off")).to_be_visible()

    page_a.get_by_role("button", name="Participants").click()
    panel = page_a.get_by_role("dialog", name="Participants")
    expect(panel.get_by_test_id("participants").locator("li")).to_have_count(2)
    panel.get_by_label("Conversation name").fill("Launch crew")
    panel.get_by_role("button", name="Rename").click()
    expect(page_a.locator(".thread-title")).to_have_text("Launch crew")
    expect(page_b.locator(".thread-title")).to_have_text("Launch crew")  # live, for everyone in it

    # Adding someone who is not in the group adds no one; a group member is added.
    panel.get_by_label("Add people").fill(f"{cara.handle}, nobody-{ana.handle}")
    panel.get_by_role("button", name="Add").click()
    expect(panel.get_by_test_id("participants-problem")).to_be_visible()
    expect(panel.get_by_test_id("participants").locator("li")).to_have_count(2)
    panel.get_by_label("Add people").fill(cara.handle)
    panel.get_by_role("button", name="Add").click()
    expect(panel.get_by_test_id("participants").locator("li")).to_have_count(3)
    page_a.keyboard.press("Escape")
    expect(page_a.get_by_test_id("system-line").filter(has_text="Ana Ruiz added Cara Lind.")).to_be_visible()
    expect(page_b.get_by_test_id("system-line").filter(has_text="Ana Ruiz added Cara Lind.")).to_be_visible()

    # Cara joined late and still sees the history.
    page_c = open_app(cara, f"#/c/{cid}")
    expect(page_c.get_by_test_id("message").filter(has_text="Kick-off")).to_be_visible()

    # @ autocompletes participants; the mention is highlighted.
    composer(page_a).press_sequentially("Thanks @Ca")
    option = page_a.get_by_role("option", name=re.compile("Cara Lind"))
    expect(option).to_be_visible()
    composer(page_a).press("Enter")
    expect(composer(page_a)).to_have_value(f"Thanks @{cara.handle} ")
    composer(page_a).press_sequentially("for joining")
    composer(page_a).press("Enter")
    sent = page_c.get_by_test_id("message").filter(has_text="for joining")
    expect(sent.get_by_test_id("mention")).to_have_text(f"@{cara.handle}")

    # Ana removes Ben: Ben's open thread closes, and he is told.
    page_a.get_by_role("button", name="Participants").click()
    panel.get_by_role("button", name="Remove Ben Okoye").click()
    expect(panel.get_by_test_id("participants").locator("li")).to_have_count(2)
    expect(page_b).to_have_url(re.compile(r"#/inbox$"))
    expect(page_b.get_by_test_id("conversation").filter(has_text="Launch crew")).to_have_count(0)

    # Cara leaves by herself.
    page_c.get_by_role("button", name="Participants").click()
    page_c.get_by_role("dialog", name="Participants").get_by_role("button", name="Leave conversation").click()
    expect(page_c).to_have_url(re.compile(r"#/inbox$"))
    expect(page_a.get_by_test_id("system-line").filter(has_text="Cara Lind left.")).to_be_visible()


def test_compose_to_a_fellow_group_member_says_how_many_group_messages_are_left(net: Network, open_app: Open) -> None:
    ana = net.member("Ana Ruiz")
    cleo = net.member("Cleo Marsh")
    dev = net.member("Dev Patel")
    open_group(net, ana, f"Quota Guild {ana.handle}", cleo, dev)
    page = open_app(cleo)
    page.get_by_role("button", name="New message").first.click()
    dialog = page.get_by_role("dialog", name="New message")
    to = dialog.get_by_role("combobox", name="To")
    to.fill(dev.handle)
    to.press("Enter")
    quota = dialog.get_by_test_id("compose-group-quota")
    expect(quota).to_have_text("15 of 15 group messages left this month")
    dialog.get_by_label("Message").fill("Hello from the guild")
    dialog.get_by_role("button", name="Send", exact=True).click()
    expect(dialog).to_be_hidden()

    # A second new conversation with another member of the group: one of the month's 15 is spent.
    page.get_by_role("button", name="New message").first.click()
    dialog = page.get_by_role("dialog", name="New message")
    to = dialog.get_by_role("combobox", name="To")
    to.fill(ana.handle)
    to.press("Enter")
    expect(dialog.get_by_test_id("compose-group-quota")).to_have_text("14 of 15 group messages left this month")
    # Removing the recipient hides the hint: it applies only to a new group-member conversation.
    dialog.get_by_role("button", name="Remove Ana Ruiz").click()
    expect(dialog.get_by_test_id("compose-group-quota")).to_be_hidden()
