"""What every use case needs, built once by the app's lifespan and passed in explicitly."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.bus import Bus
from rapport.clock import Clock
from rapport.jobs import JobRunner, WaitingJobs
from rapport.notify.keys import NotificationKeys
from rapport.services.rate_limits import RateLimits
from rapport.services.sessions import SessionRegistry
from rapport.services.typing_state import TypingTracker
from rapport.settings import Settings
from rapport.store.blobs import BlobStore
from rapport.store.dialect import Database
from rapport.store.tables import network_settings

NETWORK_SETTINGS_TTL = 2.0


@dataclass
class NetworkSwitches:
    """Operator switches, stored so every process agrees; cached briefly per process."""

    receipts_default: bool
    _receipts: bool | None = None
    _loaded_at: float = 0.0

    async def receipts_enabled(self, conn: AsyncConnection) -> bool:
        now = time.monotonic()
        if self._receipts is None or now - self._loaded_at > NETWORK_SETTINGS_TTL:
            value = await conn.scalar(select(network_settings.c.value).where(network_settings.c.key == "read_receipts"))
            self._receipts = self.receipts_default if value is None else value == "on"
            self._loaded_at = now
        return self._receipts

    def forget(self) -> None:
        self._receipts = None


@dataclass
class Context:
    settings: Settings
    db: Database
    bus: Bus
    clock: Clock
    network: NetworkSwitches
    typing: TypingTracker = field(default_factory=TypingTracker)
    jobs: JobRunner | None = None
    """This process's job runner (rapport.jobs); None where no jobs run (CLI tools)."""
    waiting_jobs: WaitingJobs = field(default_factory=WaitingJobs)
    """Keyed jobs this process stored that surely still wait (rapport.jobs.waiting)."""
    sessions: SessionRegistry = field(default_factory=lambda: SessionRegistry(cache_seconds=0))
    blob_store: BlobStore | None = None
    """Attachment contents (local or S3): opened by the lifespan, else on first use."""
    limits: RateLimits = field(default_factory=lambda: RateLimits(enabled=False))
    """Abuse limits; off where no requests come in (CLI tools)."""
    keys: NotificationKeys | None = None
    """VAPID and unsubscribe-token keys (rapport.notify.keys); None where nothing is notified."""
