"""Many processes acting as one (DESIGN §7 "Scale-out"): real `rapport serve` processes on
one PostgreSQL and one Redis, driven over TCP by httpx and the `websockets` client.

Each test registers its own members (handles carry the test's prefix), so the tests share
the module's cluster without sharing state.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest
from bench.server import socket_inodes
from sqlalchemy.engine import make_url

from tests.api.live_server import Device, device
from tests.conftest import Api, Member
from tests.scale.conftest import Cluster
from tests.scale.processes import ServerProcess

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
V1 = "/api/v1"
LIVE_WAIT = 15.0
"""How long a frame may take to cross processes (generous: CI machines are busy)."""


# --- helpers ---------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def client(server: ServerProcess) -> AsyncIterator[Api]:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as http:
        yield Api(http, None)


async def connect(inviter_api: Api, inviter: Member, invitee_api: Api, invitee: Member) -> None:
    """A connection whose invitation goes through one process and the acceptance another."""
    r = await inviter_api.post(inviter, f"{V1}/invitations", {"to": invitee.handle})
    assert r.status_code == 201, r.text
    r = await invitee_api.post(invitee, f"{V1}/invitations/{r.json()['invitation']['id']}/accept")
    assert r.status_code == 200, r.text


async def start(api: Api, sender: Member, to: Member, body: str) -> dict[str, Any]:
    r = await api.start(sender, to, body=body)
    assert r.status_code == 201, r.text
    message: dict[str, Any] = r.json()["message"]
    return message


async def send(api: Api, sender: Member, conversation_id: str, body: str) -> dict[str, Any]:
    r = await api.post(sender, f"{V1}/conversations/{conversation_id}/messages", {"body": body})
    assert r.status_code == 201, r.text
    message: dict[str, Any] = r.json()["message"]
    return message


async def messages(api: Api, who: Member, conversation_id: str) -> dict[str, dict[str, Any]]:
    r = await api.get(who, f"{V1}/conversations/{conversation_id}/messages?limit=100")
    assert r.status_code == 200, r.text
    return {m["id"]: m for m in r.json()["messages"]}


async def all_events(api: Api, who: Member) -> list[dict[str, Any]]:
    """The member's whole stored log, page by page."""
    found: list[dict[str, Any]] = []
    since = 0
    while True:
        r = await api.get(who, f"{V1}/events?since={since}")
        assert r.status_code == 200, r.text
        page = r.json()
        if not page["events"]:
            return found
        found += page["events"]
        since = page["next"]


async def collect_until(dev: Device, done: Any, wait: float = LIVE_WAIT) -> None:
    """Read frames into `dev.received` until `done()` holds."""
    async with asyncio.timeout(wait):
        while not done():
            await dev.recv(wait)


def stored_seqs(frames: list[dict[str, Any]]) -> list[int]:
    return [f["seq"] for f in frames if f.get("seq") is not None]


def new_message_ids(frames: list[dict[str, Any]]) -> list[str]:
    return [f["message"]["id"] for f in frames if f.get("type") == "message.new"]


async def pg_fetch(database_url: str, query: str, *args: Any) -> list[Any]:
    url = make_url(database_url)
    conn = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password, database=url.database
    )
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


# --- 1. one member's HTTP on A, the other's socket on B ---------------------------------


