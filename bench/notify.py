"""E-mails and pushes per second from a backlog of due notifications (`rapport bench` phase).

A backlog of `count` conversations, each with one message its recipient has not read and
whose e-mail came due long ago, is written straight into a fresh database together with
their `message_alert` jobs: what a server finds after SMTP was down for a while. Then one
process's job runner (the app's own: notify/alerts.py on rapport.jobs) works through it —
deciding each digest, storing its `send_email` job, sending it over SMTP and settling —
to a real SMTP server (aiosmtpd) in another process on loopback. The figure is e-mails
accepted by that server per second of the drain, measured until the last one arrives.
Pushes are measured the same way with a Web Push subscription per recipient, to a
loopback push service in another process (each push is encrypted, RFC 8291, and signed,
RFC 8292, as in production).

    uv run python -m bench.notify [--count 10000] [--pushes 2000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import multiprocessing
import os
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from rapport.clock import SystemClock  # noqa: E402
from rapport.jobs import JobRunner  # noqa: E402
from rapport.notify import MESSAGE_ALERT  # noqa: E402
from rapport.notify import alerts as notify_alerts  # noqa: E402
from rapport.notify import keys as notify_keys  # noqa: E402
from rapport.services.context import Context, NetworkSwitches  # noqa: E402
from rapport.settings import Settings  # noqa: E402
from rapport.store.dialect import Database  # noqa: E402
from rapport.store.migrate import upgrade  # noqa: E402
from rapport.store.tables import (  # noqa: E402
    conversations,
    jobs,
    members,
    messages,
    notification_preferences,
    participants,
    push_subscriptions,
)

BATCH = 5_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _smtp_server(port: int, received: Any, ready: Any) -> None:
    """A child process: aiosmtpd on loopback, counting the messages it accepts."""
    from aiosmtpd.controller import Controller

    class Count:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            with received.get_lock():
                received.value += 1
            return "250 OK"

    controller = Controller(Count(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


def _push_service(port: int, received: Any, ready: Any) -> None:
    """A child process: an HTTP/1.1 push service on loopback answering 201, counting requests."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                await reader.readexactly(length)
                with received.get_lock():
                    received.value += 1
                writer.write(b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", port, backlog=512)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def _backlog(db: Database, count: int, *, push_endpoint: str | None, email: bool) -> None:
    """`count` recipients, each with one unread message from one sender, its alert long due."""
    now = datetime.now(UTC)
    past = now - timedelta(hours=1)
    people = [
        {
            "id": i,
            "handle": f"m{i}",
            "email": f"m{i}@bench.example",
            "password_hash": "x",
            "name": f"Member {i}",
            "created_at": past,
        }
        for i in range(1, count + 2)
    ]
    sender = 1
    threads, joined, sent, due, prefs, subs = [], [], [], [], [], []
    browser = ec.generate_private_key(ec.SECP256R1())
    p256dh = _b64(
        browser.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    auth = _b64(os.urandom(16))
    for n in range(1, count + 1):
        recipient = n + 1
        threads.append({"id": n, "kind": "direct", "created_at": past, "updated_at": past, "last_message_id": n})
        for member in (sender, recipient):
            joined.append(
                {
                    "conversation_id": n,
                    "member_id": member,
                    "joined_at": past,
                    "last_activity_at": past,
                    "unread_count": int(member == recipient),
                }
            )
        sent.append(
            {
                "id": n,
                "conversation_id": n,
                "sender_id": sender,
                "body": f"Update number {n} on the proposal",
                "created_at": past,
            }
        )
        due.append(
            {
                "kind": MESSAGE_ALERT,
                "key": str(n),
                "payload": orjson.dumps({"conversation_id": n}).decode(),
                "run_at": past + timedelta(minutes=10),
                "state": "pending",
                "created_at": past,
            }
        )
        if not email:
            prefs.append({"member_id": recipient, "choices": '{"message": {"email": false}}', "email_previews": True})
        if push_endpoint:
            subs.append(
                {
                    "member_id": recipient,
                    "endpoint": f"{push_endpoint}/{recipient}",
                    "p256dh": p256dh,
                    "auth": auth,
                    "created_at": past,
                }
            )
    async with db.write() as conn:
        for table, rows in (
            (members, people),
            (conversations, threads),
            (participants, joined),
            (messages, sent),
            (notification_preferences, prefs),
            (push_subscriptions, subs),
            (jobs, due),
        ):
            for i in range(0, len(rows), BATCH):
                await conn.execute(insert(table), rows[i : i + BATCH])


async def _drain(settings: Settings, count: int, received: Any, *, label: str, timeout: float) -> dict[str, Any]:
    db = Database(settings.resolved_database_url, sqlite_synchronous=settings.sqlite_synchronous)
    clock = SystemClock()
    runner = JobRunner(db, clock, poll_seconds=0.05)
    from rapport.bus.memory import MemoryBus

    ctx = Context(
        settings=settings,
        db=db,
        bus=MemoryBus(),
        clock=clock,
        network=NetworkSwitches(receipts_default=True),
        jobs=runner,
        keys=notify_keys.load(settings.data_dir, None),
    )
    assert ctx.keys is not None
    handlers = notify_alerts.start(ctx, ctx.keys)
    cpu0 = time.process_time()
    began = time.perf_counter()
    runner.start()
    try:
        while received.value < count:
            if time.perf_counter() - began > timeout:
                break
            await asyncio.sleep(0.01)
        seconds = time.perf_counter() - began
    finally:
        await runner.stop()
        await handlers.close()
        await db.dispose()
    done = received.value
    return {
        "what": label,
        "backlog": count,
        "sent": done,
        "seconds": round(seconds, 2),
        "per_second": round(done / seconds, 1) if seconds else None,
        "sender_cpu_ms_each": round(1000 * (time.process_time() - cpu0) / max(1, done), 3),
    }


async def _phase(kind: str, count: int, database_url: str | None, workdir: Path, timeout: float) -> dict[str, Any]:
    ctx = multiprocessing.get_context("fork")
    received = ctx.Value("l", 0)
    ready = ctx.Event()
    port = _free_port()
    target = _smtp_server if kind == "email" else _push_service
    child = ctx.Process(target=target, args=(port, received, ready), daemon=True)
    child.start()
    try:
        if not ready.wait(30):
            raise RuntimeError(f"the loopback {kind} server did not start")
        data_dir = workdir / kind
        settings = Settings(
            data_dir=data_dir,
            database_url=database_url or "",
            smtp_url=f"smtp://127.0.0.1:{port}" if kind == "email" else None,
            push_allow_insecure=True,
            sqlite_synchronous="NORMAL",
            public_url="https://rapport.bench",
        )
        data_dir.mkdir(parents=True, exist_ok=True)
        await upgrade(settings.resolved_database_url)
        db = Database(settings.resolved_database_url, sqlite_synchronous="NORMAL")
        try:
            push_endpoint = f"http://127.0.0.1:{port}/push" if kind == "push" else None
            await _backlog(db, count, push_endpoint=push_endpoint, email=kind == "email")
        finally:
            await db.dispose()
        return await _drain(settings, count, received, label=kind, timeout=timeout)
    finally:
        child.kill()
        child.join(5)


def measure(
    *, emails: int = 10_000, pushes: int = 2_000, database_url: str | None = None, timeout: float = 300
) -> dict[str, Any]:
    """Both phases, each on its own fresh database (a SQLite file, or the given PostgreSQL one)."""
    if database_url:
        raise ValueError("pass a PostgreSQL URL per phase with --database-url; measure() uses SQLite")
    with tempfile.TemporaryDirectory(prefix="rapport-notify-") as tmp:
        workdir = Path(tmp)
        results = {"email": asyncio.run(_phase("email", emails, None, workdir, timeout))}
        if pushes:
            results["push"] = asyncio.run(_phase("push", pushes, None, workdir, timeout))
    return results


def lines(results: dict[str, Any]) -> list[str]:
    out = []
    for r in results.values():
        out.append(
            f"notify   {r['what']:5}: {r['sent']:,} of {r['backlog']:,} due sent in {r['seconds']} s ="
            f" {r['per_second']:,.0f}/s (sender CPU {r['sender_cpu_ms_each']} ms each)"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.notify", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=10_000, help="due e-mails in the backlog")
    parser.add_argument("--pushes", type=int, default=2_000, help="due pushes in the push backlog (0: skip)")
    parser.add_argument("--database-url", default=None, help="an empty PostgreSQL database (default: SQLite)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="rapport-notify-") as tmp:
        workdir = Path(tmp)
        results = {"email": asyncio.run(_phase("email", args.count, args.database_url, workdir, 600))}
        if args.pushes and not args.database_url:
            results["push"] = asyncio.run(_phase("push", args.pushes, None, workdir, 600))
    for line in lines(results):
        print(line)
    target = results["email"]["per_second"] or 0
    print(f"target   e-mails/s from a 10,000 backlog >= 500: {target:,.0f}/s {'met' if target >= 500 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
