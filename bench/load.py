"""What each client process runs: asyncio + aiohttp (HTTP) and websockets (WebSocket).

Every job is a plain dict in and a plain dict out, so it can run in a spawned process.
Times are `time.monotonic_ns()`, which is one clock for every process on the machine:
a sender can stamp a message and another process can time its arrival.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson

NS = 1_000_000  # ns per ms


def raise_nofile(target: int = 200_000) -> int:
    """Lift this process's open-file limit as far as allowed; returns the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(soft, target)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    except (ValueError, OSError):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Entry point in a client process."""
    raise_nofile()
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
        pass
    kinds: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
        "noop": _noop,
        "closed_http": closed_http,
        "open_send": open_send,
        "receive": receive,
        "live": live,
        "idle": idle,
    }
    return asyncio.run(kinds[job["kind"]](job))


async def _noop(job: dict[str, Any]) -> dict[str, Any]:
    import aiohttp  # noqa: F401 - warm the import
    import websockets  # noqa: F401

    return {}


async def _sleep_until(deadline_ns: int) -> None:
    delay = (deadline_ns - time.monotonic_ns()) / 1e9
    if delay > 0:
        await asyncio.sleep(delay)


def _session(job: dict[str, Any]) -> Any:
    import aiohttp

    local = job.get("local_ip")
    connector = aiohttp.TCPConnector(limit=0, local_addr=(local, 0) if local else None, force_close=False)
    return aiohttp.ClientSession(job["base"], connector=connector, timeout=aiohttp.ClientTimeout(total=30))


async def closed_http(job: dict[str, Any]) -> dict[str, Any]:
    """Closed loop: each coroutine sends its next request when the last one answers.

    job: base, targets (one list of requests per coroutine, cycled), start_at, duration, expect.
    A request is {method, path, token?, json?}; `json` may hold "{client_id}", filled in fresh.
    """
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    expect = job["expect"]
    start_at, end_at = job["start_at"], job["start_at"] + int(job["duration"] * 1e9)

    async with _session(job) as session:

        async def one(requests: list[dict[str, Any]]) -> None:
            nonlocal errors
            headers = [{"Authorization": f"Bearer {r['token']}"} if r.get("token") else {} for r in requests]
            await _sleep_until(start_at)
            i = 0
            while time.monotonic_ns() < end_at:
                r = requests[i % len(requests)]
                body = r.get("json")
                if body is not None and body.get("client_id") == "{client_id}":
                    body = {**body, "client_id": uuid.uuid4().hex}
                t0 = time.monotonic_ns()
                try:
                    async with session.request(
                        r["method"], r["path"], json=body, headers=headers[i % len(requests)]
                    ) as resp:
                        await resp.read()
                        status = resp.status
                except Exception:
                    errors += 1
                    await asyncio.sleep(0.01)
                    i += 1
                    continue
                t1 = time.monotonic_ns()
                statuses[status] = statuses.get(status, 0) + 1
                if status == expect and t1 <= end_at:
                    latencies.append((t1 - t0) / NS)
                i += 1

        await asyncio.gather(*(one(reqs) for reqs in job["targets"]))
    return {"latencies_ms": latencies, "statuses": statuses, "errors": errors, "seconds": job["duration"]}


def open_send_jobs(
    base: str, rate: float, start_at: int, duration: float, senders: Sequence[tuple[int, str]], processes: int
) -> list[dict[str, Any]]:
    """`processes` open-send jobs sharing `senders` and `rate` msg/s between them, their schedules
    interleaved: together they send every 1/rate s. (Started together, each at rate/processes,
    they would send in bursts of `processes` messages at once, and each burst's later messages
    would wait behind the first: a queue the offered rate does not have.)"""
    return [
        {"kind": "open_send", "base": base, "rate": rate / processes, "start_at": start_at + int(i * 1e9 / rate),
         "duration": duration, "senders": list(senders[i::processes]), "max_in_flight": 64}
        for i in range(processes)
    ]  # fmt: skip


