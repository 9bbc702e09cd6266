"""Case health."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from webapp.db import utcnow
from webapp.models import (
    Case,
    Deliverable,
)
from workflows import schedule, workflows
from workflows.engine import StateKind
from workflows.schedule import Health


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


