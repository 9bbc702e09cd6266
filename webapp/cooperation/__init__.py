"""The cooperation pages, for the partners of a pair and for coordinators: deliverables,
activities, reports, the plan, and the assessment of applications by evaluators."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from webapp.access import case_or_abort
from webapp.cooperation import forms
from webapp.db import db, utcnow
from webapp.errors import Conflict, OperationError, Refused
from webapp.forms import choices
from webapp.i18n import select_timezone
from webapp.models import Case, Deliverable, Document
from webapp.models.cooperation import activity_document
from webapp.models.party import is_party
from webapp.operations import cases as case_ops
from webapp.operations import cooperation as coop
from webapp.operations import documents
from webapp.operations import lap as plan_ops
from webapp.views import refusals_flashed
from workflows import get_workflow, lap, schedule, vocabulary
from workflows.engine import StateKind
from workflows.schedule import DeliverableKind

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
    if staff and coop.has_scoring(wf):
        links.append(("assessment", "Scoring", url_for(".scoring", case_id=case.id)))
    case_url = url_for("coordinator.case", case_id=case.id) if staff else \
        url_for("applicant.case", case_id=case.id)
    return {"case": case, "state": wf.state(case.state), "staff": staff, "links": links,
            "current": current, "case_url": case_url, "plan_name": plan_ops.plan_name(case),
            "status_tags": STATUS_TAGS, "now": utcnow()}


def _local_end_of_day(day) -> datetime:
    """A date picked on a form as the end of that day in the viewer's time zone."""
    return datetime.combine(day, time(23, 59), tzinfo=ZoneInfo(select_timezone()))


# -- deliverables -------------------------------------------------------------------------

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


# -- activities ---------------------------------------------------------------------------

@bp.get("/cases/<int:case_id>/activities")
def activities(case_id: int):
    """Every activity of the pair, the most recent first."""
    case = case_or_abort(case_id)
    return render_template("cooperation/activities.html", **_frame(case, "activities"),
                           activities=coop.activities(db.session, case.id),
                           types=coop.ACTIVITY_TYPES, directions=coop.DIRECTIONS,
                           date_range=coop.date_range,
                           can_add=is_party(current_user) and case.cooperation_start)


@bp.route("/cases/<int:case_id>/activities/new", methods=["GET", "POST"])
def new_activity(case_id: int):
    """Log an activity, with its attachments."""
    case = case_or_abort(case_id)
    _parties_only()
    form = forms.ActivityForm()
    if form.validate_on_submit():
        files = [f for f in form.attachments.data or [] if f and f.filename]
        try:
            activity = coop.log_activity(case.id, current_user, form.data,
                                         attachments=[(f.stream, f.filename) for f in files])
        except documents.UploadRefused as exc:
            form.attachments.errors = [exc.message]
        except Refused as exc:
            form.form_errors.extend(exc.reasons or (exc.message,))
        else:
            flash(_("“%(title)s” is added to the activities.", title=activity.title), "success")
            return redirect(url_for(".activities", case_id=case.id), 303)
    status = 400 if request.method == "POST" else 200
    return render_template("cooperation/activity_form.html", **_frame(case, "activities"),
                           form=form), status


# -- reports ------------------------------------------------------------------------------

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


# -- the Local Action Plan ----------------------------------------------------------------

def _plan_frame(case: Case) -> dict[str, Any]:
    wf = get_workflow(case.workflow)
    if plan_ops.steps(wf) is None:
        abort(404)
    return _frame(case, "plan")


def _plan(case: Case) -> lap.PlanDefinition:
    return vocabulary(case.workflow).plan


@bp.get("/cases/<int:case_id>/plan")
def plan(case_id: int):
    """The plan: its sections and what each still lacks, its versions, submitting, review."""
    case = case_or_abort(case_id)
    frame = _plan_frame(case)
    working = plan_ops.get_plan(db.session, case.id)
    content = working.content if working else {}
    found = plan_ops.versions(db.session, case.id)
    st = plan_ops.steps(get_workflow(case.workflow))
    options = {o.transition.name: o for o in case_ops.options(case, current_user)}
    draft = next((d for d in coop.deliverables(db.session, case.id)
                  if d.kind == DeliverableKind.DRAFT_LAP), None)
    definition = _plan(case)
    return render_template(
        "cooperation/plan.html", **frame, plan=working, sections=definition.sections,
        problems={s.key: definition.section_problems(content, s.key)
                  for s in definition.sections},
        started={s.key for s in definition.sections if content.get(s.key)},
        versions=found, outcomes=plan_ops.outcomes(db.session, case, found),
        edit_refusal=plan_ops.edit_refusal(case, current_user) if is_party(current_user)
        else None,
        submit_option=options.get(st.submit.name) if st else None,
        review_open=current_user.is_staff and st is not None and case.state == st.submit.target,
        review_form=forms.PlanReviewForm(formdata=None), draft=draft,
        draft_refusal=coop.can_hand_in(draft, utcnow()) if draft else None)


