"""InMail credits (DESIGN §2): monthly grants, the rollover cap, give-backs, tier changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rapport.domain.credits import (
    GIVE_BACK_WINDOW,
    MONTHLY_GRANT,
    CreditLedger,
    accrue,
    bank_cap,
    change_tier,
    give_back,
    is_give_back_due,
    month_index,
    spend,
)
from rapport.domain.model import Tier

JAN = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
FEB = datetime(2026, 2, 1, 0, 0, tzinfo=UTC)
APR = datetime(2026, 4, 30, 23, 59, tzinfo=UTC)
JAN_INDEX = month_index(JAN)


def ledger(balance: int, granted: datetime = JAN) -> CreditLedger:
    return CreditLedger(balance=balance, granted_through=month_index(granted))


def months_later(at: datetime, months: int) -> datetime:
    index = month_index(at) + months
    return at.replace(year=index // 12, month=index % 12 + 1, day=1)


# --- Month arithmetic ------------------------------------------------------------------------


def test_month_index_counts_calendar_months() -> None:
    assert month_index(datetime(2026, 1, 1, tzinfo=UTC)) == 2026 * 12
    assert month_index(datetime(2026, 12, 31, tzinfo=UTC)) == 2026 * 12 + 11
    assert month_index(datetime(2027, 1, 1, tzinfo=UTC)) - month_index(JAN) == 12


def test_month_index_of_the_last_instant_and_first_instant_of_a_month_differ_by_one() -> None:
    end_of_jan = datetime(2026, 1, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert month_index(end_of_jan + timedelta(microseconds=1)) - month_index(end_of_jan) == 1


# --- Monthly grants and the rollover cap -----------------------------------------------------


def test_monthly_grant_is_five_for_career_fifteen_for_business_none_for_free() -> None:
    assert MONTHLY_GRANT == {Tier.FREE: 0, Tier.PREMIUM_CAREER: 5, Tier.PREMIUM_BUSINESS: 15}


def test_bank_cap_is_three_months_worth() -> None:
    assert bank_cap(Tier.PREMIUM_CAREER) == 15
    assert bank_cap(Tier.PREMIUM_BUSINESS) == 45
    assert bank_cap(Tier.FREE) == 0


@pytest.mark.parametrize(("tier", "grant"), [(Tier.PREMIUM_CAREER, 5), (Tier.PREMIUM_BUSINESS, 15)])
def test_premium_member_is_granted_credits_each_new_month(tier: Tier, grant: int) -> None:
    assert accrue(ledger(0), tier, FEB) == CreditLedger(grant, month_index(FEB))


def test_no_grant_is_due_twice_in_the_same_month() -> None:
    assert accrue(ledger(2), Tier.PREMIUM_CAREER, JAN) == ledger(2)
    assert accrue(ledger(2), Tier.PREMIUM_CAREER, JAN.replace(day=31)) == ledger(2)


def test_ledger_granted_in_the_future_is_left_alone() -> None:
    assert accrue(ledger(3, FEB), Tier.PREMIUM_CAREER, JAN) == ledger(3, FEB)


def test_missed_months_are_all_granted_at_once() -> None:
    assert accrue(ledger(0), Tier.PREMIUM_CAREER, months_later(JAN, 2)).balance == 10


@pytest.mark.parametrize(("tier", "cap"), [(Tier.PREMIUM_CAREER, 15), (Tier.PREMIUM_BUSINESS, 45)])
def test_unused_credits_roll_over_up_to_three_months_worth(tier: Tier, cap: int) -> None:
    after_a_year = accrue(ledger(0), tier, months_later(JAN, 12))
    assert after_a_year.balance == cap
    assert after_a_year.granted_through == JAN_INDEX + 12


def test_grant_tops_up_to_the_cap_but_not_beyond() -> None:
    assert accrue(ledger(13), Tier.PREMIUM_CAREER, FEB).balance == 15
    assert accrue(ledger(15), Tier.PREMIUM_CAREER, FEB).balance == 15


def test_credits_given_back_above_the_cap_are_kept() -> None:
    above_cap = accrue(ledger(17), Tier.PREMIUM_CAREER, months_later(JAN, 3))
    assert above_cap == CreditLedger(17, JAN_INDEX + 3)


def test_a_credit_given_back_lands_after_the_grants_due_so_the_cap_cannot_swallow_it() -> None:
    # 4 left in January; answered in April: January's ledger first tops up to the cap of 15
    assert give_back(ledger(4), Tier.PREMIUM_CAREER, months_later(JAN, 3)) == CreditLedger(16, JAN_INDEX + 3)


def test_a_credit_given_back_in_the_same_month_adds_one() -> None:
    assert give_back(ledger(4), Tier.PREMIUM_CAREER, JAN) == CreditLedger(5, JAN_INDEX)


def test_free_member_is_granted_nothing() -> None:
    assert accrue(ledger(0), Tier.FREE, months_later(JAN, 6)) == CreditLedger(0, JAN_INDEX + 6)


@given(
    tier=st.sampled_from([Tier.PREMIUM_CAREER, Tier.PREMIUM_BUSINESS]),
    balance=st.integers(min_value=0, max_value=44),
    months=st.integers(min_value=0, max_value=240),
)
def test_accrue_never_lifts_a_balance_from_below_the_cap_above_it(tier: Tier, balance: int, months: int) -> None:
    start = CreditLedger(balance, JAN_INDEX)
    result = accrue(start, tier, months_later(JAN, months) if months else JAN)
    if balance <= bank_cap(tier):
        assert result.balance <= bank_cap(tier)
    assert result.balance >= balance
    assert result.granted_through == JAN_INDEX + months


@given(
    tier=st.sampled_from(Tier),
    balance=st.integers(min_value=0, max_value=1000),
    months=st.integers(min_value=0, max_value=240),
)
def test_accrue_never_takes_credits_away(tier: Tier, balance: int, months: int) -> None:
    result = accrue(CreditLedger(balance, JAN_INDEX), tier, months_later(JAN, months))
    assert result.balance >= balance


# --- Spending --------------------------------------------------------------------------------


def test_spending_a_credit_lowers_the_balance_and_keeps_the_grant_month() -> None:
    assert spend(ledger(5), 1) == ledger(4)


def test_spending_the_last_credit_leaves_zero() -> None:
    assert spend(ledger(1), 1) == ledger(0)


def test_spending_nothing_changes_nothing() -> None:
    assert spend(ledger(0), 0) == ledger(0)


def test_spending_more_credits_than_held_raises() -> None:
    with pytest.raises(ValueError, match="not enough InMail credits"):
        spend(ledger(0), 1)
    with pytest.raises(ValueError):
        spend(ledger(2), 3)


@given(balance=st.integers(min_value=0, max_value=100), credits=st.integers(0, 100))
def test_balance_never_goes_negative(balance: int, credits: int) -> None:
    if credits > balance:
        with pytest.raises(ValueError):
            spend(CreditLedger(balance, JAN_INDEX), credits)
    else:
        assert spend(CreditLedger(balance, JAN_INDEX), credits).balance == balance - credits


# --- Tier changes ----------------------------------------------------------------------------


@pytest.mark.parametrize("old", [Tier.PREMIUM_CAREER, Tier.PREMIUM_BUSINESS])
def test_dropping_to_free_forfeits_the_balance(old: Tier) -> None:
    assert change_tier(ledger(40), old, Tier.FREE, FEB) == CreditLedger(0, month_index(FEB))


@pytest.mark.parametrize(("new", "grant"), [(Tier.PREMIUM_CAREER, 5), (Tier.PREMIUM_BUSINESS, 15)])
def test_subscribing_grants_the_first_month_at_once(new: Tier, grant: int) -> None:
    assert change_tier(ledger(0), Tier.FREE, new, FEB) == CreditLedger(grant, month_index(FEB))


def test_upgrading_settles_grants_due_under_the_old_tier_first() -> None:
    settled = change_tier(ledger(0), Tier.PREMIUM_CAREER, Tier.PREMIUM_BUSINESS, months_later(JAN, 2))
    assert settled == CreditLedger(10, JAN_INDEX + 2)


def test_upgrade_uses_the_new_tier_from_the_next_month_on() -> None:
    settled = change_tier(ledger(15), Tier.PREMIUM_CAREER, Tier.PREMIUM_BUSINESS, JAN)
    assert settled == ledger(15)
    assert accrue(settled, Tier.PREMIUM_BUSINESS, FEB).balance == 30


def test_downgrading_keeps_credits_above_the_new_cap_but_grants_no_more() -> None:
    settled = change_tier(ledger(40), Tier.PREMIUM_BUSINESS, Tier.PREMIUM_CAREER, JAN)
    assert settled.balance == 40
    assert accrue(settled, Tier.PREMIUM_CAREER, APR).balance == 40


def test_free_to_free_change_leaves_nothing() -> None:
    assert change_tier(ledger(0), Tier.FREE, Tier.FREE, FEB) == CreditLedger(0, month_index(FEB))


# --- Giving credits back ---------------------------------------------------------------------


def test_give_back_window_is_ninety_days() -> None:
    assert timedelta(days=90) == GIVE_BACK_WINDOW


def test_credit_is_given_back_when_answered_within_90_days() -> None:
    assert is_give_back_due(charged=True, sent_at=JAN, answered_at=JAN + timedelta(days=3))


def test_credit_is_given_back_when_answered_on_the_ninetieth_day_exactly() -> None:
    assert is_give_back_due(charged=True, sent_at=JAN, answered_at=JAN + timedelta(days=90))


def test_credit_is_not_given_back_when_answered_a_second_after_90_days() -> None:
    late = JAN + timedelta(days=90, seconds=1)
    assert not is_give_back_due(charged=True, sent_at=JAN, answered_at=late)


def test_free_inmail_earns_nothing_back() -> None:
    assert not is_give_back_due(charged=False, sent_at=JAN, answered_at=JAN + timedelta(hours=1))
