"""Sessions that end: a revocation reaches every process at once, over the bus.

Each process keeps two things about sessions, and both obey the bus's control messages:
- the live sockets open on it, by member: a revoked session's sockets are closed;
- a short cache of token lookups (a read transaction saved on every request): entries of
  a revoked session go at once, a member's entries go when the member's row changes
  (`forget`), and everything goes when the bus may have lost a message (`reset`). The
  time limit on an entry is only a backstop.

After a `reset` (the bus may have lost revocations), every open socket's session is looked up
again in the store, and the sockets of sessions that ended meanwhile are closed.

Messages: `{"type": "revoke", "member_id", "token", "keep"}` (`token`: only that session's
hash; null: all of the member's, except `keep`), `{"type": "forget", "member_id"}`,
`{"type": "reset"}`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from rapport.domain.model import Member

if TYPE_CHECKING:  # the context holds a registry: only its type is needed here
    from rapport.services.context import Context

log = logging.getLogger(__name__)

LiveTokens = Callable[[Iterable[str]], Awaitable[set[str]]]
"""Which of these token hashes still name a session (asked of the store after a reset)."""

CACHE_LIMIT = 100_000
"""Entries kept at most; past that the cache starts again empty (a cache, not a store)."""


class LiveSession(Protocol):
    """An open socket, as the registry sees it."""

    @property
    def member_id(self) -> int: ...

    @property
    def token_hash(self) -> str: ...

    def end(self) -> None:
        """Close the socket soon (its session was revoked)."""


class SessionRegistry:
    """This process's open sockets and cached token lookups (see the module's docstring)."""

    def __init__(
        self,
        *,
        cache_seconds: float,
        live_tokens: LiveTokens | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cache_seconds = cache_seconds
        self._live_tokens = live_tokens
        self._rechecks: set[asyncio.Task[None]] = set()
        self._monotonic = monotonic
        self._cache: dict[str, tuple[Member, float]] = {}
        self._by_member: dict[int, set[str]] = {}
        self._sockets: dict[int, set[LiveSession]] = {}
        self.generation = 0
        """Moves on every control message: a lookup that started before one is not cached."""

    # --- token lookups ---------------------------------------------------------------------

    def cached(self, token_hash: str) -> Member | None:
        entry = self._cache.get(token_hash)
        if entry is None:
            return None
        member, expires = entry
        if self._monotonic() >= expires:
            self._drop(token_hash)
            return None
        return member

    def remember(self, token_hash: str, member: Member, *, generation: int) -> None:
        """Cache a lookup, unless a control message came while it was read (it may be stale)."""
        if self.cache_seconds <= 0 or generation != self.generation:
            return
        if len(self._cache) >= CACHE_LIMIT:
            self._cache.clear()
            self._by_member.clear()
        self._cache[token_hash] = (member, self._monotonic() + self.cache_seconds)
        self._by_member.setdefault(member.id, set()).add(token_hash)

    def _drop(self, token_hash: str) -> None:
        entry = self._cache.pop(token_hash, None)
        if entry is None:
            return
        hashes = self._by_member.get(entry[0].id)
        if hashes is not None:
            hashes.discard(token_hash)
            if not hashes:
                del self._by_member[entry[0].id]

    # --- sockets -----------------------------------------------------------------------------

    def attach(self, socket: LiveSession) -> None:
        self._sockets.setdefault(socket.member_id, set()).add(socket)

    def detach(self, socket: LiveSession) -> None:
        sockets = self._sockets.get(socket.member_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._sockets[socket.member_id]

    def sockets_of(self, member_id: int) -> list[LiveSession]:
        return list(self._sockets.get(member_id, ()))

    async def _recheck(self, live_tokens: LiveTokens) -> None:
        """Close the sockets whose session ended while revocations may have been lost."""
        sockets = [s for group in self._sockets.values() for s in group]
        try:
            alive = await live_tokens({s.token_hash for s in sockets})
        except Exception:
            log.warning("could not recheck open sockets after a bus reset", exc_info=True)
            return
        for socket in sockets:
            if socket.token_hash not in alive:
                socket.end()

    # --- control messages ----------------------------------------------------------------------

    def handle(self, message: dict[str, Any]) -> None:
        """Apply a control message from the bus (any process's, this one's included)."""
        kind = message.get("type")
        self.generation += 1
        if kind == "reset":
            self._cache.clear()
            self._by_member.clear()
            if self._live_tokens is not None and self._sockets:
                task = asyncio.get_running_loop().create_task(self._recheck(self._live_tokens))
                self._rechecks.add(task)  # the loop keeps only a weak reference
                task.add_done_callback(self._rechecks.discard)
            return
        member_id = message.get("member_id")
        if not isinstance(member_id, int):
            return
        if kind == "forget":
            for token_hash in list(self._by_member.get(member_id, ())):
                self._drop(token_hash)
        elif kind == "revoke":
            token, keep = message.get("token"), message.get("keep")

            def revoked(token_hash: str) -> bool:
                return (token is None or token_hash == token) and token_hash != keep

            for token_hash in list(self._by_member.get(member_id, ())):
                if revoked(token_hash):
                    self._drop(token_hash)
            for socket in self.sockets_of(member_id):
                if revoked(socket.token_hash):
                    socket.end()


async def end_sessions(ctx: Context, member_id: int, *, token: str | None = None, keep: str | None = None) -> None:
    """After commit: end one session (`token`, a hash) or all of a member's except `keep`, everywhere."""
    await _announce(ctx, revocation(member_id, token=token, keep=keep))


async def forget_member(ctx: Context, member_id: int) -> None:
    """After commit of a change to a member's row: no process may keep serving the old one."""
    await _announce(ctx, forgetting(member_id))


async def _announce(ctx: Context, message: dict[str, Any]) -> None:
    # Here at once (the next request on this process must see it), then everywhere.
    ctx.sessions.handle(message)
    await ctx.bus.publish_control(message)


def revocation(member_id: int, *, token: str | None = None, keep: str | None = None) -> dict[str, Any]:
    """The control message ending one session (`token`) or all of a member's (except `keep`)."""
    return {"type": "revoke", "member_id": member_id, "token": token, "keep": keep}


def forgetting(member_id: int) -> dict[str, Any]:
    """The control message that drops a member's cached lookups after their row changed."""
    return {"type": "forget", "member_id": member_id}
