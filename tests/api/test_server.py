"""`rapport serve`'s uvicorn server: one wake-up a second while idle, and a stop that needs none."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import httpx
import pytest
import uvicorn

from rapport.api import server as server_module
from rapport.api.server import Server


async def _hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


class _Counting(Server):
    ticks = 0

    async def on_tick(self, counter: int) -> bool:
        self.ticks += 1
        return await super().on_tick(counter)


def _start(tick_seconds: float, monkeypatch: pytest.MonkeyPatch) -> tuple[_Counting, threading.Thread, int]:
    monkeypatch.setattr(server_module, "TICK_SECONDS", tick_seconds)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(_hello, log_level="warning", lifespan="on", loop="asyncio")
    srv = _Counting(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert srv.started
    return srv, thread, sock.getsockname()[1]


def test_an_idle_server_ticks_once_a_second_and_answers_with_a_date(monkeypatch: pytest.MonkeyPatch) -> None:
    srv, thread, port = _start(1.0, monkeypatch)
    try:
        before = srv.ticks
        time.sleep(1.5)
        ticks = srv.ticks - before
        answer = httpx.get(f"http://127.0.0.1:{port}/")
    finally:
        srv.should_exit = True
        thread.join(10)
    assert 1 <= ticks <= 2  # uvicorn's own loop ticks 15 times in 1.5 s
    assert answer.text == "ok" and "date" in answer.headers
    assert not thread.is_alive()


def test_should_exit_stops_the_server_without_waiting_for_a_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set from another thread (as a signal handler or the tests' live server does), it wakes
    the main loop: with a tick of an hour, the server still stops."""
    srv, thread, _ = _start(3600.0, monkeypatch)
    srv.should_exit = True
    thread.join(10)
    assert not thread.is_alive()
