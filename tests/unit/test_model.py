"""The nouns of the product: tiers, conversation kinds, group roles, members."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from rapport.domain.model import (
    ConversationKind,
    GroupRole,
    InMailState,
    Invitation,
    InvitationId,
    InvitationState,
    Member,
    MemberId,
    MemberSettings,
    Tier,
)


def member(tier: Tier = Tier.FREE, **settings: bool) -> Member:
    return Member(
        id=MemberId(1),
        handle="ada",
        name="Ada Lovelace",
        headline="Analyst",
        industry="Computing",
        location="London",
        avatar_url=None,
        tier=tier,
        settings=MemberSettings(**settings),
    )


def test_tiers_are_free_career_and_business() -> None:
    assert [t.value for t in Tier] == ["free", "premium_career", "premium_business"]


@pytest.mark.parametrize(
    ("tier", "premium"),
    [(Tier.FREE, False), (Tier.PREMIUM_CAREER, True), (Tier.PREMIUM_BUSINESS, True)],
)
def test_every_tier_but_free_is_premium(tier: Tier, premium: bool) -> None:
    assert tier.is_premium is premium


@pytest.mark.parametrize(
    "kind", [ConversationKind.DIRECT, ConversationKind.GROUP_MEMBER, ConversationKind.OPEN_PROFILE]
)
def test_free_one_to_one_kinds_share_one_thread_per_pair(kind: ConversationKind) -> None:
    assert kind.is_one_to_one_thread


@pytest.mark.parametrize(
    "kind",
    [
        ConversationKind.INMAIL,
        ConversationKind.SPONSORED,
        ConversationKind.GROUP_CHAT,
        ConversationKind.MULTI,
    ],
)
def test_inmail_sponsored_and_group_threads_are_their_own(kind: ConversationKind) -> None:
    assert not kind.is_one_to_one_thread


@pytest.mark.parametrize(
    ("role", "may"),
    [(GroupRole.MEMBER, False), (GroupRole.MANAGER, True), (GroupRole.ADMIN, True)],
)
def test_only_admins_and_managers_may_start_a_group_chat(role: GroupRole, may: bool) -> None:
    assert role.may_start_group_chat is may


def test_member_settings_default_to_receipts_on_open_profile_off_and_messages_allowed() -> None:
    assert MemberSettings() == MemberSettings(
        read_receipts_and_typing=True,
        open_profile=False,
        messages_from_group_members=True,
        sponsored_messages=True,
    )


@pytest.mark.parametrize("tier", [Tier.PREMIUM_CAREER, Tier.PREMIUM_BUSINESS])
def test_premium_member_with_open_profile_on_has_an_open_profile(tier: Tier) -> None:
    assert member(tier, open_profile=True).has_open_profile


def test_premium_member_with_open_profile_off_has_none() -> None:
    assert not member(Tier.PREMIUM_CAREER).has_open_profile


def test_open_profile_lapses_with_the_subscription() -> None:
    assert not member(Tier.FREE, open_profile=True).has_open_profile


def test_values_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        member().tier = Tier.PREMIUM_BUSINESS  # type: ignore[misc]


def test_invitation_and_inmail_states() -> None:
    assert {s.value for s in InvitationState} == {"pending", "accepted", "declined", "withdrawn"}
    assert {s.value for s in InMailState} == {"pending", "accepted", "declined"}
    invitation = Invitation(
        id=InvitationId(1),
        from_id=MemberId(1),
        to_id=MemberId(2),
        note=None,
        state=InvitationState.PENDING,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert invitation.state == "pending"
