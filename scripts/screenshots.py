"""Regenerate the web client's screenshots in docs/screenshots/.

    uv run python scripts/screenshots.py [--out docs/screenshots] [--chromium /usr/bin/chromium]

Starts a throwaway server (SQLite in a temporary directory, a clock moved by hand so the
demo conversation spans a few days), fills it through the public HTTP API with a small
demo network, and photographs the inbox, a thread, the new-message dialog and settings at
desktop (1280x800) and phone (390x844) width with Chromium.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from rapport.api.app import create_app
from rapport.clock import FakeClock
from rapport.settings import Settings

ADMIN = "screenshots-admin"
PASSWORD = "rapport-demo-1"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

PEOPLE = {
    "maya": ("Maya Patel", "Engineering Manager at Northwind Health"),
    "daniel": ("Daniel Okafor", "Senior Backend Engineer at Stripe"),
    "sofia": ("Sofia Marquez", "Product Lead, Payments at Adyen"),
    "priya": ("Priya Raman", "Talent Partner at Lumen Labs"),
    "jonas": ("Jonas Weber", "CTO at Fieldwork"),
    "amara": ("Amara Nwosu", "Data Science Manager at Globex"),
    "lucas": ("Lucas Ferreira", "Engineering Recruiter at Shopify"),
    "hannah": ("Hannah Kim", "Staff Product Designer at Figma"),
    "ethan": ("Ethan Brooks", "VP Engineering at Contoso"),
    "grace": ("Grace Liu", "Founder at Tessellate"),
}

# (hours before the end of the story, sender, conversation partner of Maya, body)
DANIEL = [
    (27.0, "daniel", "Hi Maya, great meeting you at the platform engineering meetup last night."),
    (26.9, "daniel", "You mentioned Northwind is splitting the monolith. I'd love to hear how you're sequencing it."),
    (26.2, "maya", "Hi Daniel! Likewise, your talk on idempotency keys was the highlight of the evening."),
    (
        26.1,
        "maya",
        "We're carving out billing first: it has the clearest boundary and the most painful deploys.",
    ),
    (25.5, "daniel", "Makes sense. Are you doing strangler-fig routing at the gateway, or dual writes?"),
    (
        25.3,
        "maya",
        "Gateway routing, with a shadow-read period before each cut-over. No dual writes if we can help it.",
    ),
    (
        3.2,
        "daniel",
        "I wrote up a few notes on how we handled retries during our migration. Want me to send them over?",
    ),
    (3.1, "daniel", "FILES Here they are, with the retry dashboard: https://example.com/notes/idempotent-retries"),
    (2.9, "maya", "Yes please, that would be really useful. Are you free for a call on Thursday afternoon?"),
    (2.8, "daniel", "Thursday at 3 works. I'll send an invite."),
    (0.4, "maya", "Perfect. I'll bring our rollout plan, and a couple of questions about your outbox pattern."),
]
OTHERS = [
    (96.0, "ethan", "ethan", "Congrats on the promotion, Maya! Well deserved."),
    (95.0, "maya", "ethan", "Thank you Ethan, that means a lot."),
    (70.0, "hannah", "hannah", "Loved your talk at LeadDev. Would you share the slides?"),
    (69.5, "maya", "hannah", "Of course, here they are. Let me know what you think!"),
    (48.0, "lucas", "lucas", "Hi Maya, thanks for connecting! Happy to help if you're hiring in Toronto."),
    (30.0, "amara", "amara", "Could you send me the deck from Tuesday's review?"),
    (29.0, "maya", "amara", "Sending the deck over now."),
    (20.0, "jonas", "jonas", "Thanks for the intro to Amara. We're meeting next week."),
    (1.6, "sofia", "sofia", "Are you free on Thursday for a quick sync on the API rollout?"),
    (1.5, "sofia", "sofia", "Also happy to do Friday morning if that's easier."),
]


@contextmanager
def serve(settings: Settings, clock: FakeClock) -> Iterator[str]:
    app = create_app(settings, clock=clock)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", ws="websockets-sansio"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


class Demo:
    """The demo network, built through the public API at chosen moments."""

    def __init__(self, http: httpx.Client, clock: FakeClock, end: datetime) -> None:
        self.http = http
        self.clock = clock
        self.end = end
        self.tokens: dict[str, str] = {}
        self.conversations: dict[str, str] = {}
        self.messages: dict[str, str] = {}

    def at(self, hours_before_end: float) -> None:
        self.clock.set(self.end - timedelta(hours=hours_before_end))

    def call(self, who: str | None, method: str, path: str, json: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who] if who else ADMIN}"}
        r = self.http.request(method, path, json=json, headers=headers)
        r.raise_for_status()
        return r.json() if r.content else None

    def build(self) -> None:
        self.at(24 * 7)
        for key, (name, headline) in PEOPLE.items():
            r = self.http.post(
                "/api/v1/auth/register",
                json={"handle": f"{key}", "name": name, "email": f"{key}@example.com", "password": PASSWORD},
            )
            r.raise_for_status()
            self.tokens[key] = r.json()["token"]
            self.call(key, "PATCH", "/api/v1/me", {"headline": headline})
        self.call(None, "PUT", "/api/v1/admin/members/priya/tier", {"tier": "premium_business"})
        self.call(None, "PUT", "/api/v1/admin/members/maya/tier", {"tier": "premium_career"})
        for key in PEOPLE:
            if key not in ("maya", "priya", "grace"):
                invitation = self.call(key, "POST", "/api/v1/invitations", {"to": "maya"})["invitation"]
                self.call("maya", "POST", f"/api/v1/invitations/{invitation['id']}/accept")
        self.at(10)
        self.call("grace", "POST", "/api/v1/invitations", {"to": "maya", "note": "Loved your post on on-call."})

        story = sorted(
            [(h, s, "daniel", b) for h, s, b in DANIEL] + OTHERS,
            key=lambda item: -item[0],
        )
        inmail_at = 5.0
        for hours, sender, partner, body in story:
            if inmail_at and hours < inmail_at:
                self.at(inmail_at)
                self.call(
                    "priya",
                    "POST",
                    "/api/v1/conversations",
                    {
                        "to": ["maya"],
                        "kind": "inmail",
                        "subject": "Director of Engineering at Lumen Labs",
                        "body": "Hi Maya, I lead engineering hiring at Lumen Labs. Your work on Northwind's "
                        "platform caught our eye. Open to a confidential chat?",
                    },
                )
                inmail_at = 0
            self.at(hours)
            self.say(sender, partner, body)
            if sender != "maya" and partner not in ("sofia",):
                self.at(hours - 0.05)
                self.read("maya", partner)
        self.at(2.7)
        self.react("maya", "daniel", "Thursday at 3", "👍")
        self.react("daniel", "daniel", "Perfect. I'll bring", "🎉")
        self.react("maya", "daniel", "Here they are", "💡")
        self.at(0.3)
        self.read("daniel", "daniel")
        self.clock.set(self.end)

    def say(self, sender: str, partner: str, body: str) -> None:
        files: list[str] = []
        if body.startswith("FILES "):
            body = body.removeprefix("FILES ")
            files = [
                self.upload(sender, "retry-dashboard.png", chart_png()),
                self.upload(sender, "retry-notes.pdf", PDF),
            ]
        conversation = self.conversations.get(partner)
        if conversation is None:
            other = partner if sender == "maya" else "maya"
            started = self.call(sender, "POST", "/api/v1/conversations", {"to": [other], "body": body})
            self.conversations[partner] = started["conversation"]["id"]
            self.messages[body] = started["message"]["id"]
        else:
            sent = self.call(
                sender, "POST", f"/api/v1/conversations/{conversation}/messages", {"body": body, "attachments": files}
            )
            self.messages[body] = sent["message"]["id"]

    def upload(self, who: str, name: str, data: bytes) -> str:
        r = self.http.post(
            "/api/v1/attachments",
            files={"file": (name, data)},
            headers={"Authorization": f"Bearer {self.tokens[who]}"},
        )
        r.raise_for_status()
        return str(r.json()["attachment"]["id"])

    def react(self, who: str, partner: str, starts_with: str, emoji: str) -> None:
        message = next(mid for body, mid in self.messages.items() if body.startswith(starts_with))
        path = f"/api/v1/conversations/{self.conversations[partner]}/messages/{message}/reactions/{emoji}"
        self.call(who, "PUT", path)

    def read(self, reader: str, partner: str) -> None:
        conversation = self.conversations[partner]
        messages = self.call(reader, "GET", f"/api/v1/conversations/{conversation}/messages?limit=1")["messages"]
        self.call(reader, "POST", f"/api/v1/conversations/{conversation}/read", {"message_id": messages[0]["id"]})


def chart_png() -> bytes:
    """A small dashboard-like bar chart to attach."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (560, 320), (250, 250, 248))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 559, 44), fill=(10, 102, 194))
    for i, height in enumerate((60, 120, 180, 90, 210, 150, 240, 130)):
        draw.rectangle((40 + i * 62, 300 - height, 80 + i * 62, 300), fill=(10, 102, 194) if i % 2 else (5, 118, 66))
    draw.line((24, 300, 536, 300), fill=(90, 90, 90), width=2)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def shoot(base: str, demo: Demo, out: Path, chromium: str) -> list[Path]:
    from playwright.sync_api import expect, sync_playwright

    shots: list[Path] = []
    daniel_thread = f"#/c/{demo.conversations['daniel']}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            context = browser.new_context(
                viewport=viewport, base_url=base, locale="en-US", timezone_id="UTC", device_scale_factor=1
            )
            context.add_init_script(f"localStorage.setItem('rapport.token', {demo.tokens['maya']!r})")
            page = context.new_page()
            page.goto("/#/inbox")
            expect(page.get_by_test_id("conversation")).to_have_count(8)
            page.wait_for_function("() => window.rapport.live && window.rapport.live.state === 'open'")
            page.wait_for_timeout(300)
            shots.append(out / f"inbox-{label}.png")
            page.screenshot(path=shots[-1])

            page.goto(f"/{daniel_thread}")
            expect(page.get_by_test_id("reader-avatar")).to_be_visible()
            expect(page.get_by_role("button", name="Open image retry-dashboard.png")).to_be_visible()
            page.wait_for_function(
                "() => [...document.querySelectorAll('.att-thumb')].every((img) => img.complete && img.naturalWidth)"
            )
            demo.call(
                "daniel", "POST", f"/api/v1/conversations/{demo.conversations['daniel']}/typing", {"typing": True}
            )
            expect(page.get_by_test_id("typing")).to_contain_text("is typing")
            page.evaluate("() => document.activeElement && document.activeElement.blur()")
            page.wait_for_timeout(300)
            shots.append(out / f"thread-{label}.png")
            page.screenshot(path=shots[-1])
            demo.call(
                "daniel", "POST", f"/api/v1/conversations/{demo.conversations['daniel']}/typing", {"typing": False}
            )

            if label == "desktop":
                page.goto("/#/inbox")
                page.get_by_role("button", name="New message").first.click()
                dialog = page.get_by_role("dialog", name="New message")
                dialog.get_by_label("To", exact=True).fill("grace")
                dialog.get_by_label("Message").fill(
                    "Hi Grace, thanks for reaching out! Happy to compare notes on on-call."
                )
                dialog.get_by_role("button", name="Send", exact=True).click()
                expect(dialog.get_by_test_id("compose-problem")).to_contain_text("Grace Liu")
                page.wait_for_timeout(300)
                shots.append(out / "compose-desktop.png")
                page.screenshot(path=shots[-1])
                page.keyboard.press("Escape")

                page.goto("/#/inbox")
                search = page.get_by_role("searchbox", name="Search messages")
                search.fill("rollout")
                expect(page.get_by_test_id("search-message").first).to_be_visible()
                page.get_by_test_id("search-message").first.click()
                expect(page.locator(".msg.is-highlighted")).to_be_visible()
                search.fill("rollout")
                expect(page.get_by_test_id("search-message").first).to_be_visible()
                page.wait_for_timeout(300)
                shots.append(out / "search-desktop.png")
                page.screenshot(path=shots[-1])
                search.press("Escape")

                page.goto(f"/{daniel_thread}")
                dashboard = page.get_by_role("button", name="Open image retry-dashboard.png")
                dashboard.scroll_into_view_if_needed()
                dashboard.click()
                expect(page.get_by_role("dialog", name="retry-dashboard.png")).to_be_visible()
                page.wait_for_timeout(300)
                shots.append(out / "lightbox-desktop.png")
                page.screenshot(path=shots[-1])
                page.keyboard.press("Escape")

                page.goto("/#/settings")
                expect(page.get_by_role("switch", name="Open Profile")).to_be_visible()
                shots.append(out / "settings-desktop.png")
                page.screenshot(path=shots[-1])
            context.close()
        browser.close()
    return shots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    clock = FakeClock(now)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            admin_token=ADMIN,
            password_time_cost=1,
            password_memory_cost=64,
            sqlite_synchronous="NORMAL",
        )
        with serve(settings, clock) as base, httpx.Client(base_url=base, timeout=10) as http:
            demo = Demo(http, clock, end=now - timedelta(minutes=2))
            demo.build()
            clock.set(now)
            for path in shoot(base, demo, args.out, args.chromium):
                print(path)


if __name__ == "__main__":
    main()
