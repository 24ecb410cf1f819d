"""Sponsored messages (DESIGN §2): what a campaign may say, whom it reaches, and what a lead holds.

A campaign is checked whole before it is stored, so a draft is always launchable:

- `subject` at most 60 characters, `body` at most 1,500, neither blank;
- 1 or 2 buttons, each a label of at most 20 characters and an `https://` URL with a host;
- an optional lead form: profile fields from a fixed list (`PROFILE_FIELDS`), plus custom
  questions with an id (a short slug, unique, not a profile field's name) and a label;
- an audience by industries, locations, tiers and headline keywords; an empty audience is
  everyone.

Delivery decides per member, in this order (`delivery_decision`):

1. The advertiser themself -> skipped (`advertiser`).
2. Either blocked the other -> skipped (`blocked`).
3. `sponsored_messages` switched off -> skipped (`opted_out`).
4. A sponsored message received within the interval (45 days by default) -> skipped (`frequency_cap`).
5. Otherwise delivered.

Text comparisons fold ASCII letters only (`fold`): the store compares the same way on
SQLite and PostgreSQL, so the audience a COUNT shows is the audience delivery reaches.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from rapport.domain.errors import Conflict, Invalid
from rapport.domain.model import MemberId, Tier

NAME_MAX = 100
SUBJECT_MAX = 60
BODY_MAX = 1_500
BUTTONS_MIN, BUTTONS_MAX = 1, 2
LABEL_MAX = 20
URL_MAX = 2_000
QUESTIONS_MAX = 10
QUESTION_LABEL_MAX = 200
AUDIENCE_VALUES_MAX = 50
AUDIENCE_VALUE_MAX = 200
ANSWER_MAX = 1_000
INTERVAL_DAYS_DEFAULT = 45

PROFILE_FIELDS = ("name", "headline", "industry", "location", "email")
"""Profile fields a lead form may ask for; each is pre-filled from the member's profile."""

_QUESTION_ID = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class CampaignState(StrEnum):
    DRAFT = "draft"
    SENDING = "sending"
    SENT = "sent"


class SkipReason(StrEnum):
    ADVERTISER = "advertiser"
    BLOCKED = "blocked"
    OPTED_OUT = "opted_out"
    FREQUENCY_CAP = "frequency_cap"


@dataclass(frozen=True, slots=True)
class Button:
    id: str
    label: str
    url: str


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    label: str
    required: bool = True


@dataclass(frozen=True, slots=True)
class LeadForm:
    profile_fields: tuple[str, ...] = ()
    questions: tuple[Question, ...] = ()


@dataclass(frozen=True, slots=True)
class Audience:
    """Who a campaign targets; every empty criterion matches everyone."""

    industries: tuple[str, ...] = ()
    locations: tuple[str, ...] = ()
    tiers: tuple[Tier, ...] = ()
    headline_keywords: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CampaignSpec:
    """A campaign as checked: what the store keeps for a draft."""

    name: str
    subject: str
    body: str
    buttons: tuple[Button, ...]
    lead_form: LeadForm | None = None
    audience: Audience = field(default_factory=Audience)


@dataclass(frozen=True, slots=True)
class Profile:
    """The profile attributes an audience looks at."""

    industry: str
    location: str
    tier: Tier
    headline: str


@dataclass(frozen=True, slots=True)
class RecipientFacts:
    """What delivery needs to know about one member of the audience."""

    member_id: MemberId
    sponsored_messages: bool
    blocked: bool
    """Either the member or the advertiser blocked the other."""
    last_sponsored_at: datetime | None


def fold(text: str) -> str:
    """Trimmed, ASCII letters lower-cased: how audience values and profiles are compared."""
    return text.strip().translate(_ASCII_LOWER)


def check_storable(*values: str) -> None:
    """NUL and lone surrogates cannot be stored as text: such input is refused up front."""
    for value in values:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Invalid("Text may not contain lone surrogates.", code="invalid_text") from None
        if "\x00" in value:
            raise Invalid("Text may not contain NUL characters.", code="invalid_text")


