"""Files in the web client: attach, upload with progress, refuse before upload, show in the thread."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import Network, Open, composer

pytestmark = pytest.mark.browser


def png(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 102, 194)).save(out, "PNG")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def attach(page: Any, *files: dict[str, Any]) -> None:
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Attach file").click()
    chooser.value.set_files(list(files))


def test_an_image_and_a_pdf_are_sent_shown_and_previewed(net: Network, open_app: Open) -> None:
    ava, ben = net.member("Ava Morgan"), net.member("Ben Ortiz")
    net.connect(ava, ben)
    conversation = net.start(ava, ben, "Here are the plans")
    page_a = open_app(ava, f"#/c/{conversation}")
    page_b = open_app(ben, f"#/c/{conversation}")

    attach(page_a, {"name": "floor-plan.png", "mimeType": "image/png", "buffer": png()})
    expect(page_a.get_by_test_id("upload").filter(has_text="floor-plan.png")).to_contain_text("ready")
    composer(page_a).fill("The floor plan")
    page_a.get_by_role("button", name="Send", exact=True).click()

    # Ben sees it live, inline from its thumbnail; a click opens the full image.
    image = page_b.get_by_role("button", name="Open image floor-plan.png")
    expect(image).to_be_visible()
    src = image.get_by_role("img").get_attribute("src")
    assert src is not None and src.startswith("/api/v1/attachments/") and "/thumbnail" in src
    image.click()
    lightbox = page_b.get_by_role("dialog", name="floor-plan.png")
    expect(lightbox.get_by_role("img", name="floor-plan.png")).to_be_visible()
    lightbox.get_by_role("button", name="Close image").click()
    expect(lightbox).to_have_count(0)

    # A file-only message: a card with a download link, and "📎 name" in the inbox.
    attach(page_a, {"name": "budget.pdf", "mimeType": "application/pdf", "buffer": PDF})
    expect(page_a.get_by_test_id("upload").filter(has_text="budget.pdf")).to_contain_text("ready")
    page_a.get_by_role("button", name="Send", exact=True).click()
    expect(page_b.get_by_role("link", name="Download budget.pdf")).to_be_visible()
    expect(page_b.get_by_test_id("message").filter(has_text="budget.pdf")).to_contain_text("PDF document")
    expect(page_b.get_by_test_id("conversation").first).to_contain_text("📎 budget.pdf")

    history = net.call("GET", f"/api/v1/conversations/{conversation}/messages", ben)["messages"]
    assert [a["name"] for a in history[0]["attachments"]] == ["budget.pdf"]
    assert history[0]["body"] == ""
    assert [a["content_type"] for a in history[1]["attachments"]] == ["image/png"]


def test_refused_files_are_explained_before_and_after_upload(net: Network, open_app: Open) -> None:
    ava, ben = net.member("Ava Morgan"), net.member("Ben Ortiz")
    net.connect(ava, ben)
    conversation = net.start(ava, ben, "Files")
    page = open_app(ava, f"#/c/{conversation}")
    uploads: list[str] = []
    page.on("request", lambda r: uploads.append(r.url) if r.url.endswith("/api/v1/attachments") else None)

    # Refused by the browser: too large (dropped on the thread), and a program's name. Nothing is uploaded.
    page.evaluate(
        """() => {
            const files = new DataTransfer();
            files.items.add(new File([new Uint8Array(26 * 1024 * 1024)], 'huge.zip', {type: 'application/zip'}));
            const thread = document.querySelector('.thread');
            for (const type of ['dragenter', 'dragover', 'drop']) {
                thread.dispatchEvent(new DragEvent(type, {dataTransfer: files, bubbles: true, cancelable: true}));
            }
        }"""
    )
    expect(page.get_by_role("alert").filter(has_text="huge.zip is too large")).to_contain_text("25 MB")
    attach(page, {"name": "setup.exe", "mimeType": "application/octet-stream", "buffer": b"MZ\x90\x00"})
    expect(page.get_by_role("alert").filter(has_text="setup.exe can")).to_contain_text("programs and scripts")
    assert uploads == []

    # Refused by the server (it sniffs the bytes): its 415 in words, and nothing to send.
    attach(page, {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"\x7fELF\x02\x01\x01" + b"\x00" * 64})
    item = page.get_by_test_id("upload").filter(has_text="notes.txt")
    expect(item.get_by_role("alert")).to_contain_text("programs and scripts are not allowed")
    assert len(uploads) == 1
    expect(page.get_by_role("button", name="Send", exact=True)).to_be_disabled()
    item.get_by_role("button", name="Remove notes.txt").click()
    expect(page.get_by_test_id("upload")).to_have_count(0)


def test_an_upload_cut_by_the_network_can_be_retried_and_a_draft_survives_a_failed_send(
    net: Network, open_app: Open
) -> None:
    ava, ben = net.member("Ava Morgan"), net.member("Ben Ortiz")
    net.connect(ava, ben)
    conversation = net.start(ava, ben, "Files")
    page = open_app(ava, f"#/c/{conversation}")

    # An upload that hangs shows its progress and can be cancelled.
    held: list[Any] = []

    def hold(route: Any) -> None:
        held.append(route)  # never answered: the upload stays in flight

    page.route("**/api/v1/attachments", hold)
    attach(page, {"name": "slow.png", "mimeType": "image/png", "buffer": png()})
    expect(page.get_by_role("progressbar", name="Uploading slow.png")).to_be_visible()
    page.get_by_role("button", name="Cancel upload of slow.png").click()
    expect(page.get_by_test_id("upload")).to_have_count(0)
    assert len(held) == 1
    page.unroute("**/api/v1/attachments", hold)

    page.route("**/api/v1/attachments", lambda route: route.abort("connectionreset"))
    attach(page, {"name": "photo.png", "mimeType": "image/png", "buffer": png()})
    item = page.get_by_test_id("upload").filter(has_text="photo.png")
    expect(item.get_by_role("alert")).to_contain_text("the connection dropped")
    page.unroute("**/api/v1/attachments")
    item.get_by_role("button", name="Retry upload of photo.png").click()
    expect(item).to_contain_text("ready")

    # The send fails on the network: text and file stay in the composer; the retry sends one message.
    page.route("**/api/v1/conversations/*/messages", lambda route: route.abort("connectionreset"))
    composer(page).fill("A photo from the offsite")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="Not sent")).to_be_visible()
    expect(composer(page)).to_have_value("A photo from the offsite")
    expect(item).to_be_visible()
    page.unroute("**/api/v1/conversations/*/messages")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("button", name="Open image photo.png")).to_be_visible()
    expect(composer(page)).to_have_value("")
    history = net.call("GET", f"/api/v1/conversations/{conversation}/messages", ava)["messages"]
    assert [m["body"] for m in history] == ["A photo from the offsite", "Files"]
    assert [a["name"] for a in history[0]["attachments"]] == ["photo.png"]
