"""The machine, the figures as text, and the report on disk (JSON, Markdown, PNG plots)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.stats import fmt

PACKAGES = (
    "rapport",
    "fastapi",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "websockets",
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "redis",
    "orjson",
    "aiohttp",
)


def machine() -> dict[str, Any]:
    """CPU, cores, memory, OS and the versions that matter to the figures."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        import psutil

        mem_gb = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    sqlite_version = None
    try:
        import sqlite3

        sqlite_version = sqlite3.sqlite_version
    except ImportError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": mem_gb,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite_version,
        "versions": versions,
        "git": _git_head(),
    }


def _git_head() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode:
        return None
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def _stamp(name: str) -> str:
    """`full-20261124-201535-notes` -> `20261124-201535`: report names sort by it."""
    parts = name.split("-")
    return "-".join(parts[1:3]) if len(parts) >= 3 else ""


def _kind(database: object) -> str:
    """`sqlite (temporary data dir)` -> `sqlite`; `postgresql+asyncpg://...` -> `postgresql`."""
    return str(database).split(" ", 1)[0].split(":", 1)[0].split("+", 1)[0]


def previous(reports: Path, name: str, database: str) -> dict[str, Any] | None:
    """The newest report written before `name`, of the same mode and database kind if one
    exists (else of the same mode): its name and server CPU per message at each send level."""
    mode, stamp, kind = name.split("-", 1)[0], _stamp(name), _kind(database)
    found: list[tuple[bool, str, str, dict[int, float]]] = []
    for path in reports.glob("*/results.json") if reports.is_dir() else ():
        other = path.parent.name
        if not other.startswith(mode + "-") or not _stamp(other) or _stamp(other) >= stamp:
            continue
        try:
            old = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        cpu = {
            int(lv["concurrency"]): float(lv["server_cpu_ms_per_msg"])
            for lv in old.get("send", {}).get("levels", [])
            if lv.get("server_cpu_ms_per_msg") is not None
        }
        if cpu:
            same_kind = _kind(old.get("setup", {}).get("database", "")) == kind
            found.append((same_kind, _stamp(other), other, cpu))
    if not found:
        return None
    _, _, other, cpu = max(found)
    return {"report": other, "cpu_ms_per_msg": cpu}


def cpu_per_message(results: Mapping[str, Any], prev: Mapping[str, Any] | None) -> dict[str, Any]:
    """Server CPU per accepted message at `cpu_senders`, on the large data set and on an empty
    database, beside the previous report's figure at the nearest sender count it measured."""
    senders = int(results.get("setup", {}).get("config", {}).get("cpu_senders", 20))
    levels = {lv["concurrency"]: lv for lv in results.get("send", {}).get("levels", [])}
    level = levels.get(senders, {})
    empty = results.get("send_empty", {})
    out: dict[str, Any] = {
        "senders": senders,
        "ms": level.get("server_cpu_ms_per_msg"),
        "send_p50_ms": level.get("latency", {}).get("p50"),
        "messages": results.get("dataset", {}).get("messages"),
        "empty_db_ms": empty.get("server_cpu_ms_per_msg"),
        "empty_db_send_p50_ms": empty.get("latency", {}).get("p50"),
        "previous": None,
    }
    if prev and prev.get("cpu_ms_per_msg"):
        cpu = {int(k): v for k, v in prev["cpu_ms_per_msg"].items()}
        nearest = min(cpu, key=lambda c: (abs(c - senders), -c))
        out["previous"] = {"report": prev["report"], "senders": nearest, "ms": cpu[nearest]}
    return out