def _text(value: str, *, what: str, limit: int, code: str) -> str:
    check_storable(value)
    value = value.strip()
    if not value:
        raise Invalid(f"A campaign needs a {what}.", code=f"{code}_required")
    if len(value) > limit:
        raise Invalid(f"A campaign {what} may have at most {limit:,} characters.", code=f"{code}_too_long")
    return value


def check_url(url: str) -> str:
    """A button's target: an absolute https URL with a host, and nothing that could run script."""
    url = url.strip()
    parts = urlsplit(url) if len(url) <= URL_MAX and url.isprintable() and " " not in url else None
    if parts is None or parts.scheme != "https" or not parts.hostname:
        raise Invalid("A button's URL must be an https:// address.", code="invalid_button_url")
    return url


def check_buttons(buttons: Sequence[tuple[str, str]]) -> tuple[Button, ...]:
    """1 or 2 buttons of (label, url); their ids are their positions, "1" and "2"."""
    if not BUTTONS_MIN <= len(buttons) <= BUTTONS_MAX:
        raise Invalid(
            f"A campaign has {BUTTONS_MIN} or {BUTTONS_MAX} buttons.",
            code="invalid_button_count",
        )
    checked = []
    for position, (label, url) in enumerate(buttons, start=1):
        check_storable(label)
        label = label.strip()
        if not label:
            raise Invalid("A button needs a label.", code="button_label_required")
        if len(label) > LABEL_MAX:
            raise Invalid(f"A button label may have at most {LABEL_MAX} characters.", code="button_label_too_long")
        checked.append(Button(id=str(position), label=label, url=check_url(url)))
    return tuple(checked)


def check_lead_form(profile_fields: Sequence[str], questions: Sequence[tuple[str, str, bool]]) -> LeadForm:
    """Known profile fields (each once) and custom questions of (id, label, required)."""
    unknown = [f for f in profile_fields if f not in PROFILE_FIELDS]
    if unknown:
        raise Invalid(
            f"Unknown profile field {unknown[0]!r}: choose from {', '.join(PROFILE_FIELDS)}.",
            code="unknown_profile_field",
        )
    if len(questions) > QUESTIONS_MAX:
        raise Invalid(f"A lead form has at most {QUESTIONS_MAX} questions.", code="too_many_questions")
    seen: set[str] = set()
    checked = []
    for qid, label, required in questions:
        if not _QUESTION_ID.match(qid) or qid in PROFILE_FIELDS or qid in seen:
            raise Invalid(
                "A question id is a unique lower-case slug (a-z, 0-9, _) that is not a profile field.",
                code="invalid_question_id",
            )
        seen.add(qid)
        check_storable(label)
        label = label.strip()
        if not label or len(label) > QUESTION_LABEL_MAX:
            raise Invalid(
                f"A question needs a label of at most {QUESTION_LABEL_MAX} characters.",
                code="invalid_question_label",
            )
        checked.append(Question(qid, label, required))
    fields = tuple(dict.fromkeys(profile_fields))
    if not fields and not checked:
        raise Invalid("A lead form asks for at least one field or question.", code="empty_lead_form")
    return LeadForm(fields, tuple(checked))


def check_audience(
    *,
    industries: Sequence[str] = (),
    locations: Sequence[str] = (),
    tiers: Sequence[str] = (),
    headline_keywords: Sequence[str] = (),
) -> Audience:
    """Each criterion at most 50 values of at most 200 characters; blanks are dropped."""

    def values(items: Sequence[str], what: str) -> tuple[str, ...]:
        check_storable(*items)
        kept = tuple(dict.fromkeys(v.strip() for v in items if v.strip()))
        if len(kept) > AUDIENCE_VALUES_MAX or any(len(v) > AUDIENCE_VALUE_MAX for v in kept):
            raise Invalid(
                f"An audience names at most {AUDIENCE_VALUES_MAX} {what} of at most {AUDIENCE_VALUE_MAX} characters.",
                code="invalid_audience",
            )
        return kept

    known = {t.value for t in Tier}
    bad = [t for t in tiers if t not in known]
    if bad:
        raise Invalid(f"Unknown tier {bad[0]!r}: choose from {', '.join(sorted(known))}.", code="invalid_audience")
    return Audience(
        industries=values(industries, "industries"),
        locations=values(locations, "locations"),
        tiers=tuple(Tier(t) for t in dict.fromkeys(tiers)),
        headline_keywords=values(headline_keywords, "keywords"),
    )


