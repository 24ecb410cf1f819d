"""E-mail digests and Web Push, against a real SMTP server and a loopback push service.

No mocks: aiosmtpd receives the e-mails; the push service checks the VAPID signature and
decrypts each payload with the subscription's private key (tests/notify_servers.py). Jobs
run by hand (`run_due`) on the fake clock, so the 10-minute delay and the back-off are
tested without waiting.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
import pytest
from tests.conftest import Api, Member, make_settings
from tests.notify_servers import BrowserKeys, PushService, SmtpSink, free_port, parts, self_signed, verify_vapid

from rapport.api.app import create_app
from rapport.clock import FakeClock
from rapport.jobs import WaitingJobs
from rapport.services import notifications
from rapport.services.uow import UnitOfWork
from rapport.store import jobs as job_rows

PUBLIC = "https://rapport.test"
DELAY = timedelta(seconds=600)


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
async def push() -> AsyncIterator[PushService]:
    service = await PushService().start()
    yield service
    await service.stop()


async def open_api(tmp_path: Path, clock: FakeClock, database_url: str, smtp_url: str) -> AsyncIterator[Api]:
    settings = make_settings(
        tmp_path, database_url=database_url, smtp_url=smtp_url, push_allow_insecure=True, public_url=PUBLIC
    )
    app = create_app(settings, clock=clock)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
    ):
        yield Api(client, app)


@pytest.fixture
async def api(tmp_path: Path, clock: FakeClock, database_url: str, smtp: SmtpSink) -> AsyncIterator[Api]:
    async for value in open_api(tmp_path, clock, database_url, smtp.url):
        yield value


async def run(api: Api) -> None:
    await api.ctx.jobs.run_due()


async def pair(api: Api, clock: FakeClock, smtp: SmtpSink | None = None) -> tuple[Member, Member]:
    """Two connected members, with the invitation e-mails of connecting already sent and set aside."""
    alice, bob = await api.register("alice"), await api.register("bob")
    await api.connect(alice, bob)
    clock.advance(DELAY)
    await run(api)
    if smtp is not None:
        smtp.messages.clear()
        smtp.recipients.clear()
    return alice, bob


async def say(api: Api, who: Member, conversation_id: str, body: str) -> str:
    r = await api.post(who, f"/api/v1/conversations/{conversation_id}/messages", {"body": body})
    assert r.status_code == 201, r.text
    return str(r.json()["message"]["id"])


async def start(api: Api, a: Member, b: Member, body: str) -> str:
    r = await api.start(a, b, body=body)
    assert r.status_code == 201, r.text
    return str(r.json()["conversation"]["id"])


# --- e-mail -----------------------------------------------------------------------------


async def test_unread_messages_are_emailed_once_after_the_delay_as_one_digest(
    api: Api, smtp: SmtpSink, clock: FakeClock
) -> None:
    alice, bob = await pair(api, clock, smtp)
    conversation = await start(api, alice, bob, "Hello Bob, are you free on Tuesday?")
    clock.advance(timedelta(seconds=30))
    await say(api, alice, conversation, "Also: bring the <slides> & notes")
    await run(api)
    clock.advance(DELAY - timedelta(seconds=31))
    await run(api)
    assert smtp.messages == []  # the first message is not 10 minutes old yet
    clock.advance(timedelta(seconds=1))
    await run(api)
    mails = smtp.to("bob@example.com")
    assert len(mails) == 1
    mail = mails[0]
    assert mail["Subject"] == "Alice Tester sent you 2 new messages"
    text, html = parts(mail)
    assert "Hello Bob, are you free on Tuesday?" in text
    assert "Also: bring the <slides> & notes" in text
    assert "bring the &lt;slides&gt; &amp; notes" in html  # escaped in HTML
    assert f"{PUBLIC}/#/c/{conversation}" in text
    unsubscribe = mail["List-Unsubscribe"]
    assert unsubscribe.startswith(f"<{PUBLIC}/api/v1/unsubscribe?token=") and unsubscribe.endswith(">")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert smtp.to("alice@example.com") == []  # never about one's own messages
    clock.advance(timedelta(days=2))
    await run(api)
    assert len(smtp.messages) == 1


async def test_a_send_costs_at_most_one_job_row_per_conversation(api: Api, clock: FakeClock) -> None:
    alice, bob = await pair(api, clock)
    conversation = await start(api, alice, bob, "one")
    for body in ("two", "three", "four"):
        await say(api, alice, conversation, body)
        await say(api, bob, conversation, body)
    async with api.ctx.db.read() as conn:
        assert await job_rows.count(conn) == 1


async def test_a_waiting_alert_job_is_not_asked_for_again_until_it_is_near_due(api: Api, clock: FakeClock) -> None:
    alice, bob = await pair(api, clock)
    conversation = await start(api, alice, bob, "one")
    waiting = api.ctx.waiting_jobs
    assert waiting.waiting("message_alert", conversation, clock.now())
    clock.advance(DELAY - WaitingJobs.MARGIN)
    assert not waiting.waiting("message_alert", conversation, clock.now())
    clock.advance(WaitingJobs.MARGIN)
    await run(api)  # the job ran and is gone: the next message stores a new one
    async with api.ctx.db.read() as conn:
        assert await job_rows.count(conn) == 0
    await say(api, alice, conversation, "two")
    async with api.ctx.db.read() as conn:
        assert await job_rows.count(conn) == 1


async def test_an_alert_job_rolled_back_is_not_taken_for_a_waiting_one(api: Api, clock: FakeClock) -> None:
    alice, bob = await pair(api, clock)
    conversation = await start(api, alice, bob, "one")
    clock.advance(DELAY)
    await run(api)
    with pytest.raises(RuntimeError):
        async with UnitOfWork(api.ctx) as uow:
            await notifications.schedule_message_alert(uow, conversation_id=int(conversation))
            raise RuntimeError("the send failed after scheduling its alert")
    assert not api.ctx.waiting_jobs.waiting("message_alert", conversation, clock.now())
    await say(api, alice, conversation, "two")
    async with api.ctx.db.read() as conn:
        assert await job_rows.count(conn) == 1


def test_waiting_jobs_forget_what_is_past_when_full() -> None:
    waiting = WaitingJobs()
    now = datetime(2026, 1, 1, tzinfo=UTC)
    waiting.LIMIT = 3
    waiting.remember("k", "old", now + timedelta(seconds=10), now)  # already within the margin
    waiting.remember("k", "a", now + DELAY, now)
    waiting.remember("k", "b", now + DELAY, now)
    waiting.remember("k", "c", now + DELAY, now)  # full: "old" goes, the rest stay
    assert [waiting.waiting("k", key, now) for key in ("old", "a", "b", "c")] == [False, True, True, True]


async def test_a_message_read_before_the_delay_is_never_emailed(api: Api, smtp: SmtpSink, clock: FakeClock) -> None:
    alice, bob = await pair(api, clock, smtp)
    conversation = await start(api, alice, bob, "first")
    last = await say(api, alice, conversation, "second")
    clock.advance(timedelta(minutes=5))
    r = await api.post(bob, f"/api/v1/conversations/{conversation}/read", {"message_id": last})
    assert r.status_code == 204
    clock.advance(DELAY)
    await run(api)
    assert smtp.messages == []


async def test_only_the_messages_still_unread_are_in_the_digest(api: Api, smtp: SmtpSink, clock: FakeClock) -> None:
    alice, bob = await pair(api, clock, smtp)
    conversation = await start(api, alice, bob, "already read")
    first = (await api.get(bob, f"/api/v1/conversations/{conversation}/messages")).json()["messages"][0]["id"]
    await api.post(bob, f"/api/v1/conversations/{conversation}/read", {"message_id": first})
    await say(api, alice, conversation, "still unread")
    clock.advance(DELAY)
    await run(api)
    text, _ = parts(smtp.to("bob@example.com")[0])
    assert "still unread" in text and "already read" not in text


async def test_a_muted_conversation_sends_nothing(api: Api, smtp: SmtpSink, clock: FakeClock) -> None:
    alice, bob = await pair(api, clock, smtp)
    conversation = await start(api, alice, bob, "psst")
    r = await api.patch(bob, f"/api/v1/conversations/{conversation}", {"muted": True})
    assert r.status_code == 200, r.text
    clock.advance(DELAY)
    await run(api)
    assert smtp.messages == []


async def test_without_previews_the_email_names_the_sender_but_carries_no_text(
    api: Api, smtp: SmtpSink, clock: FakeClock
) -> None:
    alice, bob = await pair(api, clock, smtp)
    await api.patch(bob, "/api/v1/me/notification-preferences", {"email_previews": False})
    await start(api, alice, bob, "the secret merger plan")
    clock.advance(DELAY)
    await run(api)
    mail = smtp.to("bob@example.com")[0]
    text, html = parts(mail)
    assert "Alice Tester" in mail["Subject"]
    for content in (text, html, mail["Subject"]):
        assert "merger" not in content


async def test_email_off_for_messages_sends_no_email(api: Api, smtp: SmtpSink, clock: FakeClock) -> None:
    alice, bob = await pair(api, clock, smtp)
    await api.patch(bob, "/api/v1/me/notification-preferences", {"preferences": {"message": {"email": False}}})
    await start(api, alice, bob, "hello")
    clock.advance(DELAY)
    await run(api)
    assert smtp.messages == []


async def test_a_chatty_conversation_backs_off_and_twelve_quiet_hours_reset_it(
    api: Api, smtp: SmtpSink, clock: FakeClock
) -> None:
    alice, bob = await pair(api, clock, smtp)
    conversation = await start(api, alice, bob, "(first message)")
    clock.advance(DELAY)
    await run(api)
    assert len(smtp.messages) == 1  # t = 10 min; throttle 10 min
    clock.advance(timedelta(minutes=1))
    await say(api, alice, conversation, "(second message)")  # t = 11 min
    clock.advance(DELAY)
    await run(api)
    assert len(smtp.messages) == 2  # t = 21 min (delay and throttle both passed); throttle 1 h
    clock.advance(timedelta(minutes=1))
    await say(api, alice, conversation, "(third message)")  # t = 22 min
    clock.advance(timedelta(minutes=58))
    await run(api)
    assert len(smtp.messages) == 2  # t = 80 min: within the hour after the last e-mail
    clock.advance(timedelta(minutes=2))
    await run(api)
    assert len(smtp.messages) == 3  # t = 82 min
    # Parenthesised bodies: no link token (URL-safe base64) can contain them by chance.
    text = parts(smtp.messages[-1])[0]
    assert "(third message)" in text and "(second message)" not in text
    clock.advance(timedelta(hours=12))
    await say(api, alice, conversation, "after a quiet night")
    clock.advance(DELAY)
    await run(api)
    assert len(smtp.messages) == 4  # released: only the 10-minute delay


async def test_one_click_unsubscribe_turns_that_email_kind_off(api: Api, smtp: SmtpSink, clock: FakeClock) -> None:
    alice, bob = await pair(api, clock, smtp)
    conversation = await start(api, alice, bob, "hi")
    clock.advance(DELAY)
    await run(api)
    url = smtp.messages[0]["List-Unsubscribe"].strip("<>")
    token = parse_qs(urlsplit(url).query)["token"][0]
    page = await api.client.get("/api/v1/unsubscribe", params={"token": token})
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    prefs = (await api.get(bob, "/api/v1/me/notification-preferences")).json()
    assert prefs["preferences"]["message"]["email"] is True  # a GET (a mail scanner) changes nothing
    done = await api.client.post("/api/v1/unsubscribe", params={"token": token}, content=b"List-Unsubscribe=One-Click")
    assert done.status_code == 200 and "text/html" in done.headers["content-type"]
    prefs = (await api.get(bob, "/api/v1/me/notification-preferences")).json()
    assert prefs["preferences"]["message"] == {"in_app": True, "email": False, "push": True}
    clock.advance(timedelta(days=1))
    await say(api, alice, conversation, "again")
    clock.advance(DELAY)
    await run(api)
    assert len(smtp.messages) == 1


async def test_a_bad_or_expired_unsubscribe_token_gets_a_plain_page(api: Api, smtp: SmtpSink, clock: FakeClock) -> None:
    alice, bob = await pair(api, clock, smtp)
    await start(api, alice, bob, "hi")
    clock.advance(DELAY)
    await run(api)
    token = parse_qs(urlsplit(smtp.messages[0]["List-Unsubscribe"].strip("<>")).query)["token"][0]
    payload, _, signature = token.partition(".")
    forged = f"{payload[:-2]}xx.{signature}"
    for bad in ("", "garbage", "a.b", forged, token + "x", "%00", "é.é"):
        for method in ("GET", "POST"):
            r = await api.client.request(method, "/api/v1/unsubscribe", params={"token": bad})
            assert r.status_code == 400, (bad, r.text)
            assert "text/html" in r.headers["content-type"]
    clock.advance(timedelta(days=91))
    r = await api.client.post("/api/v1/unsubscribe", params={"token": token})
    assert r.status_code == 400 and "expired" in r.text
    prefs = (await api.get(bob, "/api/v1/me/notification-preferences")).json()
    assert prefs["preferences"]["message"]["email"] is True


async def test_an_invitation_is_emailed_only_if_still_pending_when_due(
    api: Api, smtp: SmtpSink, clock: FakeClock
) -> None:
    alice, bob, carol = await api.register("alice"), await api.register("bob"), await api.register("carol")
    r = await api.post(alice, "/api/v1/invitations", {"to": bob.handle})
    await api.post(bob, f"/api/v1/invitations/{r.json()['invitation']['id']}/accept")
    await api.post(carol, "/api/v1/invitations", {"to": bob.handle})
    clock.advance(DELAY)
    await run(api)
    to_bob = smtp.to("bob@example.com")
    assert [m["Subject"] for m in to_bob] == ["Carol Tester invited you to connect"]
    assert "invitation" in to_bob[0]["List-Unsubscribe"] or to_bob[0]["List-Unsubscribe"]
    # alice's invitation was accepted: she gets an in-app notification and, when due, an e-mail
    assert [m["Subject"] for m in smtp.to("alice@example.com")] == ["Bob Tester accepted your invitation"]


async def test_a_mention_notifies_even_in_a_muted_conversation(api: Api, smtp: SmtpSink, clock: FakeClock) -> None:
    alice, bob = await pair(api, clock, smtp)
    conversation = await start(api, alice, bob, "hello")
    await api.patch(bob, f"/api/v1/conversations/{conversation}", {"muted": True})
    await say(api, alice, conversation, "what do you think, @bob?")
    clock.advance(DELAY)
    await run(api)
    assert [m["Subject"] for m in smtp.to("bob@example.com")] == ["Alice Tester mentioned you"]
    assert f"{PUBLIC}/#/c/{conversation}" in parts(smtp.to("bob@example.com")[0])[0]
    listed = (await api.get(bob, "/api/v1/notifications")).json()["notifications"]
    assert [(n["kind"], n["conversation_id"]) for n in listed][:1] == [("mention", conversation)]


async def test_a_failing_smtp_server_never_delays_a_send_and_the_email_goes_when_it_is_back(
    tmp_path: Path, clock: FakeClock, database_url: str
) -> None:
    port = free_port()  # nothing listens here yet
    async for api in open_api(tmp_path, clock, database_url, f"smtp://127.0.0.1:{port}"):
        alice, bob = await api.register("alice"), await api.register("bob")
        for who in (alice, bob):
            await api.patch(
                who, "/api/v1/me/notification-preferences", {"preferences": {"invitation": {"email": False}}}
            )
        await api.connect(alice, bob)
        await start(api, alice, bob, "are you there?")
        clock.advance(DELAY)
        await run(api)  # decides, then the send fails and is retried later
        async with api.ctx.db.read() as conn:
            assert await job_rows.count(conn, kind="send_email", state="pending") == 1
        sink = SmtpSink(port=port).start()
        try:
            clock.advance(timedelta(minutes=5))
            await run(api)
            assert len(sink.to("bob@example.com")) == 1
            clock.advance(timedelta(hours=3))
            await run(api)
            assert len(sink.messages) == 1
        finally:
            sink.stop()


async def test_smtp_with_starttls_and_a_login(
    tmp_path: Path, clock: FakeClock, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tls = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", tls.cert)  # trust the test's own certificate authority
    sink = SmtpSink(credentials=("mailer", "s3 cret"), tls=tls).start()
    try:
        async for api in open_api(tmp_path, clock, database_url, sink.url):
            alice, bob = await pair(api, clock, sink)
            await start(api, alice, bob, "hi")
            clock.advance(DELAY)
            await run(api)
            assert len(sink.to("bob@example.com")) == 1
    finally:
        sink.stop()


# --- Web Push ---------------------------------------------------------------------------


async def subscribe(api: Api, who: Member, push: PushService, name: str) -> tuple[BrowserKeys, str]:
    keys = BrowserKeys()
    r = await api.post(who, "/api/v1/push/subscriptions", keys.subscription(push.endpoint(name)))
    assert r.status_code == 201, r.text
    return keys, str(r.json()["subscription"]["id"])


async def test_a_push_is_encrypted_for_the_subscription_and_signed_with_vapid(
    api: Api, push: PushService, clock: FakeClock
) -> None:
    alice, bob = await pair(api, clock)
    keys, _ = await subscribe(api, bob, push, "bob-laptop")
    conversation = await start(api, alice, bob, "Lunch at noon?")
    await run(api)
    assert push.received == []
    clock.advance(DELAY)
    await run(api)
    assert len(push.received) == 1
    delivery = push.received[0]
    assert delivery.path == "/push/bob-laptop"
    assert delivery.headers["content-encoding"] == "aes128gcm"
    assert int(delivery.headers["ttl"]) > 0
    _, key = verify_vapid(delivery.headers["authorization"], push.origin)
    assert key == (await api.get(bob, "/api/v1/push/vapid-key")).json()["key"]
    data: dict[str, Any] = orjson.loads(keys.decrypt(delivery.body))
    assert data == {
        "type": "message",
        "conversation_id": conversation,
        "title": "Alice Tester sent you a new message",
        "body": "Alice Tester: Lunch at noon?",
        "url": f"{PUBLIC}/#/c/{conversation}",
    }
    assert b"Lunch" not in delivery.body


async def test_push_without_previews_carries_no_text(api: Api, push: PushService, clock: FakeClock) -> None:
    alice, bob = await pair(api, clock)
    keys, _ = await subscribe(api, bob, push, "b")
    await api.patch(bob, "/api/v1/me/notification-preferences", {"email_previews": False})
    await start(api, alice, bob, "confidential numbers")
    clock.advance(DELAY)
    await run(api)
    data = orjson.loads(keys.decrypt(push.received[0].body))
    assert "confidential" not in orjson.dumps(data).decode()
    assert data["title"] == "Alice Tester sent you a new message"


async def test_a_gone_subscription_is_removed(api: Api, push: PushService, clock: FakeClock) -> None:
    alice, bob = await pair(api, clock)
    await subscribe(api, bob, push, "old")
    _, kept = await subscribe(api, bob, push, "new")
    push.status["/push/old"] = 410
    await start(api, alice, bob, "hi")
    clock.advance(DELAY)
    await run(api)
    assert sorted(d.path for d in push.received) == ["/push/new", "/push/old"]
    subs = (await api.get(bob, "/api/v1/push/subscriptions")).json()["subscriptions"]
    assert [s["id"] for s in subs] == [kept]


async def test_a_failing_push_service_is_retried(api: Api, push: PushService, clock: FakeClock) -> None:
    alice, bob = await pair(api, clock)
    keys, _ = await subscribe(api, bob, push, "flaky")
    push.status["/push/flaky"] = 503
    await start(api, alice, bob, "hi")
    clock.advance(DELAY)
    await run(api)
    assert len(push.received) == 1
    push.status["/push/flaky"] = 201
    clock.advance(timedelta(seconds=10))
    await run(api)
    assert len(push.received) == 2
    assert orjson.loads(keys.decrypt(push.received[1].body))["body"] == "Alice Tester: hi"
    clock.advance(timedelta(hours=2))
    await run(api)
    assert len(push.received) == 2


async def test_push_off_sends_no_push_but_email_still_goes(
    api: Api, push: PushService, smtp: SmtpSink, clock: FakeClock
) -> None:
    alice, bob = await pair(api, clock, smtp)
    await subscribe(api, bob, push, "b")
    await api.patch(bob, "/api/v1/me/notification-preferences", {"preferences": {"message": {"push": False}}})
    await start(api, alice, bob, "hi")
    clock.advance(DELAY)
    await run(api)
    assert push.received == []
    assert len(smtp.to("bob@example.com")) == 1


async def test_a_line_break_in_a_name_never_becomes_a_header(api: Api, smtp: SmtpSink, clock: FakeClock) -> None:
    alice, bob = await pair(api, clock, smtp)
    r = await api.patch(alice, "/api/v1/me", {"name": "Alice\r\nBcc: eve@example.com"})
    assert r.status_code == 200, r.text  # names may hold line breaks: the e-mail must cope
    await start(api, alice, bob, "hi")
    clock.advance(DELAY)
    await run(api)
    mail = smtp.to("bob@example.com")[0]
    assert mail["Bcc"] is None
    assert smtp.recipients == [["bob@example.com"]]
    assert "\n" not in mail["Subject"]
