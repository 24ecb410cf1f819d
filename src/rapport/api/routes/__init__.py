"""Routers, one per area of API.md."""

from __future__ import annotations

from rapport.domain.errors import NotFound

MAX_ID = 2**63 - 1


def parse_id(value: str, what: str = "resource") -> int:
    """Ids are strings of digits; anything else names nothing (404, never 500)."""
    if not value.isascii() or not value.isdigit() or len(value) > 19 or int(value) > MAX_ID:
        raise NotFound(f"No such {what}.", code=f"{what}_not_found")
    return int(value)
