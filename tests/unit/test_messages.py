"""Rules for a message's content and its later changes (DESIGN §2-§3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rapport.domain.errors import Conflict, Invalid, NotPermitted
from rapport.domain.limits import (
    EDIT_WINDOW,
    INMAIL_BODY_MAX,
    INMAIL_SUBJECT_MAX,
    MAX_ATTACHMENTS_PER_MESSAGE,
    MESSAGE_BODY_MAX,
)
from rapport.domain.messages import (
    REACTIONS,
    check_body,
    check_edit,
    check_reaction,
    check_subject,
)

SENT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
AUTHOR = 7


def test_limits_match_the_product_contract() -> None:
    assert (MESSAGE_BODY_MAX, INMAIL_BODY_MAX, INMAIL_SUBJECT_MAX) == (8_000, 2_000, 200)
    assert MAX_ATTACHMENTS_PER_MESSAGE == 10
    assert timedelta(minutes=60) == EDIT_WINDOW


# --- Body ------------------------------------------------------------------------------------


def test_plain_text_body_is_stored_as_written() -> None:
    assert check_body("  Hello, Ada!\n") == "  Hello, Ada!\n"


def test_message_body_of_exactly_8000_characters_is_accepted() -> None:
    body = "x" * 8_000
    assert check_body(body) == body


def test_message_body_of_8001_characters_is_refused() -> None:
    with pytest.raises(Invalid, match="8,000") as excinfo:
        check_body("x" * 8_001)
    assert excinfo.value.code == "body_too_long"


def test_inmail_body_of_exactly_2000_characters_is_accepted() -> None:
    body = "x" * 2_000
    assert check_body(body, inmail=True) == body


def test_inmail_body_of_2001_characters_is_refused() -> None:
    with pytest.raises(Invalid, match="InMail body may have at most 2,000") as excinfo:
        check_body("x" * 2_001, inmail=True)
    assert excinfo.value.code == "body_too_long"


def test_body_length_counts_characters_not_bytes() -> None:
    body = "é" * 8_000
    assert check_body(body) == body


@pytest.mark.parametrize("body", ["", " ", "\n\t  "])
def test_empty_or_blank_body_without_attachments_is_refused(body: str) -> None:
    with pytest.raises(Invalid) as excinfo:
        check_body(body)
    assert excinfo.value.code == "empty_body"


def test_attachments_alone_carry_a_message() -> None:
    assert check_body("", attachments=1) == ""


def test_body_with_a_nul_character_is_refused() -> None:
    with pytest.raises(Invalid) as excinfo:
        check_body("hello\x00world")
    assert excinfo.value.code == "invalid_body"


def test_nul_is_refused_even_with_attachments() -> None:
    with pytest.raises(Invalid) as excinfo:
        check_body("\x00", attachments=1)
    assert excinfo.value.code == "invalid_body"


def test_ten_attachments_are_allowed() -> None:
    assert check_body("files", attachments=10) == "files"


def test_eleven_attachments_are_refused() -> None:
    with pytest.raises(Invalid, match="10 attachments") as excinfo:
        check_body("files", attachments=11)
    assert excinfo.value.code == "too_many_attachments"


def test_too_long_is_reported_before_other_problems() -> None:
    with pytest.raises(Invalid) as excinfo:
        check_body("\x00" * 8_001, attachments=11)
    assert excinfo.value.code == "body_too_long"


@given(
    st.text(
        alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
        min_size=1,
        max_size=MESSAGE_BODY_MAX,
    ).filter(lambda s: s.strip())
)
def test_any_nonblank_body_within_the_limit_is_kept_unchanged(body: str) -> None:
    assert check_body(body) == body


# --- InMail subject --------------------------------------------------------------------------


@pytest.mark.parametrize("subject", [None, "", "   "])
def test_inmail_needs_a_subject(subject: str | None) -> None:
    with pytest.raises(Invalid) as excinfo:
        check_subject(subject)
    assert excinfo.value.code == "subject_required"


def test_subject_is_stored_without_surrounding_whitespace() -> None:
    assert check_subject("  Opportunity at Acme \n") == "Opportunity at Acme"


def test_subject_of_exactly_200_characters_is_accepted() -> None:
    subject = "s" * 200
    assert check_subject(subject) == subject


def test_subject_of_201_characters_is_refused() -> None:
    with pytest.raises(Invalid, match="200") as excinfo:
        check_subject("s" * 201)
    assert excinfo.value.code == "subject_too_long"


def test_subject_limit_applies_to_the_subject_as_stored() -> None:
    assert check_subject("  " + "s" * 200 + " ") == "s" * 200


# --- Edits -----------------------------------------------------------------------------------


def test_author_may_edit_a_live_message_right_after_sending() -> None:
    assert check_edit(author=AUTHOR, editor=AUTHOR, deleted=False, sent_at=SENT, now=SENT) is None


def test_author_may_edit_at_exactly_sixty_minutes() -> None:
    now = SENT + timedelta(minutes=60)
    check_edit(author=AUTHOR, editor=AUTHOR, deleted=False, sent_at=SENT, now=now)


def test_edit_just_after_sixty_minutes_is_refused() -> None:
    now = SENT + timedelta(minutes=60, microseconds=1)
    with pytest.raises(Conflict) as excinfo:
        check_edit(author=AUTHOR, editor=AUTHOR, deleted=False, sent_at=SENT, now=now)
    assert excinfo.value.code == "edit_window_passed"


def test_only_the_author_may_edit() -> None:
    with pytest.raises(NotPermitted) as excinfo:
        check_edit(author=AUTHOR, editor=AUTHOR + 1, deleted=False, sent_at=SENT, now=SENT)
    assert excinfo.value.code == "not_author"


def test_message_without_an_author_cannot_be_edited_by_anyone() -> None:
    with pytest.raises(NotPermitted):
        check_edit(author=None, editor=AUTHOR, deleted=False, sent_at=SENT, now=SENT)


def test_deleted_message_cannot_be_edited() -> None:
    with pytest.raises(Conflict) as excinfo:
        check_edit(author=AUTHOR, editor=AUTHOR, deleted=True, sent_at=SENT, now=SENT)
    assert excinfo.value.code == "message_deleted"


def test_non_author_is_told_so_before_learning_the_message_was_deleted() -> None:
    late = SENT + timedelta(days=1)
    with pytest.raises(NotPermitted):
        check_edit(author=AUTHOR, editor=AUTHOR + 1, deleted=True, sent_at=SENT, now=late)


def test_deleted_is_reported_before_the_edit_window() -> None:
    late = SENT + timedelta(days=1)
    with pytest.raises(Conflict) as excinfo:
        check_edit(author=AUTHOR, editor=AUTHOR, deleted=True, sent_at=SENT, now=late)
    assert excinfo.value.code == "message_deleted"


# --- Reactions -------------------------------------------------------------------------------


def test_reactions_are_a_small_set_of_distinct_emoji() -> None:
    assert 0 < len(REACTIONS) == len(set(REACTIONS)) <= 10


@pytest.mark.parametrize("emoji", REACTIONS)
def test_every_emoji_of_the_set_is_accepted(emoji: str) -> None:
    assert check_reaction(emoji) == emoji


@pytest.mark.parametrize("emoji", ["", "x", "🍕", "👍👍", ":+1:"])
def test_anything_outside_the_set_is_refused(emoji: str) -> None:
    with pytest.raises(Invalid) as excinfo:
        check_reaction(emoji)
    assert excinfo.value.code == "unknown_reaction"
