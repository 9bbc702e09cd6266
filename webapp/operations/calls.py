"""Calls: created, changed, cloned, published, closed early and archived by the coordinators
of their programme (and administrators), from the pages or the API, with the same checks.

Every change is an audit event naming the call (``AuditEvent.call_id``) with each parameter
before and after. Changing a call's eligibility rules once applications have been submitted
re-runs the rules for the cases still in review or waiting for the applicant: their new
verdicts are stored and each case's trail says why (see ``RULE_PARAMETERS``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from sqlalchemy import case as sql_case
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from webapp.access import programme_scope, sees_programme
from webapp.db import db, utcnow
from webapp.errors import Conflict, Forbidden, Invalid, NotFound, OperationError
from webapp.forms import has_control_characters
from webapp.models import (
    AuditEvent,
    Call,
    CallStatus,
    Case,
    Deadline,
    DeadlineStatus,
    Programme,
    User,
)
from webapp.models.programme import WORLD_REGIONS
from webapp.operations import audit
from webapp.operations import cases as case_ops
from webapp.operations.programmes import SLUG, timezone_problem
from webapp.richtext import clean
from workflows import city_to_city, eligibility, get_workflow, vocabulary, workflows
from workflows.countries import COUNTRY_CODES, EU_MEMBER_STATES, to_code
from workflows.engine import Anchor, StateKind
from workflows.refusal import N_, LowerTerm, Refusal, Term, listing, refusal, terms
from workflows.schedule import ScheduleRules, rules_for

#: parameters whose change alters who is eligible
RULE_PARAMETERS = ("population_threshold", "eligible_countries", "allowed_org_types")
#: the states whose cases are judged again when the rules change
RERUN_KINDS = (StateKind.REVIEW, StateKind.APPLICANT_ACTION)
MAX_TEXT = 20_000
#: the kind a new call starts as: the city-to-city call, the programme's first
DEFAULT_KIND = city_to_city.WORKFLOW.kind
MAX_THRESHOLD = 100_000_000
#: a call's status as a sentence names it
STATUS_NAMES = {CallStatus.DRAFT: N_("Draft"), CallStatus.SCHEDULED: N_("Scheduled"),
                CallStatus.OPEN: N_("Open"), CallStatus.CLOSED: N_("Closed"),
                CallStatus.ARCHIVED: N_("Archived")}
MAX_MONTHS = 60
#: the most partner cities the call-wide optimum may give one case
MAX_PARTNERS_PER_CASE = 5
#: the per-call schedule settings (``Call.settings["schedule"]``) and their allowed range;
#: None means "the month of the cooperation", checked against its length
SCHEDULE_RANGES: dict[str, tuple[int, int] | None] = {
    "work_plan_month": None, "draft_plan_month": None, "follow_up_months": (1, 36),
    "opens_days_before": (0, 180), "escalation_days": (1, 90)}
REMINDER_RANGE = (-90, 90)
MAX_REMINDERS = 8
YEAR = re.compile(r"\b(19|20)\d\d\b")


@dataclass
class CallData:
    """Every parameter of a call, as the form and the API give it.

    ``opens_at`` and ``closes_at`` are aware times, or naive local times in ``timezone``;
    an empty ``timezone`` is the programme's.
    ``schedule`` holds only the schedule settings that differ from the defaults.
    """

    programme_id: int | None
    kind: str
    title: str
    slug: str = ""
    summary: str = ""
    conditions: str = ""
    partner_regions: list[str] = field(default_factory=list)
    partner_countries: list[str] = field(default_factory=list)
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    timezone: str = ""
    population_threshold: int | None = 100_000
    eligible_countries: list[str] = field(default_factory=lambda: list(EU_MEMBER_STATES))
    allowed_org_types: list[str] = field(default_factory=lambda: ["city", "group"])
    cooperation_months: int | None = 18
    report_interval_months: int | None = 6
    #: how many partner cities the call-wide optimum may propose for one case
    max_partners_per_case: int | None = 1
    schedule: dict[str, Any] = field(default_factory=dict)


#: the parameters kept in a call's columns, in the order the audit trail lists them
COLUMNS = ("programme_id", "kind", "title", "slug", "summary", "conditions", "partner_regions",
           "partner_countries", "opens_at", "closes_at", "timezone", "population_threshold",
           "eligible_countries", "allowed_org_types", "cooperation_months",
           "report_interval_months", "max_partners_per_case")


def call_data(call: Call) -> CallData:
    """A call's current parameters, as an edit starts from them."""
    values = {name: getattr(call, name) for name in COLUMNS}
    values = {k: list(v) if isinstance(v, list) else v for k, v in values.items()}
    return CallData(**values, schedule=dict((call.settings or {}).get("schedule") or {}))


