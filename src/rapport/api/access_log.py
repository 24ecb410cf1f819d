"""Session tokens never reach the server's log.

The WebSocket and attachment URLs may carry `?token=` (an <img> or a WebSocket cannot send
a header). uvicorn writes the path with its query to the access log (`uvicorn.access`) and
the socket's "[accepted]" and "open" lines (`uvicorn.error`); this filter, on both loggers,
rewrites every `token=...` in a record to `token=[redacted]` before any handler sees it.
"""

from __future__ import annotations

import logging
import re

_TOKEN = re.compile(r"((?:^|[?&;\s])(?:[a-z_]*token)=)[^&;\s\"']+", re.IGNORECASE)
LOGGERS = ("uvicorn.access", "uvicorn.error")


def redact(text: str) -> str:
    # No "=" (most paths have no query string): nothing to redact, and no lower-cased copy made.
    return _TOKEN.sub(r"\1[redacted]", text) if "=" in text and "token=" in text.lower() else text


def _has_equals(value: object) -> bool:
    return isinstance(value, str) and "=" in value


class RedactTokens(logging.Filter):
    """On every access line: its arguments are rebuilt only when one of them holds an "=" (a
    query string), which keeps the filter to about a microsecond on the common line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _has_equals(record.msg):
            record.msg = redact(record.msg)
        args = record.args
        if isinstance(args, tuple) and any(map(_has_equals, args)):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in args)
        return True


def install() -> None:
    """Idempotent: each app (and each worker process) makes sure the filter is there."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
