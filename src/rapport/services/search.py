"""Search one's own history: message bodies and participant names, never another member's threads.

The store finds candidates only among the viewer's conversations, after what they cleared for
themselves, skipping deleted messages; edited and deleted text is out of the index in the
same transaction that changed it (migration 0002), so a result never shows text that is gone.
"""

from __future__ import annotations

from typing import Any

from rapport.domain.errors import NotFound
from rapport.domain.model import ConversationId, Member, MessageId
from rapport.domain.search import check_query, snippet, terms
from rapport.services import attachments as attachment_service
from rapport.services import periodic
from rapport.services.context import Context
from rapport.services.shapes import message_json
from rapport.store import conversations, members
from rapport.store import messages as message_store
from rapport.store import search as store

INDEX_UPKEEP_INTERVAL = 2.0
INDEX_MERGE_PAGES = 16
INDEX_SEGMENTS_KEPT = 4
"""Each upkeep step folds 16 pages of the full-text index (a few milliseconds holding the
write lock), every 2 s while the index is split in more than 4 segments: about 29,000
pages an hour, ample for a busy network, never a pause a sender would notice."""


async def search(
    ctx: Context,
    viewer: Member,
    *,
    q: str,
    limit: int,
    conversation_id: int | None = None,
    with_handle: str | None = None,
) -> list[dict[str, Any]]:
    """Conversations whose other participant's name matches, then messages by rank; each with a snippet."""
    q = check_query(q)
    words = terms(q)
    async with ctx.db.read() as conn:
        if conversation_id is not None and (
            await conversations.get_participant(conn, conversation_id=conversation_id, member_id=viewer.id) is None
        ):
            raise NotFound("No such conversation.", code="conversation_not_found")
        with_id = None
        if with_handle is not None:
            found = await members.get_by_handle(conn, handle=with_handle.strip().lower())
            if found is None or found.id == viewer.id:
                return []
            with_id = found.id
        filters: dict[str, Any] = {"conversation_id": conversation_id, "with_id": with_id, "limit": limit}
        named = await store.conversations_with_names(conn, viewer_id=viewer.id, words=words, **filters)
        matched = await store.messages_matching(conn, viewer_id=viewer.id, query=q, words=words, **filters)
        picks: dict[MessageId, tuple[ConversationId, str]] = {}
        for cid, mid in named:
            picks.setdefault(mid, (cid, "participant"))
        for mid, cid in matched:
            picks.setdefault(mid, (cid, "message"))
        chosen = list(picks.items())[:limit]
        rows = await message_store.list_by_ids(conn, ids=[mid for mid, _ in chosen])
        people = await members.list_by_ids(conn, ids={r.sender_id for r in rows.values() if r.sender_id})
        files = await attachment_service.for_messages(conn, rows)
    results = []
    for mid, (cid, match) in chosen:
        row = rows[mid]
        message = message_json(row, viewer=viewer.id, members=people, attachments=files.get(mid, ()))
        message["status"], message["read_by"] = None, None  # receipts are the thread's business, not search's
        results.append(
            {"conversation_id": str(cid), "message": message, "snippet": snippet(row.body, words), "match": match}
        )
    return results


async def tidy_index(ctx: Context) -> None:
    """Merge the full-text index's small segments a little at a time (SQLite; PostgreSQL's
    GIN index looks after itself)."""
    if ctx.db.dialect != "sqlite":
        return
    async with ctx.db.read() as conn:
        if await store.segments(conn) <= INDEX_SEGMENTS_KEPT:
            return
    async with ctx.db.write() as conn:
        await store.merge_segments(conn, pages=INDEX_MERGE_PAGES)


def start_index_upkeep(ctx: Context, *, interval: float = INDEX_UPKEEP_INTERVAL) -> periodic.Stop:
    return periodic.every(interval, "search index upkeep", lambda: tidy_index(ctx))
