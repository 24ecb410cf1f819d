"""Scale-out (`rapport bench --scale-out`): `rapport serve --workers 1`, then `--workers N`
(2 unless --workers says more), on one PostgreSQL data set and one Redis, figures side by side.

For each worker count, on the same scratch database and a Redis namespace of its own:
  - send throughput at 20 and 32 closed-loop senders (as the send phase), with the CPU per
    accepted message of every server process (supervisor and workers, from /proc, reaped
    children included) and of the PostgreSQL backends serving the scratch database;
  - send -> recipient socket latency at one fixed offered rate (open loop, as the delivery
    phase). The kernel spreads connections over the workers, so a sender's request and its
    recipient's socket are often on different workers: every message delivered there went
    through Redis. Losses (accepted but never on the recipient's socket) are counted, and
    the recipients' sockets are counted per worker process (from /proc/net/tcp).

The database is created on the PostgreSQL server of `--scale-out URL` (default
postgresql+asyncpg://postgres@127.0.0.1:5432/postgres) under a `rapport_bench_` name and
dropped at the end, whatever happened.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from bench import server
from bench.load import open_send_jobs
from bench.stats import add_counts, merge, summarise

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
PREFIX = "rapport_bench_"
LEVELS = (20, 32)


class Runner(Protocol):
    """What the section needs from bench/run.py's Bench (kept apart so this module stays small)."""

    cfg: dict[str, Any]

    def jobs(self, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]: ...

    def send_level(self, srv: server.Server, coroutines: list[list[dict[str, Any]]]) -> dict[str, Any]: ...


# -- the scratch database ----------------------------------------------------------------


