"""Sponsored messages: campaign rules, audience matching, delivery decisions and leads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rapport.domain.errors import Conflict, Invalid
from rapport.domain.model import MemberId, Tier
from rapport.domain.sponsored import (
    Audience,
    CampaignState,
    LeadForm,
    Profile,
    Question,
    RecipientFacts,
    SkipReason,
    check_audience,
    check_buttons,
    check_campaign,
    check_launch,
    check_lead,
    check_lead_form,
    check_url,
    delivery_decision,
    fold,
    frequency_cutoff,
    matches,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BUTTON = [("Learn more", "https://example.com/offer")]


def code_of(excinfo: pytest.ExceptionInfo[Exception]) -> str:
    return getattr(excinfo.value, "code", "")


def campaign(**overrides: object) -> object:
    values: dict[str, object] = {"name": "Spring", "subject": "Hello", "body": "Read this", "buttons": BUTTON}
    values.update(overrides)
    return check_campaign(**values)  # type: ignore[arg-type]


# --- campaign validation ----------------------------------------------------------------


def test_a_campaign_of_exact_limits_is_accepted_and_trimmed() -> None:
    spec = check_campaign(name=" Spring ", subject="s" * 60, body="b" * 1500, buttons=[(" Go ", "https://a.example")])
    assert spec.name == "Spring" and len(spec.subject) == 60 and len(spec.body) == 1500
    assert [(b.id, b.label) for b in spec.buttons] == [("1", "Go")]
    assert spec.audience == Audience() and spec.lead_form is None


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"subject": "s" * 61}, "subject_too_long"),
        ({"subject": "  "}, "subject_required"),
        ({"body": "b" * 1501}, "body_too_long"),
        ({"body": " "}, "body_required"),
        ({"name": ""}, "name_required"),
        ({"name": "n" * 101}, "name_too_long"),
        ({"buttons": []}, "invalid_button_count"),
        ({"buttons": BUTTON * 3}, "invalid_button_count"),
        ({"buttons": [("l" * 21, "https://a.example")]}, "button_label_too_long"),
        ({"buttons": [(" ", "https://a.example")]}, "button_label_required"),
        ({"buttons": [("Go", "http://a.example")]}, "invalid_button_url"),
        ({"body": "a\x00b"}, "invalid_text"),
        ({"subject": "a\ud800"}, "invalid_text"),
    ],
)
def test_a_campaign_breaking_a_rule_is_refused_with_its_code(overrides: dict[str, object], code: str) -> None:
    with pytest.raises(Invalid) as excinfo:
        campaign(**overrides)
    assert code_of(excinfo) == code


def test_two_buttons_get_ids_one_and_two() -> None:
    buttons = check_buttons([("A", "https://a.example"), ("B", "https://b.example/x?y=1")])
    assert [(b.id, b.label, b.url) for b in buttons] == [
        ("1", "A", "https://a.example"),
        ("2", "B", "https://b.example/x?y=1"),
    ]


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "https://", "ftp://a.example", "https://a b.example", "https://a.example/\nx", "x" * 10],
)
def test_only_https_urls_with_a_host_are_button_targets(url: str) -> None:
    with pytest.raises(Invalid) as excinfo:
        check_url(url)
    assert code_of(excinfo) == "invalid_button_url"


def test_a_very_long_url_is_refused() -> None:
    with pytest.raises(Invalid):
        check_url("https://a.example/" + "x" * 2000)


def test_a_lead_form_takes_known_profile_fields_once_and_questions() -> None:
    form = check_lead_form(["name", "email", "name"], [("role", " Your role ", True), ("team_size", "Team", False)])
    assert form.profile_fields == ("name", "email")
    assert form.questions == (Question("role", "Your role", True), Question("team_size", "Team", False))


@pytest.mark.parametrize(
    ("fields", "questions", "code"),
    [
        (["phone"], [], "unknown_profile_field"),
        ([], [], "empty_lead_form"),
        ([], [("Role", "x", True)], "invalid_question_id"),
        ([], [("email", "x", True)], "invalid_question_id"),
        ([], [("a", "x", True), ("a", "y", True)], "invalid_question_id"),
        ([], [("a", " ", True)], "invalid_question_label"),
        ([], [("a", "x" * 201, True)], "invalid_question_label"),
        ([], [(f"q{i}", "x", True) for i in range(11)], "too_many_questions"),
    ],
)
def test_a_bad_lead_form_is_refused(fields: list[str], questions: list[tuple[str, str, bool]], code: str) -> None:
    with pytest.raises(Invalid) as excinfo:
        check_lead_form(fields, questions)
    assert code_of(excinfo) == code


def test_an_audience_drops_blanks_and_duplicates() -> None:
    audience = check_audience(
        industries=["Software", " Software", " "], tiers=["free", "free"], headline_keywords=["python"]
    )
    assert audience == Audience(industries=("Software",), tiers=(Tier.FREE,), headline_keywords=("python",))


@pytest.mark.parametrize(
    "criteria",
    [{"tiers": ["gold"]}, {"industries": ["x" * 201]}, {"locations": [str(i) for i in range(51)]}],
)
def test_a_bad_audience_is_refused(criteria: dict[str, list[str]]) -> None:
    with pytest.raises(Invalid) as excinfo:
        check_audience(**criteria)
    assert code_of(excinfo) == "invalid_audience"


# --- audience matching ------------------------------------------------------------------

DEV = Profile(industry="Software", location="Berlin", tier=Tier.FREE, headline="Senior Python engineer")


def test_an_empty_audience_is_everyone() -> None:
    assert matches(Audience(), DEV)
    assert matches(Audience(), Profile("", "", Tier.PREMIUM_BUSINESS, ""))


def test_industry_and_location_match_ignoring_ascii_case_and_spaces() -> None:
    assert matches(Audience(industries=("software ",), locations=("BERLIN",)), DEV)
    assert not matches(Audience(industries=("Banking",)), DEV)
    assert not matches(Audience(locations=("Paris", "Lyon")), DEV)


def test_tiers_must_include_the_members_tier() -> None:
    assert matches(Audience(tiers=(Tier.FREE, Tier.PREMIUM_CAREER)), DEV)
    assert not matches(Audience(tiers=(Tier.PREMIUM_BUSINESS,)), DEV)


def test_one_headline_keyword_is_enough() -> None:
    assert matches(Audience(headline_keywords=("rust", "PYTHON")), DEV)
    assert not matches(Audience(headline_keywords=("rust",)), DEV)


def test_every_criterion_must_hold() -> None:
    assert not matches(Audience(industries=("Software",), headline_keywords=("rust",)), DEV)


def test_fold_lowers_ascii_letters_only() -> None:
    assert fold(" ÉCOLE Zürich ") == "École zürich"


# --- delivery decisions -----------------------------------------------------------------

CUTOFF = frequency_cutoff(NOW, 45)


def facts(**overrides: object) -> RecipientFacts:
    values: dict[str, object] = {
        "member_id": MemberId(2),
        "sponsored_messages": True,
        "blocked": False,
        "last_sponsored_at": None,
    }
    values.update(overrides)
    return RecipientFacts(**values)  # type: ignore[arg-type]


def test_the_cutoff_is_the_interval_before_now() -> None:
    assert NOW - timedelta(days=45) == CUTOFF


def test_a_member_who_never_got_one_and_allows_them_is_delivered() -> None:
    assert delivery_decision(facts(), advertiser=MemberId(1), cutoff=CUTOFF) is None


def test_a_member_who_got_one_before_the_interval_is_delivered() -> None:
    older = facts(last_sponsored_at=CUTOFF)
    assert delivery_decision(older, advertiser=MemberId(1), cutoff=CUTOFF) is None


def test_a_member_who_got_one_within_the_interval_is_skipped() -> None:
    recent = facts(last_sponsored_at=CUTOFF + timedelta(seconds=1))
    assert delivery_decision(recent, advertiser=MemberId(1), cutoff=CUTOFF) is SkipReason.FREQUENCY_CAP


def test_an_opted_out_member_is_skipped() -> None:
    assert delivery_decision(facts(sponsored_messages=False), advertiser=MemberId(1), cutoff=CUTOFF) is (
        SkipReason.OPTED_OUT
    )


def test_a_block_either_way_skips_before_anything_else() -> None:
    both = facts(blocked=True, sponsored_messages=False)
    assert delivery_decision(both, advertiser=MemberId(1), cutoff=CUTOFF) is SkipReason.BLOCKED


def test_the_advertiser_never_gets_their_own_campaign() -> None:
    assert delivery_decision(facts(member_id=MemberId(1)), advertiser=MemberId(1), cutoff=CUTOFF) is (
        SkipReason.ADVERTISER
    )


def test_only_a_draft_launches() -> None:
    check_launch(CampaignState.DRAFT)
    for state in (CampaignState.SENDING, CampaignState.SENT):
        with pytest.raises(Conflict) as excinfo:
            check_launch(state)
        assert code_of(excinfo) == "campaign_already_launched"


# --- leads ------------------------------------------------------------------------------

FORM = LeadForm(("name", "email"), (Question("role", "Your role"), Question("note", "Anything else?", False)))
PROFILE = {"name": "Ada Lovelace", "email": "ada@example.com", "headline": "Analyst"}


def test_left_out_profile_fields_come_from_the_profile() -> None:
    assert check_lead(FORM, {"role": "CTO"}, PROFILE) == {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "role": "CTO",
        "note": "",
    }


def test_a_member_may_edit_a_prefilled_field() -> None:
    lead = check_lead(FORM, {"email": " ada@work.example ", "role": "CTO", "note": "call me"}, PROFILE)
    assert lead["email"] == "ada@work.example" and lead["note"] == "call me"


def test_a_profile_field_missing_from_the_profile_is_empty() -> None:
    assert check_lead(LeadForm(("location",)), {}, PROFILE) == {"location": ""}


@pytest.mark.parametrize(
    ("answers", "code"),
    [
        ({"role": "  "}, "lead_answer_required"),
        ({}, "lead_answer_required"),
        ({"role": "x", "email": " "}, "lead_answer_required"),
        ({"role": "x", "salary": "1"}, "unknown_lead_field"),
        ({"role": "x" * 1001}, "lead_answer_too_long"),
        ({"role": "\x00"}, "invalid_text"),
    ],
)
def test_a_bad_lead_is_refused(answers: dict[str, str], code: str) -> None:
    with pytest.raises(Invalid) as excinfo:
        check_lead(FORM, answers, PROFILE)
    assert code_of(excinfo) == code


def test_a_campaign_without_a_form_takes_no_lead() -> None:
    with pytest.raises(Conflict) as excinfo:
        check_lead(None, {}, PROFILE)
    assert code_of(excinfo) == "no_lead_form"
