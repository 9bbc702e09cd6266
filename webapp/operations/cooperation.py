"""The cooperation period: the deliverable schedule, activities, reports, case health, and the
assessment of applications by several evaluators.

The schedule is created when a case starts cooperating, the follow-up report when it is
completed, and the facts the closing and selection guards judge are read here: the wiring
(webapp/operations/wiring.py) names these functions for the hooks and facts of the definitions.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from flask_babel import format_date, gettext, ngettext
from sqlalchemy import ColumnElement, and_, delete, func, select
from sqlalchemy import case as sql_case
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from webapp.access import load_case
from webapp.db import db, utcnow
from webapp.errors import Conflict, Forbidden, NotFound, Refused
from webapp.mail import outbox
from webapp.models import (
    Activity,
    Case,
    ConflictOfInterest,
    Deadline,
    DeadlineStatus,
    Deliverable,
    LocalActionPlan,
    Report,
    Score,
    Signature,
    User,
)
from webapp.models.party import is_party
from webapp.operations import audit, cases, documents
from workflows import get_workflow, schedule, scoring, vocabulary, workflows
from workflows.engine import Purpose, StateKind, Workflow
from workflows.schedule import DeliverableKind, DeliverableStatus, Health

ACTIVITY_TYPES: dict[str, str] = {
    "study_tour": "Study tour",
    "staff_exchange": "Staff exchange",
    "training": "Training",
    "seminar": "Seminar",
    "webinar": "Webinar",
    "working_meeting": "Working meeting",
    "mou_signing": "MoU signing",
}
DIRECTIONS: dict[str, str] = {
    "eu_to_partner": "EU to partner",
    "partner_to_eu": "Partner to EU",
    "online": "Online",
}
#: what may be attached to an activity: reports, agendas, photos
ATTACHMENT_TYPES = (documents.PDF, "image/jpeg", "image/png")
# -- access -------------------------------------------------------------------------------

def _party_case(session: Session, case_id: int, user: User) -> Case:
    case = load_case(case_id, user, session=session)
    if not is_party(user):
        raise Forbidden("Only the partners of the cooperation can do this.")
    _require_live(case)
    return case


def _staff_case(session: Session, case_id: int, user: User) -> Case:
    case = load_case(case_id, user, session=session)
    if not user.is_staff:
        raise Forbidden("Only coordinators can do this.")
    return case


def _require_live(case: Case) -> None:
    if get_workflow(case.workflow).state(case.state).kind is StateKind.CLOSED:
        raise Refused("This case has ended; nothing can be added to it.")


def _audit(session: Session, case: Case, user: User | None, action: str,
           payload: dict[str, Any], now: datetime) -> None:
    audit.record(session, action, user, case=case, at=now, payload=payload)
    case.updated_at = now


def _notify(session: Session, case: Case, template: str, groups: tuple[str, ...],
            key: str, context: dict[str, Any], optional: bool = False,
            deadline: Deadline | None = None) -> None:
    for party, person in outbox.recipients(session, case, groups):
        outbox.queue(session, key=f"{key}:{person.id}", template=template, user=person,
                     case=case, optional=optional, deadline_id=deadline.id if deadline else None,
                     context={"case_id": case.id, "reference": case.reference,
                              **outbox.party_context(party), **context})


# -- the schedule -------------------------------------------------------------------------

def rules_for_call(case: Case) -> schedule.ScheduleRules:
    """The schedule rules of the case's call (its ``settings["schedule"]`` applied)."""
    call = case.call
    return schedule.rules_for(vocabulary(call.kind), call.cooperation_months,
                              call.report_interval_months, (call.settings or {}).get("schedule"))


def programme_zone(case: Case) -> ZoneInfo:
    """The zone the call works in: deliverables fall due at the end of a day there."""
    return ZoneInfo(case.call.timezone or case.call.programme.timezone)


def start_deliverable_deadline(session: Session, case: Case, d: Deliverable,
                               rules: schedule.ScheduleRules, now: datetime) -> Deadline | None:
    """Start the deadline of a deliverable at its due time, with its reminders (none before
    it opens for submission)."""
    open_for = d.due_at - d.opens_at if d.status == DeliverableStatus.SCHEDULED else None
    deadline = cases.start_deadline(session, case, schedule.deadline_spec(d.title, rules, open_for),
                                    now, {}, due=d.due_at, deliverable_id=d.id)
    if deadline is not None:
        # Bound to its deliverable, not to a state: it outlives the close of the cooperation
        # and ends when the deliverable is handed in or the case ends.
        deadline.state = ""
    return deadline


