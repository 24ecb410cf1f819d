"""Which address a limit counts against (api/client_address.py): X-Forwarded-For is read
only when the peer is a trusted proxy, and from the right."""

from __future__ import annotations

import pytest

from rapport.api.client_address import UNKNOWN, client_address
from rapport.services.rate_limits import DEFAULTS, Action, parse_limits

PROXIES = ("10.0.0.0/8", "2001:db8::1")


@pytest.mark.parametrize(
    ("peer", "forwarded", "proxies", "expected"),
    [
        ("198.51.100.1", "203.0.113.9", (), "198.51.100.1"),  # no proxies trusted: the header is ignored
        ("198.51.100.1", "203.0.113.9", PROXIES, "198.51.100.1"),  # an untrusted peer cannot forward
        ("10.0.0.5", "203.0.113.9", PROXIES, "203.0.113.9"),
        ("10.0.0.5", "1.2.3.4, 203.0.113.9", PROXIES, "203.0.113.9"),  # the client's own entry is not believed
        ("10.0.0.5", "203.0.113.9, 10.0.0.7", PROXIES, "203.0.113.9"),  # through two proxies
        ("2001:db8::1", "2001:db8::77", PROXIES, "2001:db8::77"),
        ("10.0.0.5", "10.0.0.6, 10.0.0.7", PROXIES, "10.0.0.6"),  # all proxies: the first one
        ("10.0.0.5", "", PROXIES, "10.0.0.5"),
        ("10.0.0.5", None, PROXIES, "10.0.0.5"),
        ("10.0.0.5", "not-an-address", PROXIES, "10.0.0.5"),
        (None, "203.0.113.9", PROXIES, UNKNOWN),
        ("testclient", "203.0.113.9", PROXIES, "testclient"),
    ],
)
def test_client_address(peer: str | None, forwarded: str | None, proxies: tuple[str, ...], expected: str) -> None:
    assert client_address(peer, forwarded, proxies) == expected


def test_a_trusted_proxy_that_is_not_an_address_fails_loudly() -> None:
    with pytest.raises(ValueError):
        client_address("10.0.0.5", None, ("proxy.internal",))


def test_the_defaults_are_api_md_s() -> None:
    limits = {action: [str(item) for item in items] for action, items in parse_limits({}).items()}
    assert limits[Action.LOGIN_FAILURE_ACCOUNT] == ["10 per 15 minute"]
    assert limits[Action.LOGIN_FAILURE_ADDRESS] == ["50 per 15 minute"]
    assert limits[Action.REGISTRATION] == ["20 per 1 hour"]
    assert limits[Action.SEND] == ["60 per 1 minute", "20 per 20 second"]
    assert limits[Action.UPLOAD] == ["30 per 1 minute"]
    assert set(DEFAULTS) == set(Action)


def test_an_unknown_override_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown rate limit"):
        parse_limits({"sends": "1 per minute"})
