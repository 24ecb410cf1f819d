"""The server's notification keys: the VAPID key pair and the unsubscribe-token key.

One secret serves both: the VAPID private key (P-256). It is generated on first start and
kept in the data dir (`vapid_private.pem`, mode 0600), or given as PEM in
`RAPPORT_VAPID_PRIVATE_KEY` so many processes on many machines sign alike. The key for
unsubscribe tokens is derived from it (HMAC-SHA-256 with a fixed label), so rotating the
VAPID key also invalidates outstanding unsubscribe links, and there is nothing more to keep.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

KEY_FILE = "vapid_private.pem"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    """Decode base64url with or without padding; ValueError on anything else."""
    cleaned = text.strip()
    if not cleaned or any(
        c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=" for c in cleaned
    ):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(cleaned.rstrip("=") + "=" * (-len(cleaned.rstrip("=")) % 4))


@dataclass(frozen=True)
class NotificationKeys:
    vapid: ec.EllipticCurvePrivateKey
    unsubscribe: bytes

    @property
    def vapid_public(self) -> bytes:
        """The uncompressed P-256 point (65 bytes) browsers take as `applicationServerKey`."""
        return self.vapid.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    @classmethod
    def from_private_key(cls, key: ec.EllipticCurvePrivateKey) -> NotificationKeys:
        raw = key.private_numbers().private_value.to_bytes(32, "big")
        return cls(vapid=key, unsubscribe=hmac.new(raw, b"rapport unsubscribe tokens v1", hashlib.sha256).digest())


def _from_pem(pem: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError("the VAPID key must be a P-256 (prime256v1) EC private key")
    return key


def load(data_dir: Path, pem: str | None) -> NotificationKeys:
    """The configured key, else the data dir's, generating it there the first time."""
    if pem:
        return NotificationKeys.from_private_key(_from_pem(pem.encode()))
    path = data_dir / KEY_FILE
    if not path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        encoded = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        data_dir.mkdir(parents=True, exist_ok=True)
        temporary = data_dir / f".{KEY_FILE}.{os.getpid()}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(encoded)
        try:
            os.link(temporary, path)  # atomic, and fails if another process got there first
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return NotificationKeys.from_private_key(_from_pem(path.read_bytes()))