def _end_deliverable_deadlines(session: Session, d: Deliverable, status: str,
                               now: datetime) -> None:
    for deadline in session.scalars(select(Deadline).where(
            Deadline.deliverable_id == d.id, Deadline.status == DeadlineStatus.OPEN)):
        cases.end_deadline(session, deadline, status, now)


def create_schedule(session: Session, case: Case, start: datetime) -> None:
    """Create the case's deliverables and their deadlines when its cooperation starts."""
    if session.scalar(select(Deliverable.id).where(Deliverable.case_id == case.id).limit(1)):
        return  # a case starts cooperating once
    rules = rules_for_call(case)
    for item in schedule.schedule(start, rules, programme_zone(case)):
        d = Deliverable(case_id=case.id, kind=item.kind.value, sequence=item.sequence,
                        title=item.title, due_at=item.due_at, opens_at=item.opens_at,
                        periodic=item.periodic, created_at=start)
        session.add(d)
        session.flush()
        start_deliverable_deadline(session, case, d, rules, start)


def start_follow_up(session: Session, case: Case, now: datetime) -> None:
    """On completion: the plan counts as accepted, what is still open stops reminding, and the
    follow-up report falls due a year later."""
    for d in session.scalars(select(Deliverable).where(Deliverable.case_id == case.id)):
        if d.kind == DeliverableKind.FINAL_LAP and d.status == DeliverableStatus.SUBMITTED:
            d.status, d.accepted_at = DeliverableStatus.ACCEPTED.value, now
        if d.status in schedule.AWAITED:
            _end_deliverable_deadlines(session, d, DeadlineStatus.CANCELLED, now)
    if session.scalar(select(Deliverable.id).where(
            Deliverable.case_id == case.id,
            Deliverable.kind == DeliverableKind.FOLLOW_UP_REPORT)):
        return
    rules = rules_for_call(case)
    item = schedule.follow_up(now, rules, programme_zone(case))
    d = Deliverable(case_id=case.id, kind=item.kind.value, sequence=item.sequence,
                    title=item.title, due_at=item.due_at, opens_at=item.opens_at, created_at=now)
    session.add(d)
    session.flush()
    start_deliverable_deadline(session, case, d, rules, now)


def deliverables(session: Session, case_id: int) -> list[Deliverable]:
    """The case's deliverables in the order they fall due."""
    return list(session.scalars(select(Deliverable).where(Deliverable.case_id == case_id)
                                .order_by(Deliverable.due_at, Deliverable.id)))


#: how long after the last signature a kickoff meeting may still start the cooperation
KICKOFF_WITHIN = relativedelta(years=1)


def kickoff_problem(session: Session, case: Case, start: datetime) -> str | None:
    """Why ``start`` cannot be the kickoff of the case's cooperation, or None: it may not be
    before the day of the last signature, nor more than a year after it."""
    signed = session.scalar(select(func.max(Signature.signed_at)).where(
        Signature.case_id == case.id, Signature.voided_at.is_(None)))
    if signed is None:
        return None
    zone = programme_zone(case)
    day, signed_day = start.astimezone(zone).date(), signed.astimezone(zone).date()
    if day < signed_day:
        return gettext("The kickoff cannot be before the last signature of the agreement "
                 "(%(day)s).", day=format_date(signed_day, "long"))
    latest = signed_day + KICKOFF_WITHIN
    if day > latest:
        return gettext("The kickoff must be within a year of the last signature: by %(day)s at the "
                 "latest.", day=format_date(latest, "long"))
    return None


