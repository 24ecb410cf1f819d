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


def proc_cpu_seconds(pid: int, *, children: bool = True) -> float:
    """CPU seconds (user + system) a process has used so far; with `children`, also what its
    children that have ended and been waited for used (cutime, cstime), which no live
    process's own figure holds any more."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        import psutil

        t = psutil.Process(pid).cpu_times()
        return float(t.user + t.system + (t.children_user + t.children_system if children else 0))
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    # After it, index 11 and 12 are utime and stime (fields 14, 15), 13 and 14 cutime and cstime.
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def established_inodes(table: str, port: int) -> set[str]:
    """Socket inodes of the established TCP connections whose local port is `port`, from the
    text of /proc/net/tcp or /proc/net/tcp6 (state 01 is ESTABLISHED; inode is field 10)."""
    found = set()
    for line in table.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:
            continue
        local, state, inode = fields[1], fields[3], fields[9]
        if state == "01" and int(local.rsplit(":", 1)[1], 16) == port:
            found.add(inode)
    return found


def socket_inodes(pid: int) -> set[str]:
    """Inodes of the sockets a process holds open (its /proc/<pid>/fd links `socket:[N]`)."""
    found = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    found.add(target[8:-1])
    return found


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

    def connections_by_worker(self) -> dict[int, int]:
        """Established connections to the server's port held by each of its processes (the
        kernel picks a worker per connection); empty where there is no /proc/net/tcp."""
        inodes: set[str] = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with contextlib.suppress(OSError):
                inodes |= established_inodes(Path(table).read_text(), self.port)
        held = {p.pid: len(socket_inodes(p.pid) & inodes) for p in self.processes()}
        return {pid: n for pid, n in held.items() if n}

    def cpu_seconds(self) -> float:
        """User + system CPU of the server's processes, read from /proc/<pid>/stat (utime and
        stime, fields 14 and 15, in clock ticks; and cutime, cstime: children that ended);
        psutil where there is no /proc."""
        total = 0.0
        for p in self.processes():
            with contextlib.suppress(Exception):
                total += proc_cpu_seconds(p.pid)
        return total

    def thread_cpu(self) -> dict[tuple[int, str], float]:
        """CPU seconds of each live thread of the server's processes, to the nanosecond
        (/proc/<pid>/task/<tid>/schedstat), where /proc/<pid>/stat counts 10 ms ticks: an idle
        server spends well under a tick a second. Threads that ended are not in it, so compare
        two readings only when they name the same threads (`cpu_rate`)."""
        out: dict[tuple[int, str], float] = {}
        for p in self.processes():
            with contextlib.suppress(OSError):
                for task in Path(f"/proc/{p.pid}/task").iterdir():
                    with contextlib.suppress(OSError, ValueError, IndexError):
                        out[(p.pid, task.name)] = int((task / "schedstat").read_text().split()[0]) / 1e9
        return out

    def cpu_rate(self, seconds: float) -> float:
        """The server's CPU seconds per second over the next `seconds`: from its threads' own
        figures when the same threads lived throughout, else from the processes' ticks."""
        ticks0, threads0, t0 = self.cpu_seconds(), self.thread_cpu(), time.monotonic()
        time.sleep(seconds)
        ticks1, threads1, t1 = self.cpu_seconds(), self.thread_cpu(), time.monotonic()
        if threads0 and threads0.keys() == threads1.keys():
            return (sum(threads1.values()) - sum(threads0.values())) / (t1 - t0)
        return (ticks1 - ticks0) / (t1 - t0)

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
