"""The automatic eligibility rules of a call (SPEC §5).

Each rule is a small pure function: it takes the application (``Applicant``) and the call's
parameters (``CallRules``) and returns a ``RuleResult`` — pass, fail or needs review — with a
sentence the applicant understands, as a message id with its values (``workflows.refusal``)
said in the reader's language where it is shown. The parameters come from the call and from
its kind's vocabulary (the organisation types it accepts and reviews, where other types are
pointed, the commitments it asks for). The operations layer builds the inputs from the
database and stores the results; a coordinator takes the decision.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from workflows.countries import EU_MEMBER_STATES, country_name, normalise_country
from workflows.refusal import (
    N_,
    Country,
    LowerTerm,
    Refusal,
    Term,
    listing,
    refusal,
    render,
    terms,
)
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
    #: a sentence the applicant understands: a message id and its values, said where shown
    reason: Refusal | str
    #: the call kind the applicant should apply to instead, when the rule points elsewhere
    refer_to: str = ""

    @property
    def message(self) -> str:
        """The sentence in English, as the programme states times."""
        return english(self.reason)


def english(reason: Refusal | str) -> str:
    """A verdict's sentence in English, its times as the programme states them."""
    if isinstance(reason, str):
        return reason
    return render(reason, lambda s: s, brussels_time)


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


def _result(slug: str, verdict: Verdict, code: str, msgid: str, refer_to: str = "",
            **params: Any) -> RuleResult:
    """A verdict whose sentence is ``msgid`` (marked with ``N_`` where written)."""
    return RuleResult(rule=slug, title=TITLES[slug], verdict=verdict,
                      reason=refusal(code, msgid, **params), refer_to=refer_to)


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


def _type_label(org_type: str, lower: bool = False) -> str:
    """An organisation type's label, translated where shown."""
    label = ORGANISATION_TYPES.get(org_type)
    if label is None:
        return org_type or (LowerTerm if lower else Term)(N_("not given"))
    return (LowerTerm if lower else Term)(label)


def check_country(applicant: Applicant, call: CallRules) -> RuleResult:
    """Rule 1: the organisation is in one of the call's eligible countries."""
    country = normalise_country(applicant.country)
    eligible = {normalise_country(c) for c in call.eligible_countries}
    eu_call = eligible == set(EU_MEMBER_STATES)
    if country in eligible:
        if eu_call:
            return _result("country", Verdict.PASS, "in_eu",
                           N_("%(name)s is in %(country)s, an EU member state."),
                           name=applicant.name, country=Country(country))
        return _result("country", Verdict.PASS, "in_eligible_country",
                       N_("%(name)s is in %(country)s, an eligible country of this call."),
                       name=applicant.name, country=Country(country))
    # "Other" was the forms' choice for a country outside the list.
    unnamed = country.casefold() in ("", "other")
    if eu_call:
        if unnamed:
            return _result("country", Verdict.FAIL, "outside_eu", N_(
                "Your organisation's country is not an EU member state; only organisations in "
                "the 27 EU member states can apply to this call."))
        return _result("country", Verdict.FAIL, "outside_eu", N_(
            "%(country)s is not an EU member state; only organisations in the 27 EU member "
            "states can apply to this call."), country=Country(country))
    listed = listing(Country(c) for c in sorted(call.eligible_countries, key=country_name))
    if unnamed:
        return _result("country", Verdict.FAIL, "outside_eligible_countries", N_(
            "Your organisation's country is not among this call's eligible countries "
            "(%(countries)s)."), countries=listed)
    return _result("country", Verdict.FAIL, "outside_eligible_countries", N_(
        "%(country)s is not among this call's eligible countries (%(countries)s)."),
        country=Country(country), countries=listed)


def check_organisation_type(applicant: Applicant, call: CallRules) -> RuleResult:
    """Rule 2: a type of organisation the call accepts; a metropolitan or inter-municipal body
    goes to a coordinator, and a type another kind of call accepts is pointed there."""
    kind = applicant.org_type
    if kind in call.allowed_types:
        return _result("organisation_type", Verdict.PASS, "type_accepted",
                       N_("%(type)s is a type of organisation this call accepts."),
                       type=_type_label(kind))
    if kind in call.review_types:
        return _result("organisation_type", Verdict.REVIEW, "type_reviewed", N_(
            "A %(type)s is not named among this call's applicants; a coordinator will check "
            "whether %(name)s can apply as an urban authority, or as a group of municipalities "
            "with a lead urban authority."), type=_type_label(kind, lower=True),
            name=applicant.name)
    if kind in call.referrals:
        other, call_name = call.referrals[kind]
        return _result("organisation_type", Verdict.FAIL, "type_referred", N_(
            "A %(type)s cannot apply to this call; %(name)s should apply to %(call)s instead."),
            refer_to=other, type=_type_label(kind, lower=True), name=applicant.name,
            call=Term(call_name))
    return _result("organisation_type", Verdict.FAIL, "type_refused", N_(
        "This call accepts only these types of organisation: %(accepted)s; yours is: "
        "%(type)s."), accepted=listing(_type_label(t, lower=True) for t in call.allowed_types),
        type=_type_label(kind, lower=True))


