"""Full-text search over the messages a member can still see, on SQLite (FTS5) and PostgreSQL (tsvector).

Both stores index message bodies inside the writing transaction. SQLite through triggers on an
FTS5 table whose second column says whose a message is (0003, i19_search_scope): `m<member>`
for both members of a 1:1 thread, `c<conversation>` for the others, so a search names the
searcher and their other conversations inside the index query and ranks only their own
matches. PostgreSQL through a stored generated column `search_vector`
(`to_tsvector('simple', body)`) with a GIN index (i19_search_vector), so a search never parses a
body again to filter or rank it. Words reach the engines only as quoted terms, never as query
syntax.

On SQLite a word is asked for as the exact index terms it begins (listed through
`messages_fts_terms`, i19_search_terms), not as an FTS5 prefix term, which would merge the
posting lists of the whole network into memory first; and the newest `CANDIDATES` matches are
ranked in Python (domain/search.py `best_first`) instead of by bm25, whose document counts
cost a second pass over each word's whole posting list. At 1M messages a search of a word in
19% of them went from 21 to 5 ms of server CPU.

On both, the join on `participants` decides what may be seen; the index only narrows.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from sqlalchemy import Integer, and_, bindparam, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from rapport.domain.model import ConversationId, MessageId
from rapport.domain.search import best_first
from rapport.store.prepared import Prepared
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
"""Fewer than this many conversations indexed by conversation (group chats, multi-person,
InMail, sponsored), a search names them in the full-text query beside the searcher's own
token, so the index itself keeps only the searcher's messages (ranking every match in the
network made a search at 1M messages take seconds). From this many, the join alone keeps them."""


def _fts5_query(words: Sequence[Sequence[str] | str], viewer_id: int, conversations: Sequence[int] | None) -> str:
    """Each word ANDed on the body: a list of exact terms (`("budget" OR "budgets")`) or, as a
    string, a quoted prefix term (`"word"*`); then, unless `conversations` is None, the viewer's
    1:1 threads (`m<viewer>`) or one of these conversations. Words hold no quotes; the other
    tokens are digits."""
    parts = [f'"{w}"*' if isinstance(w, str) else "(" + " OR ".join(f'"{t}"' for t in w) + ")" for w in words]
    query = "body : (" + " AND ".join(parts) + ")"
    if conversations is not None:
        query += " AND conv : (" + " OR ".join([f'"m{viewer_id}"', *(f'"c{c}"' for c in conversations)]) + ")"
    return query


TERMS_PER_WORD = 16
"""A word the index holds more than this many longer terms for (`a`, `bu`) stays a prefix term."""

CANDIDATES = 200
"""The newest matches a search ranks (bm25's frequency and length part, in Python): a member's
20 best among their 200 newest, instead of FTS5 ranking every match with a second pass over
each word's posting list in the whole network."""

_PLAIN = re.compile(r"[a-z0-9]+")


async def _index_terms(conn: AsyncConnection, word: str) -> Sequence[str] | str:
    """The index's terms that `word` is a prefix of, itself first, or the word itself when they
    are too many to list or the word is not plain ASCII (the tokenizer folds other letters, so
    the word as typed need not be how the index spells it).

    Read from `messages_fts_terms` (i19_search_terms) from just after the word itself: fts5vocab
    counts every term it passes, and the word's own posting list is the long one."""
    if not _PLAIN.fullmatch(word):
        return word
    rows = await conn.execute(
        text("SELECT term FROM messages_fts_terms WHERE term >= :low AND term < :high LIMIT :n"),
        {"low": word + "\x01", "high": word + "\U0010ffff", "n": TERMS_PER_WORD + 1},
    )
    longer = list(rows.scalars())
    return word if len(longer) > TERMS_PER_WORD else [word, *longer]


async def _named_conversations(
    conn: AsyncConnection, *, viewer_id: int, conversation_id: int | None
) -> list[int] | None:
    """The conversations the viewer can still search that the index knows by conversation,
    not by member; None when they are too many to name (the caller checked `conversation_id`)."""
    sql = (
        "SELECT p.conversation_id FROM participants p"
        " LEFT JOIN search_scopes s ON s.conversation_id = p.conversation_id"
        " WHERE p.member_id = :viewer AND p.hidden = 0 AND (s.scope IS NULL OR s.scope LIKE 'c%')"
    )
    params: dict[str, object] = {"viewer": viewer_id, "limit": CONVERSATIONS_IN_QUERY}
    if conversation_id is not None:
        sql += " AND p.conversation_id = :conversation_id"
        params["conversation_id"] = conversation_id
    found = list((await conn.execute(text(sql + " LIMIT :limit"), params)).scalars())
    return found if len(found) < CONVERSATIONS_IN_QUERY else None


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
        named = await _named_conversations(conn, viewer_id=viewer_id, conversation_id=conversation_id)
        params["match"] = _fts5_query([await _index_terms(conn, w) for w in words], viewer_id, named)
        params["limit"] = CANDIDATES
        # The newest matches, in the index's own rowid order (no sort, no bm25), ranked below.
        sql = (
            "SELECT m.id, m.conversation_id, m.body FROM messages_fts f JOIN messages m ON m.id = f.rowid"
            + _VISIBLE.format(not_deleted="m.deleted = 0", not_hidden="p.hidden = 0")
            + " AND messages_fts MATCH :match"
            + filters
            + " ORDER BY f.rowid DESC LIMIT :limit"
        )
        newest = {mid: (cid, body) for mid, cid, body in await conn.execute(text(sql), params)}
        best = best_first([(mid, body) for mid, (_, body) in newest.items()], list(words))[:limit]
        return [(MessageId(mid), ConversationId(newest[mid][0])) for mid in best]
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


def _escape_like(word: str) -> str:
    """`%word%` for LIKE … ESCAPE '/', the word's own `%`, `_` and `/` taken literally."""
    return "%" + word.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


@functools.cache
def _names_query(words: int, in_conversation: bool, with_member: bool) -> Prepared:
    """The statement of `conversations_with_names` for this many words and these filters,
    built and compiled once (building it per search cost about 1 ms, ten times its run)."""
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
            me.c.member_id == bindparam("viewer_id"),
            me.c.hidden.is_(False),
            *(
                or_(name.like(bindparam(f"w{i}"), escape="/"), handle.like(bindparam(f"w{i}"), escape="/"))
                for i in range(words)
            ),
        )
        .group_by(me.c.conversation_id, me.c.cleared_through, me.c.last_activity_at)
        .order_by(me.c.last_activity_at.desc(), me.c.conversation_id.desc())
        .limit(bindparam("limit", type_=Integer()))
    )
    if in_conversation:
        stmt = stmt.where(me.c.conversation_id == bindparam("conversation_id"))
    if with_member:
        mate = participants.alias("mate")
        stmt = stmt.where(
            select(mate.c.member_id)
            .where(mate.c.conversation_id == me.c.conversation_id, mate.c.member_id == bindparam("with_id"))
            .exists()
        )
    return Prepared(stmt)


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
    query = _names_query(len(words), conversation_id is not None, with_id is not None)
    params: dict[str, object] = {"viewer_id": viewer_id, "limit": limit}
    params.update({f"w{i}": _escape_like(w) for i, w in enumerate(words)})
    if conversation_id is not None:
        params["conversation_id"] = conversation_id
    if with_id is not None:
        params["with_id"] = with_id
    rows = await query.rows(conn, **params)
    return [(ConversationId(cid), MessageId(mid)) for cid, mid in rows if mid is not None]
