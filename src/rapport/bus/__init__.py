"""Live-event fan-out behind one small interface, chosen by URL."""

from __future__ import annotations

from rapport.bus.base import RESYNC, Batch, Bus, Subscription


def create_bus(redis_url: str | None, *, namespace: str = "rapport") -> Bus:
    """The in-process bus, or Redis pub/sub when a URL is given (imported only then)."""
    if redis_url:
        from rapport.bus.redis import RedisBus

        return RedisBus(redis_url, namespace=namespace)
    from rapport.bus.memory import MemoryBus

    return MemoryBus()


__all__ = ["RESYNC", "Batch", "Bus", "Subscription", "create_bus"]
