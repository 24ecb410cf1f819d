"""`rapport bench [--quick]`: start the server as a user would, drive it from separate client
processes over real HTTP and WebSockets, print every figure and write a report.

Phases (each bounded in count and time; 127.0.0.1 only):
  0. data set, written directly into the database (bench/dataset.py)
  1. the ceiling: a bare ASGI hello-world on the same uvicorn stack, same worker count
  2. send throughput: closed-loop senders, each in its own 1:1 thread, with the server's CPU
     per accepted message read from /proc; the same at `cpu_senders` on an empty database
     (SQLite runs), so a cost that grows with the data shows
  3. delivery latency: open-loop sends at fixed rates, timed to the recipient's socket
  4. typing and read-receipt propagation over WebSockets
  5. inbox page and search latency on the large data set (search on a Zipf-distributed
     vocabulary and on the old 32-word one); engagement insight for a member
     with 10,000 sent messages
  6. attachments: upload and download throughput (1 MB, 25 MB) to local disk and to S3
     (a SeaweedFS on loopback), and the server's memory while it receives 25 MB files
  7. idle WebSockets held by one server, and server memory per connection
  8. notifications: e-mails and pushes per second from a backlog of due ones (bench/notify.py)
  9. sponsored delivery: a campaign to every member (100k in the full run) delivered by the
     server's job runner, with member sends running meanwhile

`--scale-out` runs, instead of those phases, the scale-out section (bench/scaleout.py):
`rapport serve --workers 1` then `--workers 2` on a scratch PostgreSQL database and Redis.

`--only sponsored` (or any comma list of the phases in PHASES) runs only those phases after
the data set; `--members N` sizes the big network (e.g. `--quick --members 100000 --only
sponsored`: a 100k audience without the full run's million messages).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import secrets
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import attachments, dataset, notify, report, scaleout, seaweed, server  # noqa: E402
from bench.load import open_send_jobs, raise_nofile, run_job  # noqa: E402
from bench.stats import add_counts, fmt, merge, ratio, summarise  # noqa: E402

QUICK: dict[str, Any] = {
    "live_pairs": 16,
    "unread": 30,
    "idle_members": 500,
    "big_members": 2_000,
    "big_messages": 20_000,
    "probes": 100,
    "clients": 2,
    "levels": [8, 20, 32],
    "cpu_senders": 20,
    "phase_s": 2.5,
    "rates": [25, 200, 1000],
    "delivery_s": 3.0,
    "delivery_pairs": 64,
    "live_s": 10.0,
    "inbox_s": 2.5,
    "inbox_concurrency": 4,
    "idle_target": 2_000,
    "idle_procs": 2,
    "idle_batch": 100,
    "idle_budget_s": 25.0,
    "idle_cpu_s": 25.0,
    "idle_base_s": 10.0,
    "attachments": {"1 MB": 10, "25 MB": 3},
    "prolific_sent": 10_000,
    "fanout_rate": 200,
    "fanout_senders": 8,
    "notify_emails": 2_000,
    "notify_pushes": 500,
    "sponsored_senders": 8,
    "sponsored_send_s": 2.0,
    "sponsored_budget_s": 600.0,
    "scale_out_rate": 200,
}
FULL: dict[str, Any] = {
    **QUICK,
    "live_pairs": 40,
    "unread": 60,
    "idle_members": 5_000,
    "big_members": 100_000,
    "big_messages": 1_000_000,
    "probes": 500,
    "levels": [8, 20, 32, 128],
    "phase_s": 12.0,
    "delivery_s": 15.0,
    "delivery_pairs": 200,
    "live_s": 15.0,
    "inbox_s": 10.0,
    "notify_emails": 10_000,
    "notify_pushes": 2_000,
    "idle_target": 50_000,
    "idle_procs": 8,
    "idle_batch": 250,
    "idle_budget_s": 240.0,
    "idle_cpu_s": 45.0,
    "idle_base_s": 15.0,
    "sponsored_send_s": 10.0,
    "attachments": {"1 MB": 40, "25 MB": 8},
}


def now_ns() -> int:
    return time.monotonic_ns()


def say(text: str) -> None:
    print(text, flush=True)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.cfg = dict(QUICK if args.quick else FULL)
        if args.members:
            self.cfg["big_members"] = args.members
        self.mode = "quick" if args.quick else "full"
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        self.name = f"{self.mode}-{stamp}"
        self.out = Path(args.out) if args.out else ROOT / "bench" / "reports" / self.name
        self.tmp = Path(tempfile.mkdtemp(prefix="rapport-bench-"))
        self.url = args.database_url or f"sqlite+aiosqlite:///{self.tmp / 'rapport.db'}"
        self.scratch: str | None = None
        if args.scale_out:
            if args.database_url or args.only:
                raise SystemExit("--scale-out makes its own database and runs alone: drop --database-url and --only")
            args.redis_url = args.redis_url or scaleout.DEFAULT_REDIS
            self.scale_out_workers = max(2, args.workers)
        self.results: dict[str, Any] = {"name": self.name, "mode": self.mode, "notes": []}
        self.samples: dict[str, list[float]] = {}
        self.admin_token = secrets.token_urlsafe(24)
        self.phases = set(args.only.split(",")) if args.only else set(PHASES)
        if args.scale_out:
            self.phases = set()
        if self.phases - set(PHASES):
            raise SystemExit(f"--only takes phases among {', '.join(PHASES)}")
        procs = max(self.cfg["idle_procs"], self.cfg["clients"] + 1)
        self.pool = ProcessPoolExecutor(procs, mp_context=multiprocessing.get_context("spawn"))
        self.procs = procs

    # -- helpers -------------------------------------------------------------------------

    def jobs(self, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        futures: list[Future[dict[str, Any]]] = [self.pool.submit(run_job, j) for j in jobs]
        return [f.result(timeout=600) for f in futures]

    def closed(self, base: str, coroutines: list[list[dict[str, Any]]], seconds: float, expect: int) -> dict[str, Any]:
        """Closed-loop load from `clients` processes; throughput and latency of `expect` answers."""
        n = self.cfg["clients"]
        start_at = now_ns() + int(1.0e9)
        jobs = [
            {"kind": "closed_http", "base": base, "targets": coroutines[i::n], "start_at": start_at,
             "duration": seconds, "expect": expect}
            for i in range(n) if coroutines[i::n]
        ]  # fmt: skip
        got = self.jobs(jobs)
        latencies = merge(got)
        return {
            "concurrency": len(coroutines),
            "rps": round(len(latencies) / seconds, 1),
            "latency": summarise(latencies),
            "statuses": add_counts(got, "statuses"),
            "errors": sum(r["errors"] for r in got),
            "_samples": latencies,
        }

    # -- phases --------------------------------------------------------------------------

    def build_data(self) -> dataset.Dataset:
        from rich.progress import Progress

        from rapport.store.migrate import upgrade_sync

        upgrade_sync(self.url)
        c = self.cfg
        plan = dataset.Plan(
            pairs=max(max(c["levels"]), c["delivery_pairs"]) + c["live_pairs"],
            unread_per_pair=c["unread"],
            idle_members=c["idle_members"],
            big_members=c["big_members"],
            big_messages=c["big_messages"],
            probes=c["probes"],
            prolific_sent=c["prolific_sent"],
        )
        with Progress(transient=False) as progress:
            tasks: dict[str, Any] = {}

            def step(name: str, done: int, total: int) -> None:
                if name not in tasks:
                    tasks[name] = progress.add_task(name, total=total)
                progress.update(tasks[name], completed=done)

            data = asyncio.run(dataset.build(self.url, plan, progress=step))
        self.results["dataset"] = {**data.counts, "seconds": round(data.seconds, 1)}
        say(f"data set: {data.counts['messages']:,} messages written in {data.seconds:.1f} s")
        return data

    def ceiling(self) -> None:
        port = server.free_port()
        hello = server.hello(port, self.args.workers, self.tmp / "hello.log")
        try:
            hello.wait_ready("/")
            levels = []
            for conc in self.cfg["levels"]:
                r = self.closed(hello.base, [[{"method": "GET", "path": "/"}]] * conc, self.cfg["phase_s"], 200)
                self.samples.setdefault(f"hello x{conc}", r.pop("_samples"))
                levels.append(r)
                say(report.lines({"ceiling": {"levels": [r]}})[0])
        finally:
            hello.stop()
        self.results["ceiling"] = {"levels": levels}

    def server_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_S3_")}
        env["RAPPORT_DATA_DIR"] = str(self.tmp)
        env["RAPPORT_DATABASE_URL"] = self.url
        # Thousands of sends and registrations from one address: abuse limits would refuse them.
        env["RAPPORT_RATE_LIMITS"] = "off"
        env["RAPPORT_ADMIN_TOKEN"] = self.admin_token  # the sponsored phase makes an advertiser
        env.pop("RAPPORT_REDIS_URL", None)
        if self.args.redis_url:
            env["RAPPORT_REDIS_URL"] = self.args.redis_url
            env["RAPPORT_REDIS_NAMESPACE"] = f"bench-{self.name}"
        return env

    def start(self) -> server.Server:
        srv = server.rapport(server.free_port(), self.args.workers, self.server_env(), self.tmp / "server.log")
        srv.wait_ready("/healthz")
        return srv

    def healthz(self, srv: server.Server) -> None:
        conc = max(self.cfg["levels"])
        r = self.closed(srv.base, [[{"method": "GET", "path": "/healthz"}]] * conc, self.cfg["phase_s"], 200)
        r.pop("_samples")
        self.results["ceiling"]["healthz"] = r
        say(report.lines({"ceiling": {"healthz": r}})[0])

    def send(self, srv: server.Server, data: dataset.Dataset) -> None:
        ceiling = {lv["concurrency"]: lv["rps"] for lv in self.results["ceiling"]["levels"]}
        levels = []
        for conc in self.cfg["levels"]:
            coroutines = [
                [{"method": "POST", "path": f"/api/v1/conversations/{p.conversation_id}/messages", "token": p.a_token,
                  "json": {"body": "Throughput probe: how about Thursday?", "client_id": "{client_id}"}}]
                for p in data.pairs[:conc]
            ]  # fmt: skip
            r = self.send_level(srv, coroutines)
            self.samples.setdefault(f"send x{conc}", r.pop("_samples"))
            r["ratio_to_ceiling"] = ratio(r["rps"], ceiling.get(conc))
            levels.append(r)
            self.results["send"] = {"levels": levels}
            say(report.lines({"send": {"levels": [r]}})[0])
        self.results["send"]["cpu"] = report.cpu_per_message(
            self.results, report.previous(ROOT / "bench" / "reports", self.name, self.results["setup"]["database"])
        )
        for line in report.cpu_lines(self.results):
            say(line)

    def send_level(self, srv: server.Server, coroutines: list[list[dict[str, Any]]]) -> dict[str, Any]:
        """A closed-loop send phase, with the server's CPU (from /proc) per accepted message: every
        201 counts, those answered after the window too, since the CPU read covers them."""
        cpu0 = srv.cpu_seconds()
        r = self.closed(srv.base, coroutines, self.cfg["phase_s"], 201)
        cpu = srv.cpu_seconds() - cpu0
        accepted = r["statuses"].get("201", 0)
        r["accepted"] = accepted
        r["server_cpu_ms_per_msg"] = round(1000 * cpu / accepted, 3) if accepted else None
        return r

    def empty_send(self) -> None:
        """The send phase at `cpu_senders` against a database holding only those senders' threads:
        beside the same figure at the large data set, it shows whether a send costs more as data grows."""
        if self.args.database_url:
            self.results["send_empty"] = {"available": False, "reason": "only on the temporary SQLite database"}
            return
        conc = self.cfg["cpu_senders"]
        url = f"sqlite+aiosqlite:///{self.tmp / 'empty.db'}"
        from rapport.store.migrate import upgrade_sync

        upgrade_sync(url)
        plan = dataset.Plan(
            pairs=conc, unread_per_pair=0, idle_members=0, big_members=0, big_messages=0, probes=0, prolific_sent=0
        )
        data = asyncio.run(dataset.build(url, plan))
        env = {**self.server_env(), "RAPPORT_DATABASE_URL": url}
        srv = server.rapport(server.free_port(), self.args.workers, env, self.tmp / "server-empty.log")
        try:
            srv.wait_ready("/healthz")
            coroutines = [
                [{"method": "POST", "path": f"/api/v1/conversations/{p.conversation_id}/messages", "token": p.a_token,
                  "json": {"body": "Throughput probe: how about Thursday?", "client_id": "{client_id}"}}]
                for p in data.pairs
            ]  # fmt: skip
            r = self.send_level(srv, coroutines)
        finally:
            srv.stop()
        r.pop("_samples")
        r["messages_before"] = data.counts["messages"]
        self.results["send_empty"] = r
        say(
            f"send     {conc:>3} senders on an empty database: {fmt(r['rps'], ' msg/s', 0)}"
            f"  p50 {fmt(r['latency']['p50'], ' ms', 2)}"
            f"  server CPU {fmt(r['server_cpu_ms_per_msg'], ' ms', 3)} per message"
        )

    def delivery(self, data: dataset.Dataset) -> None:
        c = self.cfg
        pairs = data.pairs[: c["delivery_pairs"]]
        senders = c["clients"]
        rates = []
        base = self.base
        for rate in c["rates"]:
            start_at = now_ns() + int(2.5e9)
            end_at = start_at + int((c["delivery_s"] + 3) * 1e9)
            jobs: list[dict[str, Any]] = [
                {"kind": "receive", "base": base, "tokens": [p.b_token for p in pairs], "end_at": end_at}
            ]
            pair_senders = [(p.conversation_id, p.a_token) for p in pairs]
            jobs += open_send_jobs(base, rate, start_at, c["delivery_s"], pair_senders, senders)
            got = self.jobs(jobs)
            recv, sent = got[0], got[1:]
            latencies = recv["latencies_ms"]
            send_lat = merge(sent)
            self.samples[f"delivery @{rate}/s"] = latencies
            r = {
                "rate": rate,
                "offered": sum(s["offered"] for s in sent),
                "accepted": len(send_lat),
                "delivered": len(latencies),
                "delivered_per_s": round(len(latencies) / c["delivery_s"], 1),
                "latency": summarise(latencies),
                "send_latency_from_due": summarise(send_lat),
                "client_late": summarise(merge(sent, "late_ms")),
                "skipped": sum(s["skipped"] for s in sent),
                "errors": sum(s["errors"] for s in sent),
                "statuses": add_counts(sent, "statuses"),
                "receivers_connected": recv["connected"],
                "receivers_ready_before_start": recv["connected_at"] <= start_at,
            }
            rates.append(r)
            self.results["delivery"] = {"rates": rates}
            say(report.lines({"delivery": {"rates": [r]}})[0])

    def group_fanout(self, srv: server.Server, data: dataset.Dataset) -> None:
        """Messages to a 51-person group chat at a fixed rate: each reaches every participant's
        socket (the sender's too), timed from when it was sent; and the server's CPU per message
        over the sending window (steadier than latency on a shared machine)."""
        c = self.cfg
        tokens = data.group_chat_tokens
        if data.group_chat_id is None or not tokens:
            return
        rate = c["fanout_rate"]
        senders = tokens[: c["fanout_senders"]]
        # Untimed first sends: a server's first group messages after a start compile their
        # statements and fill its caches (tens of ms, once), which is not the steady fan-out
        # this phase measures when it runs first (`--only fanout`).
        for i in range(30):
            _call(self.base, "POST", f"/api/v1/conversations/{data.group_chat_id}/messages",
                  senders[i % len(senders)], {"body": f"warm-up {i}"})  # fmt: skip
        start_at = now_ns() + int(2.5e9)
        end_at = start_at + int((c["delivery_s"] + 3) * 1e9)
        jobs: list[dict[str, Any]] = [{"kind": "receive", "base": self.base, "tokens": tokens, "end_at": end_at}]
        group_senders = [(data.group_chat_id, t) for t in senders]
        jobs += open_send_jobs(self.base, rate, start_at, c["delivery_s"], group_senders, c["clients"])
        sending_ends = start_at + int((c["delivery_s"] + 0.5) * 1e9)
        with ThreadPoolExecutor(1) as pool:
            window = pool.submit(_cpu_between, srv, start_at, sending_ends)
            got = self.jobs(jobs)
            cpu = window.result()
        recv, sent = got[0], got[1:]
        latencies = recv["latencies_ms"]
        accepted = len(merge(sent))
        self.samples[f"group chat fan-out @{rate}/s"] = latencies
        self.results["group_fanout"] = {
            "rate": rate,
            "participants": len(tokens),
            "sockets": recv["connected"],
            "accepted": accepted,
            "expected_arrivals": accepted * recv["connected"],
            "arrivals": len(latencies),
            "latency": summarise(latencies),
            "skipped": sum(s["skipped"] for s in sent),
            "errors": sum(s["errors"] for s in sent),
            "statuses": add_counts(sent, "statuses"),
            "server_cpu_ms_per_message": round(1000 * cpu / max(1, accepted), 2),
            "server_cpu_us_per_frame": round(1e6 * cpu / max(1, accepted * recv["connected"]), 1),
        }
        for line in report.lines({"group_fanout": self.results["group_fanout"]}):
            say(line)

    def live(self, data: dataset.Dataset) -> None:
        c = self.cfg
        first = max(max(c["levels"]), c["delivery_pairs"])
        pairs = data.pairs[first : first + c["live_pairs"]]
        job = {
            "kind": "live", "base": self.base, "start_at": now_ns() + int(2e9), "duration": c["live_s"],
            "period": 0.6, "pairs": [{"cid": p.conversation_id, "a_token": p.a_token, "b_token": p.b_token,
                                      "unread": p.unread_for_a} for p in pairs],
        }  # fmt: skip
        got = self.jobs([job])[0]
        self.samples["typing"] = got["typing_ms"]
        self.samples["read receipt"] = got["read_ms"]
        self.results["live"] = {
            "typing": summarise(got["typing_ms"]),
            "read": summarise(got["read_ms"]),
            "timeouts": got["timeouts"],
            "pairs": len(pairs),
        }
        for line in report.lines({"live": self.results["live"]}):
            say(line)

    def inbox_and_search(self, data: dataset.Dataset) -> None:
        c = self.cfg
        conc = c["inbox_concurrency"]
        tokens = data.probe_tokens

        def coroutines(path: str) -> list[list[dict[str, Any]]]:
            return [[{"method": "GET", "path": path, "token": t} for t in tokens[i::conc]] for i in range(conc)]

        r = self.closed(self.base, coroutines("/api/v1/conversations?limit=20"), c["inbox_s"], 200)
        self.samples["inbox page"] = r.pop("_samples")
        self.results["inbox"] = r
        status = _status(self.base + "/api/v1/search?q=observability&limit=20", tokens[0])
        if status == 200:
            for key, terms in (("search", dataset.ZIPF_SEARCH_TERMS), ("search_old_vocabulary", dataset.SEARCH_TERMS)):
                coros = [
                    [{"method": "GET", "path": f"/api/v1/search?q={terms[(i + k) % len(terms)]}&limit=20", "token": t}
                     for k, t in enumerate(tokens[i::conc])]
                    for i in range(conc)
                ]  # fmt: skip
                s = self.closed(self.base, coros, c["inbox_s"], 200)
                self.samples[key.replace("_", " ")] = s.pop("_samples")
                self.results[key] = {**s, "terms": list(terms)}
        else:
            self.results["search"] = {"available": False, "reason": f"GET /api/v1/search answered {status}"}
        if data.group_id is not None and data.group_cursors:
            cursors = data.group_cursors
            path = f"/api/v1/groups/{data.group_id}/members?limit={dataset.GROUP_PAGE}&cursor="
            coros = [
                [{"method": "GET", "path": path + cursors[(i + k * conc) % len(cursors)], "token": t}
                 for k, t in enumerate(tokens[i::conc])]
                for i in range(conc)
            ]  # fmt: skip
            g = self.closed(self.base, coros, c["inbox_s"], 200)
            self.samples["group members page"] = g.pop("_samples")
            self.results["group_members"] = {**g, "members": self.results["dataset"].get("group_members")}
        for line in report.lines({"inbox": self.results["inbox"], "search": self.results["search"],
                                  "search_old_vocabulary": self.results.get("search_old_vocabulary"),
                                  "group_members": self.results.get("group_members"),
                                  "dataset": self.results["dataset"]}):  # fmt: skip
            say(line)

    def attachments(self, srv: server.Server, data: dataset.Dataset) -> None:
        """Through the server on local disk, then through a second server on the same database whose
        attachments live in a SeaweedFS bucket (both on loopback)."""
        pair = data.pairs[0]
        args = {"conversation_id": pair.conversation_id, "uploader": pair.a_token, "reader": pair.b_token}
        counts = self.cfg["attachments"]
        found: dict[str, Any] = {"local": attachments.measure(srv, counts=counts, **args)}
        self.results["attachments"] = found
        for line in report.lines({"attachments": {"local": found["local"]}}):
            say(line)
        try:
            store = seaweed.start_seaweedfs(self.tmp / "seaweedfs")
        except (FileNotFoundError, RuntimeError) as exc:
            found["s3"] = {"available": False, "reason": str(exc).splitlines()[0]}
            say(f"attach   S3 not measured: {found['s3']['reason']}")
            return
        s3_server = None
        try:
            bucket = asyncio.run(store.new_bucket())
            env = {**self.server_env(), **store.env(bucket), "RAPPORT_DATA_DIR": str(self.tmp / "s3-data")}
            s3_server = server.rapport(server.free_port(), self.args.workers, env, self.tmp / "server-s3.log")
            s3_server.wait_ready("/healthz")
            found["s3"] = attachments.measure(s3_server, counts=counts, **args)
            found["s3"]["bucket_objects"] = len(asyncio.run(store.objects(bucket, "blobs/")))
        finally:
            if s3_server is not None:
                s3_server.stop()
            store.stop()
        for line in report.lines({"attachments": {"s3": found["s3"]}}):
            say(line)

    def insight(self, srv: server.Server, data: dataset.Dataset) -> None:
        """GET /me/insights and /me/follow-ups for the member with `prolific_sent` sent messages,
        one request at a time (each answer walks all of them); with the server's CPU per answer,
        which a busy machine inflates less than the wall-clock latency."""
        c = self.cfg
        for key, path in (("insight", "/api/v1/me/insights?weeks=12"), ("follow_ups", "/api/v1/me/follow-ups")):
            target = [[{"method": "GET", "path": path, "token": data.prolific_token}]]
            cpu0 = srv.cpu_seconds()
            r = self.closed(self.base, target, c["inbox_s"], 200)
            answers = r["statuses"].get("200", 0)
            r["server_cpu_ms_per_request"] = round(1000 * (srv.cpu_seconds() - cpu0) / answers, 2) if answers else None
            self.samples[key.replace("_", "-")] = r.pop("_samples")
            r["sent"] = c["prolific_sent"]
            self.results[key] = r
        for line in report.lines({"insight": self.results["insight"], "follow_ups": self.results["follow_ups"]}):
            say(line)

    def notify(self) -> None:
        """E-mails and pushes per second from a backlog of due notifications, to loopback servers
        in their own processes, by one process's job runner (bench/notify.py)."""
        c = self.cfg
        self.results["notify"] = notify.measure(emails=c["notify_emails"], pushes=c["notify_pushes"])
        for line in notify.lines(self.results["notify"]):
            say(line)

    def idle(self, srv: server.Server, data: dataset.Dataset) -> None:
        c = self.cfg
        n = c["idle_procs"]
        target = c["idle_target"]
        nofile = srv.open_file_limit()
        if nofile and nofile - 1_000 < target:
            say(f"idle ws: the server may open {nofile} files (RLIMIT_NOFILE), so the ramp stops at {nofile - 1_000}")
            target = nofile - 1_000
        manager = multiprocessing.get_context("spawn").Manager()
        try:
            progress = manager.dict()
            time.sleep(1.0)
            before = srv.rss_mb()
            # The server's own idle cost (its timers, the job runner's poll) before any idle
            # socket, to tell what a socket adds from what the process spends anyway.
            base_cpu = srv.cpu_rate(c["idle_base_s"])
            started = time.monotonic()
            deadline = now_ns() + int(c["idle_budget_s"] * 1e9)
            jobs = [
                {"kind": "idle", "base": self.base, "tokens": data.idle_tokens[i::n], "count": target // n,
                 "local_ip": f"127.0.0.{2 + i}", "batch": c["idle_batch"], "deadline": deadline,
                 "progress": progress, "name": f"w{i}"}
                for i in range(n)
            ]  # fmt: skip
            futures = [self.pool.submit(run_job, j) for j in jobs]
            series: list[tuple[float, int, float]] = []
            while time.monotonic() - started < c["idle_budget_s"] + 5:
                snapshot = dict(progress)
                held = sum(v for k, v in snapshot.items() if not k.endswith(":done"))
                series.append((round(time.monotonic() - started, 2), held, round(srv.rss_mb(), 1)))
                if all(snapshot.get(f"w{i}:done") for i in range(n)) or any(f.done() for f in futures):
                    break
                time.sleep(0.5)
            time.sleep(1.0)  # let the last handshakes settle before reading memory
            after = srv.rss_mb()
            # What idle sockets cost: the server's CPU while they only stay open, over a window
            # longer than the server's ping interval (20 s), so their keepalives are in it.
            idle_cpu = srv.cpu_rate(c["idle_cpu_s"])
            snapshot = dict(progress)
            held = sum(v for k, v in snapshot.items() if not k.endswith(":done"))
            series.append((round(time.monotonic() - started, 2), held, round(after, 1)))
            progress["release"] = True
            got = [f.result(timeout=120) for f in futures]
        finally:
            manager.shutdown()
        connected = sum(g["connected"] for g in got)
        self.results["connections"] = {
            "target": target,
            "target_configured": c["idle_target"],
            "server_open_file_limit": nofile,
            "connected": connected,
            "alive_at_release": sum(g["alive_at_release"] for g in got),
            "failed": sum(g["failed"] for g in got),
            "first_error": next((g["first_error"] for g in got if g["first_error"]), ""),
            "client_processes": n,
            "rss_before_mb": round(before, 1),
            "rss_after_mb": round(after, 1),
            "kb_per_connection": round((after - before) * 1024 / connected, 2) if connected else None,
            "kb_per_connection_marginal": marginal_kb(series),
            "ramp_seconds": round(max(g["ramp_seconds"] for g in got), 1),
            "idle_cpu_window_s": c["idle_cpu_s"],
            "cpu_us_per_connection_s": round(1e6 * idle_cpu / connected, 2) if connected else None,
            "server_idle_cpu_ms_s": round(1e3 * base_cpu, 2),
            "cpu_us_per_connection_s_marginal": (
                round(1e6 * max(0.0, idle_cpu - base_cpu) / connected, 2) if connected else None
            ),
            "series": series,
        }
        say(report.lines({"connections": self.results["connections"]})[0])

    def sponsored(self, srv: server.Server, data: dataset.Dataset) -> None:
        """A campaign to every member, delivered by the server's own job runner (one process),
        while members keep sending: recipients per second, the sends' latency meanwhile, and
        the server's memory (the audience is read in pages, so it should stay flat)."""
        c = self.cfg
        handle = f"advertiser{secrets.token_hex(3)}"
        who = {"handle": handle, "name": "Bench Ads", "email": f"{handle}@example.com", "password": "correct horse"}
        token = _call(self.base, "POST", "/api/v1/auth/register", body=who)["token"]
        _call(self.base, "PUT", f"/api/v1/admin/members/{handle}/advertiser", self.admin_token, {"advertiser": True})
        campaign = _call(self.base, "POST", "/api/v1/campaigns", token, {
            "name": "Bench", "subject": "A word from our sponsor",
            "body": "We build tools for teams who message a lot. " * 4,
            "buttons": [{"label": "Learn more", "url": "https://example.com/learn"}],
            "lead_form": {"profile_fields": ["name", "email"], "questions": [{"id": "role", "label": "Your role"}]},
            "audience": {}})["campaign"]  # fmt: skip
        path = f"/api/v1/campaigns/{campaign['id']}"
        rss_before, cpu_before = srv.rss_mb(), srv.cpu_seconds()
        started = time.monotonic()
        _call(self.base, "POST", f"{path}/launch", token)
        pairs = data.pairs[: c["sponsored_senders"]]
        coroutines = [
            [{"method": "POST", "path": f"/api/v1/conversations/{p.conversation_id}/messages", "token": p.a_token,
              "json": {"body": "Sent while a campaign is delivered", "client_id": "{client_id}"}}]
            for p in pairs
        ]  # fmt: skip
        # The sends run from client processes (driven from a thread) while this thread follows the campaign.
        with ThreadPoolExecutor(1) as pool:
            sending = pool.submit(self.closed, srv.base, coroutines, c["sponsored_send_s"], 201)
            found = _call(self.base, "GET", path, token)["campaign"]
            rss_peak = srv.rss_mb()
            overlapped = False  # did the sends end while the campaign was still sending?
            while found["state"] != "sent" and time.monotonic() - started < c["sponsored_budget_s"]:
                overlapped = overlapped or sending.done()
                time.sleep(0.25)
                rss_peak = max(rss_peak, srv.rss_mb())
                found = _call(self.base, "GET", path, token)["campaign"]
            sends = sending.result()
        cpu = srv.cpu_seconds() - cpu_before
        self.samples["send during sponsored delivery"] = sends.pop("_samples")
        done = found["delivered"] + found["skipped"]
        # The server's own times: from the launch's commit to the commit of the last page.
        if found.get("finished_at"):
            seconds = (_when(found["finished_at"]) - _when(found["launched_at"])).total_seconds()
        else:
            seconds = time.monotonic() - started
        self.results["sponsored"] = {
            "audience_size": found["audience_size"],
            "delivered": found["delivered"],
            "skipped": found["skipped"],
            "state": found["state"],
            "seconds": round(seconds, 2),
            "recipients_per_s": round(done / max(seconds, 1e-3), 1),
            "server_cpu_ms_per_recipient": round(1000 * cpu / max(1, done), 3),
            "recipients_per_server_cpu_s": round(done / cpu, 1) if cpu else None,
            "sends_during": {**sends, "overlapped_delivery": overlapped},
            "rss_before_mb": round(rss_before, 1),
            "rss_peak_mb": round(rss_peak, 1),
        }
        for line in report.lines({"sponsored": self.results["sponsored"]}):
            say(line)

    def scale_out(self, data: dataset.Dataset) -> None:
        """`--workers 1`, then `--workers N`, on this data set and Redis (bench/scaleout.py)."""
        c = self.cfg
        need = max(max(scaleout.LEVELS), c["delivery_pairs"])
        self.results["scale_out"] = scaleout.run(
            self, self.url, self.server_env(), data.pairs[:need], self.scale_out_workers, self.tmp
        )
        for line in report.scale_out_lines(self.results):
            say(line)

    # -- the run -------------------------------------------------------------------------

    def run(self) -> int:
        began = time.monotonic()
        self.results["started_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        self.results["machine"] = report.machine()
        if self.args.scale_out:
            self.scratch = self.url = scaleout.create_database(self.args.scale_out_server)
            say(f"scale-out: scratch database {_redact(self.url)}, Redis {_redact(self.args.redis_url)}")
        try:
            return self._run(began)
        finally:
            if self.scratch:
                scaleout.drop_database(self.scratch)

    def _run(self, began: float) -> int:
        self.results["setup"] = {
            "workers": f"1, then {self.scale_out_workers}" if self.args.scale_out else self.args.workers,
            "database": "sqlite (temporary data dir)" if not self.args.database_url else _redact(self.url),
            "bus": "redis" if self.args.redis_url else "in-process",
            "client_processes": self.procs,
            "config": self.cfg,
        }
        if self.args.workers > 1 and not self.args.redis_url and not self.args.scale_out:
            say("warning: several workers without --redis-url cannot deliver live events across workers")
        m = self.results["machine"]
        say(f"rapport bench ({self.mode}) on {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, Python {m['python']}")
        say(f"open files: {raise_nofile()}; temporary data dir {self.tmp}")
        warm = [self.pool.submit(run_job, {"kind": "noop"}) for _ in range(self.procs)]
        data = self.build_data()
        for f in warm:
            f.result()
        run = self.phases.__contains__
        if run("empty_send"):
            self.empty_send()
        if run("ceiling"):
            self.ceiling()
        if self.args.scale_out:
            try:
                self.scale_out(data)
            finally:
                self.pool.shutdown(cancel_futures=True)
            return self.finish(began)
        srv = self.start()
        self.base = srv.base
        try:
            if run("ceiling"):
                self.healthz(srv)
            if run("send"):
                self.send(srv, data)
            if run("delivery"):
                self.delivery(data)
            if run("live"):
                self.live(data)
            if run("fanout"):
                self.group_fanout(srv, data)
            if run("inbox"):
                self.inbox_and_search(data)
            if run("insight"):
                self.insight(srv, data)
            if run("attachments"):
                self.attachments(srv, data)
            if run("sponsored"):
                self.sponsored(srv, data)
            if run("idle"):
                self.idle(srv, data)
            if run("notify"):
                self.notify()
        finally:
            srv.stop()
            self.pool.shutdown(cancel_futures=True)
        return self.finish(began)

    def finish(self, began: float) -> int:
        self.results["seconds"] = round(time.monotonic() - began, 1)
        self.results["targets"] = report.targets(self.results)
        self.results["notes"] = NOTES
        files = report.write(self.out, self.results, self.samples)
        logs = ["server.log", "server-s3.log", "hello.log", *(p.name for p in self.tmp.glob("server-scale-out-*.log"))]
        for log in logs:
            if (self.tmp / log).exists():
                shutil.copy(self.tmp / log, self.out / log)
        shutil.rmtree(self.tmp, ignore_errors=True)
        say("")
        for line in report.lines(self.results):
            say(line)
        for t in self.results["targets"]:
            met = {True: "met", False: "NOT met", None: "n/a"}[t["met"]]
            if t.get("informational"):
                met, limit = "informational", "no limit"
            else:
                limit = f"limit {t['limit']} {t['unit']}"
            say(f"target   {t['target']}: {t['value']} {t['unit']} ({limit}) {met}")
        say(f"report: {files[1]} ({self.results['seconds']} s)")
        return 0


PHASES = (
    "empty_send",
    "ceiling",
    "send",
    "delivery",
    "live",
    "fanout",
    "inbox",
    "insight",
    "attachments",
    "sponsored",
    "idle",
    "notify",
)

NOTES = [
    "Scale-out (--scale-out): one data set in a scratch PostgreSQL database, `rapport serve --workers 1` then"
    " `--workers N` on it, each with its own Redis namespace and warmed by one send phase that is not counted. CPU"
    " per message is every server process's (supervisor, workers, reaped children; /proc) and, apart, the"
    " PostgreSQL backends' of that database. The kernel gives each connection to a worker, so a sender and its"
    " recipient are often on different workers: those messages reach the socket only through Redis; a message"
    " accepted (201) but not on its recipient's socket 3 s after the sends end counts as lost.",
    "Throughput and the ceiling are closed-loop: each client coroutine sends its next request when the last answers;"
    " the ratio compares the two at the same concurrency, from the same client processes.",
    "Each send is POST /api/v1/conversations/{id}/messages with a fresh client_id, by a different sender in its own"
    " 1:1 thread; it counts when the 201 (committed, synchronous=FULL) arrives within the window.",
    "Delivery is open-loop: messages are due at fixed intervals whatever the answers (no coordinated omission), the"
    " client processes' schedules interleaved so that together they send one message every 1/rate s. Each is"
    " stamped when the client sends it and timed from then to the recipient's WebSocket frame; `client_late` is"
    " how far the client's timer was from the due time (reports before 2026-11-30 stamped the due time, and their"
    " two sender processes sent in pairs at the same instant). Recipients do not ack.",
    "Typing and read receipts: member A sends the frame on its socket, B's socket times the event;"
    " each pair repeats every 0.6 s (under the typing rate limit).",
    "Idle WebSockets: each client process binds its own 127.0.0.x source address (one source address gives about"
    " 28k ephemeral ports); memory per connection is the server's RSS delta (all its processes) over connections.",
    "Attachments: one client, one request at a time, random bytes (no two files share a blob), MB = 10^6 bytes;"
    " upload time is the POST until its 201 (the bytes are in the store: fsynced, or in the bucket), download time"
    " the GET until its last byte. S3 is a SeaweedFS (`weed server -s3`) on the same machine, reached over loopback;"
    " memory is the server's RSS sampled every 10 ms while the files of that size were uploaded.",
    "Sponsored delivery: one campaign to every member (empty audience), launched over HTTP and delivered by the"
    " server's own job runner in pages of 50 members (each read, then written as background work that lets the"
    " sends' writes go first); recipients per second count delivered and skipped members"
    " from the launch until the campaign reads `sent` (polled every 0.25 s). Member sends run closed-loop meanwhile"
    " (their latency is shown; `overlapped_delivery` says whether the campaign was still sending when they ended).",
    "The data set is written directly into the database with the app's own JSON shaping, one transaction, large"
    " executemany batches; the big network's partners are skewed so the probed members have the deepest inboxes.",
]


def marginal_kb(series: list[tuple[float, int, float]]) -> float | None:
    """KB of server RSS per extra connection over the second half of the ramp: unlike the
    overall delta, this leaves out the one-off growth (SQLite page caches, pools) at its start."""
    if not series or series[-1][1] < 2:
        return None
    end = series[-1]
    mid = next((p for p in series if p[1] >= end[1] / 2), None)
    if mid is None or end[1] - mid[1] < max(10, end[1] // 10):
        return None
    return round((end[2] - mid[2]) * 1024 / (end[1] - mid[1]), 2)


def _cpu_between(srv: server.Server, start_ns: int, end_ns: int) -> float:
    """The server's CPU seconds between two monotonic times (waits for both)."""
    time.sleep(max(0.0, (start_ns - now_ns()) / 1e9))
    before = srv.cpu_seconds()
    time.sleep(max(0.0, (end_ns - now_ns()) / 1e9))
    return srv.cpu_seconds() - before


def _when(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _call(base: str, method: str, path: str, token: str | None = None, body: Any = None) -> Any:
    """One JSON request to the server under test; a non-2xx answer stops the run."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


def _status(url: str, token: str) -> int:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rapport bench", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a small run, under two minutes")
    parser.add_argument("--database-url", default=None, help="e.g. postgresql+asyncpg://... (default: a temp SQLite)")
    parser.add_argument("--redis-url", default=None, help="use the Redis bus (needed for --workers > 1)")
    parser.add_argument("--workers", type=int, default=1, help="server processes (also for the ceiling)")
    parser.add_argument(
        "--scale-out",
        action="store_true",
        help="instead of the phases: --workers 1, then 2 (or --workers N), on a scratch PostgreSQL database and"
        f" Redis (--redis-url, default {scaleout.DEFAULT_REDIS}), side by side",
    )
    parser.add_argument(
        "--scale-out-server",
        default=scaleout.DEFAULT_POSTGRES,
        help="the PostgreSQL server on which --scale-out creates (and drops) its scratch database",
    )
    parser.add_argument(
        "--members", type=int, default=None, help="members of the big network (default: 2,000 quick, 100,000 full)"
    )
    parser.add_argument("--out", default=None, help="report directory (default bench/reports/<mode>-<time>)")
    parser.add_argument(
        "--only", default=None, help=f"after the data set, run only these phases (comma list of {','.join(PHASES)})"
    )
    args = parser.parse_args(argv)
    return Bench(args).run()


if __name__ == "__main__":
    sys.exit(main())
