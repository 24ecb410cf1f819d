"""Full-text search over the messages a member can still see, on SQLite (FTS5) and PostgreSQL (tsvector).

Both stores index message bodies inside the writing transaction: SQLite through triggers on
an FTS5 table that also holds each message's conversation (0002, 0003), so a search names the
searcher's conversations inside the index query; PostgreSQL through a stored generated column
`search_vector` (`to_tsvector('simple', body)`) with a GIN index (i19_search_vector), so a
search never parses a body again to filter or rank it. Words reach the engines only as quoted
terms, never as query syntax.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.domain.model import ConversationId, MessageId
from rapport.store.tables import members, messages, participants

_VISIBLE = """
    JOIN participants p ON p.conversation_id = m.conversation_id AND p.member_id = :viewer
    WHERE m.id > p.cleared_through AND {not_deleted} AND {not_hidden}
"""
_IN_CONVERSATION = " AND m.conversation_id = :conversation_id"
_WITH_MEMBER = (
    " AND EXISTS (SELECT 1 FROM participants w WHERE w.conversation_id = m.conversation_id AND w.member_id = :with_id)"
)


CONVERSATIONS_IN_QUERY = 1_000
"""Up to this many conversations, a search names them in the full-text query, so the index
itself keeps only the searcher's messages (ranking every match in the network made a search
at 1M messages take seconds). Beyond, the join alone keeps them."""


def _fts5_query(words: Sequence[str], conversations: Sequence[int] = ()) -> str:
    """Each word a quoted prefix term on the body: `"word"*`, ANDed; then, when given, one
    of the conversations. Words hold no quotes; conversation tokens are digits."""
    query = "body : (" + " ".join(f'"{w}"*' for w in words) + ")"
    if conversations and len(conversations) <= CONVERSATIONS_IN_QUERY:
        query += " AND conv : (" + " OR ".join(f'"c{c}"' for c in conversations) + ")"
    return query


async def _own_conversations(conn: AsyncConnection, *, viewer_id: int, conversation_id: int | None) -> list[int]:
    """The conversations the viewer can still search (the caller checked `conversation_id`)."""
    stmt = select(participants.c.conversation_id).where(
        participants.c.member_id == viewer_id, participants.c.hidden.is_(False)
    )
    if conversation_id is not None:
        stmt = stmt.where(participants.c.conversation_id == conversation_id)
    return list((await conn.execute(stmt)).scalars())


def _tsquery(lexemes: Sequence[str]) -> str:
    """Each lexeme a quoted prefix term: `'word':*`, ANDed, with quotes and backslashes escaped."""
    quoted = ("'" + lex.replace("\\", "\\\\").replace("'", "''") + "':*" for lex in lexemes)
    return " & ".join(quoted)


async def messages_matching(
    conn: AsyncConnection,
    *,
    viewer_id: int,
    query: str,
    words: Sequence[str],
    conversation_id: int | None,
    with_id: int | None,
    limit: int,
) -> list[tuple[MessageId, ConversationId]]:
    """The best-ranked messages whose body holds every word, among those the viewer can still see."""
    params: dict[str, object] = {"viewer": viewer_id, "limit": limit}
    filters = ""
    if conversation_id is not None:
        filters += _IN_CONVERSATION
        params["conversation_id"] = conversation_id
    if with_id is not None:
        filters += _WITH_MEMBER
        params["with_id"] = with_id
    if conn.dialect.name == "sqlite":
        if not words:
            return []
        conversations = await _own_conversations(conn, viewer_id=viewer_id, conversation_id=conversation_id)
        if not conversations:
            return []
        params["match"] = _fts5_query(words, conversations)
        sql = (
            "SELECT m.id, m.conversation_id FROM messages_fts f JOIN messages m ON m.id = f.rowid"
            + _VISIBLE.format(not_deleted="m.deleted = 0", not_hidden="p.hidden = 0")
            + " AND messages_fts MATCH :match"
            + filters
            + " ORDER BY bm25(messages_fts), m.id DESC LIMIT :limit"
        )
    else:
        # Cut the query into words with the same parser that indexed the bodies.
        lexemes = (
            await conn.execute(text("SELECT unnest(tsvector_to_array(to_tsvector('simple', :q)))"), {"q": query})
        ).scalars()
        found = sorted(set(lexemes))[:16]
        if not found:
            return []
        params["tsq"] = _tsquery(found)
        # The searcher's conversations are not named in the tsquery (as they are on SQLite): the
        # planner starts from their participant rows and checks each stored vector, and an ORed
        # list of conversation lexemes measured slower (planning a long tsquery, testing it per row).
        sql = (
            "SELECT m.id, m.conversation_id FROM messages m"
            + _VISIBLE.format(not_deleted="NOT m.deleted", not_hidden="NOT p.hidden")
            + " AND m.search_vector @@ to_tsquery('simple', :tsq)"
            + filters
            + " ORDER BY ts_rank_cd(m.search_vector, to_tsquery('simple', :tsq)) DESC, m.id DESC"
            + " LIMIT :limit"
        )
    rows = await conn.execute(text(sql), params)
    return [(MessageId(mid), ConversationId(cid)) for mid, cid in rows]


async def conversations_with_names(
    conn: AsyncConnection,
    *,
    viewer_id: int,
    words: Sequence[str],
    conversation_id: int | None,
    with_id: int | None,
    limit: int,
) -> list[tuple[ConversationId, MessageId]]:
    """The viewer's conversations where another participant's name or handle holds every word,
    newest first, each with its newest message the viewer can still see."""
    if not words:
        return []
    me, other = participants.alias("me"), participants.alias("other")
    name, handle = func.lower(members.c.name), func.lower(members.c.handle)
    newest = (
        select(func.max(messages.c.id))
        .where(
            messages.c.conversation_id == me.c.conversation_id,
            messages.c.id > me.c.cleared_through,
            messages.c.deleted.is_(False),
        )
        .scalar_subquery()
    )
    stmt = (
        select(me.c.conversation_id, newest.label("message_id"))
        .select_from(me)
        .join(other, and_(other.c.conversation_id == me.c.conversation_id, other.c.member_id != me.c.member_id))
        .join(members, members.c.id == other.c.member_id)
        .where(
            me.c.member_id == viewer_id,
            me.c.hidden.is_(False),
            *(or_(name.contains(w, autoescape=True), handle.contains(w, autoescape=True)) for w in words),
        )
        .group_by(me.c.conversation_id, me.c.cleared_through, me.c.last_activity_at)
        .order_by(me.c.last_activity_at.desc(), me.c.conversation_id.desc())
        .limit(limit)
    )
    if conversation_id is not None:
        stmt = stmt.where(me.c.conversation_id == conversation_id)
    if with_id is not None:
        mate = participants.alias("mate")
        stmt = stmt.where(
            select(mate.c.member_id)
            .where(mate.c.conversation_id == me.c.conversation_id, mate.c.member_id == with_id)
            .exists()
        )
    rows = await conn.execute(stmt)
    return [(ConversationId(cid), MessageId(mid)) for cid, mid in rows if mid is not None]