def _section(case: Case, key: str) -> lap.Section:
    section = _plan(case).section(key)
    if section is None:
        abort(404)
    return section


def _sdg_choices(form: Any) -> None:
    if hasattr(form, "sdg_topics"):
        form.sdg_topics.choices = choices(plan_ops.sdg_labels(db.session).items())


def _render_section(case: Case, section: lap.Section, form: Any, *, status: int = 200,
                    conflict: plan_ops.SectionConflict | None = None):
    working = plan_ops.get_plan(db.session, case.id)
    content = working.content if working else {}
    definition = _plan(case)
    keys = definition.keys()
    i = keys.index(section.key)
    page = render_template(
        "cooperation/plan_section.html", **_plan_frame(case), section=section, form=form,
        problems=definition.section_problems(content, section.key), conflict=conflict,
        saved=content.get(section.key) or {}, sectors=definition.sectors,
        next_key=keys[i + 1] if i + 1 < len(keys) else None, has_errors=status != 200)
    return page, status


@bp.get("/cases/<int:case_id>/plan/sections/<key>")
def plan_section(case_id: int, key: str):
    """One section of the working draft, with one empty row more when asked for."""
    case = case_or_abort(case_id)
    section = _section(case, key)
    _parties_only()
    working = plan_ops.get_plan(db.session, case.id)
    reason = plan_ops.edit_refusal(case, current_user)
    if reason:
        flash(reason, "info")
        return redirect(url_for(".plan", case_id=case.id), 303)
    saved = dict((working.content if working else {}).get(key) or {})
    saved["revision"] = str((working.revisions if working else {}).get(key, 0))
    rows = list(saved.get("rows") or [])
    extra = request.args.get("add", type=int) or (0 if rows else 1)
    for row in rows:
        for column in section.columns:
            if column.type == "date" and row.get(column.key):
                row[column.key] = datetime.fromisoformat(row[column.key]).date()
    saved["rows"] = rows + [{}] * min(max(extra, 0), 10)
    form = forms.section_form_class(_plan(case), section)(formdata=None, data=saved)
    _sdg_choices(form)
    return _render_section(case, section, form)


@bp.post("/cases/<int:case_id>/plan/sections/<key>")
def save_plan_section(case_id: int, key: str):
    """Save a section; "Add another row" saves and comes back with one more empty row."""
    case = case_or_abort(case_id)
    section = _section(case, key)
    _parties_only()
    form = forms.section_form_class(_plan(case), section)()
    _sdg_choices(form)
    if not form.validate():
        return _render_section(case, section, form, status=400)
    values = dict(form.data)
    values["rows"] = values.get("rows") or []
    try:
        plan_ops.save_section(case.id, current_user, key, values,
                              expected_revision=int(form.revision.data or 0))
    except plan_ops.SectionConflict as exc:
        form.revision.data = str(exc.revision)
        form.form_errors.append(exc.message)
        return _render_section(case, section, form, status=409, conflict=exc)
    except Refused as exc:
        form.form_errors.extend(exc.reasons or (exc.message,))
        return _render_section(case, section, form, status=400)
    except Conflict as exc:
        form.form_errors.append(exc.message)
        return _render_section(case, section, form, status=409)
    action = request.form.get("action", "save")
    if action == "add_row":
        empty = sum(1 for r in values["rows"] if not any(
            v not in (None, "", False) for k, v in r.items() if k != "remove"))
        return redirect(url_for(".plan_section", case_id=case.id, key=key, add=empty + 1), 303)
    flash(_("“%(title)s” is saved.", title=section.title), "success")
    if action == "next":
        keys = _plan(case).keys()
        i = keys.index(key)
        if i + 1 < len(keys):
            return redirect(url_for(".plan_section", case_id=case.id, key=keys[i + 1]), 303)
    return redirect(url_for(".plan", case_id=case.id), 303)


