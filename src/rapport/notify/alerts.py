"""Alerts outside the app, as jobs: decide when due, then send (see notify/__init__.py for the kinds).

Deciding and sending are separate jobs. `message_alert` (one per conversation) runs when its
oldest unalerted message is RAPPORT_EMAIL_DELAY old; it loads the facts (read positions,
mutes, preferences, the e-mail back-off), and in one transaction records what it covered
and stores one `send_email` per digest and one `send_push` per subscription. A failing SMTP
server or push service then retries only its own send, with back-off, and a crash between
deciding and sending loses nothing. Rules, for each participant of the conversation:

- never for a muted conversation, never for a message the member has read (on any device:
  the read position is the member's), never for their own or a deleted message;
- nothing until the oldest message not yet alerted is RAPPORT_EMAIL_DELAY old; then one
  alert covers every unread message not alerted yet (a digest, as Synapse's mailer does);
- e-mail is also subject to the back-off of domain.notify.EmailThrottle; without
  email_previews it names senders, never text;
- push: one per subscription, the same previews rule, no back-off;
- the preference kind is the conversation's (message, inmail or sponsored).

`notification_alert` (one per in-app notification with e-mail or push on) sends when due
unless the member has read the notification meanwhile, an invitation is no longer pending,
or a block now stands between the two members.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from html import escape
from typing import Any

import httpx
import orjson

from rapport import jobs
from rapport.domain.errors import Invalid
from rapport.domain.model import InvitationState, Member, MemberId
from rapport.domain.notify import message_preference_kind, preference_kind, resolve
from rapport.notify import MESSAGE_ALERT, NOTIFICATION_ALERT, SEND_EMAIL, SEND_PUSH, webpush
from rapport.notify.email import Email, Mailer, create_mailer
from rapport.notify.keys import NotificationKeys, unb64url
from rapport.notify.unsubscribe import sign
from rapport.services.context import Context
from rapport.store import alerts as store
from rapport.store import members, social
from rapport.store import notifications as notification_store
from rapport.store import push as push_store
from rapport.store.alerts import AlertState

log = logging.getLogger(__name__)

DIGEST_MESSAGES = 10
PREVIEW_CHARS = 300
SCAN_LIMIT = 500

_NOTIFICATION_TEXT = {
    "invitation_received": "{actor} invited you to connect",
    "invitation_accepted": "{actor} accepted your invitation",
    "mention": "{actor} mentioned you",
    "group_request": "{actor} asked to join your group",
    "group_approved": "{actor} approved your request to join the group",
}


@dataclass(frozen=True)
class _Facts:
    """What deciding needs about the members of a batch of conversations."""

    prefs: Mapping[int, tuple[dict[str, dict[str, bool]], bool]]
    addresses: Mapping[int, str]
    subscriptions: Mapping[int, list[Any]]
    people: Mapping[MemberId, Member]


@dataclass(frozen=True)
class Alert:
    """What one member is told: a title, lines of text (None: previews off), and where a click leads."""

    kind: str
    title: str
    lines: Sequence[str]
    path: str
    type: str
    conversation_id: int | None


class Alerts:
    """The notify job handlers of one process, with their SMTP pool and HTTP client."""

    def __init__(self, ctx: Context, keys: NotificationKeys, mailer: Mailer, http: httpx.AsyncClient) -> None:
        self.ctx = ctx
        self.keys = keys
        self.mailer = mailer
        self.http = http
        self.delay = timedelta(seconds=ctx.settings.email_delay_seconds)

    def register(self, runner: jobs.JobRunner) -> None:
        runner.register_batch(MESSAGE_ALERT, self.message_alerts)
        runner.register(NOTIFICATION_ALERT, self.notification_alert)
        runner.register_batch(SEND_EMAIL, self.send_emails, max_attempts=12)
        runner.register_batch(SEND_PUSH, self.send_pushes, max_attempts=8)

    async def close(self) -> None:
        await self.mailer.close()
        await self.http.aclose()

    # --- deciding ---------------------------------------------------------------------

    async def message_alerts(self, batch: list[jobs.Job]) -> dict[int, jobs.Outcome]:
        """The due `message_alert` jobs claimed together: their facts in a few bulk reads, one write."""
        now = self.ctx.clock.now()
        job_of = {int(job.payload["conversation_id"]): job for job in batch}
        async with self.ctx.db.read() as conn:
            kinds = await store.conversation_kinds(conn, conversation_ids=list(job_of))
            listening = {
                c: [p for p in ps if not p.muted]
                for c, ps in (await store.participants_of(conn, conversation_ids=list(kinds))).items()
            }
            states = await store.states_of(conn, conversation_ids=list(kinds))
            floors: dict[int, int] = {}
            for c, ps in listening.items():
                marks = [
                    max(p.read_up_to, p.cleared_through, min(s.emailed_through, s.pushed_through))
                    for p in ps
                    for s in [states.get((c, p.member_id), AlertState())]
                ]
                if marks:
                    floors[c] = min(marks)
            rows = await store.messages_after_many(conn, floors=floors, limit=SCAN_LIMIT * max(1, len(floors)))
            ids = {p.member_id for c in rows for p in listening[c]}
            prefs = await store.preferences(conn, member_ids=ids)
            addresses = await store.emails(conn, member_ids=ids)
            subscriptions = await store.subscriptions(conn, member_ids=ids)
            senders = {r.sender_id for found in rows.values() for r in found if r.sender_id}
            people = await members.list_by_ids(conn, ids=ids | senders)
        outcomes: dict[int, jobs.Outcome] = {}
        decided: list[tuple[int, MemberId, AlertState]] = []
        sends: list[tuple[str, dict[str, Any]]] = []
        for conversation_id, job in job_of.items():
            wake: datetime | None = None
            if rows.get(conversation_id):
                facts = _Facts(prefs, addresses, subscriptions, people)
                wake = self._decide(
                    conversation_id,
                    message_preference_kind(kinds[conversation_id]),
                    listening[conversation_id],
                    states,
                    rows[conversation_id],
                    facts,
                    now,
                    decided,
                    sends,
                )
            outcomes[job.id] = (
                None if wake is None else jobs.Reschedule(payload=job.payload, delay=max(wake - now, timedelta(0)))
            )
        await self._commit(decided, sends, now)
        return outcomes

    def _decide(
        self,
        conversation_id: int,
        kind: str,
        listening: Sequence[Any],
        states: Mapping[tuple[int, int], AlertState],
        rows: Sequence[Any],
        facts: _Facts,
        now: datetime,
        decided: list[tuple[int, MemberId, AlertState]],
        sends: list[tuple[str, dict[str, Any]]],
    ) -> datetime | None:
        """One conversation's alerts, by the rules in this module's docstring; when to look again."""
        wake: datetime | None = None
        for p in listening:
            member_id: MemberId = p.member_id
            state = states.get((conversation_id, member_id), AlertState())
            seen = max(p.read_up_to, p.cleared_through)
            unread = [r for r in rows if r.id > seen and r.sender_id != member_id]
            if not unread:
                continue
            choices, previews = facts.prefs.get(member_id, ({}, True))
            wanted = resolve(choices)[kind]
            new = state
            to_push = [r for r in unread if r.id > state.pushed_through]
            if to_push and to_push[0].created_at + self.delay > now:
                if wanted["push"]:
                    wake = _earliest(wake, to_push[0].created_at + self.delay)
            elif to_push:
                new = replace(new, pushed_through=to_push[-1].id)
                if wanted["push"]:
                    alert = self._message_alert(conversation_id, kind, to_push, facts.people, previews)
                    sends += [(SEND_PUSH, self._push_job(s.id, alert)) for s in facts.subscriptions.get(member_id, [])]
            to_email = [r for r in unread if r.id > state.emailed_through]
            if to_email and wanted["email"] and member_id in facts.addresses:
                first = to_email[0].created_at
                at = state.throttle.next_email_at(first, self.delay)
                if at <= now:
                    alert = self._message_alert(conversation_id, kind, to_email, facts.people, previews)
                    email = self._email_job(member_id, facts.addresses[member_id], facts.people, alert)
                    sends.append((SEND_EMAIL, email))
                    new = replace(new, emailed_through=to_email[-1].id, throttle=state.throttle.after_email(now, first))
                else:
                    wake = _earliest(wake, at)
            elif to_email and to_email[0].created_at + self.delay <= now:
                new = replace(new, emailed_through=to_email[-1].id)  # not wanted when due: never owed later
            if new != state:
                decided.append((conversation_id, member_id, new))
        return wake

    async def notification_alert(self, job: jobs.Job) -> None:
        p = job.payload
        member_id, kind = int(p["member_id"]), str(p["kind"])
        governing = preference_kind(kind)
        if governing is None:
            return
        async with self.ctx.db.read() as conn:
            if p.get("notification_id") is not None:
                row = await notification_store.get(conn, notification_id=int(p["notification_id"]), member_id=member_id)
                if row is None or row.read_at is not None:
                    return  # seen in the app (or gone): nothing to tell
            if kind == "invitation_received" and p.get("subject_id") is not None:
                invitation = await social.get_invitation(conn, invitation_id=int(p["subject_id"]))
                if invitation is None or invitation.state is not InvitationState.PENDING:
                    return
            actor_id = int(p["actor_id"])
            if await social.is_blocked_either_way(conn, a=member_id, b=actor_id):
                return
            choices, _ = await notification_store.get_preferences(conn, member_id=member_id)
            wanted = resolve(choices)[governing]
            people = await members.list_by_ids(conn, ids=[member_id, actor_id])
            addresses = await store.emails(conn, member_ids=[member_id]) if wanted["email"] else {}
            subs = await store.subscriptions(conn, member_ids=[member_id]) if wanted["push"] else {}
        actor = people.get(MemberId(actor_id))
        if actor is None or MemberId(member_id) not in people:
            return
        conversation_id = int(p["conversation_id"]) if p.get("conversation_id") is not None else None
        title = _NOTIFICATION_TEXT.get(kind, "{actor}").format(actor=actor.name)
        path = f"/#/c/{conversation_id}" if conversation_id else ("/#/invitations" if "invitation" in kind else "/#/")
        alert = Alert(governing, title, [], path, kind, conversation_id)
        sends = [(SEND_PUSH, self._push_job(s.id, alert)) for s in subs.get(member_id, [])]
        if member_id in addresses:
            sends.append((SEND_EMAIL, self._email_job(MemberId(member_id), addresses[member_id], people, alert)))
        await self._commit([], sends, self.ctx.clock.now())

    async def _commit(
        self,
        decided: Sequence[tuple[int, MemberId, AlertState]],
        sends: Sequence[tuple[str, dict[str, Any]]],
        now: datetime,
    ) -> None:
        """Record what was covered and store the sends, together: neither without the other."""
        if not decided and not sends:
            return
        async with self.ctx.db.write() as conn:
            for conversation_id, member_id, state in decided:
                await store.save_state(conn, member_id=member_id, conversation_id=conversation_id, state=state)
            for kind in (SEND_EMAIL, SEND_PUSH):
                payloads = [payload for k, payload in sends if k == kind]
                if payloads:
                    await jobs.enqueue_many(conn, kind=kind, payloads=payloads, run_at=now, now=now)
        if sends and self.ctx.jobs is not None:
            await self.ctx.jobs.wake()

    # --- composing --------------------------------------------------------------------

    def _message_alert(
        self,
        conversation_id: int,
        kind: str,
        rows: Sequence[Any],
        people: Mapping[MemberId, Member],
        previews: bool,
    ) -> Alert:
        names = list(dict.fromkeys(_name(people, r.sender_id) for r in rows))
        senders = _join(names)
        count = len(rows)
        noun = "InMail" if kind == "inmail" else "sponsored message" if kind == "sponsored" else "message"
        title = f"{senders} sent you {'a new ' + noun if count == 1 else f'{count} new {noun}s'}"
        lines: list[str] = []
        if previews:
            shown = rows[-DIGEST_MESSAGES:]
            lines = [f"{_name(people, r.sender_id)}: {_clip(r.body)}" for r in shown]
            if count > len(shown):
                lines.insert(0, f"… and {count - len(shown)} earlier")
        return Alert(kind, title, lines, f"/#/c/{conversation_id}", "message", conversation_id)

    def _push_job(self, subscription_id: int, alert: Alert) -> dict[str, Any]:
        body = alert.lines[-1] if alert.lines else "Open Rapport to read it."
        return {
            "subscription_id": subscription_id,
            "data": {
                "type": alert.type,
                "conversation_id": str(alert.conversation_id) if alert.conversation_id else None,
                "title": alert.title,
                "body": body,
                "url": self.ctx.settings.public_url + alert.path,
            },
        }

    def _email_job(
        self, member_id: MemberId, address: str, people: Mapping[MemberId, Member], alert: Alert
    ) -> dict[str, Any]:
        public = self.ctx.settings.public_url
        token = sign(self.keys.unsubscribe, member_id=member_id, kind=alert.kind, now=self.ctx.clock.now())
        unsubscribe_url = f"{public}/api/v1/unsubscribe?token={token}"
        link = public + alert.path
        greeting = f"Hi {_name(people, member_id)},"
        text = "\n".join(
            [
                greeting,
                "",
                alert.title + ".",
                *(["", *alert.lines] if alert.lines else []),
                "",
                f"Open Rapport: {link}",
                "",
                f"You get this e-mail because {alert.kind} e-mails are on.",
                f"Turn them off: {unsubscribe_url}",
                f"All notification settings: {public}/#/settings",
            ]
        )
        items = "".join(f"<li>{escape(line)}</li>" for line in alert.lines)
        html = (
            '<!doctype html><html><body style="font-family:system-ui,sans-serif;color:#1d2226">'
            f"<p>{escape(greeting)}</p><p><strong>{escape(alert.title)}.</strong></p>"
            + (f"<ul>{items}</ul>" if items else "")
            + f'<p><a href="{escape(link)}">Open Rapport</a></p>'
            f'<p style="color:#666;font-size:12px">You get this e-mail because {escape(alert.kind)} e-mails are on. '
            f'<a href="{escape(unsubscribe_url)}">Turn them off</a> · '
            f'<a href="{escape(public)}/#/settings">All notification settings</a></p></body></html>'
        )
        return {
            "to": address,
            # Names are member input: a line break in one must never start a header of its own.
            "subject": " ".join(alert.title.split()),
            "text": text,
            "html": html,
            "headers": {
                "List-Unsubscribe": f"<{unsubscribe_url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        }

    # --- sending ----------------------------------------------------------------------

    async def send_emails(self, batch: list[jobs.Job]) -> dict[int, jobs.Outcome]:
        """Each e-mail over the SMTP pool; one that fails is retried alone."""

        async def one(job: jobs.Job) -> jobs.Outcome:
            p = job.payload
            try:
                await self.mailer.send(Email(p["to"], p["subject"], p["text"], p["html"], dict(p["headers"])))
            except Exception as exc:
                return exc
            return None

        results = await asyncio.gather(*(one(job) for job in batch))
        return {job.id: result for job, result in zip(batch, results, strict=True)}

    async def send_pushes(self, batch: list[jobs.Job]) -> dict[int, jobs.Outcome]:
        """Each push to its subscription (looked up together); a 404/410 removes the subscription."""
        async with self.ctx.db.read() as conn:
            rows = await store.subscriptions_by_id(conn, ids=[int(j.payload["subscription_id"]) for j in batch])
        limit = asyncio.Semaphore(16)

        async def one(job: jobs.Job) -> jobs.Outcome:
            async with limit:
                try:
                    await self._push(rows.get(int(job.payload["subscription_id"])), job.payload["data"])
                except Exception as exc:
                    return exc
                return None

        results = await asyncio.gather(*(one(job) for job in batch))
        return {job.id: result for job, result in zip(batch, results, strict=True)}

    async def _push(self, row: Any, data: Mapping[str, Any]) -> None:
        if row is None:
            return  # unsubscribed meanwhile
        try:
            await webpush.check_endpoint(row.endpoint, allow_insecure=self.ctx.settings.push_allow_insecure)
        except Invalid:  # e.g. its host now resolves to a private address
            log.warning("push subscription %s: endpoint no longer acceptable, removed", row.id)
            await self._remove(row.id)
            return
        subscription = webpush.Subscription(row.endpoint, unb64url(row.p256dh), unb64url(row.auth))
        status = await webpush.send(
            self.http, self.keys, subscription, orjson.dumps(data), subject=self.ctx.settings.public_url
        )
        if status in webpush.GONE:
            log.info("push subscription %s is gone (%s): removed", row.id, status)
            await self._remove(row.id)
        elif status == 429 or status >= 500:
            raise RuntimeError(f"push service answered {status}")
        elif status >= 300:
            log.warning("push subscription %s: push service refused with %s; not retried", row.id, status)

    async def _remove(self, subscription_id: int) -> None:
        async with self.ctx.db.write() as conn:
            await push_store.remove(conn, subscription_id=subscription_id)


def start(ctx: Context, keys: NotificationKeys) -> Alerts:
    """Build this process's alert handlers and register them on its job runner."""
    mailer = create_mailer(ctx.settings.smtp_url, ctx.settings.email_from)
    http = httpx.AsyncClient(timeout=httpx.Timeout(15.0), follow_redirects=False)
    alerts = Alerts(ctx, keys, mailer, http)
    if ctx.jobs is not None:
        alerts.register(ctx.jobs)
    return alerts


def _all(states: Mapping[int, AlertState], ids: Sequence[MemberId]) -> list[tuple[MemberId, AlertState]]:
    return [(i, states.get(i, AlertState())) for i in ids]


def _earliest(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b < a else a


def _name(people: Mapping[MemberId, Member], member_id: int | None) -> str:
    member = people.get(MemberId(member_id)) if member_id else None
    return member.name if member else "Someone"


def _join(names: Sequence[str]) -> str:
    if len(names) <= 2:
        return " and ".join(names)
    return f"{names[0]}, {names[1]} and {len(names) - 2} more"


def _clip(body: str) -> str:
    flat = " ".join(body.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"