async def test_messages_receipts_and_typing_cross_processes(cluster: Cluster) -> None:
    async with client(cluster.a) as api_a, client(cluster.b) as api_b:
        alice = await api_a.register("x1-alice")
        bob = await api_b.register("x1-bob")
        await connect(api_a, alice, api_b, bob)
        async with device(cluster.a.live, alice) as on_a, device(cluster.b.live, bob) as on_b:
            message = await start(api_a, alice, bob, "sent through A")
            conv = message["conversation_id"]

            new = await on_b.expect("message.new", LIVE_WAIT)
            assert new["message"]["id"] == message["id"]
            assert new["message"]["body"] == "sent through A"
            assert new["seq"] == on_b.hello["since"] + 1
            assert (await on_a.expect("message.new", LIVE_WAIT))["message"]["id"] == message["id"]

            # Bob's device on B acknowledges: Alice's device on A hears "delivered".
            assert (await messages(api_a, alice, conv))[message["id"]]["status"] == "sent"
            await on_b.send({"type": "ack", "seq": new["seq"]})
            delivered = await on_a.expect("message.delivered", LIVE_WAIT)
            assert delivered["message_id"] == message["id"]
            assert delivered["member"]["handle"] == "x1-bob"
            assert (await messages(api_a, alice, conv))[message["id"]]["status"] == "delivered"

            # Typing crosses both ways, live only (no seq).
            await on_b.send({"type": "typing", "conversation_id": conv, "typing": True})
            typing = await on_a.expect("typing", LIVE_WAIT)
            assert (typing["seq"], typing["conversation_id"], typing["typing"]) == (None, conv, True)
            assert typing["member"]["handle"] == "x1-bob"
            r = await api_a.post(alice, f"{V1}/conversations/{conv}/typing", {"typing": True})
            assert r.status_code == 204, r.text
            typing = await on_b.expect("typing", LIVE_WAIT)
            assert typing["member"]["handle"] == "x1-alice"

            # Bob reads on B: Alice's device on A hears "read", and A answers "read" too.
            await on_b.send({"type": "read", "conversation_id": conv, "message_id": message["id"]})
            read = await on_a.expect("message.read", LIVE_WAIT)
            assert read["message_id"] == message["id"]
            assert read["reader"]["handle"] == "x1-bob"
            for api in (api_a, api_b):
                seen = (await messages(api, alice, conv))[message["id"]]
                assert seen["status"] == "read"
                assert [r["member"]["handle"] for r in seen["read_by"]] == ["x1-bob"]

            # A reply through B reaches Alice's socket on A.
            reply = await send(api_b, bob, conv, "answered through B")
            assert (await on_a.expect("message.new", LIVE_WAIT))["message"]["id"] == reply["id"]


# --- 2. many senders, one recipient, two processes ----------------------------------------

SENDERS = 20
EACH = 10


async def test_concurrent_senders_leave_a_gap_free_sequence(cluster: Cluster) -> None:
    async with client(cluster.a) as api_a, client(cluster.b) as api_b:
        apis = (api_a, api_b)
        hub = await api_a.register("x2-hub")
        senders = await asyncio.gather(*(apis[i % 2].register(f"x2-s{i:02d}") for i in range(SENDERS)))
        await asyncio.gather(*(connect(apis[i % 2], s, apis[(i + 1) % 2], hub) for i, s in enumerate(senders)))

        async with device(cluster.a.live, hub) as on_a, device(cluster.b.live, hub) as on_b:

            async def run(i: int, sender: Member) -> list[str]:
                api = apis[i % 2]  # half the senders write through A, half through B
                first = await start(api, sender, hub, f"{sender.handle} #0")
                ids = [first["id"]]
                for n in range(1, EACH):
                    ids.append((await send(api, sender, first["conversation_id"], f"{sender.handle} #{n}"))["id"])
                return ids

            began = time.monotonic()
            sent = await asyncio.gather(*(run(i, s) for i, s in enumerate(senders)))
            elapsed = time.monotonic() - began
            expected = sorted(itertools.chain.from_iterable(sent))
            assert len(set(expected)) == SENDERS * EACH

            # The stored log, read through either process: 1..N, every message once.
            logs = [await all_events(api, hub) for api in apis]
            assert logs[0] == logs[1]
            log = logs[0]
            last = log[-1]["seq"]
            assert [e["seq"] for e in log] == list(range(1, last + 1))
            assert sorted(new_message_ids(log)) == expected

            # Both sockets, one per process, saw the same stream: no gap, no duplicate.
            for dev in (on_a, on_b):
                await collect_until(dev, lambda d=dev: (stored_seqs(d.received) or [0])[-1] >= last)
                assert stored_seqs(dev.received) == list(range(dev.hello["since"] + 1, last + 1))
                assert sorted(new_message_ids(dev.received)) == expected
        print(f"\n{SENDERS * EACH} messages from {SENDERS} concurrent senders over 2 processes in {elapsed:.2f}s")


