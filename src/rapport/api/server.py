"""uvicorn's server, waking once a second instead of ten times.

uvicorn's main loop sleeps 0.1 s at a time to refresh the Date header (once a second) and
to notice `should_exit`. On an idle server those ten wake-ups a second were most of the
process's own CPU: measured on the bench machine, an idle `rapport serve` spent 2.6 ms of
CPU a second, 0.9 ms with one wake-up a second (each wake of an idle virtual CPU costs far
more than the little Python it runs). Here the loop wakes once a second for the Date header,
and at once when anything asks it to stop: `should_exit` wakes it wherever it is set from
(a signal handler, another thread, the tests' live server).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import multiprocess

TICK_SECONDS = 1.0


class Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        super().__init__(config)

    @property
    def should_exit(self) -> bool:
        return self._should_exit

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        self._should_exit = value
        if value and self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                self._loop.call_soon_threadsafe(self._stop.set)

    async def main_loop(self) -> None:
        self._stop = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        # on_tick refreshes the Date header when its counter is a multiple of ten.
        while not await self.on_tick(0):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), TICK_SECONDS)


class _Worker(multiprocess.Process):
    """A worker process of `--workers N`, running `Server`."""

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = Server(config=self.config)
        return self._server


def run(config: uvicorn.Config) -> None:
    """What `uvicorn.run` does with a config (one process, or a supervisor of `workers`), with
    `Server` in every process."""
    server = Server(config)
    try:
        if config.workers > 1:
            sock: socket.socket = config.bind_socket()
            # The supervisor makes its workers from the module's `Process`; they are spawned,
            # and unpickle `_Worker` from this module, so the workers run `Server` too.
            multiprocess.Process = _Worker  # type: ignore[misc]
            multiprocess.Multiprocess(config, sockets=[sock]).run()
        else:
            server.run()
    except KeyboardInterrupt:
        pass
    finally:
        if config.uds and os.path.exists(config.uds):
            os.remove(config.uds)
    if not server.started and config.workers == 1:
        sys.exit(STARTUP_FAILURE)