def slugify(text: str) -> str:
    """An address from a title: "IURC call 2025 – Asia" gives iurc-call-2025-asia."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "-".join(re.findall(r"[a-z0-9]+", plain.lower()))[:80].strip("-")


def local_to_utc(moment: datetime | None, zone: str) -> datetime | None:
    """An aware time as it is, a naive one read in ``zone``; both in UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment.astimezone(ZoneInfo("UTC"))


def in_zone_naive(moment: datetime, zone: str) -> datetime:
    """The wall-clock time of ``moment`` in ``zone``, without the zone (for a form's input)."""
    return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


# -- the checks ------------------------------------------------------------------------------

def _codes(values: list[str], name: str, add) -> list[str]:
    codes: list[str] = []
    for value in values:
        code = value.strip().upper() if isinstance(value, str) else ""
        if code not in COUNTRY_CODES:
            guess = to_code(value) if isinstance(value, str) else None
            if guess:
                add(name, "not_a_country", N_("“%(value)s” is not an ISO 3166-1 country code "
                                              "(two letters, e.g. FR); did you mean %(guess)s?"),
                    value=value, guess=guess)
            else:
                add(name, "not_a_country", N_("“%(value)s” is not an ISO 3166-1 country code "
                                              "(two letters, e.g. FR)."), value=value)
        elif code not in codes:
            codes.append(code)
    return codes


def _check_schedule(schedule: dict[str, Any], months: int | None, add) -> None:
    unknown = sorted(set(schedule) - set(SCHEDULE_RANGES) - {"reminder_days"})
    if unknown:
        add("schedule", "unknown_setting", N_("Unknown schedule settings: %(names)s."),
            names=", ".join(unknown))
    for key, bounds in SCHEDULE_RANGES.items():
        value = schedule.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            add(key, "not_a_number", N_("Give a whole number."))
            continue
        if bounds is None:
            if months is None:
                continue
            top = months - 1 if key == "draft_plan_month" else months
            if not 1 <= value <= top:
                add(key, "month_out_of_range", N_("Give a month from 1 to %(top)s of the "
                                                  "%(months)s-month cooperation."),
                    top=top, months=months)
        elif not bounds[0] <= value <= bounds[1]:
            add(key, "out_of_range", N_("Give a whole number from %(low)s to %(high)s."),
                low=bounds[0], high=bounds[1])
    days = schedule.get("reminder_days")
    if days is None:
        return
    low, high = REMINDER_RANGE
    if not isinstance(days, list) or any(isinstance(d, bool) or not isinstance(d, int)
                                         for d in days):
        add("reminder_days", "not_a_number", N_("Give the reminders as whole numbers of days, "
                                                "e.g. -14, -7, -1, 1."))
    elif len(days) > MAX_REMINDERS:
        add("reminder_days", "too_many", N_("Give at most %(n)s reminders."), n=MAX_REMINDERS)
    elif len(set(days)) != len(days):
        add("reminder_days", "repeated", N_("Give each reminder day once."))
    elif any(not low <= d <= high for d in days):
        add("reminder_days", "out_of_range", N_("Each reminder falls from %(before)s days "
                                                "before to %(after)s days after the due date."),
            before=-low, after=high)


def _judges_population(kind: str) -> bool:
    """Whether a call of ``kind`` takes cities, whose population its threshold judges (a
    kind of regions may set none)."""
    return kind in workflows() and "city" in vocabulary(kind).applicant_types


