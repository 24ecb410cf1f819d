"""Refusals carry a stable machine-readable code and a human sentence."""

from __future__ import annotations

import pytest

from rapport.domain.errors import (
    Conflict,
    DomainError,
    Invalid,
    LimitExceeded,
    NotFound,
    NotPermitted,
    TooLarge,
    Unauthorized,
    Unsupported,
)


@pytest.mark.parametrize(
    ("cls", "code"),
    [
        (DomainError, "error"),
        (NotPermitted, "not_permitted"),
        (NotFound, "not_found"),
        (Conflict, "conflict"),
        (Invalid, "invalid"),
        (LimitExceeded, "rate_limited"),
        (Unauthorized, "unauthorized"),
        (TooLarge, "too_large"),
        (Unsupported, "unsupported"),
    ],
)
def test_each_refusal_has_a_default_code(cls: type[DomainError], code: str) -> None:
    error = cls("Nope.")
    assert error.code == code
    assert error.message == "Nope."
    assert str(error) == "Nope."
    assert isinstance(error, DomainError)


def test_a_specific_code_overrides_the_default_for_that_error_only() -> None:
    error = NotPermitted("You cannot message this member.", code="blocked")
    assert error.code == "blocked"
    assert NotPermitted("x").code == "not_permitted"


def test_rate_limit_says_when_to_try_again() -> None:
    assert LimitExceeded("Slow down.").retry_after == 60
    error = LimitExceeded("Weekly limit.", code="invitation_limit", retry_after=3600)
    assert (error.code, error.retry_after) == ("invitation_limit", 3600)
