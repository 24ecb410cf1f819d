"""Abuse limits (API.md "Safety"), counted with the `limits` library: in Redis when the
server has one (so every process counts together), in this process's memory otherwise.

Each action has one or more moving windows, written in `limits` notation and overridable by
an environment variable (`RAPPORT_RATE_LIMIT_<ACTION>`, see settings.py):
- failed logins: 10 per account and 50 per client address per 15 minutes — a wrong password
  counts against both, so neither guessing one account nor spraying many works; once either
  is spent, even the right password waits;
- registrations: 20 per client address per hour;
- sends (new conversations and messages): 60 per member per minute, at most 20 of them in
  any 20 seconds (the burst);
- uploads: 30 per member per minute;
- typing updates: 20 per member per 10 seconds.

A refusal is `LimitExceeded` (429 `rate_limited`) with the seconds until the window frees a
slot. `RAPPORT_RATE_LIMITS=off` turns all of them off, for benchmarks and load tests. A
counter store that fails lets requests through (logged): an outage of Redis must not lock
every member out.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from enum import StrEnum

import redis.asyncio as aioredis
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from rapport.domain.errors import LimitExceeded

log = logging.getLogger(__name__)


class Action(StrEnum):
    LOGIN_FAILURE_ACCOUNT = "login_failure_account"
    LOGIN_FAILURE_ADDRESS = "login_failure_address"
    REGISTRATION = "registration"
    SEND = "send"
    UPLOAD = "upload"
    TYPING = "typing"


DEFAULTS: Mapping[Action, str] = {
    Action.LOGIN_FAILURE_ACCOUNT: "10 per 15 minutes",
    Action.LOGIN_FAILURE_ADDRESS: "50 per 15 minutes",
    Action.REGISTRATION: "20 per hour",
    Action.SEND: "60 per minute; 20 per 20 seconds",
    Action.UPLOAD: "30 per minute",
    Action.TYPING: "20 per 10 seconds",
}

MESSAGES: Mapping[Action, str] = {
    Action.LOGIN_FAILURE_ACCOUNT: "Too many failed sign-ins for this account. Try again later.",
    Action.LOGIN_FAILURE_ADDRESS: "Too many failed sign-ins from your address. Try again later.",
    Action.REGISTRATION: "Too many new accounts from your address. Try again later.",
    Action.SEND: "You are sending messages too fast. Wait a moment.",
    Action.UPLOAD: "You are uploading files too fast. Wait a moment.",
    Action.TYPING: "Typing updates come too fast.",
}


def parse_limits(overrides: Mapping[str, str]) -> dict[Action, list[RateLimitItem]]:
    """Every action's windows: the defaults, with `overrides` (action name → notation) applied."""
    unknown = set(overrides) - {a.value for a in Action}
    if unknown:
        raise ValueError(f"unknown rate limit(s): {', '.join(sorted(unknown))}")
    return {action: parse_many(overrides.get(action.value, DEFAULTS[action])) for action in Action}


class RateLimits:
    """The limits of one server process; with Redis, their counters are shared by all processes."""

    def __init__(
        self,
        *,
        enabled: bool = True,
        redis_url: str | None = None,
        namespace: str = "rapport",
        overrides: Mapping[str, str] | None = None,
    ) -> None:
        self.enabled = enabled
        self.items = parse_limits(overrides or {})
        storage: Storage
        self._pool: aioredis.ConnectionPool | None = None
        if redis_url:
            # Our own pool, so the lifespan can close what it opened.
            self._pool = aioredis.ConnectionPool.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2)
            storage = RedisStorage(
                "async+" + redis_url,
                implementation="redispy",
                key_prefix=f"{namespace}:limits",
                wrap_exceptions=True,
                # Passed on to redis-py; the library's annotation lists only scalars.
                connection_pool=self._pool,  # type: ignore[arg-type]
            )
        else:
            storage = MemoryStorage()
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(storage)

    async def hit(self, action: Action, key: str) -> None:
        """Count one `action` by `key`; refuse (and count nothing more) when a window is full."""
        if not self.enabled:
            return
        for item in self.items[action]:
            try:
                allowed = await self.limiter.hit(item, action.value, key)
            except StorageError:
                log.warning("rate limit store failed; %s let through", action.value, exc_info=True)
                return
            if not allowed:
                await self._refuse(action, item, key)

    async def check(self, action: Action, key: str) -> None:
        """Refuse if `action` by `key` has no slot left, without counting (failed logins)."""
        if not self.enabled:
            return
        for item in self.items[action]:
            try:
                allowed = await self.limiter.test(item, action.value, key)
            except StorageError:
                log.warning("rate limit store failed; %s let through", action.value, exc_info=True)
                return
            if not allowed:
                await self._refuse(action, item, key)

    async def _refuse(self, action: Action, item: RateLimitItem, key: str) -> None:
        retry_after = item.get_expiry()
        try:
            stats = await self.limiter.get_window_stats(item, action.value, key)
            retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        except StorageError:
            pass
        raise LimitExceeded(MESSAGES[action], code="rate_limited", retry_after=retry_after)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
