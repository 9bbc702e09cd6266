"""The automatic eligibility rules of a call (SPEC §5).

Each rule is a small pure function: it takes the application (``Applicant``) and the call's
parameters (``CallRules``) and returns a ``RuleResult`` — pass, fail or needs review — with a
sentence the applicant understands. The parameters come from the call and from its kind's
vocabulary (the organisation types it accepts and reviews, where other types are pointed, the
commitments it asks for). The operations layer builds the inputs from the database and stores
the results; a coordinator takes the decision.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from workflows.countries import EU_MEMBER_STATES, country_name, normalise_country
from workflows.vocabulary import Commitment, Vocabulary, referrals

# The programme states every deadline in Brussels time.
PROGRAMME_TZ = ZoneInfo("Europe/Brussels")


class Verdict(enum.StrEnum):
    """The outcome of one rule."""

    PASS = "pass"  # noqa: S105 — a verdict, not a password
    FAIL = "fail"
    REVIEW = "needs_review"  # the rule cannot decide alone; a coordinator looks


ORGANISATION_TYPES: dict[str, str] = {
    "city": "City or municipality",
    "group": "Group of municipalities",
    "region": "Region",
    "province": "Province or other sub-national government",
    "metropolitan": "Metropolitan or inter-municipal body",
}

# A statement of staff time and resources shorter than this is too thin to judge alone.
MIN_RESOURCES_STATEMENT = 20


def _city() -> Vocabulary:
    """The city-to-city call's vocabulary: without other parameters the rules judge a city
    call."""
    from workflows.city_to_city import VOCABULARY

    return VOCABULARY


def _city_referrals() -> dict[str, tuple[str, str]]:
    from workflows import vocabularies
    from workflows.city_to_city import WORKFLOW

    return referrals(vocabularies(), WORKFLOW.kind)


@dataclass(frozen=True)
class CallRules:
    """The eligibility parameters of one call."""

    population_threshold: int = 100_000
    #: ISO 3166-1 alpha-2 codes
    eligible_countries: tuple[str, ...] = EU_MEMBER_STATES
    allowed_types: tuple[str, ...] = ("city", "group")
    opens_at: datetime | None = None  # tz-aware UTC
    closes_at: datetime | None = None  # tz-aware UTC
    cooperation_months: int = 18
    #: the declarations the call asks for (a city call's by default)
    commitments: tuple[Commitment, ...] = field(default_factory=lambda: _city().commitments)
    #: types a coordinator judges rather than the rule (metropolitan bodies in a city call)
    review_types: tuple[str, ...] = field(default_factory=lambda: _city().review_types)
    #: type -> (call kind, how a sentence names its calls): where a refused type should apply
    referrals: Mapping[str, tuple[str, str]] = field(default_factory=lambda: _city_referrals())
    #: below the population threshold: "review" (seed 003 only encourages larger cities) or
    #: "fail" (the call makes it a condition)
    population_below: str = "review"


@dataclass(frozen=True)
class Member:
    """One municipality of a group."""

    name: str
    population: int | None
    commitment: bool  # a commitment letter uploaded or a declaration recorded
    is_lead: bool = False


@dataclass(frozen=True)
class Applicant:
    """An application as the rules see it."""

    name: str
    org_type: str  # a key of ORGANISATION_TYPES
    country: str  # an ISO 3166-1 alpha-2 code (a name is read as one)
    population: int | None  # for a city; for a group the members' total is used
    members: tuple[Member, ...] = ()
    lead_contact_name: str = ""  # named administrative contact of the lead urban authority
    lead_contact_email: str = ""
    commitments: Mapping[str, bool] = field(default_factory=dict)
    resources_committed: str = ""  # the stated staff time and resources
    submitted_at: datetime | None = None
    extension_until: datetime | None = None
    # Other live applications of the same organisation for the same partner region in this call.
    other_live_applications: tuple[str, ...] = ()
    partner_region: str = ""


@dataclass(frozen=True)
class RuleResult:
    """One rule's verdict on one application."""

    rule: str  # slug, e.g. "country"
    title: str  # short title, e.g. "Eligible country"
    verdict: Verdict
    message: str  # a sentence the applicant understands
    #: the call kind the applicant should apply to instead, when the rule points elsewhere
    refer_to: str = ""


