"""Reports."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from webapp.db import db, utcnow
from webapp.errors import Conflict, NotFound, Refused
from webapp.models import (
    Activity,
    Case,
    Deliverable,
    Report,
    User,
)
from webapp.operations.cooperation.access import (
    _party_case,
)
from webapp.operations.cooperation.handing_in import (
    _deliverable,
    mark_submitted,
)
from workflows import schedule
from workflows.schedule import DeliverableKind

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


