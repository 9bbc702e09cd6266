"""The cooperation pages: evaluators' scores and their declared conflicts of interest."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from webapp.access import case_or_abort
from webapp.cooperation import forms
from webapp.cooperation.common import (
    _frame,
    _staff_only,
    bp,
)
from webapp.db import db, utcnow
from webapp.errors import Refused
from webapp.i18n import select_timezone
from webapp.models import Case, Deliverable
from webapp.operations import assessment
from workflows import get_workflow, schedule, vocabulary


def _scoring_frame(case: Case) -> dict[str, Any]:
    _staff_only()
    if not assessment.has_scoring(get_workflow(case.workflow)):
        abort(404)
    return _frame(case, "assessment")


def _render_scoring(case: Case, form: Any, conflict_form: forms.ConflictForm,
                    status: int = 200):
    sets = assessment.score_sets(db.session, [case.id]).get(case.id, {})
    declared = assessment.conflicts(db.session, case.id)
    page = render_template(
        "cooperation/scoring.html", **_scoring_frame(case), form=form,
        conflict_form=conflict_form, vocab=vocabulary(case.workflow),
        assessment=assessment.assessment_of(case, sets),
        evaluators=[(scores[0].scored_by, {x.criterion: x for x in scores})
                    for scores in sets.values()],
        conflicts=declared, conflicted=any(c.evaluator_id == current_user.id for c in declared),
        editable=assessment.scoring_open(get_workflow(case.workflow), case.state),
        has_errors=status != 200)
    return page, status


def _scoring_form(case: Case, formdata: Any = None) -> Any:
    words = vocabulary(case.workflow)
    form_cls = forms.scoring_form(words)
    if formdata is not None:
        return form_cls(formdata=formdata)
    mine = assessment.score_sets(db.session, [case.id]).get(case.id, {}).get(current_user.id, [])
    data = {}
    for s in mine:
        data[f"{s.criterion}_score"], data[f"{s.criterion}_comment"] = str(s.score), s.comment
    return form_cls(formdata=None, data=data)


@bp.get("/cases/<int:case_id>/scoring")
def scoring(case_id: int):
    """The assessment of an application: every evaluator's scores, their mean and spread per
    criterion and in total, the conflicts declared, and the viewer's own scores."""
    case = case_or_abort(case_id)
    _scoring_frame(case)
    return _render_scoring(case, _scoring_form(case), forms.ConflictForm(formdata=None))


@bp.post("/cases/<int:case_id>/scoring")
def save_scoring(case_id: int):
    """Save the viewer's own scores; selecting or rejecting happens on the case page."""
    case = case_or_abort(case_id)
    _scoring_frame(case)
    form = _scoring_form(case, request.form)
    conflict_form = forms.ConflictForm(formdata=None)
    if not form.validate():
        return _render_scoring(case, form, conflict_form, 400)
    given = {c.key: (int(form[f"{c.key}_score"].data), form[f"{c.key}_comment"].data or "")
             for c in vocabulary(case.workflow).criteria}
    try:
        assessment.save_scores(case.id, current_user, given)
    except Refused as exc:
        form.form_errors.extend(exc.reasons or (exc.message,))
        return _render_scoring(case, form, conflict_form, 400)
    flash(_("Your scores are saved."), "success")
    return redirect(url_for(".scoring", case_id=case.id), 303)


@bp.post("/cases/<int:case_id>/scoring/conflict")
def declare_conflict(case_id: int):
    """The viewer declares a conflict of interest: it is recorded and they no longer score."""
    case = case_or_abort(case_id)
    _scoring_frame(case)
    conflict_form = forms.ConflictForm()
    if not conflict_form.validate():
        return _render_scoring(case, _scoring_form(case), conflict_form, 400)
    try:
        assessment.declare_conflict(case.id, current_user, conflict_form.statement.data)
    except Refused as exc:
        conflict_form.form_errors.extend(exc.reasons or (exc.message,))
        return _render_scoring(case, _scoring_form(case), conflict_form, 400)
    flash(_("Your conflict of interest is recorded; you will not score this application."),
          "success")
    return redirect(url_for(".scoring", case_id=case.id), 303)


@bp.app_template_filter("deliverable_status")
def _deliverable_status(d: Deliverable) -> str:
    """A deliverable's status as people see it now (open is derived from the time)."""
    return schedule.status_now(d.status, d.opens_at, utcnow()).value


@bp.app_template_filter("day")
def _day(moment: datetime | None) -> str:
    """The day a time falls on for the viewer, e.g. 25 April 2027."""
    if moment is None:
        return ""
    return format_date(moment.astimezone(ZoneInfo(select_timezone())).date(), "long")


@bp.app_template_global("is_overdue")
def _is_overdue(d: Deliverable) -> bool:
    return schedule.is_overdue(d.status, d.due_at, utcnow())

