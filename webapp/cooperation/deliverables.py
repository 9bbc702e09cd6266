"""The cooperation pages: the kickoff, deliverables handed in and reviewed, their documents."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from webapp.access import case_or_abort
from webapp.cooperation import forms
from webapp.cooperation.common import (
    _frame,
    _local_end_of_day,
    _parties_only,
    _staff_only,
    bp,
)
from webapp.db import db, utcnow
from webapp.errors import OperationError, Refused
from webapp.models import Case, Deliverable, Document
from webapp.models.cooperation import activity_document
from webapp.operations import cooperation as coop
from webapp.operations import documents
from workflows import schedule


@bp.get("/cases/<int:case_id>")
def overview(case_id: int):
    """The cooperation at a glance: dates, health and every deliverable."""
    case = case_or_abort(case_id)
    rows = coop.deliverables(db.session, case.id)
    return render_template(
        "cooperation/overview.html", **_frame(case, "deliverables"), deliverables=rows,
        health=coop.health_of_case(db.session, case),
        kickoff_form=forms.KickoffForm() if current_user.is_staff else None)


@bp.post("/cases/<int:case_id>/kickoff")
def kickoff(case_id: int):
    """A coordinator moves the start of the cooperation to its kickoff date."""
    case = case_or_abort(case_id)
    _staff_only()
    form = forms.KickoffForm()
    if form.validate():
        start = datetime.combine(form.kickoff.data, time(9),
                                 tzinfo=ZoneInfo(case.call.timezone))
        try:
            coop.set_kickoff(case.id, current_user, start)
        except OperationError as exc:
            form.kickoff.errors = list(exc.reasons or (exc.message,))
    if form.errors:
        # The page again, with what was typed and the reason beside the field.
        return render_template(
            "cooperation/overview.html", **_frame(case, "deliverables"),
            deliverables=coop.deliverables(db.session, case.id),
            health=coop.health_of_case(db.session, case), kickoff_form=form), 400
    flash(_("The cooperation now starts on the kickoff date; the deliverables moved with it."),
          "success")
    return redirect(url_for(".overview", case_id=case.id), 303)


def _deliverable(case: Case, deliverable_id: int) -> Deliverable:
    d = db.session.get(Deliverable, deliverable_id)
    if d is None or d.case_id != case.id:
        abort(404)
    return d


def _render_deliverable(case: Case, d: Deliverable, *, form=None, review_form=None,
                        status: int = 200):
    report = coop.report_for(db.session, d) if d.kind in schedule.REPORT_KINDS else None
    page = render_template(
        "cooperation/deliverable.html", **_frame(case, "deliverables"), d=d, report=report,
        hand_in_refusal=coop.can_hand_in(d, utcnow()),
        form=form if form is not None else forms.WorkPlanForm(formdata=None),
        review_form=review_form if review_form is not None else
        forms.ReviewForm(formdata=None),
        has_errors=status != 200)
    return page, status


@bp.get("/cases/<int:case_id>/deliverables/<int:deliverable_id>")
def deliverable(case_id: int, deliverable_id: int):
    """One deliverable: its dates and status, handing it in, and its review."""
    case = case_or_abort(case_id)
    return _render_deliverable(case, _deliverable(case, deliverable_id))


@bp.post("/cases/<int:case_id>/deliverables/<int:deliverable_id>")
def hand_in(case_id: int, deliverable_id: int):
    """The partners hand in a document deliverable (the work plan)."""
    case = case_or_abort(case_id)
    _parties_only()
    d = _deliverable(case, deliverable_id)
    form = forms.WorkPlanForm()
    if not form.validate():
        return _render_deliverable(case, d, form=form, status=400)
    upload = form.document.data if form.document.data and form.document.data.filename else None
    try:
        coop.submit_deliverable(case.id, d.id, current_user, note=form.note.data or "",
                                upload=upload.stream if upload else None,
                                filename=upload.filename if upload else "")
    except documents.UploadRefused as exc:
        form.document.errors = [exc.message]
        return _render_deliverable(case, d, form=form, status=400)
    except Refused as exc:
        form.form_errors.extend(exc.reasons or (exc.message,))
        return _render_deliverable(case, d, form=form, status=400)
    flash(_("%(title)s is submitted. The coordinator will review it.", title=d.title), "success")
    return redirect(url_for(".deliverable", case_id=case.id, deliverable_id=d.id), 303)


@bp.post("/cases/<int:case_id>/deliverables/<int:deliverable_id>/review")
def review(case_id: int, deliverable_id: int):
    """A coordinator accepts a deliverable or asks for a revision."""
    case = case_or_abort(case_id)
    _staff_only()
    d = _deliverable(case, deliverable_id)
    form = forms.ReviewForm()
    if not form.validate():
        return _render_deliverable(case, d, review_form=form, status=400)
    due = _local_end_of_day(form.resubmit_by.data) if form.resubmit_by.data else None
    try:
        coop.review_deliverable(case.id, d.id, current_user,
                                accept=form.decision.data == "accept",
                                comments=form.comments.data or "", resubmit_by=due)
    except Refused as exc:
        form.form_errors.extend(exc.reasons or (exc.message,))
        return _render_deliverable(case, d, review_form=form, status=400)
    flash(_("%(title)s: accepted.", title=d.title) if form.decision.data == "accept"
          else _("%(title)s: revision requested; the partners are told by e-mail.",
                 title=d.title), "success")
    return redirect(url_for(".deliverable", case_id=case.id, deliverable_id=d.id), 303)


@bp.get("/cases/<int:case_id>/documents/<int:document_id>")
def document(case_id: int, document_id: int):
    """An attachment of an activity or a handed-in deliverable of this case."""
    case = case_or_abort(case_id)
    doc = db.session.get(Document, document_id)
    if doc is None or doc.case_id != case.id:
        abort(404)
    attached = db.session.scalar(select(activity_document.c.activity_id).where(
        activity_document.c.document_id == doc.id).limit(1)) or db.session.scalar(
        select(Deliverable.id).where(Deliverable.document_id == doc.id).limit(1))
    if not attached:
        abort(404)
    path = documents.blob_path(doc.sha256)
    if not path.exists():
        abort(404)
    return send_file(path, mimetype=doc.content_type, download_name=doc.filename,
                     as_attachment=doc.content_type == documents.PDF)