def set_kickoff(case_id: int, user: User, start: datetime, *,
                now: datetime | None = None) -> Case:
    """Move the start of a running cooperation to a kickoff date; what is still to be handed
    in moves with it."""
    now = now or utcnow()
    with db.transaction() as session:
        case = _staff_case(session, case_id, user)
        if get_workflow(case.workflow).state(case.state).kind is not StateKind.ACTIVE:
            raise Refused("The kickoff date can change only while the cooperation runs.")
        problem = kickoff_problem(session, case, start)
        if problem:
            raise Refused("This kickoff date cannot be used.", (problem,))
        rules = rules_for_call(case)
        planned = {(p.kind.value, p.sequence): p
                   for p in schedule.schedule(start, rules, programme_zone(case))}
        case.cooperation_start = start
        case.cooperation_ends_at = schedule.add_months(start, rules.cooperation_months)
        for d in deliverables(session, case.id):
            p = planned.get((d.kind, d.sequence))
            if p is None or d.status != DeliverableStatus.SCHEDULED:
                continue
            d.due_at, d.opens_at = p.due_at, p.opens_at
            for deadline in session.scalars(select(Deadline).where(
                    Deadline.deliverable_id == d.id, Deadline.status == DeadlineStatus.OPEN)):
                cases.move_deadline(deadline, p.due_at)
        _audit(session, case, user, "kickoff_set", {"kickoff": start.isoformat()}, now)
        return case


# -- handing in and reviewing ---------------------------------------------------------------

def _deliverable(session: Session, case: Case, deliverable_id: int) -> Deliverable:
    d = session.get(Deliverable, deliverable_id)
    if d is None or d.case_id != case.id:
        raise NotFound("There is no such deliverable.")
    return d


def can_hand_in(d: Deliverable, now: datetime) -> str | None:
    """None when the deliverable may be handed in now, else the reason why not."""
    if d.status in schedule.DONE:
        return "It is already handed in."
    if d.status == DeliverableStatus.SCHEDULED and now < d.opens_at:
        return f"It opens for submission on {d.opens_at:%d %B %Y}."
    return None


def mark_submitted(session: Session, case: Case, d: Deliverable, user: User,
                   now: datetime, *, check: bool = True) -> None:
    """Record a deliverable as handed in, stop its reminders and tell the coordinator.

    ``check=False`` is for a deliverable whose hand-in a workflow step has already judged.
    """
    reason = can_hand_in(d, now) if check else None
    if reason:
        raise Refused(f"{d.title} cannot be submitted now.", (reason,))
    d.status, d.submitted_at, d.submitted_by_id = DeliverableStatus.SUBMITTED.value, now, user.id
    _end_deliverable_deadlines(session, d, DeadlineStatus.MET, now)
    _audit(session, case, user, "deliverable_submitted",
           {"deliverable_id": d.id, "title": d.title}, now)
    _notify(session, case, "deliverable_submitted", ("coordinator",),
            f"deliverable:{d.id}:submitted:{now.isoformat()}",
            {"title": d.title, "deliverable_id": d.id}, optional=True)


def submit_deliverable(case_id: int, deliverable_id: int, user: User, *, note: str = "",
                       upload: IO[bytes] | None = None, filename: str = "",
                       now: datetime | None = None) -> Deliverable:
    """Hand in a document deliverable (the work plan): a file, a note, or both."""
    now = now or utcnow()
    with db.transaction() as session:
        case = _party_case(session, case_id, user)
        d = _deliverable(session, case, deliverable_id)
        if d.kind in schedule.REPORT_KINDS or d.kind in schedule.PLAN_KINDS:
            raise Refused(f"{d.title} is written in its own form.")
        if upload is None and not note.strip():
            raise Refused("Attach the document or write a summary.")
        if upload is not None:
            d.document = documents.store(session, upload, filename, kind=d.kind, user=user,
                                         case_id=case.id)
        d.note = note.strip()
        mark_submitted(session, case, d, user, now)
        return d