# --- 3. Redis restarted under a live socket --------------------------------------------


async def test_a_redis_restart_loses_nothing_stored(cluster: Cluster) -> None:
    async with client(cluster.a) as api_a, client(cluster.b) as api_b:
        alice = await api_a.register("x3-alice")
        bob = await api_b.register("x3-bob")
        await connect(api_a, alice, api_b, bob)
        first = await start(api_a, alice, bob, "before 0")
        conv = first["conversation_id"]
        sent = [first["id"]]
        async with device(cluster.b.live, bob, since=0) as on_b:
            for n in range(1, 3):
                sent.append((await send(api_a, alice, conv, f"before {n}"))["id"])
            await collect_until(on_b, lambda: len(new_message_ids(on_b.received)) == 3)

            cluster.redis.kill()  # no persistence: Redis comes back empty
            began = time.monotonic()
            for n in range(3):
                sent.append((await send(api_a, alice, conv, f"during {n}"))["id"])
            outage = time.monotonic() - began
            cluster.redis.start()

            # With nothing sent since, B's socket gets what Redis never carried, from the log.
            began = time.monotonic()
            await collect_until(on_b, lambda: len(new_message_ids(on_b.received)) == len(sent), wait=30)
            recovered = time.monotonic() - began
            for n in range(3):
                sent.append((await send(api_a, alice, conv, f"after {n}"))["id"])
            await collect_until(on_b, lambda: len(new_message_ids(on_b.received)) == len(sent))
            assert new_message_ids(on_b.received) == sent
            assert stored_seqs(on_b.received) == list(range(1, stored_seqs(on_b.received)[-1] + 1))

            # And the bus is live again, not only the log: the next message comes as a frame.
            sent.append((await send(api_a, alice, conv, "later"))["id"])
            assert (await on_b.expect("message.new", LIVE_WAIT))["message"]["id"] == sent[-1]
            assert stored_seqs(on_b.received) == list(range(1, stored_seqs(on_b.received)[-1] + 1))
        assert sorted(await messages(api_b, bob, conv)) == sorted(sent)
        print(f"\n3 sends during the outage took {outage:.2f}s; the socket on B caught up in {recovered:.2f}s")


# --- 4. a process SIGKILLed while taking messages ----------------------------------------

WRITERS = 8


async def test_sigkill_loses_no_acknowledged_message(cluster: Cluster) -> None:
    victim = cluster.server("C")  # started by the fixture; SIGKILLed here
    async with client(cluster.a) as api_a:
        sink = await api_a.register("x4-sink")
        senders = [await api_a.register(f"x4-s{i}") for i in range(4)]
        for sender in senders:
            await connect(api_a, sender, api_a, sink)
        convs = [(await start(api_a, s, sink, "opening"))["conversation_id"] for s in senders]
        await asyncio.to_thread(victim.wait_ready)

        acknowledged: list[str] = []
        unanswered: list[str] = []
        enough = asyncio.Event()

        async def write(task: int, api: Api) -> None:
            sender, conv = senders[task % len(senders)], convs[task % len(senders)]
            for n in itertools.count():
                body = f"x4 {task}-{n}"
                try:
                    r = await api.post(sender, f"{V1}/conversations/{conv}/messages", {"body": body})
                except httpx.TransportError:
                    unanswered.append(body)  # may or may not have committed: either is right
                    return
                assert r.status_code == 201, r.text
                acknowledged.append(body)
                if len(acknowledged) >= 60:
                    enough.set()

        async with client(victim) as api_c:
            writers = [asyncio.create_task(write(t, api_c)) for t in range(WRITERS)]
            async with asyncio.timeout(30):
                await enough.wait()
            victim.kill()  # mid-stream: requests are in flight on every writer
            await asyncio.gather(*writers)

        assert victim.proc is not None and victim.proc.returncode == -signal.SIGKILL
        rows = await pg_fetch(cluster.database_url, "SELECT body FROM messages WHERE body LIKE 'x4 %'")
        stored = {row["body"] for row in rows}
        assert len(stored) == len(rows)
        assert set(acknowledged) <= stored
        assert stored <= set(acknowledged) | set(unanswered)

        # The survivor serves them all, and the sink's log is whole: one event per message.
        seen = set()
        for sender, conv in zip(senders, convs, strict=True):
            seen |= {m["body"] for m in (await messages(api_a, sender, conv)).values()}
        assert set(acknowledged) <= seen
        log = await all_events(api_a, sink)
        assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
        bodies = [e["message"]["body"] for e in log if e["type"] == "message.new"]
        assert sorted(b for b in bodies if b.startswith("x4 ")) == sorted(stored)
        print(
            f"\nSIGKILL after {len(acknowledged)} messages answered 201: all {len(acknowledged)} stored; "
            f"{len(unanswered)} in flight, of which {len(stored) - len(acknowledged)} had committed"
        )