@dataclass(frozen=True)
class Rule:
    """A named eligibility rule."""

    slug: str
    title: str
    check: Callable[[Applicant, CallRules], RuleResult]


TITLES: dict[str, str] = {
    "country": "Eligible country",
    "organisation_type": "Type of organisation",
    "population": "Population",
    "group_commitment": "Group of municipalities",
    "commitments": "Commitments declared",
    "deadline": "Submitted on time",
    "single_application": "One application per partner region",
}


def _result(slug: str, verdict: Verdict, message: str, refer_to: str = "") -> RuleResult:
    return RuleResult(rule=slug, title=TITLES[slug], verdict=verdict, message=message,
                      refer_to=refer_to)


def _number(n: int) -> str:
    return f"{n:,}"


def _listing(items: Iterable[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _utc(dt: datetime) -> datetime:
    # Some databases hand back naive datetimes; the project stores every time in UTC.
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def brussels_time(dt: datetime) -> str:
    """A moment as the programme states it, e.g. "8 March 2019 at 23:59:59 Brussels time"."""
    local = _utc(dt).astimezone(PROGRAMME_TZ)
    clock = f"{local:%H:%M:%S}" if local.second else f"{local:%H:%M}"
    return f"{local.day} {local:%B %Y} at {clock} Brussels time"


def commitment_labels(call: CallRules) -> dict[str, str]:
    """The call's commitment labels by key, with its cooperation length in their text."""
    return {c.key: c.text(call.cooperation_months) for c in call.commitments}


def group_population(applicant: Applicant) -> int | None:
    """The members' total population, or None when there are no members or one is unknown."""
    if not applicant.members or any(m.population is None for m in applicant.members):
        return None
    return sum(m.population or 0 for m in applicant.members)


def check_country(applicant: Applicant, call: CallRules) -> RuleResult:
    """Rule 1: the organisation is in one of the call's eligible countries."""
    country = normalise_country(applicant.country)
    eligible = {normalise_country(c) for c in call.eligible_countries}
    eu_call = eligible == set(EU_MEMBER_STATES)
    kind = "an EU member state" if eu_call else "an eligible country of this call"
    name = country_name(country)
    if country in eligible:
        return _result("country", Verdict.PASS, f"{applicant.name} is in {name}, {kind}.")
    # "Other" was the forms' choice for a country outside the list.
    if country.casefold() in ("", "other"):
        where = "Your organisation's country is"
    else:
        where = f"{name} is"
    if eu_call:
        return _result("country", Verdict.FAIL,
                       f"{where} not an EU member state; only organisations in the 27 EU "
                       "member states can apply to this call.")
    listed = sorted(country_name(c) for c in call.eligible_countries)
    return _result("country", Verdict.FAIL,
                   f"{where} not among this call's eligible countries ({_listing(listed)}).")


def check_organisation_type(applicant: Applicant, call: CallRules) -> RuleResult:
    """Rule 2: a type of organisation the call accepts; a metropolitan or inter-municipal body
    goes to a coordinator, and a type another kind of call accepts is pointed there."""
    label = ORGANISATION_TYPES.get(applicant.org_type, applicant.org_type or "not given")
    if applicant.org_type in call.allowed_types:
        return _result("organisation_type", Verdict.PASS,
                       f"{label} is a type of organisation this call accepts.")
    if applicant.org_type in call.review_types:
        return _result("organisation_type", Verdict.REVIEW,
                       f"A {label.lower()} is not named among this call's applicants; a "
                       f"coordinator will check whether {applicant.name} can apply as an urban "
                       "authority, or as a group of municipalities with a lead urban "
                       "authority.")
    if applicant.org_type in call.referrals:
        kind, call_name = call.referrals[applicant.org_type]
        return _result("organisation_type", Verdict.FAIL,
                       f"A {label.lower()} cannot apply to this call; {applicant.name} should "
                       f"apply to {call_name} instead.", refer_to=kind)
    accepted = _listing(ORGANISATION_TYPES.get(t, t).lower() for t in call.allowed_types)
    return _result("organisation_type", Verdict.FAIL,
                   f"This call accepts only these types of organisation: {accepted}; "
                   f"yours is: {label.lower()}.")


def check_population(applicant: Applicant, call: CallRules) -> RuleResult:
    """Rule 3: population more than the call's threshold; for a group, the members' total.

    Seed 003 only encourages cities of more than the threshold to apply, so a smaller city goes
    to a coordinator unless the call makes the threshold a condition; a group is eligible "only
    if their total population still exceeds" it.
    """
    threshold = _number(call.population_threshold)
    if applicant.org_type == "group":
        return _group_population_result(applicant, call)
    if applicant.population is None:
        return _result("population", Verdict.REVIEW,
                       f"The population of {applicant.name} is not given; a coordinator will "
                       f"check it against the threshold of {threshold} inhabitants.")
    has = f"{applicant.name} has {_number(applicant.population)} inhabitants"
    if applicant.population > call.population_threshold:
        return _result("population", Verdict.PASS,
                       f"{has}, more than this call's threshold of {threshold}.")
    if call.population_below == "fail":
        return _result("population", Verdict.FAIL,
                       f"{has}, not more than this call's threshold of {threshold}; this call "
                       f"accepts only cities of more than {threshold} inhabitants. A group of "
                       "municipalities that together exceed it may apply.")
    return _result("population", Verdict.REVIEW,
                   f"{has}, not more than this call's threshold of {threshold}. The programme "
                   f"encourages cities of more than {threshold} inhabitants to apply, so a "
                   f"coordinator will decide whether {applicant.name} can take part. A group of "
                   "municipalities that together exceed the threshold may also apply.")


def _group_population_result(applicant: Applicant, call: CallRules) -> RuleResult:
    threshold = _number(call.population_threshold)
    if not applicant.members:
        return _result("population", Verdict.REVIEW,
                       "The group lists no member municipalities, so its population is not "
                       f"known; a coordinator will check it against {threshold} inhabitants.")
    total = group_population(applicant)
    known = sum(m.population or 0 for m in applicant.members)
    if total is None and known <= call.population_threshold:
        unknown = _listing(m.name for m in applicant.members if m.population is None)
        return _result("population", Verdict.REVIEW,
                       f"The population of {unknown} is not given; the other members total "
                       f"{_number(known)} inhabitants. A coordinator will check the group "
                       f"against the threshold of {threshold}.")
    # With some members unknown, the known ones alone may already reach the threshold.
    parts = _listing(f"{m.name} {_number(m.population)}" for m in applicant.members
                     if m.population is not None)
    whose = "The group's members" if total is not None else "The members with a known population"
    totals = f"{whose} total {_number(known)} inhabitants ({parts})"
    if known > call.population_threshold:
        return _result("population", Verdict.PASS,
                       f"{totals}, more than this call's threshold of {threshold}.")
    return _result("population", Verdict.FAIL,
                   f"{totals}, not more than this call's threshold of {threshold}; a group "
                   "must total more than it.")


def check_group_commitment(applicant: Applicant, call: CallRules) -> RuleResult:
    """Rule 4: a group has one lead urban authority with a named administrative contact, and
    every other member's commitment."""
    if applicant.org_type != "group":
        return _result("group_commitment", Verdict.PASS, "Not a group — does not apply.")
    problems: list[str] = []
    members = applicant.members
    if len(members) < 2:
        problems.append(f"a group needs at least two member municipalities; {len(members)} "
                        "listed")
    leads = [m.name for m in members if m.is_lead]
    if not leads:
        problems.append("name one member as the lead urban authority")
    elif len(leads) > 1:
        problems.append(f"only one member can be the lead urban authority, not {_listing(leads)}")
    if not applicant.lead_contact_name.strip():
        problems.append("name the lead urban authority's administrative contact")
    if not applicant.lead_contact_email.strip():
        problems.append("give the administrative contact's e-mail address")
    missing = [m.name for m in members if not m.is_lead and not m.commitment]
    if missing:
        problems.append("upload a commitment letter or record a declaration for "
                        + _listing(missing))
    if problems:
        text = "; ".join(problems)
        return _result("group_commitment", Verdict.FAIL, text[0].upper() + text[1:] + ".")
    return _result("group_commitment", Verdict.PASS,
                   f"{leads[0]} leads the group with {applicant.lead_contact_name.strip()} as "
                   "administrative contact, and every other member has committed.")


def check_commitments(applicant: Applicant, call: CallRules) -> RuleResult:
    """Rule 5: the call's commitments are declared and the staff time and resources stated."""
    labels = commitment_labels(call)
    missing = [label for key, label in labels.items() if not applicant.commitments.get(key)]
    resources = applicant.resources_committed.strip()
    problems: list[str] = []
    if missing:
        problems.append("Declare these commitments: " + "; ".join(missing) + ".")
    if not resources:
        problems.append("State the staff time and resources you will allocate.")
    if problems:
        return _result("commitments", Verdict.FAIL, " ".join(problems))
    if len(resources) < MIN_RESOURCES_STATEMENT:
        return _result("commitments", Verdict.REVIEW,
                       f'All commitments are declared, but the statement of staff time and '
                       f'resources ("{resources}") is very short; a coordinator will check it.')
    return _result("commitments", Verdict.PASS,
                   "All commitments are declared and the staff time and resources are stated.")


def check_deadline(applicant: Applicant, call: CallRules) -> RuleResult:
    """Rule 6: submitted while the call was open, or within the applicant's extension."""
    closes = _utc(call.closes_at) if call.closes_at else None
    extension = _utc(applicant.extension_until) if applicant.extension_until else None
    if applicant.submitted_at is None:
        due = extension if extension and (closes is None or extension > closes) else closes
        when = f"; the deadline is {brussels_time(due)}" if due else ""
        return _result("deadline", Verdict.REVIEW, f"Not yet submitted{when}.")
    submitted = _utc(applicant.submitted_at)
    on = f"Submitted on {brussels_time(submitted)}"
    if call.opens_at and submitted < _utc(call.opens_at):
        return _result("deadline", Verdict.FAIL,
                       f"{on}, before the call opened on {brussels_time(call.opens_at)}.")
    if closes is None:
        return _result("deadline", Verdict.PASS, f"{on}; the call has no closing date.")
    if submitted <= closes:
        relation = "exactly at" if submitted == closes else "before"
        return _result("deadline", Verdict.PASS,
                       f"{on}, {relation} the deadline of {brussels_time(closes)}.")
    if extension and submitted <= extension:
        return _result("deadline", Verdict.PASS,
                       f"{on}, after the call closed on {brussels_time(closes)} but within "
                       f"your extension until {brussels_time(extension)}.")
    if extension:
        return _result("deadline", Verdict.FAIL,
                       f"{on}, after your extension ended on {brussels_time(extension)}.")
    return _result("deadline", Verdict.FAIL,
                   f"{on}, after the deadline of {brussels_time(closes)}.")


def check_single_application(applicant: Applicant, call: CallRules) -> RuleResult:
    """Rule 7: no other live application of the organisation for the same partner region."""
    region = applicant.partner_region.strip() or "the same partner region"
    if not applicant.other_live_applications:
        return _result("single_application", Verdict.PASS,
                       f"This is {applicant.name}'s only application for {region} in this call.")
    return _result("single_application", Verdict.FAIL,
                   f"{applicant.name} already has a live application for {region} in this "
                   f"call ({_listing(applicant.other_live_applications)}); withdraw one of them.")


RULES: tuple[Rule, ...] = tuple(Rule(slug, TITLES[slug], check) for slug, check in (
    ("country", check_country),
    ("organisation_type", check_organisation_type),
    ("population", check_population),
    ("group_commitment", check_group_commitment),
    ("commitments", check_commitments),
    ("deadline", check_deadline),
    ("single_application", check_single_application),
))


def evaluate(applicant: Applicant, call: CallRules) -> list[RuleResult]:
    """Every rule's result for one application, in the order of SPEC §5."""
    return [rule.check(applicant, call) for rule in RULES]


def failed(results: Iterable[RuleResult]) -> list[RuleResult]:
    """The results that failed."""
    return [r for r in results if r.verdict is Verdict.FAIL]


def summary(results: Iterable[RuleResult]) -> Verdict:
    """FAIL if any rule failed, else REVIEW if any needs review, else PASS."""
    verdicts = {r.verdict for r in results}
    if Verdict.FAIL in verdicts:
        return Verdict.FAIL
    if Verdict.REVIEW in verdicts:
        return Verdict.REVIEW
    return Verdict.PASS