def review_deliverable(case_id: int, deliverable_id: int, user: User, *, accept: bool,
                       comments: str = "", resubmit_by: datetime | None = None,
                       now: datetime | None = None) -> Deliverable:
    """A coordinator accepts a handed-in deliverable, or asks for a revision by a new date."""
    now = now or utcnow()
    comments = comments.strip()
    with db.transaction() as session:
        case = _staff_case(session, case_id, user)
        d = _deliverable(session, case, deliverable_id)
        deadline = None
        if d.kind == DeliverableKind.FINAL_LAP:
            raise Refused("The final plan is approved or sent back with the case's own actions.")
        if d.status != DeliverableStatus.SUBMITTED:
            raise Refused(f"{d.title} is not waiting for a review.")
        d.reviewed_at, d.reviewed_by_id, d.review_comments = now, user.id, comments
        if accept:
            d.status, d.accepted_at = DeliverableStatus.ACCEPTED.value, now
            action, template = "deliverable_accepted", "deliverable_accepted"
        else:
            reasons = []
            if not comments:
                reasons.append("Say what should change.")
            if resubmit_by is None or resubmit_by <= now:
                reasons.append("Give a date in the future for the revised version.")
            if reasons:
                raise Refused("The revision cannot be requested yet.", tuple(reasons))
            assert resubmit_by is not None
            d.status, d.due_at = DeliverableStatus.REVISION_REQUESTED.value, resubmit_by
            deadline = start_deliverable_deadline(session, case, d, rules_for_call(case), now)
            session.flush()
            action, template = "deliverable_revision_requested", "deliverable_revision_requested"
        _audit(session, case, user, action,
               {"deliverable_id": d.id, "title": d.title, "comments": comments}, now)
        # An acceptance is news that may wait for a digest; a revision has a deadline.
        _notify(session, case, template, ("parties",), f"deliverable:{d.id}:{action}:"
                f"{now.isoformat()}", {"title": d.title, "deliverable_id": d.id,
                                       "comments": comments,
                                       "resubmit_by": d.due_at.isoformat()},
                optional=accept, deadline=deadline)
        return d


# -- reports ------------------------------------------------------------------------------

REPORT_FIELDS = ("achievements", "difficulties", "next_steps", "lap_progress", "indicators")


def report_problems(report: Report) -> list[str]:
    """What a report still lacks before it can be submitted, as sentences."""
    problems = []
    if report.period_start is None or report.period_end is None:
        problems.append("Give the period the report covers.")
    elif report.period_end < report.period_start:
        problems.append("The period must end after it starts.")
    for field, label in (("achievements", "the achievements"), ("next_steps", "the next steps"),
                         ("lap_progress", "the progress on the plan")):
        if not getattr(report, field).strip():
            problems.append(f"Describe {label}.")
    return problems


def report_period(session: Session, case: Case, d: Deliverable) -> tuple[date, date]:
    """The period a report covers by default, up to its due date: a progress report since the
    previous one, the final report the whole cooperation, a follow-up report the year since
    completion."""
    if d.kind == DeliverableKind.FOLLOW_UP_REPORT:
        begin = d.created_at
    elif d.kind == DeliverableKind.FINAL_REPORT:
        begin = case.cooperation_start or d.created_at
    else:
        previous = session.scalar(select(func.max(Deliverable.due_at)).where(
            Deliverable.case_id == case.id, Deliverable.periodic.is_(True),
            Deliverable.due_at < d.due_at))
        begin = previous + timedelta(days=1) if previous else \
            case.cooperation_start or d.created_at
    return begin.date(), d.due_at.date()


def report_for(session: Session, d: Deliverable) -> Report | None:
    """The report written for a deliverable, if anyone has saved it."""
    return session.scalar(select(Report).where(Report.deliverable_id == d.id))


class ReportConflict(Conflict):
    """Someone else saved the report first; ``version`` is the one now stored."""

    def __init__(self, version: int, saved_by: str, saved_at: datetime):
        super().__init__(
            f"{saved_by or 'Someone else'} saved this report while you were editing it. Your "
            "text is still in the form: compare it with theirs below and save again to keep "
            "yours.")
        self.version = version
        self.saved_by = saved_by
        self.saved_at = saved_at


def save_report(case_id: int, deliverable_id: int, user: User, values: Mapping[str, Any], *,
                expected_version: int, submit: bool = False,
                now: datetime | None = None) -> Report:
    """Save the report draft (both parties write the same one); with ``submit`` hand it in.

    ``expected_version`` is the version the writer started from (0 for a report nobody has
    saved yet); a different stored version raises ReportConflict and saves nothing.
    """
    now = now or utcnow()
    try:
        with db.transaction() as session:
            case = _party_case(session, case_id, user)
            d = _deliverable(session, case, deliverable_id)
            if d.kind not in schedule.REPORT_KINDS:
                raise NotFound("There is no such report.")
            if d.status in schedule.DONE:
                raise Refused("This report is handed in; it can change again only if the "
                              "coordinator asks for a revision.")
            report = report_for(session, d)
            stored = report.version if report else 0
            if stored != expected_version:
                assert report is not None
                raise ReportConflict(stored, report.updated_by.display_name
                                     if report.updated_by else "", report.updated_at)
            wanted = {int(i) for i in values.get("activity_ids") or []}
            # Read before changing anything: one save is one flush and one new version.
            linked = list(session.scalars(select(Activity).where(
                Activity.case_id == case.id, Activity.id.in_(wanted)))) if wanted else []
            if report is None:
                report = Report(case_id=case.id, deliverable_id=d.id, created_at=now)
                session.add(report)
            with session.no_autoflush:  # loading the old links must not flush half a save
                report.period_start = values.get("period_start")
                report.period_end = values.get("period_end")
                for field in REPORT_FIELDS:
                    setattr(report, field, (values.get(field) or "").strip())
                report.activities = linked
                report.updated_at, report.updated_by_id = now, user.id
            if submit:
                problems = report_problems(report)
                if problems:
                    raise Refused("The report is not ready to submit.", tuple(problems))
                mark_submitted(session, case, d, user, now)
            session.flush()
            return report
    except (StaleDataError, IntegrityError) as exc:
        raise Conflict("Someone else saved this report at the same moment. Reload it, check "
                       "their changes and save again.") from exc