def with_programme_zone(session: Session, data: CallData) -> CallData:
    """``data``, in its programme's time zone when it names none (new calls start in it)."""
    if data.timezone or not data.programme_id:
        return data
    programme = session.get(Programme, data.programme_id)
    return replace(data, timezone=programme.timezone) if programme else data


def check_call(session: Session, user: User, data: CallData,
               call: Call | None = None) -> dict[str, list[Refusal]]:
    """Every problem with ``data``, by field, each a message id said where it is shown;
    empty when it can be saved."""
    errors: dict[str, list[Refusal]] = {}
    data = with_programme_zone(session, data)

    def add(name: str, code: str, msgid: str, **params: Any) -> None:
        errors.setdefault(name, []).append(refusal(code, msgid, **params))

    programme = session.get(Programme, data.programme_id) if data.programme_id else None
    if programme is None or not sees_programme(user, programme.id):
        add("programme_id", "unknown_programme", N_("Choose one of your programmes."))
    has_cases = call is not None and session.scalar(
        select(Case.id).where(Case.call_id == call.id).limit(1)) is not None
    if has_cases and data.programme_id != call.programme_id:
        add("programme_id", "has_applications",
            N_("This call has applications; it stays in its programme."))
    if data.kind not in workflows():
        add("kind", "unknown_kind", N_("Choose the kind of call: %(kinds)s."),
            kinds=terms((Term(wf.title) for wf in workflows().values()), " / "))
    elif has_cases and data.kind != call.kind:
        add("kind", "has_applications", N_("This call has applications following the "
                                           "workflow of %(kind)s; its kind cannot change."),
            kind=Term(get_workflow(call.kind).title))
    title = data.title.strip()
    if not title:
        add("title", "missing", N_("Enter the call's title."))
    elif len(title) > 300:
        add("title", "too_long", N_("Keep the title under 300 characters."))
    elif has_control_characters(title):
        add("title", "control_characters",
            N_("Remove the line breaks and other control characters from the title."))
    slug = data.slug or slugify(title)
    if title and (not slug or len(slug) > 80 or not SLUG.match(slug)):
        add("slug", "not_a_slug", N_("Use up to 80 lower-case letters, digits and hyphens, "
                                     "e.g. iurc-latin-america-2025."))
    elif slug and session.scalar(select(Call.id).where(
            Call.slug == slug, Call.id != (call.id if call else -1))):
        add("slug", "taken", N_("Another call already has the address “%(slug)s”."),
            slug=slug)
    for name in ("summary", "conditions"):
        if len(getattr(data, name) or "") > MAX_TEXT:
            add(name, "too_long", N_("Keep this under %(n)s characters."), n=MAX_TEXT)
    if not data.partner_regions:
        add("partner_regions", "missing", N_("Offer at least one partner region."))
    for region in data.partner_regions:
        if region not in WORLD_REGIONS:
            add("partner_regions", "not_a_region",
                N_("“%(region)s” is not a world region; use %(regions)s."), region=region,
                regions=terms(Term(r) for r in WORLD_REGIONS))
    _codes(data.partner_countries, "partner_countries", add)
    problem = timezone_problem(data.timezone)
    if problem:
        errors.setdefault("timezone", []).append(problem)
    zone = data.timezone if not problem else "UTC"
    opens, closes = local_to_utc(data.opens_at, zone), local_to_utc(data.closes_at, zone)
    if opens is None:
        add("opens_at", "missing", N_("Enter when the call opens."))
    if closes is None:
        add("closes_at", "missing", N_("Enter when the call closes."))
    elif opens is not None and closes <= opens:
        add("closes_at", "closes_before_opening", N_("The call must close after it opens."))
    threshold = data.population_threshold
    if threshold is None:
        add("population_threshold", "missing", N_("Enter the population threshold."))
    elif threshold < 0 or threshold > MAX_THRESHOLD or (
            threshold == 0 and _judges_population(data.kind)):
        add("population_threshold", "out_of_range", N_(
            "The population threshold must be a whole number above 0 and at most %(n)s."),
            n=MAX_THRESHOLD)
    if not data.eligible_countries:
        add("eligible_countries", "missing", N_("Name at least one eligible country."))
    _codes(data.eligible_countries, "eligible_countries", add)
    if not data.allowed_org_types:
        add("allowed_org_types", "missing", N_("Accept at least one type of organisation."))
    accepted = vocabulary(data.kind).applicant_types if data.kind in workflows() else ()
    for kind in data.allowed_org_types:
        if kind not in eligibility.ORGANISATION_TYPES:
            add("allowed_org_types", "not_a_type",
                N_("“%(kind)s” is not a type of organisation; use %(kinds)s."), kind=kind,
                kinds=", ".join(eligibility.ORGANISATION_TYPES))
        elif accepted and kind not in accepted:
            # A call narrows its kind's applicant types, never widens them.
            add("allowed_org_types", "type_not_accepted",
                N_("%(call)s accepts only %(accepted)s, not “%(kind)s”."),
                call=Term(get_workflow(data.kind).title),
                accepted=listing(LowerTerm(eligibility.ORGANISATION_TYPES.get(t, t))
                                 for t in accepted),
                kind=LowerTerm(eligibility.ORGANISATION_TYPES.get(kind, kind)))
    months, interval = data.cooperation_months, data.report_interval_months
    if months is None or not 1 <= months <= MAX_MONTHS:
        add("cooperation_months", "out_of_range",
            N_("The cooperation lasts from 1 to %(n)s months."), n=MAX_MONTHS)
        months = None
    if interval is None or interval < 1:
        add("report_interval_months", "out_of_range", N_(
            "Progress reports fall at least every month: give a whole number of months above "
            "0."))
    elif months is not None and months < interval:
        add("cooperation_months", "shorter_than_interval", N_(
            "The cooperation (%(months)s months) cannot be shorter than the report interval "
            "(%(interval)s months)."), months=months, interval=interval)
    most = data.max_partners_per_case
    if isinstance(most, bool) or not isinstance(most, int) or not (
            1 <= most <= MAX_PARTNERS_PER_CASE):
        add("max_partners_per_case", "out_of_range", N_(
            "Give the most partners per case as a whole number from 1 to %(n)s."),
            n=MAX_PARTNERS_PER_CASE)
    _check_schedule(data.schedule or {}, months, add)
    return errors