def _asyncpg_dsn(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(url: str) -> Any:
    import asyncpg  # type: ignore[import-untyped]

    return await asyncpg.connect(_asyncpg_dsn(url))


def create_database(server_url: str) -> str:
    """A new, empty database on the server of `server_url`; returns its URL."""
    from sqlalchemy.engine import make_url

    name = f"{PREFIX}{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        conn = await _admin(server_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        finally:
            await conn.close()

    asyncio.run(create())
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop a database this module created (refuses any other name)."""
    from sqlalchemy.engine import make_url

    name = make_url(url).database or ""
    if not name.startswith(PREFIX):
        raise ValueError(f"refusing to drop {name!r}: not a bench scratch database")

    async def drop() -> None:
        conn = await _admin(make_url(url).set(database="postgres").render_as_string(hide_password=False))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


def backend_pids(url: str) -> list[int]:
    """The PostgreSQL backends connected to the database of `url` (pg_stat_activity)."""
    from sqlalchemy.engine import make_url

    name = make_url(url).database

    async def pids() -> list[int]:
        conn = await _admin(url)
        try:
            rows = await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name
            )
        finally:
            await conn.close()
        return [int(r["pid"]) for r in rows]

    return asyncio.run(pids())


def sessions_opened(url: str) -> int | None:
    """Sessions ever opened on the database of `url` (pg_stat_database.sessions, PostgreSQL 14+):
    a pool that closes and reopens connections under load shows here."""
    from sqlalchemy.engine import make_url

    async def count() -> int | None:
        conn = await _admin(url)
        try:
            value = await conn.fetchval(
                "SELECT sessions FROM pg_stat_database WHERE datname = $1", make_url(url).database
            )
        finally:
            await conn.close()
        return None if value is None else int(value)

    try:
        return asyncio.run(count())
    except Exception:
        return None


class BackendCpu:
    """CPU seconds of the scratch database's backends over a window: the backends alive at its
    end, each counted from the start (or from 0 when it connected during the window). Only
    possible when PostgreSQL runs on this machine; otherwise `seconds()` is None."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.before = self._read()

    def _read(self) -> dict[int, float] | None:
        try:
            pids = backend_pids(self.url)
        except Exception:
            return None
        out = {}
        for pid in pids:
            try:
                out[pid] = server.proc_cpu_seconds(pid, children=False)
            except Exception:
                continue
        return out if out or not pids else None

    def seconds(self) -> float | None:
        after = self._read()
        if self.before is None or after is None:
            return None
        return sum(cpu - self.before.get(pid, 0.0) for pid, cpu in after.items())


# -- the section -------------------------------------------------------------------------


def _sends(pairs: Sequence[Any]) -> list[list[dict[str, Any]]]:
    return [
        [{"method": "POST", "path": f"/api/v1/conversations/{p.conversation_id}/messages", "token": p.a_token,
          "json": {"body": "Throughput probe: how about Thursday?", "client_id": "{client_id}"}}]
        for p in pairs
    ]  # fmt: skip


def _loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def measure(
    bench: Runner, url: str, env: dict[str, str], pairs: Sequence[Any], workers: int, log: Any
) -> dict[str, Any]:
    """One configuration: start `rapport serve --workers N`, warm it, measure, stop it."""
    c = bench.cfg
    srv = server.rapport(server.free_port(), workers, env, log)
    out: dict[str, Any] = {"workers": workers, "loadavg_before": _loadavg()}
    try:
        srv.wait_ready("/healthz")
        out["processes"] = len(srv.processes())
        # Every worker's pools and prepared statements are warm before anything counts.
        bench.send_level(srv, _sends(pairs[: max(LEVELS)]))
        levels = []
        for conc in LEVELS:
            pg, opened = BackendCpu(url), sessions_opened(url)
            r = bench.send_level(srv, _sends(pairs[:conc]))
            r.pop("_samples")
            pg_cpu = pg.seconds()
            now = sessions_opened(url)
            # Less the two look-ups' own sessions (BackendCpu's and this one's, after `opened`).
            r["postgres_sessions_opened"] = max(0, now - opened - 3) if now is not None and opened is not None else None
            accepted = r.get("accepted") or 0
            per_msg = round(1000 * pg_cpu / accepted, 3) if pg_cpu is not None and accepted else None
            r["postgres_cpu_ms_per_msg"] = per_msg
            levels.append(r)
        out["send"] = levels
        out["delivery"] = delivery(bench, srv, pairs[: c["delivery_pairs"]], c["scale_out_rate"])
    finally:
        srv.stop()
    out["loadavg_after"] = _loadavg()
    return out


def delivery(bench: Runner, srv: server.Server, pairs: Sequence[Any], rate: int) -> dict[str, Any]:
    """Open-loop sends at `rate` msg/s, timed to the recipients' sockets; which worker holds
    each recipient's socket is read from /proc just before the sends start."""
    c = bench.cfg
    senders = c["clients"]
    start_at = time.monotonic_ns() + int(2.5e9)
    end_at = start_at + int((c["delivery_s"] + 3) * 1e9)
    jobs: list[dict[str, Any]] = [
        {"kind": "receive", "base": srv.base, "tokens": [p.b_token for p in pairs], "end_at": end_at}
    ]
    pair_senders = [(p.conversation_id, p.a_token) for p in pairs]
    jobs += open_send_jobs(srv.base, rate, start_at, c["delivery_s"], pair_senders, senders)
    from concurrent.futures import ThreadPoolExecutor

    def sockets() -> dict[str, int]:
        # Before the senders' first request, the only connections to the port are the recipients'.
        time.sleep(max(0.0, (start_at - time.monotonic_ns()) / 1e9 - 0.3))
        return {str(pid): n for pid, n in srv.connections_by_worker().items()}

    with ThreadPoolExecutor(1) as pool:
        spread = pool.submit(sockets)
        got = bench.jobs(jobs)
        by_worker = spread.result()
    recv, sent = got[0], got[1:]
    latencies = recv["latencies_ms"]
    accepted = len(merge(sent))
    return {
        "rate": rate,
        "offered": sum(s["offered"] for s in sent),
        "accepted": accepted,
        "delivered": len(latencies),
        "lost": max(0, accepted - len(latencies)),
        "latency": summarise(latencies),
        "skipped": sum(s["skipped"] for s in sent),
        "errors": sum(s["errors"] for s in sent),
        "statuses": add_counts(sent, "statuses"),
        "receivers_connected": recv["connected"],
        "receivers_ready_before_start": recv["connected_at"] <= start_at,
        "receivers_by_worker": by_worker,
    }


def compare(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The side-by-side figures: for each sender count, the N-worker throughput over the
    1-worker one (and the same for CPU per message)."""
    if len(runs) < 2:
        return {}
    one, many = runs[0], runs[-1]
    out: dict[str, Any] = {"workers": many["workers"], "throughput_ratio": {}, "cpu_ratio": {}}
    for a, b in zip(one.get("send", []), many.get("send", []), strict=False):
        conc = str(a["concurrency"])
        out["throughput_ratio"][conc] = round(b["rps"] / a["rps"], 3) if a.get("rps") else None
        ca, cb = a.get("server_cpu_ms_per_msg"), b.get("server_cpu_ms_per_msg")
        out["cpu_ratio"][conc] = round(cb / ca, 3) if ca and cb else None
    return out


def run(bench: Runner, url: str, env: dict[str, str], pairs: Sequence[Any], workers: int, tmp: Any) -> dict[str, Any]:
    """1 worker, then `workers`, each with its own Redis namespace; the comparison of the two."""
    runs = []
    for n in (1, workers):
        run_env = {**env, "RAPPORT_REDIS_NAMESPACE": f"{env.get('RAPPORT_REDIS_NAMESPACE', 'bench')}-w{n}"}
        runs.append(measure(bench, url, run_env, pairs, n, tmp / f"server-scale-out-{n}.log"))
    return {"levels": list(LEVELS), "rate": bench.cfg["scale_out_rate"], "runs": runs, "compare": compare(runs)}
