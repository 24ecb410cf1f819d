"""A sponsored message notifies outside the app only as its recipient's `sponsored` preferences
say (e-mail off by default), never under their `message` preferences; a real SMTP server
receives what is sent."""

from __future__ import annotations

from tests.api.test_alerts import DELAY, api, run, smtp  # noqa: F401  (fixtures)
from tests.api.test_campaigns import create, launch, make_advertiser, member_in
from tests.conftest import Api
from tests.notify_servers import SmtpSink

from rapport.clock import FakeClock


async def test_sponsored_messages_follow_the_sponsored_preference(api: Api, smtp: SmtpSink, clock: FakeClock) -> None:  # noqa: F811
    acme = await make_advertiser(api)
    await member_in(api, "sam", "Software")  # defaults: sponsored e-mail off, message e-mail on
    sue = await member_in(api, "sue", "Software")
    prefs = {"preferences": {"sponsored": {"email": True}, "message": {"email": False}}}
    assert (await api.patch(sue, "/api/v1/me/notification-preferences", prefs)).status_code == 200
    campaign = await create(api, acme)
    await launch(api, acme, campaign["id"])
    await run(api)
    clock.advance(DELAY)
    await run(api)
    assert smtp.to("sam@example.com") == []
    (mail,) = smtp.to("sue@example.com")
    assert mail["Subject"] == "Acme Corp sent you a new sponsored message"
    assert smtp.to("acme@example.com") == []