async def open_send(job: dict[str, Any]) -> dict[str, Any]:
    """Open loop: send at a fixed rate whatever the answers, each message stamped with the
    time it was due, so the receiver measures from the schedule (no coordinated omission).

    job: base, rate (msg/s for this process), start_at, duration, senders [(conversation_id, token)],
    max_in_flight.
    """
    rate, start_at, duration = job["rate"], job["start_at"], job["duration"]
    total = int(rate * duration)
    senders = job["senders"]
    latencies: list[float] = []
    late: list[float] = []
    statuses: dict[int, int] = {}
    errors = skipped = 0
    in_flight = 0
    done = asyncio.Event()
    async with _session(job) as session:

        async def send(i: int, due: int) -> None:
            nonlocal errors, in_flight
            cid, token = senders[i % len(senders)]
            # Stamped when it leaves, not when it was due: the client's timer fires up to a
            # millisecond early or late (uvloop's clock has millisecond steps), and that is
            # the client's error, not the server's latency. How late it left is kept apart.
            sent_at = time.monotonic_ns()
            late.append((sent_at - due) / NS)
            body = {"body": f"t:{sent_at} delivery probe {i}", "client_id": uuid.uuid4().hex}
            try:
                async with session.post(
                    f"/api/v1/conversations/{cid}/messages", json=body, headers={"Authorization": f"Bearer {token}"}
                ) as resp:
                    await resp.read()
                    statuses[resp.status] = statuses.get(resp.status, 0) + 1
                    if resp.status == 201:
                        latencies.append((time.monotonic_ns() - due) / NS)
            except Exception:
                errors += 1
            finally:
                in_flight -= 1
                if in_flight == 0 and i == total - 1:
                    done.set()

        tasks = set()
        for i in range(total):
            due = start_at + int(i * 1e9 / rate)
            await _sleep_until(due)
            if in_flight >= job["max_in_flight"]:
                skipped += 1  # the server is this far behind: count it, do not queue without bound
                continue
            in_flight += 1
            task = asyncio.create_task(send(i, due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(15):
                while tasks:
                    await asyncio.gather(*list(tasks), return_exceptions=True)
    return {
        "latencies_ms": latencies,
        "late_ms": late,
        "statuses": statuses,
        "errors": errors,
        "skipped": skipped,
        "offered": total,
        "seconds": duration,
    }


def _ws_url(base: str, token: str) -> str:
    return base.replace("http://", "ws://") + f"/api/v1/ws?token={token}"


async def _connect(base: str, token: str, local_ip: str | None = None, timeout: float = 30) -> Any:
    from websockets.asyncio.client import connect

    # Offer permessage-deflate, as every browser does: the figures are a browser's (the server
    # takes it up only with RAPPORT_WS_COMPRESSION=on).
    kwargs: dict[str, Any] = {
        "ping_interval": None,
        "open_timeout": timeout,
        "close_timeout": 2,
        "compression": "deflate",
    }
    if local_ip:
        kwargs["local_addr"] = (local_ip, 0)
    ws = await connect(_ws_url(base, token), **kwargs)
    hello = orjson.loads(await asyncio.wait_for(ws.recv(), timeout))
    if hello.get("type") != "hello":
        await ws.close()
        raise ConnectionError(f"no hello: {hello}")
    return ws


async def receive(job: dict[str, Any]) -> dict[str, Any]:
    """Hold recipients' sockets; time each stamped message from when it was sent to its arrival.

    job: base, tokens, end_at.
    """
    latencies: list[float] = []
    sockets = await asyncio.gather(*(_connect(job["base"], t) for t in job["tokens"]), return_exceptions=True)
    live = [s for s in sockets if not isinstance(s, BaseException)]
    connected_at = time.monotonic_ns()

    async def drain(ws: Any) -> None:
        with contextlib.suppress(Exception):
            async for raw in ws:
                now = time.monotonic_ns()
                if '"message.new"' not in raw:
                    continue
                body = orjson.loads(raw)["message"]["body"]
                if body.startswith("t:"):
                    latencies.append((now - int(body[2 : body.index(" ")])) / NS)

    readers = [asyncio.create_task(drain(ws)) for ws in live]
    await _sleep_until(job["end_at"])
    for ws in live:
        with contextlib.suppress(Exception):
            await ws.close()
    for r in readers:
        r.cancel()
    return {"latencies_ms": latencies, "connected": len(live), "connected_at": connected_at}


async def live(job: dict[str, Any]) -> dict[str, Any]:
    """Typing and read receipts: a sends over its socket, b's socket times the event.

    job: base, pairs [{cid, a_token, b_token, unread}], start_at, duration, period.
    """
    typing_ms: list[float] = []
    read_ms: list[float] = []
    timeouts = 0
    waiting: dict[tuple[str, str, str], asyncio.Future[int]] = {}

    async def drain(ws: Any) -> None:
        with contextlib.suppress(Exception):
            async for raw in ws:
                now = time.monotonic_ns()
                event = orjson.loads(raw)
                kind = event.get("type")
                if kind == "typing" and event.get("typing"):
                    key = ("typing", event["conversation_id"], "")
                elif kind == "message.read":
                    key = ("read", event["conversation_id"], event["message_id"])
                else:
                    continue
                fut = waiting.pop(key, None)
                if fut is not None and not fut.done():
                    fut.set_result(now)

    async def pair(p: dict[str, Any], a: Any, offset: float) -> None:
        nonlocal timeouts
        cid = str(p["cid"])
        unread = list(p["unread"])
        await _sleep_until(job["start_at"] + int(offset * 1e9))
        end_at = job["start_at"] + int(job["duration"] * 1e9)
        loop = asyncio.get_running_loop()
        while time.monotonic_ns() < end_at:
            began = time.monotonic_ns()
            probes: list[tuple[tuple[str, str, str], dict[str, Any], list[float]]] = [
                (("typing", cid, ""), {"type": "typing", "conversation_id": cid, "typing": True}, typing_ms)
            ]
            if unread:
                mid = str(unread.pop(0))
                probes.append(
                    (("read", cid, mid), {"type": "read", "conversation_id": cid, "message_id": mid}, read_ms)
                )
            for key, frame, into in probes:
                fut: asyncio.Future[int] = loop.create_future()
                waiting[key] = fut
                t0 = time.monotonic_ns()
                await a.send(orjson.dumps(frame).decode())
                try:
                    into.append((await asyncio.wait_for(fut, 5) - t0) / NS)
                except TimeoutError:
                    timeouts += 1
                    waiting.pop(key, None)
            await asyncio.sleep(max(0.0, job["period"] - (time.monotonic_ns() - began) / 1e9))

    pairs = job["pairs"]
    a_socks = await asyncio.gather(*(_connect(job["base"], p["a_token"]) for p in pairs))
    b_socks = await asyncio.gather(*(_connect(job["base"], p["b_token"]) for p in pairs))
    readers = [asyncio.create_task(drain(ws)) for ws in (*a_socks, *b_socks)]
    n = len(pairs)
    await asyncio.gather(
        *(pair(p, a, job["period"] * i / n) for i, (p, a) in enumerate(zip(pairs, a_socks, strict=True)))
    )
    for ws in (*a_socks, *b_socks):
        with contextlib.suppress(Exception):
            await ws.close()
    for r in readers:
        r.cancel()
    return {"typing_ms": typing_ms, "read_ms": read_ms, "timeouts": timeouts}


async def idle(job: dict[str, Any]) -> dict[str, Any]:
    """Open `count` sockets in bounded batches, report progress, hold them until released.

    job: base, tokens (cycled), count, local_ip, batch, deadline (monotonic ns), progress (shared dict), name.
    """
    progress = job["progress"]
    name = job["name"]
    tokens = job["tokens"]
    held: list[Any] = []
    failed = 0
    first_error = ""
    started = time.monotonic_ns()
    i = 0
    while i < job["count"] and time.monotonic_ns() < job["deadline"]:
        n = min(job["batch"], job["count"] - i)
        got = await asyncio.gather(
            *(_connect(job["base"], tokens[(i + k) % len(tokens)], job["local_ip"], 20) for k in range(n)),
            return_exceptions=True,
        )
        for g in got:
            if isinstance(g, BaseException):
                failed += 1
                first_error = first_error or repr(g)[:200]
            else:
                held.append(g)
        i += n
        progress[name] = len(held)
    ramp_seconds = (time.monotonic_ns() - started) / 1e9
    progress[f"{name}:done"] = True
    while not progress.get("release") and time.monotonic_ns() < job["deadline"] + int(60e9):  # noqa: ASYNC110
        await asyncio.sleep(0.2)  # the release comes from another process
    alive = sum(1 for ws in held if ws.state.name == "OPEN")
    await asyncio.gather(*(ws.close() for ws in held), return_exceptions=True)
    return {
        "connected": len(held),
        "alive_at_release": alive,
        "failed": failed,
        "first_error": first_error,
        "ramp_seconds": ramp_seconds,
    }
