"""The facts the guards judge (the wiring asks only for those a guard ahead reads)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.models import (
    Case,
    Deliverable,
    LocalActionPlan,
)
from webapp.operations import assessment
from workflows import schedule, vocabulary
from workflows.schedule import DeliverableKind


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
    sets = assessment.score_sets(session, [case.id]).get(case.id, {})
    found = assessment.assessment_of(case, sets)
    return {"missing_scores": found.missing, "scores_below_threshold": found.below}
