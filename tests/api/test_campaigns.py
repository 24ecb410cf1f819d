"""Sponsored messages over HTTP (DESIGN §2, API "Sponsored messages"): advertisers, campaigns,
delivery under the opt-out and the frequency cap, the recipient's thread, clicks, leads and
the counts-only funnel."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import httpx
from PIL import Image
from tests.api.test_accounts import error_code
from tests.conftest import ADMIN, Api, Member

from rapport.clock import FakeClock
from rapport.services import campaign_delivery
from rapport.store import campaigns as campaign_store

ADMIN_AUTH = {"Authorization": f"Bearer {ADMIN}"}


async def deliver(api: Api) -> None:
    """Run the jobs that are due (the delivery's among them), as a process's job runner would."""
    await api.ctx.jobs.run_due()


async def make_advertiser(api: Api, handle: str = "acme") -> Member:
    member = await api.register(handle, name="Acme Corp")
    r = await api.client.put(
        f"/api/v1/admin/members/{handle}/advertiser", json={"advertiser": True}, headers=ADMIN_AUTH
    )
    assert r.status_code == 200, r.text
    assert r.json()["member"]["handle"] == handle
    return member


async def member_in(api: Api, handle: str, industry: str, **profile: str) -> Member:
    member = await api.register(handle)
    r = await api.patch(member, "/api/v1/me", {"industry": industry, **profile})
    assert r.status_code == 200, r.text
    return member


def draft(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Spring hiring",
        "subject": "Build the future with us",
        "body": "We are hiring engineers who love messaging.",
        "buttons": [{"label": "See jobs", "url": "https://acme.example/jobs"}],
        "audience": {"industries": ["Software"]},
    }
    body.update(overrides)
    return body


async def create(api: Api, advertiser: Member, **overrides: Any) -> dict[str, Any]:
    r = await api.post(advertiser, "/api/v1/campaigns", draft(**overrides))
    assert r.status_code == 201, r.text
    return dict(r.json()["campaign"])


async def launch(api: Api, advertiser: Member, campaign_id: str) -> dict[str, Any]:
    r = await api.post(advertiser, f"/api/v1/campaigns/{campaign_id}/launch")
    assert r.status_code == 202, r.text
    return dict(r.json()["campaign"])


async def shown(api: Api, advertiser: Member, campaign_id: str) -> dict[str, Any]:
    r = await api.get(advertiser, f"/api/v1/campaigns/{campaign_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def sponsored_threads(api: Api, who: Member) -> list[dict[str, Any]]:
    r = await api.get(who, "/api/v1/conversations?filter=sponsored")
    assert r.status_code == 200, r.text
    return list(r.json()["conversations"])


async def the_message(api: Api, who: Member, conversation_id: str) -> dict[str, Any]:
    r = await api.get(who, f"/api/v1/conversations/{conversation_id}/messages")
    assert r.status_code == 200, r.text
    (message,) = r.json()["messages"]
    return dict(message)


async def network(api: Api) -> tuple[Member, list[Member], Member, list[Member]]:
    """An advertiser; three software members who take sponsored messages, one who opted out;
    two in banking."""
    acme = await make_advertiser(api)
    software = [await member_in(api, h, "Software") for h in ("sam", "sue", "sid")]
    opted_out = await member_in(api, "otto", "software")
    r = await api.patch(opted_out, "/api/v1/me/settings", {"sponsored_messages": False})
    assert r.status_code == 200, r.text
    banking = [await member_in(api, h, "Banking") for h in ("bob", "bea")]
    return acme, software, opted_out, banking


# --- advertisers and drafts -------------------------------------------------------------


async def test_only_advertisers_create_campaigns_and_the_operator_grants_it(api: Api) -> None:
    alice = await api.register("alice")
    r = await api.post(alice, "/api/v1/campaigns", draft())
    assert r.status_code == 403 and error_code(r) == "not_advertiser"
    assert (await api.get(alice, "/api/v1/campaigns")).status_code == 403
    r = await api.client.put("/api/v1/admin/members/alice/advertiser", json={"advertiser": True}, headers=alice.auth)
    assert r.status_code == 401
    r = await api.client.put("/api/v1/admin/members/nobody/advertiser", json={"advertiser": True}, headers=ADMIN_AUTH)
    assert r.status_code == 404
    r = await api.client.put("/api/v1/admin/members/alice/advertiser", json={"advertiser": "yes"}, headers=ADMIN_AUTH)
    assert r.status_code == 422
    r = await api.client.put("/api/v1/admin/members/alice/advertiser", json={"advertiser": True}, headers=ADMIN_AUTH)
    assert r.status_code == 200 and r.json()["advertiser"] is True
    assert (await api.post(alice, "/api/v1/campaigns", draft())).status_code == 201
    r = await api.client.put("/api/v1/admin/members/alice/advertiser", json={"advertiser": False}, headers=ADMIN_AUTH)
    assert r.status_code == 200
    assert (await api.get(alice, "/api/v1/campaigns")).status_code == 403


async def test_bad_campaigns_are_refused_with_clear_codes_and_nothing_is_stored(api: Api) -> None:
    acme = await make_advertiser(api)
    https = "https://acme.example"
    cases: list[tuple[dict[str, Any], str]] = [
        ({"subject": "s" * 61}, "subject_too_long"),
        ({"body": "b" * 1501}, "body_too_long"),
        ({"buttons": []}, "invalid_button_count"),
        ({"buttons": [{"label": "a", "url": https}] * 3}, "invalid_button_count"),
        ({"buttons": [{"label": "l" * 21, "url": https}]}, "button_label_too_long"),
        ({"buttons": [{"label": "Go", "url": "http://acme.example"}]}, "invalid_button_url"),
        ({"buttons": [{"label": "Go", "url": "javascript:alert(1)"}]}, "invalid_button_url"),
        ({"lead_form": {"profile_fields": ["phone"]}}, "unknown_profile_field"),
        ({"lead_form": {"questions": [{"id": "email", "label": "x"}]}}, "invalid_question_id"),
        ({"audience": {"tiers": ["gold"]}}, "invalid_audience"),
        ({"body": "nul \x00 byte"}, "validation_error"),
        ({"banner_attachment": "999999"}, "attachment_not_found"),
    ]
    for overrides, code in cases:
        r = await api.post(acme, "/api/v1/campaigns", draft(**overrides))
        assert 400 <= r.status_code < 500, (overrides, r.text)
        assert error_code(r) == code, (overrides, r.text)
    for payload in ({}, [], "x", {**draft(), "buttons": "none"}, {**draft(), "audience": {"tiers": "free"}}):
        r = await api.post(acme, "/api/v1/campaigns", payload)
        assert r.status_code == 422, (payload, r.text)
    assert (await api.get(acme, "/api/v1/campaigns")).json() == {"campaigns": []}


async def test_a_draft_shows_its_audience_size_before_launch(api: Api) -> None:
    acme, software, _opted_out, banking = await network(api)
    campaign = await create(api, acme)
    assert campaign["state"] == "draft"
    assert campaign["audience_size"] == 4  # industry matches ignore case; opted-out members are skipped at delivery
    assert (campaign["delivered"], campaign["skipped"], campaign["launched_at"]) == (0, 0, None)
    everyone = await create(api, acme, audience={})
    assert everyone["audience_size"] == 6  # every member but the advertiser
    await api.patch(banking[0], "/api/v1/me", {"headline": "Rust and Python engineer"})
    keyword = await create(api, acme, audience={"headline_keywords": ["PYTHON"]})
    assert keyword["audience_size"] == 1
    listed = (await api.get(acme, "/api/v1/campaigns")).json()["campaigns"]
    assert [c["id"] for c in listed] == [keyword["id"], everyone["id"], campaign["id"]]
    await api.register("newcomer")  # a draft's size follows the network
    assert (await shown(api, acme, everyone["id"]))["campaign"]["audience_size"] == 7
    del software


async def test_a_banner_must_be_the_advertisers_own_image(api: Api) -> None:
    acme = await make_advertiser(api)
    other = await api.register("other")
    image = await upload_image(api, other)
    r = await api.post(acme, "/api/v1/campaigns", draft(banner_attachment=image))
    assert r.status_code == 404 and error_code(r) == "attachment_not_found"
    text = await upload(api, acme, b"plain words", "notes.txt")
    r = await api.post(acme, "/api/v1/campaigns", draft(banner_attachment=text))
    assert r.status_code == 422 and error_code(r) == "banner_not_image"
    own = await upload_image(api, acme)
    campaign = await create(api, acme, banner_attachment=own)
    assert campaign["banner_attachment"] == own and campaign["banner_url"] == f"/api/v1/attachments/{own}"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (600, 200), "navy").save(out, "PNG")
    return out.getvalue()


async def upload(api: Api, who: Member, data: bytes, name: str) -> str:
    r = await api.client.post("/api/v1/attachments", files={"file": (name, data)}, headers=who.auth)
    assert r.status_code == 201, r.text
    return str(r.json()["attachment"]["id"])


async def upload_image(api: Api, who: Member) -> str:
    return await upload(api, who, png(), "banner.png")


# --- delivery ---------------------------------------------------------------------------


async def test_delivery_reaches_the_audience_and_skips_the_opted_out(api: Api) -> None:
    acme, software, opted_out, banking = await network(api)
    campaign = await create(api, acme)
    launched = await launch(api, acme, campaign["id"])
    assert launched["state"] == "sending" and launched["audience_size"] == 4 and launched["launched_at"]
    await deliver(api)
    found = await shown(api, acme, campaign["id"])
    assert found["campaign"]["state"] == "sent" and found["campaign"]["finished_at"]
    assert (found["campaign"]["delivered"], found["campaign"]["skipped"]) == (3, 1)
    assert found["stats"] == {"sent": 3, "opened": 0, "clicked": 0, "leads": 0}
    for member in software:
        assert len(await sponsored_threads(api, member)) == 1
    for member in (opted_out, *banking):
        assert await sponsored_threads(api, member) == []
        assert [e for e in await api.events(member) if e["type"] == "message.new"] == []
    assert await sponsored_threads(api, acme) == []
    assert (await api.get(acme, "/api/v1/conversations")).json()["conversations"] == []


async def test_the_advertiser_is_never_in_their_own_audience(api: Api) -> None:
    acme, software, opted_out, banking = await network(api)
    await api.patch(acme, "/api/v1/me", {"industry": "Software"})
    campaign = await create(api, acme, audience={})
    assert campaign["audience_size"] == 6
    await launch(api, acme, campaign["id"])
    await deliver(api)
    found = (await shown(api, acme, campaign["id"]))["campaign"]
    assert (found["delivered"], found["skipped"]) == (5, 1)  # everyone but the opted-out member; not acme
    assert await sponsored_threads(api, acme) == []
    del software, opted_out, banking


async def test_relaunching_a_campaign_is_409_and_sends_nothing_more(api: Api) -> None:
    acme, software, _, _ = await network(api)
    campaign = await create(api, acme)
    await launch(api, acme, campaign["id"])
    r = await api.post(acme, f"/api/v1/campaigns/{campaign['id']}/launch")
    assert r.status_code == 409 and error_code(r) == "campaign_already_launched"
    await deliver(api)
    r = await api.post(acme, f"/api/v1/campaigns/{campaign['id']}/launch")
    assert r.status_code == 409 and error_code(r) == "campaign_already_launched"
    await deliver(api)
    assert [len(await sponsored_threads(api, m)) for m in software] == [1, 1, 1]


async def test_the_sponsored_thread_is_its_own_and_takes_no_reply(api: Api) -> None:
    acme, software, _, _ = await network(api)
    sam = software[0]
    await api.patch(sam, "/api/v1/me", {"headline": "Staff engineer", "location": "Berlin"})
    banner = await upload_image(api, acme)
    form = {"profile_fields": ["name", "email", "location"], "questions": [{"id": "role", "label": "Your role"}]}
    campaign = await create(
        api,
        acme,
        banner_attachment=banner,
        lead_form=form,
        buttons=[
            {"label": "See jobs", "url": "https://acme.example/jobs"},
            {"label": "Our blog", "url": "https://b.example"},
        ],
    )
    await launch(api, acme, campaign["id"])
    await deliver(api)
    (conversation,) = await sponsored_threads(api, sam)
    assert conversation["kind"] == "sponsored" and conversation["subject"] == "Build the future with us"
    assert [p["handle"] for p in conversation["participants"]] == ["sam"]
    assert conversation["unread_count"] == 1
    message = await the_message(api, sam, conversation["id"])
    assert message["body"] == "We are hiring engineers who love messaging."
    assert message["sender"]["handle"] == "acme" and message["status"] is None and message["read_by"] is None
    block = message["sponsored"]
    assert block["advertiser"]["handle"] == "acme"
    assert block["banner_url"] == f"/api/v1/conversations/{conversation['id']}/sponsored/banner"
    assert block["buttons"] == [{"id": "1", "label": "See jobs"}, {"id": "2", "label": "Our blog"}]
    assert block["lead_form"]["profile_fields"] == ["name", "email", "location"]
    assert block["lead_form"]["questions"] == [{"id": "role", "label": "Your role", "required": True}]
    assert block["lead_form"]["prefill"] == {"name": "Sam Tester", "email": "sam@example.com", "location": "Berlin"}
    assert (block["lead_submitted"], block["declined"]) == (False, False)
    # the live event carries the same message
    (event,) = [e for e in await api.events(sam) if e["type"] == "message.new"]
    assert (
        event["conversation_id"] == conversation["id"] and event["message"]["sponsored"]["buttons"] == block["buttons"]
    )
    # no replies, and the thread is not a 1:1 with the advertiser
    r = await api.post(sam, f"/api/v1/conversations/{conversation['id']}/messages", {"body": "Tell me more"})
    assert r.status_code == 403 and error_code(r) == "sponsored_no_reply"
    r = await api.start(sam, acme, body="hello")
    assert r.status_code == 403  # not connected: a sponsored message opens no door
    # the banner is the recipient's to load (with ?token= for <img>), nobody else's
    r = await api.client.get(f"{block['banner_url']}?token={sam.token}")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png" and r.content == png()
    sue = software[1]
    assert (await api.get(sue, block["banner_url"])).status_code == 404
    assert (await api.get(acme, block["banner_url"])).status_code == 404
    # the recipient's thread is theirs alone
    for path in ("", "/messages"):
        r = await api.get(acme, f"/api/v1/conversations/{conversation['id']}{path}")
        assert r.status_code == 404


async def test_not_interested_archives_the_thread_and_is_remembered(api: Api) -> None:
    acme, software, _, _ = await network(api)
    campaign = await create(api, acme)
    await launch(api, acme, campaign["id"])
    await deliver(api)
    sam = software[0]
    (conversation,) = await sponsored_threads(api, sam)
    r = await api.post(sam, f"/api/v1/conversations/{conversation['id']}/decline")
    assert r.status_code == 200, r.text
    assert r.json()["conversation"]["archived"] is True
    assert await sponsored_threads(api, sam) == []
    assert (await the_message(api, sam, conversation["id"]))["sponsored"]["declined"] is True
    r = await api.post(software[1], f"/api/v1/conversations/{conversation['id']}/decline")
    assert r.status_code == 404


async def test_clicks_and_leads_reach_the_stats_and_the_leads_as_json_and_csv(api: Api) -> None:
    acme, software, _, _ = await network(api)
    sam, sue, sid = software
    await api.patch(sam, "/api/v1/me", {"location": "Berlin"})
    form = {
        "profile_fields": ["name", "email", "location"],
        "questions": [
            {"id": "role", "label": "Your role"},
            {"id": "note", "label": "Anything else?", "required": False},
        ],
    }
    campaign = await create(api, acme, lead_form=form)
    await launch(api, acme, campaign["id"])
    await deliver(api)
    threads = {m.handle: (await sponsored_threads(api, m))[0]["id"] for m in software}

    click = f"/api/v1/conversations/{threads['sam']}/sponsored/click"
    r = await api.post(sam, click, {"button_id": "1"})
    assert r.status_code == 200 and r.json() == {"url": "https://acme.example/jobs"}
    assert (await api.post(sam, click, {"button_id": "1"})).status_code == 200  # a member counts once
    r = await api.post(sam, click, {"button_id": "2"})
    assert r.status_code == 404 and error_code(r) == "button_not_found"
    r = await api.post(sue, click, {"button_id": "1"})  # not sue's message
    assert r.status_code == 404 and error_code(r) == "conversation_not_found"
    r = await api.post(acme, click, {"button_id": "1"})
    assert r.status_code == 404
    assert (
        await api.post(sue, f"/api/v1/conversations/{threads['sue']}/sponsored/click", {"button_id": "1"})
    ).status_code == 200

    lead = f"/api/v1/conversations/{threads['sam']}/sponsored/lead"
    r = await api.post(sam, lead, {"answers": {"role": "  "}})
    assert r.status_code == 422 and error_code(r) == "lead_answer_required"
    r = await api.post(sam, lead, {"answers": {"role": "CTO", "salary": "1"}})
    assert r.status_code == 422 and error_code(r) == "unknown_lead_field"
    r = await api.post(sam, lead, {"answers": {"role": 5}})
    assert r.status_code == 422
    r = await api.post(sue, lead, {"answers": {"role": "CTO"}})
    assert r.status_code == 404
    r = await api.post(sam, lead, {"answers": {"role": "=CTO", "email": "sam@work.example"}})
    assert r.status_code == 201, r.text
    assert r.json()["lead"]["answers"] == {
        "name": "Sam Tester",
        "email": "sam@work.example",
        "location": "Berlin",
        "role": "=CTO",
        "note": "",
    }
    r = await api.post(sam, lead, {"answers": {"role": "again"}})
    assert r.status_code == 409 and error_code(r) == "lead_already_submitted"
    assert (await the_message(api, sam, threads["sam"]))["sponsored"]["lead_submitted"] is True
    # a campaign without a form takes no lead
    plain = await create(api, acme, name="No form", audience={"industries": ["Banking"]})
    del plain

    # opens count once each, as the recipient's open thread reports them
    message = await the_message(api, sid, threads["sid"])
    for _ in range(2):
        r = await api.post(sid, f"/api/v1/conversations/{threads['sid']}/read", {"message_id": message["id"]})
        assert r.status_code == 204

    found = await shown(api, acme, campaign["id"])
    assert found["stats"] == {"sent": 3, "opened": 1, "clicked": 2, "leads": 1}

    r = await api.get(acme, f"/api/v1/campaigns/{campaign['id']}/leads")
    assert r.status_code == 200
    (only,) = r.json()["leads"]
    assert only["member"]["handle"] == "sam" and only["answers"]["role"] == "=CTO" and only["submitted_at"]

    r = await api.get(acme, f"/api/v1/campaigns/{campaign['id']}/leads?format=csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["handle", "name", "email", "location", "role", "note", "submitted_at"]
    assert rows[1][:6] == ["sam", "Sam Tester", "sam@work.example", "Berlin", "'=CTO", ""]
    assert len(rows) == 2
    r = await api.get(acme, f"/api/v1/campaigns/{campaign['id']}/leads?format=xml")
    assert r.status_code == 422


async def test_a_campaign_without_a_lead_form_takes_no_lead(api: Api) -> None:
    acme, software, _, _ = await network(api)
    campaign = await create(api, acme)
    await launch(api, acme, campaign["id"])
    await deliver(api)
    (thread,) = await sponsored_threads(api, software[0])
    r = await api.post(software[0], f"/api/v1/conversations/{thread['id']}/sponsored/lead", {"answers": {}})
    assert r.status_code == 409 and error_code(r) == "no_lead_form"


async def test_the_frequency_cap_holds_a_second_campaign_until_the_interval_passes(api: Api, clock: FakeClock) -> None:
    acme, software, _, _ = await network(api)
    first = await create(api, acme)
    await launch(api, acme, first["id"])
    await deliver(api)
    rival = await make_advertiser(api, "globex")
    clock.advance(timedelta(days=44))
    second = await create(api, rival, name="Too soon")
    await launch(api, rival, second["id"])
    await deliver(api)
    found = (await shown(api, rival, second["id"]))["campaign"]
    assert (found["state"], found["delivered"], found["skipped"]) == ("sent", 0, 4)
    assert [len(await sponsored_threads(api, m)) for m in software] == [1, 1, 1]
    clock.advance(timedelta(days=2))
    third = await create(api, rival, name="After 46 days")
    await launch(api, rival, third["id"])
    await deliver(api)
    found = (await shown(api, rival, third["id"]))["campaign"]
    assert (found["delivered"], found["skipped"]) == (3, 1)
    assert [len(await sponsored_threads(api, m)) for m in software] == [2, 2, 2]


async def test_members_who_blocked_the_advertiser_or_were_blocked_are_skipped(api: Api) -> None:
    acme, software, _, _ = await network(api)
    sam, sue, _ = software
    assert (await api.post(sam, "/api/v1/blocks", {"handle": "acme"})).status_code == 201
    assert (await api.post(acme, "/api/v1/blocks", {"handle": "sue"})).status_code == 201
    campaign = await create(api, acme)
    await launch(api, acme, campaign["id"])
    await deliver(api)
    found = (await shown(api, acme, campaign["id"]))["campaign"]
    assert (found["delivered"], found["skipped"]) == (1, 3)
    assert await sponsored_threads(api, sam) == [] and await sponsored_threads(api, sue) == []


async def test_another_advertiser_gets_404_for_everything_of_a_campaign(api: Api) -> None:
    acme, _, _, _ = await network(api)
    campaign = await create(api, acme)
    globex = await make_advertiser(api, "globex")
    for path in ("", "/leads", "/leads?format=csv"):
        r = await api.get(globex, f"/api/v1/campaigns/{campaign['id']}{path}")
        assert r.status_code == 404 and error_code(r) == "campaign_not_found", path
    r = await api.post(globex, f"/api/v1/campaigns/{campaign['id']}/launch")
    assert r.status_code == 404
    for bad in ("999999", "abc", "-1"):
        assert (await api.get(acme, f"/api/v1/campaigns/{bad}")).status_code == 404
    assert (await api.get(globex, "/api/v1/campaigns")).json() == {"campaigns": []}
    assert (await shown(api, acme, campaign["id"]))["campaign"]["state"] == "draft"


async def test_nothing_tells_the_advertiser_who_opened(api: Api) -> None:
    acme, software, _, _ = await network(api)
    campaign = await create(api, acme)
    await launch(api, acme, campaign["id"])
    await deliver(api)
    sam = software[0]
    (thread,) = await sponsored_threads(api, sam)
    before = await api.events(acme)
    message = await the_message(api, sam, thread["id"])
    r = await api.post(sam, f"/api/v1/conversations/{thread['id']}/read", {"message_id": message["id"]})
    assert r.status_code == 204
    found = await shown(api, acme, campaign["id"])
    assert found["stats"]["opened"] == 1
    # the advertiser's own event stream says nothing about the open, nor any delivery
    assert await api.events(acme) == before
    assert all(e["type"] not in ("message.read", "message.delivered", "message.new") for e in before)
    # nothing the advertiser can read names a recipient
    texts = [
        (await api.get(acme, f"/api/v1/campaigns/{campaign['id']}")).text,
        (await api.get(acme, "/api/v1/campaigns")).text,
        (await api.get(acme, f"/api/v1/campaigns/{campaign['id']}/leads")).text,
        (await api.get(acme, f"/api/v1/campaigns/{campaign['id']}/leads?format=csv")).text,
        (await api.get(acme, "/api/v1/conversations?filter=all")).text,
        (await api.get(acme, "/api/v1/search?q=hiring")).text,
    ]
    for member in software:
        assert all(member.handle not in text and f'"{member.id}"' not in text for text in texts)
    for path in (f"/api/v1/conversations/{thread['id']}", f"/api/v1/conversations/{thread['id']}/messages"):
        assert (await api.get(acme, path)).status_code == 404
    # and the recipient's read shows nowhere as a receipt
    assert message["status"] is None


# --- resumable, once-only delivery --------------------------------------------------------


async def test_a_crash_mid_page_repeats_nothing_and_resumes_where_it_stopped(
    api: Api, clock: FakeClock, monkeypatch: Any
) -> None:
    acme = await make_advertiser(api)
    people = [await member_in(api, f"m{i:02d}", "Software") for i in range(7)]
    monkeypatch.setattr(campaign_delivery, "PAGE", 3)
    monkeypatch.setattr(campaign_delivery, "SLICE_SECONDS", 0.0)  # a page per run: the job reschedules itself
    campaign = await create(api, acme)
    await launch(api, acme, campaign["id"])

    calls = 0
    real = campaign_store.advance_shard

    async def crash_on_second_page(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("the process died here")
        return await real(*args, **kwargs)

    monkeypatch.setattr(campaign_store, "advance_shard", crash_on_second_page)
    await deliver(api)  # the second page fails; the runner will retry the job later
    progress = (await shown(api, acme, campaign["id"]))["campaign"]
    assert (progress["state"], progress["delivered"], progress["skipped"]) == ("sending", 3, 0)
    assert [len(await sponsored_threads(api, m)) for m in people] == [1, 1, 1, 0, 0, 0, 0]  # page 2 rolled back whole

    monkeypatch.setattr(campaign_store, "advance_shard", real)
    clock.advance(timedelta(minutes=1))  # past the retry's back-off
    await deliver(api)
    done = (await shown(api, acme, campaign["id"]))["campaign"]
    assert (done["state"], done["delivered"], done["skipped"]) == ("sent", 7, 0)
    assert [len(await sponsored_threads(api, m)) for m in people] == [1] * 7
    for member in people:
        assert len([e for e in await api.events(member) if e["type"] == "message.new"]) == 1


async def launched_in_pages(
    api: Api, monkeypatch: Any, *, members: int, page: int
) -> tuple[Member, list[Member], dict[str, Any]]:
    """An advertiser, `members` software members, and a campaign to them launched in pages of `page`."""
    acme = await make_advertiser(api)
    people = [await member_in(api, f"w{i:02d}", "Software") for i in range(members)]
    monkeypatch.setattr(campaign_delivery, "PAGE", page)
    campaign = await create(api, acme)
    await launch(api, acme, campaign["id"])
    return acme, people, campaign


async def test_an_opt_out_or_block_made_while_a_page_is_prepared_still_holds(api: Api, monkeypatch: Any) -> None:
    """The page is read before its write transaction; what members did in between counts."""
    acme, software, _, _ = await network(api)
    sam, sue, _ = software
    campaign = await create(api, acme)
    await launch(api, acme, campaign["id"])
    real = campaign_delivery._read_page

    async def then_members_act(*args: Any, **kwargs: Any) -> Any:
        page = await real(*args, **kwargs)
        assert (await api.patch(sam, "/api/v1/me/settings", {"sponsored_messages": False})).status_code == 200
        assert (await api.post(sue, "/api/v1/blocks", {"handle": "acme"})).status_code == 201
        assert (await api.post(acme, "/api/v1/blocks", {"handle": "sid"})).status_code == 201
        monkeypatch.setattr(campaign_delivery, "_read_page", real)
        return page

    monkeypatch.setattr(campaign_delivery, "_read_page", then_members_act)
    await deliver(api)
    found = (await shown(api, acme, campaign["id"]))["campaign"]
    assert (found["state"], found["delivered"], found["skipped"]) == ("sent", 0, 4)
    for member in software:
        assert await sponsored_threads(api, member) == []
        assert [e for e in await api.events(member) if e["type"] == "message.new"] == []


async def test_a_page_another_runner_delivered_meanwhile_is_read_again(api: Api, monkeypatch: Any) -> None:
    acme, people, campaign = await launched_in_pages(api, monkeypatch, members=5, page=2)
    campaign_id = int(campaign["id"])
    real = campaign_delivery._read_page

    async def overtaken(*args: Any, **kwargs: Any) -> Any:
        page = await real(*args, **kwargs)
        monkeypatch.setattr(campaign_delivery, "_read_page", real)
        assert await campaign_delivery.deliver_page(api.ctx, campaign_id=campaign_id, shard=0)  # the other runner
        return page

    monkeypatch.setattr(campaign_delivery, "_read_page", overtaken)
    assert await campaign_delivery.deliver_page(api.ctx, campaign_id=campaign_id, shard=0)  # stale: nothing written
    assert (await shown(api, acme, campaign["id"]))["campaign"]["delivered"] == 2
    while await campaign_delivery.deliver_page(api.ctx, campaign_id=campaign_id, shard=0):
        pass
    done = (await shown(api, acme, campaign["id"]))["campaign"]
    assert (done["state"], done["delivered"], done["skipped"]) == ("sent", 5, 0)
    assert [len(await sponsored_threads(api, m)) for m in people] == [1] * 5


async def test_a_runner_that_dies_holding_the_job_is_replaced_after_its_lease(api: Api, clock: FakeClock) -> None:
    acme, software, _, _ = await network(api)
    campaign = await create(api, acme)
    await launch(api, acme, campaign["id"])
    assert len(await api.ctx.jobs.claim()) == 1  # claimed by a runner that then died
    await deliver(api)
    assert (await shown(api, acme, campaign["id"]))["campaign"]["delivered"] == 0
    clock.advance(timedelta(minutes=2))
    await deliver(api)
    found = (await shown(api, acme, campaign["id"]))["campaign"]
    assert (found["state"], found["delivered"], found["skipped"]) == ("sent", 3, 1)
    assert [len(await sponsored_threads(api, m)) for m in software] == [1, 1, 1]


async def test_two_workers_on_one_shard_deliver_each_member_once(api: Api, monkeypatch: Any) -> None:
    """A lease that expired while its runner was still at work: both run the shard at once."""
    import asyncio

    acme, people, campaign = await launched_in_pages(api, monkeypatch, members=9, page=2)

    async def worker() -> None:
        while await campaign_delivery.deliver_page(api.ctx, campaign_id=int(campaign["id"]), shard=0):
            pass

    await asyncio.gather(worker(), worker())
    done = (await shown(api, acme, campaign["id"]))["campaign"]
    assert (done["state"], done["delivered"], done["skipped"]) == ("sent", 9, 0)
    assert [len(await sponsored_threads(api, m)) for m in people] == [1] * 9


async def test_sponsored_routes_refuse_bad_input_with_4xx(api: Api) -> None:
    acme, software, _, _ = await network(api)
    sam = software[0]
    for payload in ({}, {"button_id": 5}, [], "x"):
        r = await api.post(sam, "/api/v1/conversations/1/sponsored/click", payload)
        assert r.status_code == 422, payload
    for payload in ({}, {"answers": "x"}, {"answers": {"a": None}}):
        r = await api.post(sam, "/api/v1/conversations/1/sponsored/lead", payload)
        assert r.status_code == 422, payload
    r = await api.post(sam, "/api/v1/conversations/abc/sponsored/click", {"button_id": "1"})
    assert r.status_code == 404
    client: httpx.AsyncClient = api.client
    assert (await client.get("/api/v1/campaigns")).status_code == 401
    del acme