def cpu_lines(results: Mapping[str, Any]) -> list[str]:
    """The CPU-per-message figures, one line each."""
    cpu = results.get("send", {}).get("cpu")
    if not cpu:
        return []
    prev = cpu.get("previous")
    before = (
        f"previous report {prev['report']}: {fmt(prev['ms'], ' ms', 3)} at {prev['senders']} senders"
        if prev
        else "no earlier report"
    )
    out = [
        f"send CPU {cpu['senders']:>3} senders: {fmt(cpu['ms'], ' ms', 3)} of server CPU per accepted message"
        f" at {cpu.get('messages') or 0:,} messages  ({before})"
    ]
    if cpu.get("empty_db_ms") is not None:
        out.append(
            f"send CPU {cpu['senders']:>3} senders, flat-cost check: {fmt(cpu['empty_db_ms'], ' ms', 3)} per message"
            f" (send p50 {fmt(cpu.get('empty_db_send_p50_ms'), ' ms', 2)}) on an empty database,"
            f" {fmt(cpu['ms'], ' ms', 3)} (p50 {fmt(cpu.get('send_p50_ms'), ' ms', 2)})"
            f" at {cpu.get('messages') or 0:,} messages"
        )
    return out


def lines(results: Mapping[str, Any]) -> list[str]:
    """The figures, one line each, as printed at the end of a run."""
    out = []
    ceiling = results.get("ceiling", {})
    for level in ceiling.get("levels", []):
        lat = level["latency"]
        out.append(
            f"ceiling  bare ASGI hello, {level['concurrency']:>3} conc: {fmt(level['rps'], ' req/s', 0)}"
            f"  p50 {fmt(lat['p50'], ' ms', 2)}  p99 {fmt(lat['p99'], ' ms', 2)}"
        )
    if "healthz" in ceiling:
        h = ceiling["healthz"]
        out.append(
            f"ceiling  FastAPI /healthz, {h['concurrency']:>3} conc: {fmt(h['rps'], ' req/s', 0)}"
            f"  p50 {fmt(h['latency']['p50'], ' ms', 2)}  p99 {fmt(h['latency']['p99'], ' ms', 2)}"
        )
    for level in results.get("send", {}).get("levels", []):
        lat = level["latency"]
        out.append(
            f"send     {level['concurrency']:>3} senders: {fmt(level['rps'], ' msg/s', 0)}"
            f"  p50 {fmt(lat['p50'], ' ms', 2)}  p99 {fmt(lat['p99'], ' ms', 2)}"
            f"  = {fmt(level.get('ratio_to_ceiling'), '', 2)} x ceiling  errors {level['errors']}"
            f"  server CPU {fmt(level.get('server_cpu_ms_per_msg'), ' ms', 3)}/msg"
        )
    out += cpu_lines(results)
    for rate in results.get("delivery", {}).get("rates", []):
        lat = rate["latency"]
        out.append(
            f"delivery {rate['rate']:>5} msg/s offered: {fmt(rate['delivered_per_s'], '/s', 0)} delivered"
            f"  p50 {fmt(lat['p50'], ' ms', 2)}  p95 {fmt(lat['p95'], ' ms', 2)}  p99 {fmt(lat['p99'], ' ms', 2)}"
            f"  (skipped {rate['skipped']}, errors {rate['errors']})"
        )
    live = results.get("live")
    if live:
        for key in ("typing", "read"):
            s = live[key]
            out.append(
                f"{'typing' if key == 'typing' else 'receipt':<8} propagation: p50 {fmt(s['p50'], ' ms', 2)}"
                f"  p99 {fmt(s['p99'], ' ms', 2)}  (n={s['count']})"
            )
    conns = results.get("connections")
    if conns:
        out.append(
            f"idle ws  {conns['connected']:,} of {conns['target']:,} held"
            f"  {fmt(conns.get('kb_per_connection'), ' KB', 1)} per connection"
            f" ({fmt(conns.get('kb_per_connection_marginal'), ' KB', 1)} marginal)"
            f"  (RSS {fmt(conns['rss_before_mb'], ' MB', 0)} -> {fmt(conns['rss_after_mb'], ' MB', 0)},"
            f" ramp {fmt(conns['ramp_seconds'], ' s', 1)}, failed {conns['failed']})"
        )
        if conns.get("cpu_us_per_connection_s") is not None:
            out.append(
                f"idle ws  server CPU {fmt(conns['cpu_us_per_connection_s'], ' µs', 2)} per connection per second"
                f" (over {fmt(conns['idle_cpu_window_s'], ' s', 0)} of holding them)"
                + (
                    f"; {fmt(conns['cpu_us_per_connection_s_marginal'], ' µs', 2)} once the server's own"
                    f" {fmt(conns['server_idle_cpu_ms_s'], ' ms', 2)} a second without them is taken out"
                    if conns.get("cpu_us_per_connection_s_marginal") is not None
                    else ""
                )
            )
    for where, sizes in results.get("attachments", {}).items():
        if not sizes.get("available", True):
            out.append(f"attach   {where}: not measured ({sizes.get('reason', '')})")
            continue
        for label, r in sizes.items():
            if not isinstance(r, dict):
                continue
            out.append(
                f"attach   {where:<5} {label:>5} x{r['files']:<3}: upload {fmt(r['upload_mb_s'], ' MB/s', 1)}"
                f"  download {fmt(r['download_mb_s'], ' MB/s', 1)}"
                f"  server RSS {fmt(r['rss_before_mb'], ' MB', 0)} -> peak {fmt(r['rss_peak_mb'], ' MB', 0)}"
                f" while uploading (+{fmt(r['rss_growth_mb'], ' MB', 1)})"
            )
    sp = results.get("sponsored")
    if sp:
        out.append(
            f"sponsor  {sp['audience_size']:,} members: {fmt(sp['recipients_per_s'], ' recipients/s', 0)}"
            f"  ({sp['delivered']:,} delivered, {sp['skipped']:,} skipped in {fmt(sp['seconds'], ' s', 1)};"
            f" {fmt(sp['server_cpu_ms_per_recipient'], ' ms', 3)} server CPU each)"
            f"  RSS {fmt(sp['rss_before_mb'], ' MB', 0)} -> peak {fmt(sp['rss_peak_mb'], ' MB', 0)}"
        )
        d = sp["sends_during"]
        out.append(
            f"sponsor  sends meanwhile, {d['concurrency']} senders: {fmt(d['rps'], ' msg/s', 0)}"
            f"  p50 {fmt(d['latency']['p50'], ' ms', 2)}  p99 {fmt(d['latency']['p99'], ' ms', 2)}"
            f"  errors {d['errors']}{'' if d['overlapped_delivery'] else '  (delivery ended before the sends did)'}"
        )
    for key, label in (("inbox", "inbox"), ("search", "search (Zipf vocabulary)"),
                       ("search_old_vocabulary", "search (old 32-word vocabulary)")):  # fmt: skip
        r = results.get(key)
        if not r:
            continue
        if not r.get("available", True):
            out.append(f"{label:<8} not available ({r.get('reason', '')})")
            continue
        lat = r["latency"]
        out.append(
            f"{label:<8} at {results.get('dataset', {}).get('messages', 0):,} messages: {fmt(r['rps'], ' req/s', 0)}"
            f"  p50 {fmt(lat['p50'], ' ms', 2)}  p99 {fmt(lat['p99'], ' ms', 2)}"
        )
    fanout = results.get("group_fanout")
    if fanout:
        lat = fanout["latency"]
        out.append(
            f"fan-out  {fanout['participants']}-person group chat at {fanout['rate']} msg/s:"
            f" {fanout['arrivals']:,} of {fanout['expected_arrivals']:,} arrivals"
            f"  p50 {fmt(lat['p50'], ' ms', 2)}  p99 {fmt(lat['p99'], ' ms', 2)}"
            f"  (skipped {fanout['skipped']}, errors {fanout['errors']})"
            + (
                f"; server CPU {fanout['server_cpu_ms_per_message']} ms per message,"
                f" {fanout['server_cpu_us_per_frame']} µs per frame"
                if "server_cpu_ms_per_message" in fanout
                else ""
            )
        )
    group = results.get("group_members")
    if group:
        lat = group["latency"]
        out.append(
            f"group    members page of {group.get('members') or 0:,}: {fmt(group['rps'], ' req/s', 0)}"
            f"  p50 {fmt(lat['p50'], ' ms', 2)}  p99 {fmt(lat['p99'], ' ms', 2)}"
        )
    for key, what in (("insight", "insight "), ("follow_ups", "follow-ups")):
        r = results.get(key)
        if r:
            lat = r["latency"]
            out.append(
                f"{what} for a member with {r['sent']:,} sent messages: {fmt(r['rps'], ' req/s', 0)}"
                f"  p50 {fmt(lat['p50'], ' ms', 2)}  p99 {fmt(lat['p99'], ' ms', 2)}"
                f"  server CPU {fmt(r.get('server_cpu_ms_per_request'), ' ms', 1)} per answer"
            )
    out += scale_out_lines(results)
    for r in results.get("notify", {}).values():
        out.append(
            f"notify   {r['what']:5} backlog of {r['backlog']:,}: {r['sent']:,} sent in {r['seconds']} s ="
            f" {fmt(r['per_second'], '/s', 0)}  (sender CPU {r['sender_cpu_ms_each']} ms each)"
        )
    return out