def check_population(applicant: Applicant, call: CallRules) -> RuleResult:
    """Rule 3: population more than the call's threshold; for a group, the members' total.

    Seed 003 only encourages cities of more than the threshold to apply, so a smaller city goes
    to a coordinator unless the call makes the threshold a condition; a group is eligible "only
    if their total population still exceeds" it.
    """
    threshold = call.population_threshold
    if applicant.org_type == "group":
        return _group_population_result(applicant, call)
    if applicant.population is None:
        return _result("population", Verdict.REVIEW, "population_unknown", N_(
            "The population of %(name)s is not given; a coordinator will check it against the "
            "threshold of %(threshold)s inhabitants."), name=applicant.name, threshold=threshold)
    said = {"name": applicant.name, "population": applicant.population, "threshold": threshold}
    if applicant.population > threshold:
        return _result("population", Verdict.PASS, "population_above", N_(
            "%(name)s has %(population)s inhabitants, more than this call's threshold of "
            "%(threshold)s."), **said)
    if call.population_below == "fail":
        return _result("population", Verdict.FAIL, "population_below", N_(
            "%(name)s has %(population)s inhabitants, not more than this call's threshold of "
            "%(threshold)s; this call accepts only cities of more than %(threshold)s "
            "inhabitants. A group of municipalities that together exceed it may apply."),
            **said)
    return _result("population", Verdict.REVIEW, "population_below", N_(
        "%(name)s has %(population)s inhabitants, not more than this call's threshold of "
        "%(threshold)s. The programme encourages cities of more than %(threshold)s inhabitants "
        "to apply, so a coordinator will decide whether %(name)s can take part. A group of "
        "municipalities that together exceed the threshold may also apply."), **said)


def _group_population_result(applicant: Applicant, call: CallRules) -> RuleResult:
    threshold = call.population_threshold
    if not applicant.members:
        return _result("population", Verdict.REVIEW, "population_unknown", N_(
            "The group lists no member municipalities, so its population is not known; a "
            "coordinator will check it against %(threshold)s inhabitants."), threshold=threshold)
    total = group_population(applicant)
    known = sum(m.population or 0 for m in applicant.members)
    if total is None and known <= threshold:
        return _result("population", Verdict.REVIEW, "population_unknown", N_(
            "The population of %(unknown)s is not given; the other members total %(known)s "
            "inhabitants. A coordinator will check the group against the threshold of "
            "%(threshold)s."), threshold=threshold, known=known,
            unknown=listing(m.name for m in applicant.members if m.population is None))
    # A member and its population: a pattern, not a sentence, so not offered for translation.
    parts = listing(refusal("member", "%(name)s %(population)s", name=m.name,
                            population=m.population)
                    for m in applicant.members if m.population is not None)
    said = {"known": known, "parts": parts, "threshold": threshold}
    # With some members unknown, the known ones alone may already reach the threshold.
    if known > threshold:
        if total is not None:
            return _result("population", Verdict.PASS, "population_above", N_(
                "The group's members total %(known)s inhabitants (%(parts)s), more than this "
                "call's threshold of %(threshold)s."), **said)
        return _result("population", Verdict.PASS, "population_above", N_(
            "The members with a known population total %(known)s inhabitants (%(parts)s), "
            "more than this call's threshold of %(threshold)s."), **said)
    return _result("population", Verdict.FAIL, "population_below", N_(
        "The group's members total %(known)s inhabitants (%(parts)s), not more than this "
        "call's threshold of %(threshold)s; a group must total more than it."), **said)


def check_group_commitment(applicant: Applicant, call: CallRules) -> RuleResult:
    """Rule 4: a group has one lead urban authority with a named administrative contact, and
    every other member's commitment."""
    if applicant.org_type != "group":
        return _result("group_commitment", Verdict.PASS, "not_a_group",
                       N_("Not a group — does not apply."))
    problems: list[Refusal] = []
    members = applicant.members
    if len(members) < 2:
        problems.append(refusal("too_few_members", N_(
            "A group needs at least two member municipalities; %(count)s listed."),
            count=len(members)))
    leads = [m.name for m in members if m.is_lead]
    if not leads:
        problems.append(refusal("no_lead", N_("Name one member as the lead urban authority.")))
    elif len(leads) > 1:
        problems.append(refusal("several_leads", N_(
            "Only one member can be the lead urban authority, not %(leads)s."),
            leads=listing(leads)))
    if not applicant.lead_contact_name.strip():
        problems.append(refusal("no_contact", N_(
            "Name the lead urban authority's administrative contact.")))
    if not applicant.lead_contact_email.strip():
        problems.append(refusal("no_contact_email", N_(
            "Give the administrative contact's e-mail address.")))
    missing = [m.name for m in members if not m.is_lead and not m.commitment]
    if missing:
        problems.append(refusal("commitment_missing", N_(
            "Upload a commitment letter or record a declaration for %(members)s."),
            members=listing(missing)))
    if problems:
        return _result("group_commitment", Verdict.FAIL, "group_incomplete", "%(problems)s",
                       problems=terms(problems, " "))
    return _result("group_commitment", Verdict.PASS, "group_complete", N_(
        "%(lead)s leads the group with %(contact)s as administrative contact, and every other "
        "member has committed."), lead=leads[0], contact=applicant.lead_contact_name.strip())


