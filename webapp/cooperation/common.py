"""The cooperation blueprint and what its pages share: who may see them, the page frame."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    url_for,
)
from flask_login import current_user, login_required

from webapp.db import utcnow
from webapp.i18n import select_timezone
from webapp.models import Case
from webapp.models.party import is_party
from webapp.operations import assessment
from webapp.operations import lap as plan_ops
from workflows import get_workflow

bp = Blueprint("cooperation", __name__, url_prefix="/cooperation")

STATUS_TAGS = {"scheduled": ("Scheduled", "grey"), "open": ("Open", "blue"),
               "submitted": ("Submitted", "purple"), "accepted": ("Accepted", "green"),
               "revision_requested": ("Revision requested", "yellow")}


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every page needs an account; each route then checks the case itself."""




def _staff_only() -> None:
    if not current_user.is_staff:
        abort(403)


def _parties_only() -> None:
    if not is_party(current_user):
        abort(403)


def _frame(case: Case, current: str) -> dict[str, Any]:
    """What every cooperation page shows around its content: the case and the sub-navigation."""
    wf = get_workflow(case.workflow)
    staff = current_user.is_staff
    links = [("deliverables", "Deliverables", url_for(".overview", case_id=case.id)),
             ("activities", "Activities", url_for(".activities", case_id=case.id)),
             ("reports", "Reports", url_for(".reports", case_id=case.id))]
    if plan_ops.steps(wf) is not None:
        links.append(("plan", plan_ops.plan_name(case), url_for(".plan", case_id=case.id)))
    if staff and assessment.has_scoring(wf):
        links.append(("assessment", "Scoring", url_for(".scoring", case_id=case.id)))
    case_url = url_for("coordinator.case", case_id=case.id) if staff else \
        url_for("applicant.case", case_id=case.id)
    return {"case": case, "state": wf.state(case.state), "staff": staff, "links": links,
            "current": current, "case_url": case_url, "plan_name": plan_ops.plan_name(case),
            "status_tags": STATUS_TAGS, "now": utcnow()}


def _local_end_of_day(day) -> datetime:
    """A date picked on a form as the end of that day in the viewer's time zone."""
    return datetime.combine(day, time(23, 59), tzinfo=ZoneInfo(select_timezone()))
