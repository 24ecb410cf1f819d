"""Refusals the rules can give. The API maps each class to one HTTP status (api/errors.py)."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal with a stable machine-readable code and a human sentence."""

    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotPermitted(DomainError):
    """The caller may not do this; `code` is the policy's reason (e.g. `blocked`)."""

    code = "not_permitted"


class NotFound(DomainError):
    """Missing, or not the caller's to see: the two are never told apart."""

    code = "not_found"


class Conflict(DomainError):
    """The request contradicts the current state (already connected, edited too late...)."""

    code = "conflict"


class Invalid(DomainError):
    """Well-formed input that breaks a limit (too long, too many recipients...)."""

    code = "invalid"


class LimitExceeded(DomainError):
    """A rate or quota limit; `retry_after` says when trying again makes sense."""

    code = "rate_limited"

    def __init__(self, message: str, *, code: str | None = None, retry_after: int = 60) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class Unauthorized(DomainError):
    """No credentials, or credentials that do not name a live session."""

    code = "unauthorized"


class TooLarge(DomainError):
    """A payload beyond its size limit."""

    code = "too_large"


class Unsupported(DomainError):
    """A kind of content the server does not take (an executable offered as an attachment)."""

    code = "unsupported"


class Unavailable(DomainError):
    """A part the server depends on (the attachment store) cannot be reached right now: try again later."""

    code = "unavailable"