@bp.post("/cases/<int:case_id>/plan/draft")
def send_plan_draft(case_id: int):
    """Send the working draft to the coordinator for comments."""
    case = case_or_abort(case_id)
    _parties_only()
    with refusals_flashed(url_for(".plan", case_id=case.id)):
        version = plan_ops.send_draft(case.id, current_user)
    flash(_("Version %(number)s is sent to the coordinator for comments. You can keep "
            "working on the plan.", number=version.number), "success")
    return redirect(url_for(".plan", case_id=case.id), 303)


@bp.post("/cases/<int:case_id>/plan/submit")
def submit_plan(case_id: int):
    """Submit the plan for approval; the submitted version is frozen."""
    case = case_or_abort(case_id)
    _parties_only()
    with refusals_flashed(url_for(".plan", case_id=case.id)):
        version = plan_ops.submit(case.id, current_user,
                                  expected_version=request.form.get("version", type=int),
                                  source_address=g.source_address)
    flash(_("Version %(number)s of the plan is submitted and frozen. The coordinator will "
            "review it.", number=version.number), "success")
    return redirect(url_for(".plan", case_id=case.id), 303)


@bp.post("/cases/<int:case_id>/plan/review")
def review_plan(case_id: int):
    """A coordinator approves the submitted plan or sends it back."""
    case = case_or_abort(case_id)
    _staff_only()
    form = forms.PlanReviewForm()
    if not form.validate():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
        return redirect(url_for(".plan", case_id=case.id), 303)
    deadline = form.response_deadline.data
    if deadline is not None:
        deadline = deadline.replace(tzinfo=ZoneInfo(select_timezone()))
    with refusals_flashed(url_for(".plan", case_id=case.id)):
        plan_ops.review(case.id, current_user, approve=form.decision.data == "approve",
                        comments=form.comments.data or "", response_deadline=deadline,
                        source_address=g.source_address)
    flash(_("The plan is approved; the case is completed.") if form.decision.data == "approve"
          else _("The plan is sent back with your comments."), "success")
    return redirect(url_for(".plan", case_id=case.id), 303)


@bp.get("/cases/<int:case_id>/plan/versions/<int:number>")
def plan_version(case_id: int, number: int):
    """A frozen version of the plan, as it was sent."""
    case = case_or_abort(case_id)
    frame = _plan_frame(case)
    try:
        version = plan_ops.get_version(db.session, case.id, number)
    except OperationError:
        abort(404)
    definition = _plan(case)
    return render_template("cooperation/plan_version.html", **frame, version=version,
                           content=version.content, sections=definition.sections,
                           sectors=definition.sectors,
                           sdgs=plan_ops.sdg_labels(db.session),
                           outcome=plan_ops.outcomes(db.session, case, [version]).get(version.id))


@bp.get("/cases/<int:case_id>/plan/versions/<int:number>.pdf")
def plan_version_pdf(case_id: int, number: int):
    """A frozen version of the plan as a PDF."""
    case = case_or_abort(case_id)
    _plan_frame(case)
    try:
        version = plan_ops.get_version(db.session, case.id, number)
    except OperationError:
        abort(404)
    pdf = plan_ops.render_pdf(case, version)
    name = f"{case.reference}-plan-v{version.number}.pdf"
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# -- the assessment by evaluators ------------------------------------------------------------

def _scoring_frame(case: Case) -> dict[str, Any]:
    _staff_only()
    if not coop.has_scoring(get_workflow(case.workflow)):
        abort(404)
    return _frame(case, "assessment")


def _render_scoring(case: Case, form: Any, conflict_form: forms.ConflictForm,
                    status: int = 200):
    sets = coop.score_sets(db.session, [case.id]).get(case.id, {})
    declared = coop.conflicts(db.session, case.id)
    page = render_template(
        "cooperation/scoring.html", **_scoring_frame(case), form=form,
        conflict_form=conflict_form, vocab=vocabulary(case.workflow),
        assessment=coop.assessment_of(case, sets),
        evaluators=[(scores[0].scored_by, {x.criterion: x for x in scores})
                    for scores in sets.values()],
        conflicts=declared, conflicted=any(c.evaluator_id == current_user.id for c in declared),
        editable=coop.scoring_open(get_workflow(case.workflow), case.state),
        has_errors=status != 200)
    return page, status


def _scoring_form(case: Case, formdata: Any = None) -> Any:
    words = vocabulary(case.workflow)
    form_cls = forms.scoring_form(words)
    if formdata is not None:
        return form_cls(formdata=formdata)
    mine = coop.score_sets(db.session, [case.id]).get(case.id, {}).get(current_user.id, [])
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
        coop.save_scores(case.id, current_user, given)
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
        coop.declare_conflict(case.id, current_user, conflict_form.statement.data)
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

