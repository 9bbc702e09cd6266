"""The cooperation pages: the Local Action Plan or roadmap, drafted, submitted and reviewed."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Response,
    abort,
    flash,
    g,
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
    _staff_only,
    bp,
)
from webapp.db import db, utcnow
from webapp.errors import Conflict, OperationError, Refused
from webapp.forms import choices
from webapp.i18n import select_timezone
from webapp.models import Case
from webapp.models.party import is_party
from webapp.operations import cases as case_ops
from webapp.operations import cooperation as coop
from webapp.operations import lap as plan_ops
from webapp.views import refusals_flashed
from workflows import get_workflow, lap, vocabulary
from workflows.schedule import DeliverableKind


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