def _values(data: CallData) -> dict[str, Any]:
    """The columns to store for valid ``data``."""
    zone = data.timezone
    return {
        "programme_id": data.programme_id, "kind": data.kind, "title": data.title.strip(),
        "slug": data.slug or slugify(data.title), "summary": clean(data.summary),
        "conditions": clean(data.conditions), "partner_regions": list(data.partner_regions),
        "partner_countries": [c.strip().upper() for c in data.partner_countries],
        "opens_at": local_to_utc(data.opens_at, zone),
        "closes_at": local_to_utc(data.closes_at, zone), "timezone": zone,
        "population_threshold": data.population_threshold,
        "eligible_countries": list(dict.fromkeys(c.strip().upper()
                                                 for c in data.eligible_countries)),
        "allowed_org_types": list(dict.fromkeys(data.allowed_org_types)),
        "cooperation_months": data.cooperation_months,
        "report_interval_months": data.report_interval_months,
        "max_partners_per_case": data.max_partners_per_case,
    }


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _audit(session: Session, call: Call, user: User, action: str, payload: dict[str, Any],
           source_address: str, now: datetime) -> None:
    audit.record(session, action, user, call_id=call.id, at=now, source_address=source_address,
                 payload=payload)


# -- who may touch which call ------------------------------------------------------------

def _staff(user: User) -> None:
    if not user.is_staff:
        raise Forbidden(refusal("staff_only", N_(
            "Only the programme's coordinators and administrators manage calls.")))


def call_for(session: Session, user: User, call_id: int) -> Call:
    """A call of a programme ``user`` works on; another programme's does not exist (404)."""
    _staff(user)
    call = session.get(Call, call_id)
    if call is None or not sees_programme(user, call.programme_id):
        raise NotFound(refusal("no_such_call", N_("There is no such call.")))
    return call


