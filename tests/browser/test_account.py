"""Settings, "Account and data", and "Report conversation" in the thread's menu (issue 12),
driven in Chromium as a member would."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import Network, Open
from tests.conftest import ADMIN


def login_status(net: Network, handle: str, password: str) -> int:
    r = net.http.post("/api/v1/auth/login", json={"login": handle, "password": password})
    return r.status_code


def toast(page: Any, text: str) -> None:
    expect(page.get_by_role("status").filter(has_text=text)).to_be_visible()


def test_change_password(net: Network, open_app: Open) -> None:
    ava = net.member("Ava Morgan")
    page = open_app(ava, "#/settings")
    form = page.get_by_role("form", name="Change password")
    form.get_by_label("Current password").fill("not my password")
    form.get_by_label("New password", exact=True).fill("battery staple")
    form.get_by_label("Repeat the new password").fill("battery staple")
    form.get_by_role("button", name="Change password").click()
    expect(form.get_by_role("alert")).to_have_text("That is not your current password.")
    form.get_by_label("Current password").fill("correct horse")
    form.get_by_label("Repeat the new password").fill("battery stable")
    form.get_by_role("button", name="Change password").click()
    expect(form.get_by_role("alert")).to_have_text("The two new passwords are not the same.")
    form.get_by_label("Repeat the new password").fill("battery staple")
    form.get_by_role("button", name="Change password").click()
    toast(page, "Password changed")
    assert login_status(net, ava.handle, "correct horse") == 401
    assert login_status(net, ava.handle, "battery staple") == 200
    assert net.call("GET", "/api/v1/me", ava)["member"]["handle"] == ava.handle  # this session stays


def test_sign_out_everywhere_signs_out_the_other_device_too(net: Network, open_app: Open) -> None:
    ava = net.member("Ava Morgan")
    laptop = open_app(ava, "#/settings")
    phone = open_app(ava, "#/inbox")
    laptop.get_by_role("button", name="Sign out everywhere").click()
    laptop.get_by_role("dialog", name="Sign out everywhere?").get_by_role("button", name="Sign out everywhere").click()
    expect(laptop.get_by_role("button", name="Sign in")).to_be_visible()
    # The other device's socket is closed by the server: it signs out without a reload.
    expect(phone.get_by_role("button", name="Sign in")).to_be_visible()
    assert net.http.get("/api/v1/me", headers=ava.auth).status_code == 401


def test_download_my_data(net: Network, open_app: Open) -> None:
    ava, ben = net.member("Ava Morgan"), net.member("Ben Ortiz")
    net.connect(ava, ben)
    conversation = net.start(ava, ben, "Notes for the export")
    page = open_app(ava, "#/settings")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download my data").click()
    path = download.value.path()
    assert download.value.suggested_filename == f"rapport-{ava.handle}.zip"
    archive = zipfile.ZipFile(io.BytesIO(Path(path).read_bytes()))
    assert json.loads(archive.read("profile.json"))["member"]["handle"] == ava.handle
    thread = json.loads(archive.read(f"conversations/{conversation}.json"))
    assert [m["body"] for m in thread["messages"]] == ["Notes for the export"]
    expect(page.get_by_text("Your data was downloaded.")).to_be_visible()


def test_delete_account_asks_for_the_password(net: Network, open_app: Open) -> None:
    ava, ben = net.member("Ava Morgan"), net.member("Ben Ortiz")
    net.connect(ava, ben)
    conversation = net.start(ava, ben, "Goodbye, Ben")
    page = open_app(ava, "#/settings")
    page.get_by_role("button", name="Delete account").click()
    dialog = page.get_by_role("dialog", name="Delete your account?")
    dialog.get_by_label("Your password").fill("wrong horse")
    dialog.get_by_role("button", name="Delete my account").click()
    expect(dialog.get_by_role("alert")).to_have_text("That password is not right.")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    assert net.call("GET", "/api/v1/me", ava)["member"]["handle"] == ava.handle
    page.get_by_role("button", name="Delete account").click()
    dialog = page.get_by_role("dialog", name="Delete your account?")
    dialog.get_by_label("Your password").fill("correct horse")
    dialog.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert login_status(net, ava.handle, "correct horse") == 401
    # Ben still has the message, from "Deleted member".
    ben_page = open_app(ben, f"#/c/{conversation}")
    expect(ben_page.get_by_test_id("message").filter(has_text="Goodbye, Ben")).to_be_visible()
    # The thread is titled for the member who left, never for Ben himself.
    expect(ben_page.get_by_role("heading", name="Deleted member")).to_be_visible()
    [message] = net.call("GET", f"/api/v1/conversations/{conversation}/messages", ben)["messages"]
    assert (message["sender"]["handle"], message["sender"]["name"]) == (None, "Deleted member")


def test_report_a_conversation_from_the_thread_menu(net: Network, open_app: Open) -> None:
    ava, ben = net.member("Ava Morgan"), net.member("Ben Ortiz")
    net.connect(ava, ben)
    conversation = net.start(ben, ava, "Buy my course, only today")
    page = open_app(ava, f"#/c/{conversation}")
    page.get_by_role("button", name="Conversation actions").click()
    page.get_by_role("menuitem", name="Report conversation").click()
    dialog = page.get_by_role("dialog", name="Report conversation")
    dialog.get_by_role("radio", name="Harassment or hate").check()
    dialog.get_by_label("Anything moderators should know? (optional)").fill("Every day since Monday")
    dialog.get_by_role("checkbox", name="Also block Ben Ortiz").check()
    dialog.get_by_role("button", name="Report").click()
    toast(page, "Reported and blocked")
    expect(page.get_by_test_id("conversation").filter(has_text="Ben Ortiz")).to_have_count(0)
    assert [m["handle"] for m in net.call("GET", "/api/v1/blocks", ava)["blocked"]] == [ben.handle]
    reports = httpx.get(
        f"{net.server.http_url}/api/v1/admin/reports", headers={"Authorization": f"Bearer {ADMIN}"}
    ).json()["reports"]
    mine = [r for r in reports if r["conversation_id"] == conversation]
    assert [(r["reason"], r["note"], r["reported"]["handle"]) for r in mine] == [
        ("harassment", "Every day since Monday", ben.handle)
    ]
