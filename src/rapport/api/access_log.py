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
    return _TOKEN.sub(r"\1[redacted]", text) if "token=" in text.lower() else text


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install() -> None:
    """Idempotent: each app (and each worker process) makes sure the filter is there."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
