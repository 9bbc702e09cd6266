"""The schedule."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from flask_babel import format_date, gettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.db import db, utcnow
from webapp.errors import Refused
from webapp.models import (
    Case,
    Deadline,
    DeadlineStatus,
    Deliverable,
    Signature,
    User,
)
from webapp.operations import cases
from webapp.operations.cooperation.access import (
    _audit,
    _staff_case,
)
from workflows import get_workflow, schedule, vocabulary
from workflows.engine import StateKind
from workflows.schedule import DeliverableKind, DeliverableStatus


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