def _fresh(call: Call, expected_version: int | None) -> None:
    if expected_version is not None and call.version != expected_version:
        raise Conflict(refusal("stale_version", N_(
            "Someone changed this call since you opened it. Its current values are shown; "
            "check them and make your change again.")))


def status_expression(now: datetime):
    """The calls' status in SQL, as ``Call.status`` works it out in Python."""
    return sql_case(
        (Call.archived.is_(True), CallStatus.ARCHIVED.value),
        (Call.published.is_(False), CallStatus.DRAFT.value),
        (Call.opens_at > now, CallStatus.SCHEDULED.value),
        (Call.closes_at >= now, CallStatus.OPEN.value),
        else_=CallStatus.CLOSED.value)


def calls_for(user: User, *, programme_id: int | None = None, status: str = "",
              now: datetime | None = None) -> list[tuple[Call, str, int]]:
    """(call, status, number of applications) of the calls ``user`` manages, newest first."""
    _staff(user)
    now = now or utcnow()
    status_col = status_expression(now).label("status")
    counts = (select(Case.call_id, func.count().label("n")).group_by(Case.call_id)
              .subquery())
    q = (select(Call, status_col, func.coalesce(counts.c.n, 0))
         .outerjoin(counts, counts.c.call_id == Call.id)
         .order_by(Call.opens_at.desc(), Call.id.desc()))
    scope = programme_scope(user)
    if scope is not None:
        q = q.where(Call.programme_id.in_(scope))
    if programme_id:
        q = q.where(Call.programme_id == programme_id)
    if status:
        q = q.where(status_col == status)
    return [(c, s, n) for c, s, n in db.session.execute(q)]


# -- the use cases -----------------------------------------------------------------------

def create_call(user: User, data: CallData, *, source_address: str = "",
                now: datetime | None = None) -> Call:
    """A new call, unpublished (a draft) until someone publishes it."""
    _staff(user)
    now = now or utcnow()
    with db.transaction() as session:
        data = with_programme_zone(session, data)
        errors = check_call(session, user, data)
        if errors:
            raise Invalid(errors)
        values = _values(data)
        call = Call(**values, settings={"schedule": dict(data.schedule)} if data.schedule
                    else {}, published=False, archived=False, created_at=now)
        session.add(call)
        session.flush()
        _audit(session, call, user, "create_call",
               {"changes": {k: [None, _jsonable(v)] for k, v in values.items()},
                "schedule": dict(data.schedule)}, source_address, now)
        return call


def update_call(call_id: int, user: User, data: CallData, *, expected_version: int | None,
                source_address: str = "", now: datetime | None = None) -> Call:
    """Change a call's parameters; a change of its eligibility rules after submissions judges
    the cases in review again."""
    now = now or utcnow()
    with _changing(call_id, user, expected_version) as (session, call):
        data = with_programme_zone(session, data)
        errors = check_call(session, user, data, call)
        if errors:
            raise Invalid(errors)
        before = {name: getattr(call, name) for name in COLUMNS}
        after = _kept_as_shown(before, _values(data))
        changes = {k: [_jsonable(before[k]), _jsonable(v)] for k, v in after.items()
                   if _comparable(before[k]) != _comparable(v)}
        old_schedule = dict((call.settings or {}).get("schedule") or {})
        if old_schedule != dict(data.schedule):
            changes["schedule"] = [old_schedule, dict(data.schedule)]
        if not changes:
            return call
        for key, value in after.items():
            setattr(call, key, value)
        call.settings = {**(call.settings or {}), "schedule": dict(data.schedule)}
        payload: dict[str, Any] = {"changes": changes}
        if "closes_at" in changes:
            follow_closing_time(session, call, now)
        if any(k in changes for k in RULE_PARAMETERS):
            payload["eligibility_rerun"] = rerun_eligibility(session, call, user, changes, now)
        _audit(session, call, user, "update_call", payload, source_address, now)
        return call


