"""Servers under test, started as a user would: `rapport serve` (and uvicorn for the ceiling)."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

NOFILE = 200_000


def proc_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        import psutil

        t = psutil.Process(pid).cpu_times()
        return float(t.user + t.system)
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _lift_nofile() -> None:
    # Runs in the child before exec: tens of thousands of sockets need as many descriptors.
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, max(hard, NOFILE)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Server:
    """A server process group; `rss()` sums the supervisor and its workers."""

    def __init__(self, args: list[str], env: dict[str, str], port: int, log: Path) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = log
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            args, env=env, stdout=self._log, stderr=subprocess.STDOUT, preexec_fn=_lift_nofile, start_new_session=True
        )

    def wait_ready(self, path: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}); see {self.log_path}")
            try:
                with urllib.request.urlopen(self.base + path, timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"server not ready after {timeout}s; see {self.log_path}")

    def processes(self) -> list[Any]:
        import psutil

        try:
            root = psutil.Process(self.proc.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def open_file_limit(self) -> int | None:
        """The server's RLIMIT_NOFILE: as root in a container the hard limit may be fixed."""
        procs = self.processes()
        if not procs:
            return None
        try:
            return int(procs[-1].rlimit(resource.RLIMIT_NOFILE)[0])
        except Exception:
            return None

    def rss_mb(self) -> float:
        total = 0
        for p in self.processes():
            with contextlib.suppress(Exception):
                total += p.memory_info().rss
        return total / 2**20

    def cpu_seconds(self) -> float:
        """User + system CPU of the server's processes, read from /proc/<pid>/stat (utime and
        stime, fields 14 and 15, in clock ticks); psutil where there is no /proc."""
        total = 0.0
        for p in self.processes():
            with contextlib.suppress(Exception):
                total += proc_cpu_seconds(p.pid)
        return total

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._log.close()


def rapport(port: int, workers: int, env: dict[str, str], log: Path) -> Server:
    exe = Path(sys.executable).with_name("rapport")
    args = [str(exe), "serve", "--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    return Server(args, env, port, log)


def hello(port: int, workers: int, log: Path) -> Server:
    args = [
        sys.executable, "-m", "uvicorn", "hello:app", "--app-dir", str(Path(__file__).parent),
        "--port", str(port), "--workers", str(workers), "--loop", "uvloop", "--http", "httptools",
        "--log-level", "warning",
    ]  # fmt: skip
    return Server(args, dict(os.environ), port, log)