# -- activities ---------------------------------------------------------------------------

def log_activity(case_id: int, user: User, values: Mapping[str, Any], *,
                 attachments: Iterable[tuple[IO[bytes], str]] = (),
                 now: datetime | None = None) -> Activity:
    """Record an activity of the pair, with its attachments (PDF or pictures)."""
    now = now or utcnow()
    with db.transaction() as session:
        case = _party_case(session, case_id, user)
        if case.cooperation_start is None:
            raise Refused("Activities are logged once the cooperation has started.")
        if values.get("type") not in ACTIVITY_TYPES or \
                values.get("direction") not in DIRECTIONS:
            raise Refused("Choose the type of activity and its direction.")
        starts, ends = values["starts_on"], values.get("ends_on") or values["starts_on"]
        if ends < starts:
            raise Refused("The activity must end on or after the day it starts.")
        activity = Activity(
            case_id=case.id, type=values["type"], title=values["title"].strip(),
            starts_on=starts, ends_on=ends, place=(values.get("place") or "").strip(),
            direction=values["direction"], participants=values.get("participants") or 0,
            stakeholders=(values.get("stakeholders") or "").strip(),
            description=(values.get("description") or "").strip(), created_by_id=user.id,
            created_at=now)
        for stream, filename in attachments:
            activity.documents.append(documents.store(
                session, stream, filename, kind="activity", user=user, case_id=case.id,
                allowed=ATTACHMENT_TYPES))
        session.add(activity)
        session.flush()
        _audit(session, case, user, "activity_logged",
               {"activity_id": activity.id, "title": activity.title}, now)
        return activity


def activities(session: Session, case_id: int) -> list[Activity]:
    """The case's activities, the most recent first."""
    return list(session.scalars(select(Activity).where(Activity.case_id == case_id)
                                .options(selectinload(Activity.created_by),
                                         selectinload(Activity.documents))
                                .order_by(Activity.starts_on.desc(), Activity.id.desc())))


def date_range(starts: date, ends: date) -> str:
    """A day or a span of days, as people write them."""
    if starts == ends:
        return format_date(starts, "long")
    return f"{format_date(starts, 'long')} – {format_date(ends, 'long')}"


def timeline_items(case: Case, staff: bool) -> list[dict[str, Any]]:
    """The case's activities as items of its timeline, dated by the day they started."""
    items = []
    for a in activities(db.session, case.id):
        details = [date_range(a.starts_on, a.ends_on), a.place, gettext(DIRECTIONS[a.direction])]
        if a.participants:
            details.append(ngettext("%(num)s participant", "%(num)s participants",
                                    a.participants))
        items.append({
            "at": datetime.combine(a.starts_on, time(0), tzinfo=UTC),
            "when": date_range(a.starts_on, a.ends_on), "kind": "activity",
            "title": f"{gettext(ACTIVITY_TYPES[a.type])}: {a.title}",
            "body": " · ".join(p for p in details if p),
            "actor": a.created_by.display_name if a.created_by else "", "internal": False})
    return items


# -- case health --------------------------------------------------------------------------

def _closed_states() -> set[str]:
    return {s for wf in workflows().values() for s in wf.states_of_kind(StateKind.CLOSED)}


def _overdue(now: datetime) -> ColumnElement[bool]:
    return and_(Deliverable.status.in_([s.value for s in schedule.AWAITED]),
                Deliverable.due_at < now)


