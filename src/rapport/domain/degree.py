"""Degree of connection between two members (DESIGN §1)."""

from __future__ import annotations


def degree(*, is_self: bool, connected: bool, mutual: bool) -> int | None:
    """1st, 2nd, or 3 for everyone further ("3rd+"); None when looking at oneself."""
    if is_self:
        return None
    if connected:
        return 1
    if mutual:
        return 2
    return 3
