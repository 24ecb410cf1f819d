"""Pure helpers: percentiles and summaries of latency samples."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any


def percentile(samples: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0-100) by linear interpolation between closest ranks; None if empty."""
    if not samples:
        return None
    if not 0 <= p <= 100:
        raise ValueError("p is between 0 and 100")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * p / 100
    lo, hi = math.floor(rank), math.ceil(rank)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


def summarise(samples: Iterable[float], *, points: Sequence[float] = (50, 95, 99)) -> dict[str, Any]:
    """Count, mean, max and the given percentiles of a set of latencies (ms), rounded."""
    values = sorted(samples)
    out: dict[str, Any] = {"count": len(values)}
    for p in points:
        value = percentile(values, p)
        out[f"p{p:g}"] = None if value is None else round(value, 3)
    out["mean"] = round(sum(values) / len(values), 3) if values else None
    out["max"] = round(values[-1], 3) if values else None
    return out


def merge(results: Iterable[dict[str, Any]], key: str = "latencies_ms") -> list[float]:
    """All samples under `key` from several client processes."""
    out: list[float] = []
    for r in results:
        out.extend(r.get(key, ()))
    return out


def add_counts(results: Iterable[dict[str, Any]], key: str) -> dict[str, int]:
    """Sum {status: count} maps from several client processes."""
    total: dict[str, int] = {}
    for r in results:
        for k, v in r.get(key, {}).items():
            total[str(k)] = total.get(str(k), 0) + v
    return total


def ratio(value: float | None, ceiling: float | None) -> float | None:
    """value / ceiling, rounded, or None when either is missing."""
    if not value or not ceiling:
        return None
    return round(value / ceiling, 3)


def fmt(value: float | None, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}{unit}"