def check_commitments(applicant: Applicant, call: CallRules) -> RuleResult:
    """Rule 5: the call's commitments are declared and the staff time and resources stated."""
    months = call.cooperation_months
    missing = [refusal(c.key, c.label, n=months) for c in call.commitments
               if not applicant.commitments.get(c.key)]
    resources = applicant.resources_committed.strip()
    problems: list[Refusal] = []
    if missing:
        problems.append(refusal("commitments_missing", N_(
            "Declare these commitments: %(commitments)s."), commitments=terms(missing, "; ")))
    if not resources:
        problems.append(refusal("resources_missing", N_(
            "State the staff time and resources you will allocate.")))
    if problems:
        return _result("commitments", Verdict.FAIL, "commitments_incomplete", "%(problems)s",
                       problems=terms(problems, " "))
    if len(resources) < MIN_RESOURCES_STATEMENT:
        return _result("commitments", Verdict.REVIEW, "resources_short", N_(
            'All commitments are declared, but the statement of staff time and resources '
            '("%(resources)s") is very short; a coordinator will check it.'),
            resources=resources)
    return _result("commitments", Verdict.PASS, "commitments_complete", N_(
        "All commitments are declared and the staff time and resources are stated."))


def check_deadline(applicant: Applicant, call: CallRules) -> RuleResult:
    """Rule 6: submitted while the call was open, or within the applicant's extension."""
    closes = _utc(call.closes_at) if call.closes_at else None
    extension = _utc(applicant.extension_until) if applicant.extension_until else None
    if applicant.submitted_at is None:
        due = extension if extension and (closes is None or extension > closes) else closes
        if due:
            return _result("deadline", Verdict.REVIEW, "not_submitted",
                           N_("Not yet submitted; the deadline is %(deadline)s."), deadline=due)
        return _result("deadline", Verdict.REVIEW, "not_submitted", N_("Not yet submitted."))
    on = _utc(applicant.submitted_at)
    if call.opens_at and on < _utc(call.opens_at):
        return _result("deadline", Verdict.FAIL, "before_opening", N_(
            "Submitted on %(submitted)s, before the call opened on %(opens)s."),
            submitted=on, opens=_utc(call.opens_at))
    if closes is None:
        return _result("deadline", Verdict.PASS, "on_time", N_(
            "Submitted on %(submitted)s; the call has no closing date."), submitted=on)
    if on == closes:
        return _result("deadline", Verdict.PASS, "on_time", N_(
            "Submitted on %(submitted)s, exactly at the deadline of %(deadline)s."),
            submitted=on, deadline=closes)
    if on < closes:
        return _result("deadline", Verdict.PASS, "on_time", N_(
            "Submitted on %(submitted)s, before the deadline of %(deadline)s."),
            submitted=on, deadline=closes)
    if extension and on <= extension:
        return _result("deadline", Verdict.PASS, "within_extension", N_(
            "Submitted on %(submitted)s, after the call closed on %(closed)s but within your "
            "extension until %(extension)s."), submitted=on, closed=closes, extension=extension)
    if extension:
        return _result("deadline", Verdict.FAIL, "after_extension", N_(
            "Submitted on %(submitted)s, after your extension ended on %(extension)s."),
            submitted=on, extension=extension)
    return _result("deadline", Verdict.FAIL, "late", N_(
        "Submitted on %(submitted)s, after the deadline of %(deadline)s."),
        submitted=on, deadline=closes)


def check_single_application(applicant: Applicant, call: CallRules) -> RuleResult:
    """Rule 7: no other live application of the organisation for the same partner region."""
    region = applicant.partner_region.strip()
    if not applicant.other_live_applications:
        if region:
            return _result("single_application", Verdict.PASS, "single", N_(
                "This is %(name)s's only application for %(region)s in this call."),
                name=applicant.name, region=Term(region))
        return _result("single_application", Verdict.PASS, "single", N_(
            "This is %(name)s's only application for the same partner region in this call."),
            name=applicant.name)
    others = listing(applicant.other_live_applications)
    if region:
        return _result("single_application", Verdict.FAIL, "several", N_(
            "%(name)s already has a live application for %(region)s in this call "
            "(%(others)s); withdraw one of them."), name=applicant.name, region=Term(region),
            others=others)
    return _result("single_application", Verdict.FAIL, "several", N_(
        "%(name)s already has a live application for the same partner region in this call "
        "(%(others)s); withdraw one of them."), name=applicant.name, others=others)


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
