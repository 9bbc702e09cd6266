"""The cooperation pages: the periodic progress reports."""

from __future__ import annotations

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from webapp.access import case_or_abort
from webapp.cooperation import forms
from webapp.cooperation.common import (
    _frame,
    _parties_only,
    bp,
)
from webapp.cooperation.deliverables import (
    _deliverable,
)
from webapp.db import db, utcnow
from webapp.errors import Conflict, Refused
from webapp.forms import choices
from webapp.models import Case, Deliverable
from webapp.models.party import is_party
from webapp.operations import cooperation as coop
from workflows import get_workflow, schedule
from workflows.engine import StateKind


@bp.get("/cases/<int:case_id>/reports")
def reports(case_id: int):
    """The reports of the cooperation: progress, final and follow-up."""
    case = case_or_abort(case_id)
    rows = [d for d in coop.deliverables(db.session, case.id) if d.kind in schedule.REPORT_KINDS]
    return render_template("cooperation/reports.html", **_frame(case, "reports"),
                           deliverables=rows)


def _report_deliverable(case: Case, deliverable_id: int) -> Deliverable:
    d = _deliverable(case, deliverable_id)
    if d.kind not in schedule.REPORT_KINDS:
        abort(404)
    return d


def _activity_choices(case: Case, form: forms.ReportForm, start, end) -> None:
    """Activities of the report's period, and any already linked whatever their dates."""
    chosen = {int(i) for i in form.activity_ids.data or []}
    found = [a for a in coop.activities(db.session, case.id)
             if a.id in chosen or start is None or end is None
             or (a.starts_on <= end and a.ends_on >= start)]
    form.activity_ids.choices = choices(
        (a.id, f"{_(coop.ACTIVITY_TYPES[a.type])}: {a.title} "
               f"({coop.date_range(a.starts_on, a.ends_on)})")
        for a in reversed(found))


def _render_report(case: Case, d: Deliverable, form: forms.ReportForm, *, status: int = 200,
                   conflict: coop.ReportConflict | None = None):
    report = coop.report_for(db.session, d)
    editable = is_party(current_user) and d.status not in schedule.DONE and \
        get_workflow(case.workflow).state(case.state).kind is not StateKind.CLOSED
    page = render_template(
        "cooperation/report.html", **_frame(case, "reports"), d=d, report=report, form=form,
        editable=editable, conflict=conflict, hand_in_refusal=coop.can_hand_in(d, utcnow()),
        problems=coop.report_problems(report) if report else [],
        review_form=forms.ReviewForm(formdata=None), has_errors=status != 200)
    return page, status


@bp.get("/cases/<int:case_id>/reports/<int:deliverable_id>")
def report(case_id: int, deliverable_id: int):
    """A report: the shared draft both partners write, or the submitted text."""
    case = case_or_abort(case_id)
    d = _report_deliverable(case, deliverable_id)
    saved = coop.report_for(db.session, d)
    if saved is None:
        start, end = coop.report_period(db.session, case, d)
        form = forms.ReportForm(formdata=None, data={"version": "0", "period_start": start,
                                                     "period_end": end})
    else:
        data = {f: getattr(saved, f) for f in coop.REPORT_FIELDS}
        data.update(version=str(saved.version), period_start=saved.period_start,
                    period_end=saved.period_end,
                    activity_ids=[a.id for a in saved.activities])
        form = forms.ReportForm(formdata=None, data=data)
    _activity_choices(case, form, form.period_start.data, form.period_end.data)
    return _render_report(case, d, form)


@bp.post("/cases/<int:case_id>/reports/<int:deliverable_id>")
def save_report(case_id: int, deliverable_id: int):
    """Save the shared draft, or submit it."""
    case = case_or_abort(case_id)
    _parties_only()
    d = _report_deliverable(case, deliverable_id)
    form = forms.ReportForm()
    _activity_choices(case, form, form.period_start.data, form.period_end.data)
    if not form.validate():
        return _render_report(case, d, form, status=400)
    submit = request.form.get("action") == "submit"
    try:
        coop.save_report(case.id, d.id, current_user, form.data,
                         expected_version=int(form.version.data or 0), submit=submit)
    except coop.ReportConflict as exc:
        # The next save overwrites knowingly: the form now carries the stored version.
        form.version.data = str(exc.version)
        form.form_errors.append(exc.message)
        return _render_report(case, d, form, status=409, conflict=exc)
    except Refused as exc:
        form.form_errors.extend(exc.reasons or (exc.message,))
        return _render_report(case, d, form, status=400)
    except Conflict as exc:
        form.form_errors.append(exc.message)
        return _render_report(case, d, form, status=409)
    flash(_("%(title)s is submitted. The coordinator will review it.", title=d.title) if submit
          else _("Your draft is saved. Your partner sees it too."), "success")
    return redirect(url_for(".report", case_id=case.id, deliverable_id=d.id), 303)