def _workers(n: int) -> str:
    return f"{n} worker{'s' if n != 1 else ''}"


def scale_out_lines(results: Mapping[str, Any]) -> list[str]:
    """The scale-out section, each figure of `--workers 1` beside the same of `--workers N`."""
    so = results.get("scale_out")
    if not so or not so.get("runs"):
        return []
    runs = so["runs"]
    compare = so.get("compare", {})
    out = [
        "scale-out PostgreSQL + Redis, one data set: "
        + " | ".join(f"`rapport serve --workers {r['workers']}`" for r in runs)
    ]
    for i, conc in enumerate(so.get("levels", [])):
        cells = []
        for r in runs:
            lv = r["send"][i] if i < len(r.get("send", [])) else {}
            cells.append(
                f"{_workers(r['workers'])} {fmt(lv.get('rps'), ' msg/s', 0)}"
                f" p99 {fmt(lv.get('latency', {}).get('p99'), ' ms', 1)}"
                f" CPU {fmt(lv.get('server_cpu_ms_per_msg'), ' ms', 3)} server"
                f" + {fmt(lv.get('postgres_cpu_ms_per_msg'), ' ms', 3)} PostgreSQL /msg"
            )
        ratio = compare.get("throughput_ratio", {}).get(str(conc))
        out.append(f"scale-out send {conc:>3} senders: " + " | ".join(cells) + f"  = {fmt(ratio, 'x', 2)}")
    cells = []
    for r in runs:
        d = r.get("delivery", {})
        lat = d.get("latency", {})
        spread = "/".join(str(n) for n in sorted(d.get("receivers_by_worker", {}).values(), reverse=True))
        cells.append(
            f"{_workers(r['workers'])} p50 {fmt(lat.get('p50'), ' ms', 2)} p99 {fmt(lat.get('p99'), ' ms', 2)},"
            f" {d.get('delivered', 0):,} of {d.get('accepted', 0):,} delivered, lost {d.get('lost', 0)}"
            f" (recipients' sockets per worker {spread or 'n/a'})"
        )
    out.append(f"scale-out delivery at {so.get('rate')} msg/s offered: " + " | ".join(cells))
    out.append(
        "scale-out load average (1 min) before -> after: "
        + " | ".join(
            f"{_workers(r['workers'])} {fmt((r.get('loadavg_before') or [None])[0], '', 2)}"
            f" -> {fmt((r.get('loadavg_after') or [None])[0], '', 2)}"
            for r in runs
        )
    )
    return out


