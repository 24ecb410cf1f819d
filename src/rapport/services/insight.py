"""Engagement insight and the follow-up assistant (DESIGN §6): load facts, let domain.insight decide.

Every answer is about the signed-in member's own messages only; which reads count is
decided by `domain.insight.may_count_read` (visible at the time of the read and now).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rapport.domain.errors import Invalid, NotFound
from rapport.domain.insight import (
    WEEKS_MAX,
    FollowUp,
    Insight,
    ReceiptSwitches,
    SwitchHistory,
    due_follow_ups,
    summarise,
)
from rapport.domain.model import ConversationId, Member, MemberId
from rapport.services.context import Context
from rapport.services.shapes import iso, member_json
from rapport.store import conversations, members, social
from rapport.store import insight as store


async def insight(ctx: Context, viewer: Member, *, weeks: int) -> Insight:
    """The viewer's sent, started, read and reply rates and medians, and the last `weeks` weeks."""
    if not 1 <= weeks <= WEEKS_MAX:
        raise Invalid(f"weeks is between 1 and {WEEKS_MAX}.", code="invalid_weeks")
    async with ctx.db.read() as conn:
        sent = await store.sent_messages(conn, member_id=viewer.id)
        threads = await store.threads(conn, member_id=viewer.id)
        reads = await store.reads_by_others(conn, member_id=viewer.id)
        readers = {reader for _, reader, _, _, _ in reads}
        history = await store.switch_changes(conn, member_ids=readers | {viewer.id})
        # Fresh rows: a cached member may predate a switch flipped since.
        people = await members.list_by_ids(conn, ids=readers | {viewer.id})
        blocked = await social.blocked_among(conn, member_id=viewer.id, others=readers)
        network_now = await ctx.network.receipts_enabled(conn)
        started = await store.count_started(conn, member_id=viewer.id)

    def switch(member_id: MemberId) -> SwitchHistory:
        person = people.get(member_id)
        on = person is not None and person.settings.read_receipts_and_typing
        return SwitchHistory(tuple(history.get(member_id, ())), current=on)

    switches = ReceiptSwitches(
        sender=switch(viewer.id),
        readers={r: switch(r) for r in readers},
        network=SwitchHistory(tuple(history.get(None, ())), current=network_now),
        blocked=frozenset(MemberId(b) for b in blocked),
    )
    return summarise(
        sent=sent,
        reads=reads,
        threads=threads,
        switches=switches,
        conversations_started=started,
        now=ctx.clock.now(),
        weeks=weeks,
    )


def insight_json(found: Insight) -> dict[str, Any]:
    """API.md "Engagement insight", plus the read and replied counts behind the rates."""
    return {
        "sent": found.sent,
        "conversations_started": found.conversations_started,
        "read": found.read,
        "replied": found.replied,
        "read_rate": found.read_rate,
        "reply_rate": found.reply_rate,
        "median_seconds_to_read": found.median_seconds_to_read,
        "median_seconds_to_reply": found.median_seconds_to_reply,
        "weeks": [
            {"week": w.week.isoformat(), "sent": w.sent, "read": w.read, "replied": w.replied} for w in found.weeks
        ],
    }


async def follow_ups(ctx: Context, viewer: Member) -> list[dict[str, Any]]:
    """The viewer's threads waiting for a reply long enough to follow up, with the advice."""
    async with ctx.db.read() as conn:
        threads = await store.unanswered_threads(conn, member_id=viewer.id)
        others = {t.other for t in threads}
        people = await members.list_by_ids(conn, ids=others)
        blocked = await social.blocked_among(conn, member_id=viewer.id, others=others)
    # No advice to write to someone blocked either way, or to an erased account.
    reachable = [t for t in threads if t.other in people and t.other not in blocked]
    after = timedelta(seconds=ctx.settings.follow_up_after_seconds)
    due = due_follow_ups(reachable, now=ctx.clock.now(), after=after)
    return [_follow_up_json(f, people[f.thread.other]) for f in due]


def _follow_up_json(found: FollowUp, other: Member) -> dict[str, Any]:
    return {
        "conversation_id": str(found.thread.conversation_id),
        "member": member_json(other),
        "last_sent_at": iso(found.thread.last_sent_at),
        "unanswered": found.thread.unanswered,
        "advice": found.advice.value,
        "advice_text": found.advice_text,
    }


async def dismiss_follow_up(ctx: Context, viewer: Member, *, conversation_id: int) -> None:
    """Hide the suggestion for one of the viewer's conversations until its next message."""
    async with ctx.db.write() as conn:
        ids = await conversations.participant_ids_for(conn, conversation_ids=[conversation_id])
        if viewer.id not in ids.get(ConversationId(conversation_id), []):
            raise NotFound("No such conversation.", code="conversation_not_found")
        await store.dismiss_follow_up(conn, member_id=viewer.id, conversation_id=conversation_id, at=ctx.clock.now())


async def record_switch(ctx: Context, conn: Any, *, member_id: MemberId | None, enabled: bool) -> None:
    """Keep the history of a receipt switch (None: the operator's), written with the change."""
    await store.add_switch_change(conn, member_id=member_id, enabled=enabled, at=ctx.clock.now())
