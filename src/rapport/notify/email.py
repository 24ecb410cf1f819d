"""Sending e-mail: over SMTP (RAPPORT_SMTP_URL), or into the log when no server is configured.

`smtp://host:25` plain, `smtp+starttls://user:pass@host:587` upgraded with STARTTLS,
`smtps://user:pass@host:465` TLS from the first byte; user and password are percent-decoded.
Connections are kept open and reused (a small pool), because a digest backlog is thousands
of e-mails and a new SMTP session costs several round trips.
"""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass, field
from email.generator import BytesGenerator
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formatdate, make_msgid, parseaddr
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str
    headers: dict[str, str] = field(default_factory=dict)


# Headers are not folded below RFC 5322's hard limit: a folded List-Unsubscribe URL reads badly.
_POLICY = compat32.clone(max_line_length=998, linesep="\r\n")


def build(email: Email, *, sender: str) -> MIMEMultipart:
    """A multipart/alternative message: the plain-text part first, the HTML part preferred.

    Built with the compat32 MIME classes: the `email.policy.default` header registry parses
    every header it is given, which made building an e-mail cost more than sending it.
    """
    message = MIMEMultipart("alternative", policy=_POLICY)
    message["From"] = sender
    message["To"] = email.to
    subject = " ".join(email.subject.split())  # no line break may start a header of its own
    message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8").encode()
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip(">") or "rapport.invalid")
    message["Auto-Submitted"] = "auto-generated"
    for name, value in email.headers.items():
        message[name] = " ".join(value.split())
    message.attach(MIMEText(email.text, "plain", "utf-8"))
    message.attach(MIMEText(email.html, "html", "utf-8"))
    return message


def render(email: Email, *, sender: str) -> bytes:
    """The e-mail as it goes over the wire (CRLF, headers unfolded up to 998 characters)."""
    out = io.BytesIO()
    BytesGenerator(out, policy=_POLICY).flatten(build(email, sender=sender))
    return out.getvalue()


class Mailer(Protocol):
    async def send(self, email: Email) -> None: ...

    async def close(self) -> None: ...


class LogMailer:
    """No SMTP server configured: each e-mail is written to the log, so a dev setup needs nothing."""

    def __init__(self, sender: str) -> None:
        self.sender = sender

    async def send(self, email: Email) -> None:
        log.info("e-mail (RAPPORT_SMTP_URL unset, not sent) to %s: %s\n%s", email.to, email.subject, email.text)

    async def close(self) -> None:
        return None


@dataclass(frozen=True)
class SmtpTarget:
    hostname: str
    port: int
    use_tls: bool
    start_tls: bool
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        schemes = {"smtp": (25, False, False), "smtp+starttls": (587, False, True), "smtps": (465, True, False)}
        if parts.scheme not in schemes or not parts.hostname:
            raise ValueError("RAPPORT_SMTP_URL is smtp://, smtp+starttls:// or smtps://[user:pass@]host[:port]")
        port, use_tls, start_tls = schemes[parts.scheme]
        return cls(
            hostname=parts.hostname,
            port=parts.port or port,
            use_tls=use_tls,
            start_tls=start_tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


class SmtpMailer:
    """Sends through a pool of kept-open SMTP sessions; a dropped session is reopened once."""

    def __init__(self, url: str, sender: str, *, pool_size: int = 4, timeout: float = 30) -> None:
        self.target = SmtpTarget.parse(url)
        self.sender = sender
        self.timeout = timeout
        self._idle: asyncio.LifoQueue[aiosmtplib.SMTP] = asyncio.LifoQueue()
        self._slots = asyncio.Semaphore(pool_size)

    def _client(self) -> aiosmtplib.SMTP:
        t = self.target
        return aiosmtplib.SMTP(
            hostname=t.hostname,
            port=t.port,
            use_tls=t.use_tls,
            start_tls=t.start_tls,
            username=t.username,
            password=t.password,
            timeout=self.timeout,
        )

    async def send(self, email: Email) -> None:
        message = render(email, sender=self.sender)
        envelope_from = parseaddr(self.sender)[1]
        async with self._slots:
            client = self._idle.get_nowait() if not self._idle.empty() else self._client()
            try:
                if not client.is_connected:
                    await client.connect()
                try:
                    await client.sendmail(envelope_from, [email.to], message)
                except aiosmtplib.SMTPServerDisconnected:
                    client = self._client()  # the server closed an idle session: one fresh try
                    await client.connect()
                    await client.sendmail(envelope_from, [email.to], message)
            except BaseException:
                client.close()
                raise
            self._idle.put_nowait(client)

    async def close(self) -> None:
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client.is_connected:
                try:
                    await asyncio.wait_for(client.quit(), 5)
                except (aiosmtplib.SMTPException, OSError, TimeoutError):
                    client.close()


def create_mailer(url: str | None, sender: str) -> Mailer:
    return SmtpMailer(url, sender) if url else LogMailer(sender)