def scale_out_table(results: Mapping[str, Any]) -> list[str]:
    """The scale-out figures as a Markdown table, one column per worker count."""
    so = results.get("scale_out")
    if not so or not so.get("runs"):
        return []
    runs = so["runs"]
    head = "| | " + " | ".join(f"`--workers {r['workers']}`" for r in runs) + " |"
    rows = [head, "|---|" + "---|" * len(runs)]

    def row(label: str, cell: Any) -> None:
        rows.append(f"| {label} | " + " | ".join(cell(r) for r in runs) + " |")

    for i, conc in enumerate(so.get("levels", [])):

        def level(r: Mapping[str, Any], i: int = i) -> Mapping[str, Any]:
            send = r.get("send", [])
            return send[i] if i < len(send) else {}

        row(f"send, {conc} senders", lambda r, lv=level: f"{fmt(lv(r).get('rps'), ' msg/s', 0)}")
        row(
            f"send p50 / p99, {conc} senders",
            lambda r, lv=level: (
                f"{fmt(lv(r).get('latency', {}).get('p50'), ' ms', 1)}"
                f" / {fmt(lv(r).get('latency', {}).get('p99'), ' ms', 1)}"
            ),
        )
        row(
            f"CPU per accepted message, {conc} senders: server processes / PostgreSQL",
            lambda r, lv=level: (
                f"{fmt(lv(r).get('server_cpu_ms_per_msg'), ' ms', 3)}"
                f" / {fmt(lv(r).get('postgres_cpu_ms_per_msg'), ' ms', 3)}"
            ),
        )
        row(
            f"PostgreSQL sessions opened during the {conc}-sender phase",
            lambda r, lv=level: fmt(lv(r).get("postgres_sessions_opened"), "", 0),
        )
    rate = so.get("rate")
    row(
        f"send → recipient's socket at {rate} msg/s, p50 / p99",
        lambda r: (
            f"{fmt(r.get('delivery', {}).get('latency', {}).get('p50'), ' ms', 2)}"
            f" / {fmt(r.get('delivery', {}).get('latency', {}).get('p99'), ' ms', 2)}"
        ),
    )
    row(
        "delivered / accepted (lost)",
        lambda r: (
            f"{r.get('delivery', {}).get('delivered', 0):,} / {r.get('delivery', {}).get('accepted', 0):,}"
            f" ({r.get('delivery', {}).get('lost', 0)})"
        ),
    )
    row(
        "recipients' sockets per worker process",
        lambda r: "/".join(str(n) for n in sorted(r.get("delivery", {}).get("receivers_by_worker", {}).values(),
                                                    reverse=True)) or "n/a",
    )  # fmt: skip
    row(
        "load average (1 min), before → after",
        lambda r: (
            f"{fmt((r.get('loadavg_before') or [None])[0], '', 2)}"
            f" → {fmt((r.get('loadavg_after') or [None])[0], '', 2)}"
        ),
    )
    return rows


