"""@mentions: who a body mentions (domain/mentions.py)."""

from __future__ import annotations

import pytest

from rapport.domain.errors import Invalid
from rapport.domain.mentions import mentioned, newly_mentioned
from rapport.domain.model import MemberId

PEOPLE = {"alice": MemberId(1), "bob": MemberId(2), "carol.dev": MemberId(3), "dan-": MemberId(4)}


def test_a_participants_handle_is_a_mention() -> None:
    assert mentioned("hi @bob, see this", PEOPLE) == (MemberId(2),)


def test_other_handles_stay_plain_text() -> None:
    assert mentioned("ask @zed or @ali", PEOPLE) == ()


def test_an_email_address_mentions_no_one() -> None:
    assert mentioned("write to alice@bob.example or x.@bob", PEOPLE) == ()


def test_handles_match_case_insensitively_in_order_of_first_mention() -> None:
    assert mentioned("@Carol.Dev and @ALICE and @alice again", PEOPLE) == (MemberId(3), MemberId(1))


def test_a_trailing_full_stop_ends_the_sentence_not_the_handle() -> None:
    assert mentioned("Thanks @bob. And @carol.dev.", PEOPLE) == (MemberId(2), MemberId(3))


def test_a_handle_that_really_ends_in_a_hyphen_is_kept() -> None:
    assert mentioned("cc @dan-", PEOPLE) == (MemberId(4),)


def test_twenty_distinct_mentions_are_allowed_and_repeats_count_once() -> None:
    people = {f"m{i:02d}": MemberId(i) for i in range(30)}
    body = " ".join(f"@m{i:02d}" for i in range(20)) + " @m00 @m01"
    assert len(mentioned(body, people)) == 20


def test_twenty_one_distinct_mentions_are_refused() -> None:
    people = {f"m{i:02d}": MemberId(i) for i in range(30)}
    with pytest.raises(Invalid) as refused:
        mentioned(" ".join(f"@m{i:02d}" for i in range(21)), people)
    assert refused.value.code == "too_many_mentions"


def test_an_edit_notifies_only_the_newly_mentioned() -> None:
    assert newly_mentioned([MemberId(1), MemberId(2)], [MemberId(2), MemberId(3), MemberId(1)]) == (MemberId(3),)