def health_for_cases(session: Session, case_ids: Iterable[int],
                     now: datetime | None = None) -> dict[int, str]:
    """on_track, at_risk or off_track for each case with a deliverable schedule, in one query.

    Cases without deliverables (not yet cooperating) and ended cases are left out.
    """
    now = now or utcnow()
    ids = list(case_ids)
    if not ids:
        return {}
    oldest = func.min(sql_case((_overdue(now), Deliverable.due_at), else_=None))
    rows = session.execute(
        select(Deliverable.case_id, oldest).join(Case, Case.id == Deliverable.case_id)
        .where(Deliverable.case_id.in_(ids), Case.state.not_in(_closed_states()))
        .group_by(Deliverable.case_id)).all()
    return {case_id: schedule.health(due, now).value for case_id, due in rows}


def health_severity(now: datetime) -> ColumnElement[int]:
    """The health of ``Case`` as a SQL expression for the case list: 0 on track, 1 at risk
    (something overdue), 2 off track (overdue for 30 days or more)."""
    oldest = (select(func.min(Deliverable.due_at))
              .where(Deliverable.case_id == Case.id, _overdue(now))
              .correlate(Case).scalar_subquery())
    return sql_case(
        (Case.state.in_(_closed_states()), 0),
        (oldest <= schedule.off_track_cutoff(now), schedule.SEVERITY[Health.OFF_TRACK]),
        (oldest.is_not(None), schedule.SEVERITY[Health.AT_RISK]),
        else_=0)


def health_of_case(session: Session, case: Case, now: datetime | None = None) -> Health | None:
    """The health of one case, or None before its cooperation."""
    found = health_for_cases(session, [case.id], now)
    return Health(found[case.id]) if case.id in found else None


# -- the assessment by evaluators ------------------------------------------------------------

def scoring_open(wf: Workflow, state: str) -> bool:
    """Whether the case is in the assessment step: the selection after scoring leaves it."""
    return wf.offers(state, Purpose.SELECT)


def has_scoring(wf: Workflow) -> bool:
    """Whether a workflow assesses applications with scores at all."""
    return wf.scores_applications


def min_evaluators(case: Case) -> int:
    """How many evaluators must score the case's application: the call's
    ``settings["min_evaluators"]``, else its kind's."""
    given = (case.call.settings or {}).get("min_evaluators")
    return int(given) if given else vocabulary(case.workflow).min_evaluators


def score_sets(session: Session, case_ids: Collection[int]) -> dict[int, dict[int, list[Score]]]:
    """Each case's scores by evaluator (user id), in one query."""
    found: dict[int, dict[int, list[Score]]] = {}
    if not case_ids:
        return found
    for s in session.scalars(select(Score).where(Score.case_id.in_(list(case_ids)))
                             .options(selectinload(Score.scored_by))
                             .order_by(Score.scored_by_id, Score.id)):
        found.setdefault(s.case_id, {}).setdefault(s.scored_by_id or 0, []).append(s)
    return found


def _evaluator(scores: list[Score]) -> str:
    who = scores[0].scored_by
    return who.display_name if who else f"evaluator {scores[0].scored_by_id or '?'}"


def assessment_of(case: Case, sets: Mapping[int, list[Score]]) -> scoring.Assessment:
    """The case's assessment from its score sets: means, spreads and what is missing."""
    words = vocabulary(case.workflow)
    return scoring.assess(words.criteria, words.total_threshold,
                          {_evaluator(scores): {s.criterion: s.score for s in scores}
                           for scores in sets.values()}, min_evaluators(case))


def assessments_for(session: Session, cases: Iterable[Case]) -> dict[int, scoring.Assessment]:
    """The assessment of every case that has scores (for a list page: one query)."""
    by_id = {c.id: c for c in cases}
    return {case_id: assessment_of(by_id[case_id], sets)
            for case_id, sets in score_sets(session, by_id).items()}


def conflicts(session: Session, case_id: int) -> list[ConflictOfInterest]:
    """The conflicts of interest declared on a case, oldest first."""
    return list(session.scalars(select(ConflictOfInterest)
                                .where(ConflictOfInterest.case_id == case_id)
                                .options(selectinload(ConflictOfInterest.evaluator))
                                .order_by(ConflictOfInterest.declared_at,
                                          ConflictOfInterest.id)))