def targets(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each with the figure reached and whether it is met."""
    checks: list[dict[str, Any]] = []

    def check(name: str, value: float | None, limit: float, *, below: bool, unit: str) -> None:
        met = None if value is None else (value < limit if below else value >= limit)
        checks.append({"target": name, "value": value, "limit": limit, "unit": unit, "met": met})

    send = results.get("send", {}).get("levels", [])
    best = max((lv.get("ratio_to_ceiling") or 0 for lv in send), default=None)
    check("send throughput / bare ASGI", best, 0.5, below=False, unit="x")
    rates = {r["rate"]: r for r in results.get("delivery", {}).get("rates", [])}
    top = rates.get(max(rates)) if rates else None
    check(
        f"delivery p99 at {max(rates) if rates else '?'} msg/s",
        top and top["latency"]["p99"],
        20,
        below=True,
        unit="ms",
    )
    quiet = rates.get(25)
    check("send → recipient p50 at 25 msg/s", quiet and quiet["latency"]["p50"], 3, below=True, unit="ms")
    live = results.get("live", {})
    check("receipt p99", live.get("read", {}).get("p99"), 10, below=True, unit="ms")
    check("typing p99", live.get("typing", {}).get("p99"), 10, below=True, unit="ms")
    conns = results.get("connections", {})
    check("idle WebSockets held", conns.get("connected"), 50_000, below=False, unit="")
    check("memory per connection", conns.get("kb_per_connection"), 20, below=True, unit="KB")
    check("server CPU per idle connection per second", conns.get("cpu_us_per_connection_s"), 2, below=True, unit="µs")
    check("inbox p99", results.get("inbox", {}).get("latency", {}).get("p99"), 10, below=True, unit="ms")
    check("search p99 (Zipf vocabulary)", results.get("search", {}).get("latency", {}).get("p99"), 50, below=True,
          unit="ms")  # fmt: skip
    old_search = results.get("search_old_vocabulary", {}).get("latency", {})
    check("search p99 (old 32-word vocabulary)", old_search.get("p99"), 50, below=True, unit="ms")
    cpu = results.get("send", {}).get("cpu", {})
    check(f"server CPU per accepted message ({cpu.get('senders', 20)} senders)", cpu.get("ms"), 0.5, below=True,
          unit="ms")  # fmt: skip
    fanout = results.get("group_fanout", {})
    check(
        f"group chat fan-out p99 ({fanout.get('participants', 51)} sockets, {fanout.get('rate', 200)} msg/s)",
        fanout.get("latency", {}).get("p99"),
        30,
        below=True,
        unit="ms",
    )
    group = results.get("group_members", {}).get("latency", {})
    check("group members page p99 (20,000 members)", group.get("p99"), 20, below=True, unit="ms")
    sponsored = results.get("sponsored", {})
    check("sponsored delivery (SQLite, one process)", sponsored.get("recipients_per_s"), 2_000, below=False, unit="/s")
    check(
        "send p99 during sponsored delivery",
        sponsored.get("sends_during", {}).get("latency", {}).get("p99"),
        50,
        below=True,
        unit="ms",
    )
    big = results.get("attachments", {}).get("s3", {}).get("25 MB", {})
    check("server RSS growth while uploading 25 MB files to S3", big.get("rss_growth_mb"), 25, below=True, unit="MB")
    insight = results.get("insight", {})
    check(
        f"insight p99 ({insight.get('sent', 10_000):,} sent)",
        insight.get("latency", {}).get("p99"),
        100,
        below=True,
        unit="ms",
    )
    email = results.get("notify", {}).get("email", {})
    check(
        f"e-mails per second from a {email.get('backlog', 10_000):,} backlog (loopback SMTP)",
        email.get("per_second"),
        500,
        below=False,
        unit="/s",
    )
    compare = results.get("scale_out", {}).get("compare", {})
    if compare:
        top = max((int(k) for k in compare.get("throughput_ratio", {})), default=None)
        checks.append(
            {
                "target": f"scale-out {_workers(compare['workers'])} / 1 worker (send throughput, {top} senders)",
                "value": compare["throughput_ratio"].get(str(top)) if top is not None else None,
                "limit": None,
                "unit": "x",
                "met": None,
                "informational": True,
            }
        )
    return checks


def markdown(results: Mapping[str, Any], plots: Sequence[str]) -> str:
    m = results["machine"]
    setup = results["setup"]
    ds = results.get("dataset", {})
    out = [
        f"# Rapport bench: {results['name']}",
        "",
        f"Mode **{results['mode']}**, started {results['started_at']}, took {fmt(results.get('seconds'), ' s', 0)}.",
        "",
        "## Machine and set-up",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores; memory {m['memory_gb']} GB; {m['os']}; Python {m['python']};"
        f" SQLite {m['sqlite']}; git {m['git']}",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v),
        f"- Server: `rapport serve --workers {setup['workers']}` (uvicorn, uvloop, httptools, websockets;"
        f" log level warning), database `{setup['database']}`, bus `{setup['bus']}`;"
        + (
            " SQLite synchronous=FULL (a 201 is on disk)."
            if str(setup["database"]).startswith("sqlite")
            else " PostgreSQL: a 201 is committed, as durable as the server's synchronous_commit makes it."
        ),
        f"- Clients: {setup['client_processes']} separate processes (asyncio + aiohttp / websockets) on the same"
        " machine, 127.0.0.1 only: they share the CPU with the server, so every figure is a floor.",
        f"- Data set: {ds.get('members', 0):,} members, {ds.get('conversations', 0):,} conversations,"
        f" {ds.get('messages', 0):,} messages, {ds.get('events', 0):,} event-log rows,"
        f" written directly in {fmt(ds.get('seconds'), ' s', 1)}.",
        "",
        "## Figures",
        "",
        "```",
        *lines(results),
        "```",
        "",
        "## Targets",
        "",
        "| target | reached | limit | met |",
        "|---|---|---|---|",
    ]
    for t in results.get("targets", []):
        met = "informational" if t.get("informational") else {True: "yes", False: "**no**", None: "n/a"}[t["met"]]
        value = "n/a" if t["value"] is None else f"{t['value']:,}"
        limit = "—" if t["limit"] is None else f"{t['limit']:,} {t['unit']}"
        out.append(f"| {t['target']} | {value} {t['unit']} | {limit} | {met} |")
    table = scale_out_table(results)
    if table:
        out += ["", "## Scale-out", "", *table]
    out += ["", "## Method", ""]
    out += [f"- {note}" for note in results.get("notes", [])]
    out += ["", "## Plots", ""]
    out += [f"![{Path(p).stem}]({Path(p).name})" for p in plots]
    return "\n".join(out) + "\n"


def plot(out_dir: Path, results: Mapping[str, Any], samples: Mapping[str, Sequence[float]]) -> list[str]:
    """Throughput bars, latency CDFs and the connection ramp, as PNG files."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    written = []
    levels = results.get("send", {}).get("levels", [])
    ceiling = {lv["concurrency"]: lv["rps"] for lv in results.get("ceiling", {}).get("levels", [])}
    if levels:
        fig, ax = plt.subplots(figsize=(7, 4))
        xs = range(len(levels))
        ax.bar(
            [x - 0.2 for x in xs], [ceiling.get(lv["concurrency"], 0) for lv in levels], 0.4, label="bare ASGI hello"
        )
        ax.bar([x + 0.2 for x in xs], [lv["rps"] for lv in levels], 0.4, label="send message (201)")
        ax.set_xticks(list(xs), [str(lv["concurrency"]) for lv in levels])
        ax.set_xlabel("concurrent clients")
        ax.set_ylabel("requests / s")
        ax.set_title("Send throughput against the bare-ASGI ceiling")
        ax.legend()
        written.append(_save(fig, out_dir / "throughput.png"))
    curves = {k: v for k, v in samples.items() if v}
    if curves:
        fig, ax = plt.subplots(figsize=(7, 4))
        for name, values in curves.items():
            ordered = sorted(values)
            n = len(ordered)
            ax.plot(ordered, [(i + 1) / n for i in range(n)], label=f"{name} (n={n})")
        ax.set_xscale("log")
        ax.set_xlabel("latency, ms (log)")
        ax.set_ylabel("fraction of requests")
        ax.set_title("Latency CDFs")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        written.append(_save(fig, out_dir / "latency.png"))
    series = results.get("connections", {}).get("series", [])
    if series:
        fig, ax = plt.subplots(figsize=(7, 4))
        ts = [s[0] for s in series]
        ax.plot(ts, [s[1] for s in series], label="connections held")
        ax.set_xlabel("seconds")
        ax.set_ylabel("connections")
        ax2 = ax.twinx()
        ax2.plot(ts, [s[2] for s in series], color="tab:red", label="server RSS (MB)")
        ax2.set_ylabel("server RSS, MB")
        ax.set_title("Idle WebSocket ramp")
        fig.legend(loc="upper left")
        written.append(_save(fig, out_dir / "connections.png"))
    return written


def _save(fig: Any, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return str(path)


def write(out_dir: Path, results: dict[str, Any], samples: Mapping[str, Sequence[float]]) -> list[Path]:
    """results.json, report.md and the plots under `out_dir`; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = plot(out_dir, results, samples)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (out_dir / "report.md").write_text(markdown(results, plots))
    return [out_dir / "results.json", out_dir / "report.md", *map(Path, plots)]
