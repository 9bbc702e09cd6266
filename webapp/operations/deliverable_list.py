"""The coordinators' deliverables across cases: what falls due in the next 30 days, what is
overdue and what waits for their review, filtered and a page at a time.

A page is two statements whatever its number or the table's size (the count and the rows
with their case, applicant, partner city, call and coordinator). What counts as due and overdue
is what the dashboard counts: a deliverable still awaited whose deadline is open, so one a
closed or completed case no longer owes is neither.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from webapp.access import region_clause, visible_cases
from webapp.db import db
from webapp.models import Case, CasePartner, Deadline, DeadlineStatus, Deliverable, User
from webapp.operations.caselist import (
    DUE_SOON,
    UNASSIGNED,
    CasePage,
)
from workflows import schedule, workflows
from workflows.engine import StateKind


class Need(enum.StrEnum):
    """Why a deliverable is on the list."""

    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    REVIEW = "review"


#: each need as the list's filter names it
NEED_LABELS: dict[str, str] = {Need.DUE_SOON: "Due in the next 30 days",
                               Need.OVERDUE: "Overdue",
                               Need.REVIEW: "Awaiting review"}


@dataclass(frozen=True)
class DeliverableFilters:
    """What narrows and orders the list; empty values do not filter (every need is listed)."""

    call_id: int | None = None
    region: str = ""
    #: "", "unassigned" or a coordinator's id as text
    coordinator: str = ""
    need: str = ""
    descending: bool = False


@dataclass(frozen=True)
class Row:
    """One deliverable of the list, with its case and why it is listed."""

    deliverable: Deliverable
    case: Case
    need: Need
    #: whole days past the due time (overdue) or left before it (due soon)
    days: int


@dataclass
class DeliverablePage(CasePage):
    """One page of the list, paged as the case list is."""

    rows: list[Row]  # type: ignore[assignment]


def _closed_states() -> list[str]:
    return sorted({s.name for wf in workflows().values() for s in wf.states
                   if s.kind is StateKind.CLOSED})


def _conditions(now: datetime) -> dict[Need, ColumnElement[bool]]:
    """Each need as a SQL condition on ``Deliverable`` (and ``Case`` for the review)."""
    awaited = and_(Deliverable.status.in_([s.value for s in schedule.AWAITED]), exists().where(
        Deadline.deliverable_id == Deliverable.id, Deadline.status == DeadlineStatus.OPEN))
    return {
        Need.DUE_SOON: and_(awaited, Deliverable.due_at >= now,
                            Deliverable.due_at < now + DUE_SOON),
        Need.OVERDUE: and_(awaited, Deliverable.due_at < now),
        # A case that ended early has nothing left to review.
        Need.REVIEW: and_(Deliverable.status == schedule.DeliverableStatus.SUBMITTED,
                          Case.state.not_in(_closed_states())),
    }


def filtered(user: User, filters: DeliverableFilters, now: datetime) -> Select[Any]:
    """The deliverables of the cases ``user`` may see that match ``filters``, by due time."""
    conditions = _conditions(now)
    wanted = [conditions[Need(filters.need)]] if filters.need else list(conditions.values())
    scope = visible_cases(user).with_only_columns(Case.id)
    q = (select(Deliverable, Case).join(Case, Deliverable.case_id == Case.id)
         .where(Deliverable.case_id.in_(scope), or_(*wanted)))
    if filters.call_id:
        q = q.where(Case.call_id == filters.call_id)
    if filters.region:
        q = q.where(region_clause(filters.region))
    if filters.coordinator == UNASSIGNED:
        q = q.where(Case.coordinator_id.is_(None))
    elif filters.coordinator.isdigit():
        q = q.where(Case.coordinator_id == int(filters.coordinator))
    due = Deliverable.due_at.desc() if filters.descending else Deliverable.due_at.asc()
    tie = Deliverable.id.desc() if filters.descending else Deliverable.id.asc()
    return q.order_by(due, tie)


def need_of(d: Deliverable, now: datetime) -> tuple[Need, int]:
    """Why a listed deliverable is there, and the whole days late or left."""
    if d.status == schedule.DeliverableStatus.SUBMITTED:
        return Need.REVIEW, 0
    if d.due_at < now:
        return Need.OVERDUE, (now - d.due_at).days
    return Need.DUE_SOON, (d.due_at - now).days


def list_page(user: User, filters: DeliverableFilters, now: datetime, *, page: int = 1,
              page_size: int = 25) -> DeliverablePage:
    """One page of the list in two statements: the count, then the page's rows."""
    q = filtered(user, filters, now)
    total = db.session.scalar(select(func.count()).select_from(
        q.order_by(None).with_only_columns(Deliverable.id).subquery())) or 0
    pages = max((total + page_size - 1) // page_size, 1)
    page = min(max(page, 1), pages)
    result = db.session.execute(q.options(
        joinedload(Case.organisation), joinedload(Case.call), joinedload(Case.partner_city),
        joinedload(Case.coordinator),
        selectinload(Case.partner_links).joinedload(CasePartner.partner_city))
        .limit(page_size).offset((page - 1) * page_size))
    rows = [Row(d, c, *need_of(d, now)) for d, c in result]
    return DeliverablePage(rows=rows, total=total, page=page, page_size=page_size)