def _conflicted(session: Session, case_id: int, user: User) -> bool:
    return session.scalar(select(ConflictOfInterest.id).where(
        ConflictOfInterest.case_id == case_id,
        ConflictOfInterest.evaluator_id == user.id)) is not None


def _scoring_case(session: Session, case_id: int, user: User) -> Case:
    case = _staff_case(session, case_id, user)
    if not scoring_open(get_workflow(case.workflow), case.state):
        raise Refused("Scores can change only while the application is being assessed.")
    return case


def save_scores(case_id: int, user: User, given: Mapping[str, tuple[int, str]], *,
                now: datetime | None = None) -> dict[str, Score]:
    """An evaluator scores an application on every criterion (0–5, with a comment), on their
    own: the scores of other evaluators are left as they are."""
    now = now or utcnow()
    with db.transaction() as session:
        case = _scoring_case(session, case_id, user)
        if _conflicted(session, case.id, user):
            raise Refused("You declared a conflict of interest in this application, so you "
                          "cannot score it.")
        words = vocabulary(case.workflow)
        keys = {c.key: c.label for c in words.criteria}
        unknown = set(given) - set(keys)
        bad = [keys[k] for k, (score, _) in given.items()
               if k in keys and not 0 <= score <= scoring.MAX_SCORE]
        if unknown or bad:
            raise Refused("Give each criterion a score from 0 to 5.", tuple(bad))
        stored = {s.criterion: s for s in session.scalars(select(Score).where(
            Score.case_id == case.id, Score.scored_by_id == user.id))}
        for key, (score, comment) in given.items():
            row = stored.get(key) or Score(case_id=case.id, criterion=key, scored_by_id=user.id)
            row.score, row.comment, row.scored_at = score, comment.strip(), now
            session.add(row)
            stored[key] = row
        _audit(session, case, user, "scores_saved",
               {k: v.score for k, v in stored.items()}, now)
        return stored


def declare_conflict(case_id: int, user: User, statement: str, *,
                     now: datetime | None = None) -> ConflictOfInterest:
    """An evaluator declares a conflict of interest in an application: it is recorded, any
    scores they gave it are withdrawn, and they can no longer score it."""
    now = now or utcnow()
    statement = statement.strip()
    with db.transaction() as session:
        case = _scoring_case(session, case_id, user)
        if not statement:
            raise Refused("Say what your interest in this application is.")
        if _conflicted(session, case.id, user):
            raise Refused("You have already declared a conflict of interest in this "
                          "application.")
        withdrawn = session.execute(delete(Score).where(
            Score.case_id == case.id, Score.scored_by_id == user.id)).rowcount or 0
        declared = ConflictOfInterest(case_id=case.id, evaluator_id=user.id,
                                      statement=statement, declared_at=now)
        session.add(declared)
        _audit(session, case, user, "conflict_declared",
               {"statement": statement, "scores_withdrawn": withdrawn}, now)
        session.flush()
        return declared


# -- the facts the guards judge (the wiring asks only for those a guard ahead reads) --------

def report_facts(session: Session, case: Case, now: datetime,
                 needed: frozenset[str]) -> dict[str, Any]:
    """missing_reports (titles) and final_report_in."""
    rows = session.execute(select(Deliverable.kind, Deliverable.title, Deliverable.status,
                                  Deliverable.periodic)
                           .where(Deliverable.case_id == case.id)
                           .order_by(Deliverable.due_at, Deliverable.id)).all()
    return {
        "missing_reports": [title for _, title, status, periodic in rows
                            if periodic and status not in schedule.DONE],
        "final_report_in": any(kind == DeliverableKind.FINAL_REPORT and status in schedule.DONE
                               for kind, _, status, _ in rows),
    }


def plan_facts(session: Session, case: Case, now: datetime,
               needed: frozenset[str]) -> dict[str, Any]:
    """plan_missing: what the plan's completeness rules still ask for."""
    content = session.scalar(select(LocalActionPlan.content).where(
        LocalActionPlan.case_id == case.id))
    return {"plan_missing": vocabulary(case.workflow).plan.missing_sections(content or {})}


def scoring_facts(session: Session, case: Case, now: datetime,
                  needed: frozenset[str]) -> dict[str, Any]:
    """missing_scores and scores_below_threshold."""
    found = assessment_of(case, score_sets(session, [case.id]).get(case.id, {}))
    return {"missing_scores": found.missing, "scores_below_threshold": found.below}
