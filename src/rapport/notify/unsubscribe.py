"""One-click unsubscribe tokens (RFC 8058): signed, expiring, no sign-in needed.

A token names a member and a preference kind; it is `payload.signature`, both base64url,
the signature an HMAC-SHA-256 of the payload under the key from notify/keys.py. Anyone
holding the e-mail can turn that one kind of e-mail off, which is what one-click means.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson

from rapport.notify.keys import b64url, unb64url

LIFETIME = timedelta(days=90)


class BadToken(ValueError):
    """Malformed, forged or expired."""


@dataclass(frozen=True)
class Unsubscribe:
    member_id: int
    kind: str


def sign(key: bytes, *, member_id: int, kind: str, now: datetime) -> str:
    payload = orjson.dumps({"m": member_id, "k": kind, "e": int((now + LIFETIME).timestamp())})
    return f"{b64url(payload)}.{b64url(hmac.new(key, payload, hashlib.sha256).digest())}"


def verify(key: bytes, token: str, *, now: datetime) -> Unsubscribe:
    try:
        encoded, _, signature = token.partition(".")
        payload = unb64url(encoded)
        expected = hmac.new(key, payload, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, unb64url(signature)):
            raise BadToken("forged")
        fields = orjson.loads(payload)
        member_id, kind, expires = int(fields["m"]), str(fields["k"]), int(fields["e"])
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError) as exc:
        raise BadToken("malformed") from exc
    if now.timestamp() > expires:
        raise BadToken("expired")
    return Unsubscribe(member_id, kind)
