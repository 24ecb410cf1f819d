"""Browser fixtures: one real server (SQLite) and one Chromium for the whole browser suite.

Each test makes its own members (unique handles) and its own browser contexts, so tests
share the server without sharing state. Members are set up over the HTTP API (fast), and
signed in by putting their token where the web client keeps it.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.live_server import LiveServer, run_server
from tests.conftest import ADMIN, make_settings
from tests.servers import unavailable

CHROMIUM = os.environ.get("RAPPORT_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
WAIT_MS = 10_000

_serial = itertools.count(1)


@dataclass
class Person:
    handle: str
    name: str
    token: str
    id: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Network:
    """Sets up members, connections and messages through the public API."""

    def __init__(self, server: LiveServer, run: str) -> None:
        self.server = server
        self.run = run
        self.http = httpx.Client(base_url=server.http_url, timeout=10)

    def call(self, method: str, path: str, who: Person | None = None, json: Any = None, status: int = 200) -> Any:
        r = self.http.request(method, path, json=json, headers=who.auth if who else {})
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def member(self, name: str, headline: str = "", *, premium: bool = False) -> Person:
        handle = f"{name.split()[0].lower()}{self.run}{next(_serial)}"
        body = self.call(
            "POST",
            "/api/v1/auth/register",
            json={"handle": handle, "name": name, "email": f"{handle}@example.com", "password": "correct horse"},
            status=201,
        )
        person = Person(handle, name, body["token"], body["member"]["id"])
        if headline:
            self.call("PATCH", "/api/v1/me", person, {"headline": headline})
        if premium:
            self.http.put(
                f"/api/v1/admin/members/{handle}/tier",
                json={"tier": "premium_career"},
                headers={"Authorization": f"Bearer {ADMIN}"},
            ).raise_for_status()
        return person

    def connect(self, a: Person, b: Person) -> None:
        inv = self.call("POST", "/api/v1/invitations", a, {"to": b.handle}, status=201)["invitation"]
        self.call("POST", f"/api/v1/invitations/{inv['id']}/accept", b)

    def start(self, a: Person, b: Person, body: str) -> str:
        """A new (or the existing) 1:1 conversation from a to b; returns its id."""
        started = self.call("POST", "/api/v1/conversations", a, {"to": [b.handle], "body": body}, status=201)
        return str(started["conversation"]["id"])

    def send(self, a: Person, conversation: str, body: str) -> dict[str, Any]:
        path = f"/api/v1/conversations/{conversation}/messages"
        message: dict[str, Any] = self.call("POST", path, a, {"body": body}, status=201)["message"]
        return message

    def settings(self, who: Person, **switches: bool) -> None:
        self.call("PATCH", "/api/v1/me/settings", who, switches)


@pytest.fixture(scope="session")
def browser_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with run_server(make_settings(tmp_path_factory.mktemp("browser"))) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module. Not for the session: while the sync API runs, its event
    loop counts as running in this thread, which would break the async tests that follow."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        unavailable(f"Chromium not found at {CHROMIUM} (set RAPPORT_TEST_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        unavailable("the playwright package is not installed")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def net(browser_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[Network]:
    network = Network(browser_server, run=f"{abs(hash(request.node.nodeid)) % 10_000}x")
    try:
        yield network
    finally:
        network.http.close()


Open = Callable[..., Any]


@pytest.fixture
def open_app(browser: Any, browser_server: LiveServer) -> Iterator[Open]:
    """`open_app(person, hash="#/inbox", viewport=DESKTOP)` -> a page signed in as person."""
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    contexts: list[Any] = []

    def _open(person: Person | None = None, hash: str = "#/inbox", viewport: dict[str, int] | None = None) -> Any:
        context = browser.new_context(viewport=viewport or DESKTOP, base_url=browser_server.http_url)
        contexts.append(context)
        if person is not None:
            context.add_init_script(
                f"if (!sessionStorage.getItem('seeded')) {{ sessionStorage.setItem('seeded', '1');"
                f" localStorage.setItem('rapport.token', {person.token!r}); }}"
            )
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        errors: list[str] = []
        sockets: list[Any] = []
        frames_sent: list[str] = []

        def on_socket(socket: Any) -> None:
            sockets.append(socket)
            socket.on("framesent", lambda payload: frames_sent.append(str(payload)))

        page.on("pageerror", lambda exc: errors.append(str(exc)))
        # Anything the Content-Security-Policy blocked is a defect of the client (or the policy).
        page.on(
            "console",
            lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None,
        )
        page.on("websocket", on_socket)
        page.js_errors = errors
        page.sockets = sockets
        page.frames_sent = frames_sent
        page.goto(f"/{hash}")
        if person is not None:
            page.wait_for_function(
                "() => window.rapport && window.rapport.live && window.rapport.live.state === 'open'"
            )
        return page

    yield _open
    for context in contexts:
        for page in context.pages:
            assert not page.js_errors, page.js_errors
        context.close()


def composer(page: Any) -> Any:
    return page.get_by_role("textbox", name="Write a message")


def sync_socket(page: Any) -> None:
    """Round trip on the page's live socket: every frame it sent before is handled."""
    socket = page.sockets[-1]
    with socket.expect_event("framereceived", lambda payload: '"pong"' in str(payload)):
        page.evaluate("() => window.rapport.live.sendFrame({type: 'ping'})")


def barrier(net: Network, page: Any, who: Person, other: Person, label: str) -> None:
    """An event for `who` that is published after everything before it: a message `who`
    sends to `other` in their own conversation shows up in `who`'s inbox."""
    from playwright.sync_api import expect

    net.start(who, other, label)
    expect(page.get_by_test_id("conversation").filter(has_text=label)).to_have_count(1)