# --- 5. `rapport serve --workers 2` --------------------------------------------------------


def _holders(port: int, serving: list[int], devices: list[Device]) -> set[int]:
    """The worker processes holding the server side of these devices' sockets."""
    inodes = set(_server_side(port, {dev.ws.local_address[1] for dev in devices}))
    return {pid for pid in serving if socket_inodes(pid) & inodes}


def _server_side(port: int, client_ports: set[int]) -> dict[str, int]:
    """inode -> client port of each established TCP connection from those client ports to `port`."""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
                remote_port = int(remote.rsplit(":", 1)[1], 16)
                if state == "01" and int(local.rsplit(":", 1)[1], 16) == port and remote_port in client_ports:
                    found[inode] = remote_port
    return found


def _running(pid: int) -> bool:
    """Alive and not a zombie (a container's pid 1 may never reap what it inherits)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="finds which worker holds a socket through /proc")
async def test_two_workers_on_one_port_act_as_one(cluster: Cluster) -> None:
    server = cluster.server("W")  # `rapport serve --workers 2`, started by the fixture
    await asyncio.to_thread(server.wait_ready)
    # The supervisor's children that hold sockets are the workers (multiprocessing may add
    # a resource tracker, which holds none).
    serving = [pid for pid in server.children() if socket_inodes(pid)]
    assert len(serving) == 2, (serving, server.tail())

    async with client(server) as api, contextlib.AsyncExitStack() as stack:
        alice = await api.register("x5-alice")
        bob = await api.register("x5-bob")
        await connect(api, alice, api, bob)
        # The kernel picks the worker for each connection. To be sure both hold one, pause
        # the worker that took the first socket: the next connection can only go to the other.
        devices: list[Device] = [await stack.enter_async_context(device(server.live, bob))]
        first = _holders(server.port, serving, devices)
        assert len(first) == 1, first
        paused = first.pop()
        os.kill(paused, signal.SIGSTOP)
        try:
            devices.append(await stack.enter_async_context(device(server.live, bob)))
        finally:
            os.kill(paused, signal.SIGCONT)
        holders = _holders(server.port, serving, devices)
        assert holders == set(serving), f"{len(devices)} sockets all landed on one worker"

        # One message, sent through whichever worker takes the request, reaches every socket.
        message = await start(api, alice, bob, "to every worker")
        for dev in devices:
            assert (await dev.expect("message.new", LIVE_WAIT))["message"]["id"] == message["id"]
        print(f"\n--workers 2: {len(devices)} sockets spread over workers {sorted(holders)}; all got the message")

        # SIGTERM with sockets still open: the supervisor stops its workers and exits cleanly.
        began = time.monotonic()
        code = await asyncio.to_thread(server.terminate)
        stopped = time.monotonic() - began
    assert code == 0, server.tail()
    # The workers stop of themselves, before the supervisor (a test's cleanup kills only stragglers).
    assert not [pid for pid in serving if _running(pid)], server.tail()
    print(f"SIGTERM: exit code 0 after {stopped:.2f}s")