def _kept_as_shown(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``after``, where a value only differs from ``before`` by what the form cannot show —
    the seconds of a time (it is typed to the minute), a text that cleaning merely reformats —
    keeping ``before``: sending a form back unchanged changes nothing and records nothing."""
    kept = dict(after)
    for name in ("opens_at", "closes_at"):
        old, new = before[name], after[name]
        if old is not None and new is not None and \
                new == old.replace(second=0, microsecond=0):
            kept[name] = old
    for name in ("summary", "conditions"):
        if after[name] == clean(before[name] or ""):
            kept[name] = before[name]
    return kept


def _comparable(value: Any) -> Any:
    # Lists of countries or regions are the same whatever their order.
    return sorted(value) if isinstance(value, list) else value


def rerun_eligibility(session: Session, call: Call, user: User, changes: dict[str, Any],
                      now: datetime) -> list[str]:
    """Judge again, under the call's new rules, every submitted case still in review or
    waiting for its applicant; returns their references. Each case's trail records the
    change of rules and its verdict before and after."""
    wf = get_workflow(call.kind)
    states = wf.states_of_kind(*RERUN_KINDS)
    rule_changes = {k: v for k, v in changes.items() if k in RULE_PARAMETERS}
    references = []
    for case in session.scalars(select(Case).where(
            Case.call_id == call.id, Case.state.in_(states), Case.submitted_at.is_not(None))
            .order_by(Case.id)):
        before = case.eligibility_summary
        case_ops.run_eligibility(session, case, now)
        case.updated_at = now
        audit.record(
            session, "rerun_eligibility", user, case=case, at=now,
            payload={"reason": "The call's eligibility rules changed.",
                     "rules": rule_changes, "verdict_before": before,
                     "verdict_after": case.eligibility_summary})
        references.append(case.reference)
    return references


def follow_closing_time(session: Session, call: Call, now: datetime) -> None:
    """Move the drafts' "call closes" deadlines to the call's closing time (an applicant's
    extension keeps its own); reminders that would now fall in the past are not sent."""
    kinds = {spec.kind for wf in workflows().values() for state in wf.states
             for spec in state.deadlines if spec.anchor is Anchor.CALL_CLOSES}
    for deadline, case in session.execute(
            select(Deadline, Case).join(Case, Deadline.case_id == Case.id).where(
                Case.call_id == call.id, Deadline.kind.in_(kinds),
                Deadline.status == DeadlineStatus.OPEN)):
        extension = case_ops.extension_for(session, case)
        due = extension if extension and extension > call.closes_at else call.closes_at
        case_ops.move_deadline(deadline, due)
        for reminder in deadline.reminders:
            if reminder.done_at is None and reminder.scheduled_at < now:
                reminder.done_at, reminder.outcome = now, "cancelled"


@contextmanager
def _changing(call_id: int, user: User,
              expected_version: int | None) -> Iterator[tuple[Session, Call]]:
    """The transaction that changes one call ``user`` manages, on the version they saw."""
    _staff(user)
    try:
        with db.transaction() as session:
            call = call_for(session, user, call_id)
            _fresh(call, expected_version)
            yield session, call
    except StaleDataError:
        raise Conflict("Someone changed this call at the same moment. Open it again and make "
                       "your change once more.") from None


def _status_change(call_id: int, user: User, expected_version: int | None, action: str,
                   source_address: str, now: datetime | None, change) -> Call:
    now = now or utcnow()
    with _changing(call_id, user, expected_version) as (session, call):
        changes = change(session, call, now)
        _audit(session, call, user, action, {"changes": changes}, source_address, now)
        return call


def publish_call(call_id: int, user: User, *, expected_version: int | None,
                 source_address: str = "", now: datetime | None = None) -> Call:
    """Make a draft call public: it opens and closes by its dates from now on."""

    def change(session: Session, call: Call, now: datetime) -> dict[str, Any]:
        if call.archived:
            raise OperationError(refusal("archived", N_("An archived call cannot be published.")))
        if call.published:
            raise OperationError(refusal("already_published",
                                         N_("This call is already published.")))
        if call.closes_at <= now:
            raise OperationError(refusal("closing_passed", N_(
                "This call's closing time has passed: change its dates before you publish "
                "it.")))
        call.published = True
        return {"published": [False, True]}

    return _status_change(call_id, user, expected_version, "publish_call", source_address,
                          now, change)


def close_call(call_id: int, user: User, *, expected_version: int | None,
               source_address: str = "", now: datetime | None = None) -> Call:
    """Close an open call now: drafts can no longer be submitted (save for extensions)."""

    def change(session: Session, call: Call, now: datetime) -> dict[str, Any]:
        if call.status(now) != CallStatus.OPEN:
            raise OperationError(refusal("not_open", N_(
                "Only an open call can be closed early; this one is %(status)s."),
                status=LowerTerm(STATUS_NAMES[call.status(now)])))
        before = call.closes_at
        call.closes_at = now
        follow_closing_time(session, call, now)
        return {"closes_at": [before.isoformat(), now.isoformat()]}

    return _status_change(call_id, user, expected_version, "close_call", source_address,
                          now, change)


def archive_call(call_id: int, user: User, *, expected_version: int | None,
                 source_address: str = "", now: datetime | None = None) -> Call:
    """Take a closed (or never published) call off the public lists; its cases go on."""

    def change(session: Session, call: Call, now: datetime) -> dict[str, Any]:
        status = call.status(now)
        if status == CallStatus.ARCHIVED:
            raise OperationError(refusal("already_archived",
                                         N_("This call is already archived.")))
        if status in (CallStatus.OPEN, CallStatus.SCHEDULED):
            raise OperationError(refusal("still_open", N_(
                "This call is %(status)s: close it before archiving it."),
                status=LowerTerm(STATUS_NAMES[status])))
        call.archived = True
        return {"archived": [False, True]}

    return _status_change(call_id, user, expected_version, "archive_call", source_address,
                          now, change)


def next_year(text: str) -> str:
    """Each year in ``text`` one later: "IURC 2024–2025" gives "IURC 2025–2026"."""
    return YEAR.sub(lambda m: str(int(m.group(0)) + 1), text)


def clone_call(call_id: int, user: User, *, expected_version: int | None,
               source_address: str = "", now: datetime | None = None) -> Call:
    """Next year's call in one step: every parameter copied, the dates a year later, each
    year in the title and address one later, unpublished."""
    _staff(user)
    now = now or utcnow()
    with db.transaction() as session:
        source = call_for(session, user, call_id)
        _fresh(source, expected_version)
        title = next_year(source.title)
        if title == source.title:
            title = f"{source.title} ({(source.opens_at + relativedelta(years=1)).year})"
        base = next_year(source.slug)
        if base == source.slug:
            base = f"{source.slug}-{(source.opens_at + relativedelta(years=1)).year}"
        slug, n = base[:80], 2
        taken = set(session.scalars(select(Call.slug).where(Call.slug.like(f"{base[:70]}%"))))
        while slug in taken:
            slug, n = f"{base[:75]}-{n}", n + 1
        values = {name: getattr(source, name) for name in COLUMNS}
        values.update(title=title[:300], slug=slug,
                      opens_at=source.opens_at + relativedelta(years=1),
                      closes_at=source.closes_at + relativedelta(years=1))
        values = {k: list(v) if isinstance(v, list) else v for k, v in values.items()}
        clone = Call(**values, settings=dict(source.settings or {}), published=False,
                     archived=False, created_at=now)
        session.add(clone)
        session.flush()
        _audit(session, clone, user, "clone_call",
               {"from_call_id": source.id, "from_call": source.slug,
                "changes": {k: [None, _jsonable(v)] for k, v in values.items()}},
               source_address, now)
        return clone


def history(call_id: int) -> list[AuditEvent]:
    """The call's own audit trail, newest first."""
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.call_id == call_id)
                                   .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())))


def schedule_defaults(kind: str, months: int, interval: int) -> ScheduleRules:
    """The schedule a call of ``kind`` gets when its settings change nothing."""
    return rules_for(vocabulary(kind), months, interval)
