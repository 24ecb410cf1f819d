"""Read receipts and typing: who may see what (DESIGN §4). The privacy rules live here only.

Read receipts:
- A read is recorded only when the reader reports the newest message their open thread
  showed; delivery, notifications and the inbox list never count.
- They exist only in 1:1 conversations of kind `direct`, `group_member` or `open_profile`;
  never in group chats, multi-recipient conversations, InMail or sponsored messages.
- The member switch "read receipts and typing indicators" is reciprocal: when either
  member has it off at the moment of reading, that read is never shown to the other.
- Switching off hides receipts from then on; it does not rewrite what was already shown.
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


def may_see_receipt(*, kind: ConversationKind, shared: bool, blocked: bool, network_receipts: bool) -> bool:
    """Whether a recorded read is shown now: it was shared, and nothing since forbids it."""
    return network_receipts and shared and kind in RECEIPT_KINDS and not blocked


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
