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
from rapport.services.context import Context
from rapport.services.shapes import message_json
from rapport.store import conversations, members
from rapport.store import messages as message_store
from rapport.store import search as store


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
