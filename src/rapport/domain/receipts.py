"""Read receipts and typing: who may see what (DESIGN §4). The privacy rules live here only.

Read receipts:
- A read is recorded only when the reader reports the newest message their open thread
  showed; delivery, notifications and the inbox list never count.
- They exist only in 1:1 conversations of kind `direct`, `group_member` or `open_profile`;
  never in group chats, multi-recipient conversations, InMail or sponsored messages.
- The member switch "read receipts and typing indicators" is reciprocal: when either
  member has it off at the moment of reading, that read is never shown to the other.
- While either member's switch is off, neither sees any receipt of the other, older ones
  included; the switch hides, it deletes nothing: switched back on, they show again. A
  read made while a switch was off was never shared, and stays hidden.
- A block either way hides every receipt between the pair, past ones included.
- When the operator switches receipts off for the network, nobody sees any.
- The reader's own unread count falls either way; only the other side's view is governed.

Typing indicators:
- Shown in every conversation kind except InMail and sponsored (group chats included).
- The same reciprocal switch: a typist with it off is seen by nobody; a viewer with it
  off sees nobody typing.
- Never between members where either blocked the other.
- Live only: never stored, and they lapse after 10 seconds without a refresh.
"""

from __future__ import annotations

from rapport.domain.model import ConversationKind

RECEIPT_KINDS = frozenset({ConversationKind.DIRECT, ConversationKind.GROUP_MEMBER, ConversationKind.OPEN_PROFILE})
TYPING_KINDS = frozenset(ConversationKind) - {ConversationKind.INMAIL, ConversationKind.SPONSORED}


def is_receipt_shared(*, kind: ConversationKind, reader_switch: bool, sender_switch: bool, blocked: bool) -> bool:
    """Whether a read happening now becomes visible to the other member (decided once)."""
    return kind in RECEIPT_KINDS and reader_switch and sender_switch and not blocked


def receipts_shown_now(*, reader_switch: bool, viewer_switch: bool, blocked: bool, network_receipts: bool) -> bool:
    """Whether the pair's shared receipts are shown now: both switches on now, no block
    either way, and the operator's switch on. Asked on every surface, replays included."""
    return network_receipts and reader_switch and viewer_switch and not blocked


def may_see_receipt(
    *,
    kind: ConversationKind,
    shared: bool,
    reader_switch: bool,
    viewer_switch: bool,
    blocked: bool,
    network_receipts: bool,
) -> bool:
    """Whether a recorded read is shown now: it was shared, and nothing now forbids it."""
    return (
        shared
        and kind in RECEIPT_KINDS
        and receipts_shown_now(
            reader_switch=reader_switch, viewer_switch=viewer_switch, blocked=blocked, network_receipts=network_receipts
        )
    )


def may_see_typing(*, kind: ConversationKind, typist_switch: bool, viewer_switch: bool, blocked: bool) -> bool:
    """Whether `viewer` is shown that `typist` is typing."""
    return kind in TYPING_KINDS and typist_switch and viewer_switch and not blocked


def message_status(*, message_id: int, delivered_through: int, read_visible: bool) -> str:
    """The sender's status of their own message: `sent`, `delivered` or `read`."""
    if read_visible:
        return "read"
    if delivered_through >= message_id:
        return "delivered"
    return "sent"