def check_campaign(
    *,
    name: str,
    subject: str,
    body: str,
    buttons: Sequence[tuple[str, str]],
    lead_form: LeadForm | None = None,
    audience: Audience | None = None,
) -> CampaignSpec:
    """The whole campaign, or the first rule it breaks."""
    check_storable(body)
    body = body.strip()
    if not body:
        raise Invalid("A campaign needs a body.", code="body_required")
    if len(body) > BODY_MAX:
        raise Invalid(f"A campaign body may have at most {BODY_MAX:,} characters.", code="body_too_long")
    return CampaignSpec(
        name=_text(name, what="name", limit=NAME_MAX, code="name"),
        subject=_text(subject, what="subject", limit=SUBJECT_MAX, code="subject"),
        body=body,
        buttons=check_buttons(buttons),
        lead_form=lead_form,
        audience=audience or Audience(),
    )


def matches(audience: Audience, profile: Profile) -> bool:
    """Does the profile fall in the audience? Every non-empty criterion must hold:

    - industry and location equal one of the listed values (ASCII case ignored);
    - tier is one of the listed tiers;
    - the headline contains at least one of the keywords (ASCII case ignored).
    """
    if audience.industries and fold(profile.industry) not in {fold(v) for v in audience.industries}:
        return False
    if audience.locations and fold(profile.location) not in {fold(v) for v in audience.locations}:
        return False
    if audience.tiers and profile.tier not in audience.tiers:
        return False
    headline = fold(profile.headline)
    return not audience.headline_keywords or any(fold(k) in headline for k in audience.headline_keywords)


def frequency_cutoff(now: datetime, interval_days: int) -> datetime:
    """A member who received a sponsored message after this instant gets no other yet."""
    return now - timedelta(days=interval_days)


def delivery_decision(facts: RecipientFacts, *, advertiser: MemberId, cutoff: datetime) -> SkipReason | None:
    """None to deliver, else why this member is skipped (the order of the module's docstring)."""
    if facts.member_id == advertiser:
        return SkipReason.ADVERTISER
    if facts.blocked:
        return SkipReason.BLOCKED
    if not facts.sponsored_messages:
        return SkipReason.OPTED_OUT
    if facts.last_sponsored_at is not None and facts.last_sponsored_at > cutoff:
        return SkipReason.FREQUENCY_CAP
    return None


def check_launch(state: CampaignState) -> None:
    """Only a draft launches; a campaign sending or sent is never sent again."""
    if state is not CampaignState.DRAFT:
        raise Conflict("This campaign was already launched.", code="campaign_already_launched")


def check_lead(form: LeadForm | None, answers: Mapping[str, str], profile: Mapping[str, str]) -> dict[str, str]:
    """The lead as stored: every field of the form, in the form's order.

    - Only the form's profile fields and question ids may be answered.
    - A profile field the member left out is taken from their profile; one they sent is
      their edit of it, and must not be blank.
    - A required question must be answered with something other than blanks.
    - Every answer has at most 1,000 characters.
    """
    if form is None:
        raise Conflict("This campaign has no lead form.", code="no_lead_form")
    known = set(form.profile_fields) | {q.id for q in form.questions}
    unknown = sorted(k for k in answers if k not in known)
    if unknown:
        raise Invalid(f"{unknown[0]!r} is not a field of this form.", code="unknown_lead_field")
    check_storable(*answers.values())
    if any(len(v) > ANSWER_MAX for v in answers.values()):
        raise Invalid(f"An answer may have at most {ANSWER_MAX:,} characters.", code="lead_answer_too_long")
    lead: dict[str, str] = {}
    for name in form.profile_fields:
        value = answers[name].strip() if name in answers else profile.get(name, "")
        if name in answers and not value:
            raise Invalid(f"{name!r} may not be blank.", code="lead_answer_required")
        lead[name] = value
    for question in form.questions:
        value = answers.get(question.id, "").strip()
        if question.required and not value:
            raise Invalid(f"{question.label!r} needs an answer.", code="lead_answer_required")
        lead[question.id] = value
    return lead
