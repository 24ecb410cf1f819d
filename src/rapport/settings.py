"""Configuration from the environment, with defaults that work on one machine."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


RATE_LIMIT_PREFIX = "RAPPORT_RATE_LIMIT_"
"""`RAPPORT_RATE_LIMIT_SEND="60 per minute; 20 per 20 seconds"` overrides one action's limits."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("./var")
    database_url: str = ""
    redis_url: str | None = None
    redis_namespace: str = "rapport"
    """Prefix of the Redis channels, so several networks can share one Redis."""
    admin_token: str | None = None
    weekly_invitation_limit: int = 100
    max_attachment_bytes: int = 25 * 1024 * 1024
    read_receipts_enabled: bool = True
    """The operator's network-wide switch for read receipts (DESIGN §4)."""
    sqlite_synchronous: str = "FULL"
    """FULL: a commit is on disk before the 201 leaves, even across a power cut."""
    password_time_cost: int = 2
    password_memory_cost: int = 19_456
    """Argon2id cost (iterations, KiB). The env overrides exist for tests and benchmarks
    that register many members; production keeps the defaults (OWASP's minimum)."""
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    rate_limits_enabled: bool = True
    """RAPPORT_RATE_LIMITS=off: no abuse limits at all (benchmarks and load tests only)."""
    rate_limits: Mapping[str, str] = field(default_factory=dict)
    """Overrides of services/rate_limits.py's defaults, by action, in `limits` notation."""
    trusted_proxies: tuple[str, ...] = ()
    """Addresses or networks of reverse proxies whose X-Forwarded-For names the client."""
    token_cache_seconds: float = 30.0
    """How long a process may serve a token lookup from memory. Revocations and member
    changes reach every process's cache over the bus at once; this is only a backstop."""
    smtp_url: str | None = None
    """Where e-mail goes: smtp://, smtp+starttls:// or smtps://[user:pass@]host[:port]; unset: the log."""
    email_from: str = "Rapport <notifications@rapport.invalid>"
    email_delay_seconds: int = 600
    """A message is e-mailed (and pushed) only if still unread this long after it arrived."""
    public_url: str = "http://127.0.0.1:8000"
    """The address members reach the web client at: links in e-mails and pushes."""
    push_allow_insecure: bool = False
    """Accept http:// and private-address push endpoints: for tests and local push services only."""
    vapid_private_key: str | None = None
    """PEM of the VAPID key, for many processes; unset: generated once in the data dir."""
    jobs_enabled: bool = True
    """Run the background job loop (rapport.jobs). Off in tests that drive `run_due()` by hand."""
    jobs_poll_seconds: float = 1.0
    follow_up_after_seconds: int = 3 * 24 * 3600
    """How long the member's last message waits for a reply before a follow-up is suggested."""
    group_messages_per_month: int = 15
    """New group-member conversations a member may start per UTC calendar month."""
    s3_bucket: str | None = None
    """When set, attachment contents and thumbnails live in this bucket, not under the data directory."""
    s3_endpoint: str | None = None
    """Any S3-compatible store (`http://127.0.0.1:8333`); unset means AWS itself."""
    s3_access_key: str | None = None
    s3_secret_key: str | None = field(default=None, repr=False)
    s3_region: str = "us-east-1"
    s3_prefix: str = ""
    """Key prefix inside the bucket (`network-a/`), so several networks can share one bucket."""
    sponsored_interval_days: int = 45
    """A member gets at most one sponsored message per this many days (DESIGN §2)."""
    ws_queue_bytes: int = 1024 * 1024
    ws_ping_seconds: float = 20.0
    ws_compression: bool = False
    """Accept permessage-deflate when a client offers it (every browser does). Off: a frame is
    written to a socket as it is, straight from the fan-out, and an idle socket keeps no
    compressor (api/app.compression_options)."""
    """Bytes of frames a WebSocket may have waiting for a slow reader; past them the server
    closes it (4008) and the client resumes from the event log with `since`."""

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'rapport.db').resolve()}"

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            data_dir=Path(env.get("RAPPORT_DATA_DIR") or "./var"),
            database_url=env.get("RAPPORT_DATABASE_URL", ""),
            redis_url=env.get("RAPPORT_REDIS_URL") or None,
            redis_namespace=env.get("RAPPORT_REDIS_NAMESPACE") or "rapport",
            admin_token=env.get("RAPPORT_ADMIN_TOKEN") or None,
            weekly_invitation_limit=int(env.get("RAPPORT_WEEKLY_INVITATION_LIMIT") or 100),
            max_attachment_bytes=int(env.get("RAPPORT_MAX_ATTACHMENT_BYTES") or 25 * 1024 * 1024),
            read_receipts_enabled=_flag(env.get("RAPPORT_READ_RECEIPTS"), True),
            sqlite_synchronous=(env.get("RAPPORT_SQLITE_SYNCHRONOUS") or "FULL").upper(),
            # For tests only: a cheap hash makes registering hundreds of members fast.
            password_time_cost=max(1, int(env.get("RAPPORT_PASSWORD_TIME_COST") or 2)),
            password_memory_cost=max(64, int(env.get("RAPPORT_PASSWORD_MEMORY_COST") or 19_456)),
            smtp_url=env.get("RAPPORT_SMTP_URL") or None,
            email_from=env.get("RAPPORT_EMAIL_FROM") or "Rapport <notifications@rapport.invalid>",
            email_delay_seconds=int(env.get("RAPPORT_EMAIL_DELAY") or 600),
            public_url=(env.get("RAPPORT_PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/"),
            push_allow_insecure=_flag(env.get("RAPPORT_PUSH_ALLOW_INSECURE"), False),
            vapid_private_key=env.get("RAPPORT_VAPID_PRIVATE_KEY") or None,
            jobs_enabled=_flag(env.get("RAPPORT_JOBS"), True),
            jobs_poll_seconds=float(env.get("RAPPORT_JOBS_POLL_SECONDS") or 1.0),
            follow_up_after_seconds=max(1, int(env.get("RAPPORT_FOLLOW_UP_AFTER") or 3 * 24 * 3600)),
            group_messages_per_month=max(0, int(env.get("RAPPORT_GROUP_MESSAGES_PER_MONTH") or 15)),
            rate_limits_enabled=_flag(env.get("RAPPORT_RATE_LIMITS"), True),
            rate_limits={
                key.removeprefix(RATE_LIMIT_PREFIX).lower(): value
                for key, value in env.items()
                if key.startswith(RATE_LIMIT_PREFIX) and value
            },
            trusted_proxies=tuple(
                p.strip() for p in (env.get("RAPPORT_TRUSTED_PROXIES") or "").split(",") if p.strip()
            ),
            token_cache_seconds=float(env.get("RAPPORT_TOKEN_CACHE_SECONDS") or 30),
            s3_bucket=env.get("RAPPORT_S3_BUCKET") or None,
            s3_endpoint=env.get("RAPPORT_S3_ENDPOINT") or None,
            s3_access_key=env.get("RAPPORT_S3_ACCESS_KEY") or None,
            s3_secret_key=env.get("RAPPORT_S3_SECRET_KEY") or None,
            s3_region=env.get("RAPPORT_S3_REGION") or "us-east-1",
            s3_prefix=(env.get("RAPPORT_S3_PREFIX") or "").strip("/"),
            sponsored_interval_days=max(0, int(env.get("RAPPORT_SPONSORED_INTERVAL_DAYS") or 45)),
            ws_queue_bytes=max(64 * 1024, int(env.get("RAPPORT_WS_QUEUE_BYTES") or 1024 * 1024)),
            ws_ping_seconds=max(0.0, float(env.get("RAPPORT_WS_PING_SECONDS") or 20)),
            ws_compression=_flag(env.get("RAPPORT_WS_COMPRESSION"), False),
        )

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]
