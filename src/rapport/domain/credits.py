"""InMail credits (DESIGN §2).

- Premium Career is granted 5 credits a month, Premium Business 15, free members none.
- Unused credits roll over, but a grant never lifts the balance above three months' worth
  (15 / 45). Credits given back are kept even above that cap: they were already paid for.
- A credit is given back when the recipient answers within 90 days: by replying, accepting
  or declining. An InMail left pending earns nothing back.
- Dropping to free ends the subscription: the balance goes to zero.

Months are calendar months in UTC, written as a single index `year * 12 + month - 1`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from rapport.domain.model import Tier

MONTHLY_GRANT = {Tier.FREE: 0, Tier.PREMIUM_CAREER: 5, Tier.PREMIUM_BUSINESS: 15}
ROLLOVER_MONTHS = 3
GIVE_BACK_WINDOW = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class CreditLedger:
    balance: int
    granted_through: int
    """The month index of the last monthly grant."""


def month_index(at: datetime) -> int:
    """The calendar month of `at` as one integer, so months can be subtracted."""
    return at.year * 12 + at.month - 1


def bank_cap(tier: Tier) -> int:
    """The most credits monthly grants can accumulate to."""
    return MONTHLY_GRANT[tier] * ROLLOVER_MONTHS


def accrue(ledger: CreditLedger, tier: Tier, now: datetime) -> CreditLedger:
    """Apply the monthly grants due since the last one, up to the rollover cap."""
    months = month_index(now) - ledger.granted_through
    if months <= 0:
        return ledger
    cap = bank_cap(tier)
    balance = ledger.balance
    if balance < cap:
        balance = min(cap, balance + MONTHLY_GRANT[tier] * months)
    return CreditLedger(balance, month_index(now))


def change_tier(ledger: CreditLedger, old: Tier, new: Tier, now: datetime) -> CreditLedger:
    """Settle the ledger for a tier change: grants due under the old tier, then the new one."""
    if not new.is_premium:
        return CreditLedger(0, month_index(now))
    if not old.is_premium:
        return CreditLedger(MONTHLY_GRANT[new], month_index(now))
    return accrue(ledger, old, now)


def spend(ledger: CreditLedger, credits: int) -> CreditLedger:
    """Take `credits` off the balance; the policy has already checked there are enough."""
    if credits > ledger.balance:
        raise ValueError("not enough InMail credits")
    return CreditLedger(ledger.balance - credits, ledger.granted_through)


def give_back(ledger: CreditLedger, tier: Tier, now: datetime) -> CreditLedger:
    """Return one credit, after the grants due so far, so that a later grant's cap cannot
    swallow it: a credit given back is kept even above the rollover cap."""
    accrued = accrue(ledger, tier, now)
    return CreditLedger(accrued.balance + 1, accrued.granted_through)


def is_give_back_due(*, charged: bool, sent_at: datetime, answered_at: datetime) -> bool:
    """A charged InMail answered within 90 days earns its credit back."""
    return charged and answered_at - sent_at <= GIVE_BACK_WINDOW
