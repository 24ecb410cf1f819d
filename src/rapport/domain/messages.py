"""Rules for a message's content and its later changes (DESIGN §3)."""

from __future__ import annotations

from datetime import datetime

from rapport.domain.errors import Conflict, Invalid, NotPermitted
from rapport.domain.limits import (
    EDIT_WINDOW,
    INMAIL_BODY_MAX,
    INMAIL_SUBJECT_MAX,
    MAX_ATTACHMENTS_PER_MESSAGE,
    MESSAGE_BODY_MAX,
)

REACTIONS = ("👍", "❤️", "😂", "😮", "😢", "👏", "🎉", "💡")
"""The small emoji set members may react with."""


def check_body(body: str, *, attachments: int = 0, inmail: bool = False) -> str:
    """The body to store: plain text, not blank unless files carry the message."""
    limit = INMAIL_BODY_MAX if inmail else MESSAGE_BODY_MAX
    if len(body) > limit:
        raise Invalid(
            f"A {'InMail' if inmail else 'message'} body may have at most {limit:,} characters.",
            code="body_too_long",
        )
    if attachments > MAX_ATTACHMENTS_PER_MESSAGE:
        raise Invalid(
            f"A message may carry at most {MAX_ATTACHMENTS_PER_MESSAGE} attachments.",
            code="too_many_attachments",
        )
    if "\x00" in body:
        raise Invalid("A message body may not contain NUL characters.", code="invalid_body")
    if not body.strip() and attachments == 0:
        raise Invalid("A message needs a body or an attachment.", code="empty_body")
    return body


def check_subject(subject: str | None) -> str:
    """InMail needs a subject of at most 200 characters."""
    subject = (subject or "").strip()
    if not subject:
        raise Invalid("An InMail needs a subject.", code="subject_required")
    if len(subject) > INMAIL_SUBJECT_MAX:
        raise Invalid(
            f"An InMail subject may have at most {INMAIL_SUBJECT_MAX} characters.",
            code="subject_too_long",
        )
    return subject


def check_edit(*, author: int | None, editor: int, deleted: bool, sent_at: datetime, now: datetime) -> None:
    """Only the author edits, only a live message, and only within 60 minutes of sending."""
    if author != editor:
        raise NotPermitted("Only the author may change a message.", code="not_author")
    if deleted:
        raise Conflict("This message was deleted.", code="message_deleted")
    if now - sent_at > EDIT_WINDOW:
        raise Conflict("Messages may be edited for 60 minutes after sending.", code="edit_window_passed")


def check_reaction(emoji: str) -> str:
    if emoji not in REACTIONS:
        raise Invalid(f"Reactions are one of {' '.join(REACTIONS)}.", code="unknown_reaction")
    return emoji
