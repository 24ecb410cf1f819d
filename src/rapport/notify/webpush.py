"""Web Push: RFC 8291 message encryption, RFC 8292 VAPID, and which endpoints we will call.

A push endpoint is a URL a member hands us and the server later POSTs to, so it is SSRF
input: only `https://` endpoints whose host resolves to public addresses are accepted
(checked when subscribing and again before each send), unless the operator sets
RAPPORT_PUSH_ALLOW_INSECURE=1 for tests and local push services.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import struct
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import orjson
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from rapport.domain.errors import Invalid
from rapport.notify.keys import NotificationKeys, b64url, unb64url

RECORD_SIZE = 4096
DEFAULT_TTL = 24 * 3600
GONE = (404, 410)


@dataclass(frozen=True)
class Subscription:
    endpoint: str
    p256dh: bytes
    auth: bytes


def parse_keys(p256dh: str, auth: str) -> tuple[bytes, bytes]:
    """The browser's public key (an uncompressed P-256 point) and auth secret (16 bytes); 422 otherwise."""
    try:
        public, secret = unb64url(p256dh), unb64url(auth)
    except ValueError as exc:
        raise Invalid("keys.p256dh and keys.auth must be base64url.", code="invalid_push_subscription") from exc
    if len(public) != 65 or public[0] != 4:
        raise Invalid("keys.p256dh must be an uncompressed P-256 point (65 bytes).", code="invalid_push_subscription")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public)
    except ValueError as exc:
        raise Invalid("keys.p256dh is not a point on P-256.", code="invalid_push_subscription") from exc
    if len(secret) != 16:
        raise Invalid("keys.auth must be 16 bytes.", code="invalid_push_subscription")
    return public, secret


async def check_endpoint(endpoint: str, *, allow_insecure: bool) -> None:
    """Refuse (422 invalid_push_endpoint) all but https on public addresses (any http(s) when insecure)."""

    def refuse(why: str) -> Invalid:
        return Invalid(f"This push endpoint is not accepted: {why}.", code="invalid_push_endpoint")

    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError as exc:
        raise refuse("not a URL") from exc
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise refuse("not an http(s) URL")
    if parts.username or parts.password:
        raise refuse("credentials in the URL")
    if allow_insecure:
        return
    if parts.scheme != "https":
        raise refuse("only https endpoints")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, port or 443, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except OSError as exc:
        raise refuse("its host does not resolve") from exc
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global:
            raise refuse("its host is not a public address")


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def encrypt(plaintext: bytes, subscription: Subscription) -> bytes:
    """One aes128gcm record (RFC 8188) keyed as RFC 8291 says, with its header."""
    receiver = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), subscription.p256dh)
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    sender_public = ephemeral.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    shared = ephemeral.exchange(ec.ECDH(), receiver)
    ikm = _hkdf(subscription.auth, shared, b"WebPush: info\x00" + subscription.p256dh + sender_public, 32)
    salt = os.urandom(16)
    key = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
    nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
    if len(plaintext) + 1 + 16 > RECORD_SIZE:
        raise ValueError("a push payload must fit in one record")
    ciphertext = AESGCM(key).encrypt(nonce, plaintext + b"\x02", None)
    return salt + struct.pack("!IB", RECORD_SIZE, len(sender_public)) + sender_public + ciphertext


def vapid_header(keys: NotificationKeys, endpoint: str, *, subject: str, now: float | None = None) -> str:
    """`vapid t=<ES256 JWT>, k=<public key>` for the endpoint's origin (RFC 8292)."""
    parts = urlsplit(endpoint)
    claims = {"aud": f"{parts.scheme}://{parts.netloc}", "exp": int((now or time.time()) + 12 * 3600), "sub": subject}
    signing_input = f"{b64url(orjson.dumps({'typ': 'JWT', 'alg': 'ES256'}))}.{b64url(orjson.dumps(claims))}"
    r, s = decode_dss_signature(keys.vapid.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    jwt = f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"
    return f"vapid t={jwt}, k={b64url(keys.vapid_public)}"


async def send(
    client: httpx.AsyncClient,
    keys: NotificationKeys,
    subscription: Subscription,
    payload: bytes,
    *,
    subject: str,
    ttl: int = DEFAULT_TTL,
) -> int:
    """POST one encrypted message; the push service's status code."""
    response = await client.post(
        subscription.endpoint,
        content=encrypt(payload, subscription),
        headers={
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(ttl),
            "Urgency": "normal",
            "Authorization": vapid_header(keys, subscription.endpoint, subject=subject),
        },
    )
    return response.status_code
