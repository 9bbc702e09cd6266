"""One case in the back office: summary, progress, actions, timeline, comments, assignment,
extensions and the audit trail."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from webapp.access import can_view_case, case_or_abort
from webapp.coordinator.blueprint import bp
from webapp.coordinator.forms import AssignForm, CommentForm, ExtensionForm
from webapp.db import db, utcnow
from webapp.errors import OperationError
from webapp.forms import choices
from webapp.i18n import in_zone, select_timezone
from webapp.models import Case, Organisation, User, UserRole
from webapp.operations import assessment, backoffice, caselist
from webapp.operations import cases as case_ops
from webapp.views import (
    action_label,
    case_links,
    case_timeline,
    form_payload,
    progress_for,
    refusals_flashed,
    transition_form,
)
from workflows import get_workflow
from workflows.engine import StateKind, Workflow


def _coordinators(case: Case) -> list[User]:
    """Staff who can see the case, so who may be made responsible for it."""
    # Their programmes with them: the scope check reads them for each person.
    staff = db.session.scalars(select(User).where(
        User.role.in_((UserRole.COORDINATOR, UserRole.ADMIN)), User.active.is_(True),
        User.erased_at.is_(None)).order_by(User.name).options(selectinload(User.programmes)))
    return [u for u in staff if can_view_case(u, case)]


def _assign_form(case: Case, formdata: Any = None) -> AssignForm:
    form = AssignForm(formdata=formdata, data={"coordinator": str(case.coordinator_id or "")})
    form.coordinator.choices = choices([("", _("Nobody")), *((str(u.id), u.display_name)
                                                          for u in _coordinators(case))])
    return form


def _assessment(case: Case, wf: Workflow) -> dict[str, Any]:
    """The evaluators' assessment, for a call that scores its applications."""
    if not assessment.has_scoring(wf):
        return {"assessment": None, "conflicts": []}
    sets = assessment.score_sets(db.session, [case.id]).get(case.id, {})
    return {"assessment": assessment.assessment_of(case, sets),
            "conflicts": assessment.conflicts(db.session, case.id)}


def _extension_open(case: Case) -> bool:
    """An extension makes sense for a draft whose call has closed."""
    draft = get_workflow(case.workflow).state(case.state).kind is StateKind.DRAFT
    return draft and utcnow() > case.call.closes_at


def render_case(case: Case, status: int = 200, *, failed: str | None = None,
                transition_forms: dict[str, Any] | None = None,
                comment_form: CommentForm | None = None, assign_form: AssignForm | None = None,
                extension_form: ExtensionForm | None = None):
    """The case page, with any form given in place of a fresh one (to show its errors)."""
    options = case_ops.options(case, current_user)
    forms_by_name = {o.transition.name: transition_form(o.transition, case=case)
                     for o in options}
    forms_by_name.update(transition_forms or {})
    wf = get_workflow(case.workflow)
    audit = case_ops.audit_trail(case.id)
    page = render_template(
        "coordinator/case.html", case=case, options=options, transition_forms=forms_by_name,
        state=wf.state(case.state), progress=progress_for(case),
        timeline=case_timeline(case, staff=True, events=audit), failed=failed,
        comment_form=comment_form or CommentForm(formdata=None),
        assign_form=assign_form or _assign_form(case),
        extension_form=(extension_form or ExtensionForm(formdata=None))
        if _extension_open(case) else None,
        extension=case_ops.extension_for(db.session(), case),
        audit=audit, workflow=wf, links=case_links(case, staff=True),
        action_label=lambda action: action_label(wf, action),
        **_assessment(case, wf))
    return page, status


@bp.get("/cases/<int:case_id>")
def case(case_id: int):
    """Everything about one case, and what the viewer may do with it now."""
    # What the page shows of the case, read in one statement instead of a lazy load each;
    # held here, as the session keeps only what someone holds.
    loaded = db.session.scalars(select(Case).where(Case.id == case_id).options(
        joinedload(Case.call), joinedload(Case.organisation).joinedload(Organisation.members),
        joinedload(Case.partner_city), joinedload(Case.coordinator), joinedload(Case.topics),
        joinedload(Case.eligibility_results))
        # the request may have read the case already (its time zone): fill it in all the same
        .execution_options(populate_existing=True)).unique().first()
    case = case_or_abort(case_id)
    assert case is loaded
    return render_case(case)


@bp.post("/cases/<int:case_id>/act/<transition>")
def act(case_id: int, transition: str):
    """Fire one transition from the case page."""
    case = case_or_abort(case_id)
    wf = get_workflow(case.workflow)
    if not wf.has_transition(transition):
        abort(404)
    t = wf.transition(transition)
    form = transition_form(t, formdata=request.form, case=case)
    payload = form_payload(t, form, request.form) if form.validate() else None
    if payload is None:
        return render_case(case, 400, failed=transition, transition_forms={transition: form})
    with refusals_flashed(url_for("coordinator.case", case_id=case.id)):
        fired = case_ops.fire(case.id, transition, current_user, payload,
                              expected_version=request.form.get("version", type=int),
                              source_address=g.source_address)
    if fired.moved:
        flash(_("%(action)s: the case is now %(state)s.", action=_(t.label),
                state=_(wf.state(fired.target).staff_label).lower()), "success")
    else:
        flash(_("%(action)s: recorded; waiting for the other party.", action=_(t.label)),
              "success")
    return redirect(url_for("coordinator.case", case_id=case.id), 303)


@bp.post("/cases/<int:case_id>/comments")
def comment(case_id: int):
    """Add an internal note, or a comment shared with the applicant."""
    case = case_or_abort(case_id)
    form = CommentForm()
    if not form.validate():
        return render_case(case, 400, comment_form=form)
    internal = form.visibility.data != "shared"
    backoffice.add_comment(case.id, current_user, form.body.data, internal=internal)
    flash(_("Your internal note is saved.") if internal
          else _("Your comment is shared with the applicant."), "success")
    return redirect(url_for("coordinator.case", case_id=case.id, _anchor="timeline-title"), 303)


@bp.post("/cases/<int:case_id>/assign")
def assign(case_id: int):
    """Make a coordinator responsible for the case, or nobody."""
    case = case_or_abort(case_id)
    form = _assign_form(case, formdata=request.form)
    if not form.validate():
        return render_case(case, 400, assign_form=form)
    chosen = int(form.coordinator.data) if form.coordinator.data else None
    backoffice.assign_coordinator(case.id, current_user, chosen)
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    flash(_("%(name)s is responsible for this case.", name=case.coordinator.display_name)
          if case.coordinator else _("Nobody is responsible for this case now."), "success")
    return redirect(url_for("coordinator.case", case_id=case.id), 303)


@bp.post("/cases/<int:case_id>/extension")
def extension(case_id: int):
    """Give the applicant of a draft more time to submit after the call closed."""
    case = case_or_abort(case_id)
    if not _extension_open(case):
        flash(_("Only a draft can be given more time, once its call has closed."), "error")
        return redirect(url_for("coordinator.case", case_id=case.id), 303)
    form = ExtensionForm()
    if form.validate():
        until = form.until.data.replace(tzinfo=ZoneInfo(select_timezone()))
        try:
            backoffice.extend_case(case.id, current_user, until, form.reason.data)
        except OperationError as exc:
            form.until.errors = [exc.message]
        else:
            flash(_("%(name)s can submit until %(when)s.", name=case.organisation.name,
                    when=in_zone(until)), "success")
            return redirect(url_for("coordinator.case", case_id=case.id), 303)
    return render_case(case, 400, extension_form=form)


@bp.get("/cases/<int:case_id>/audit.csv")
def audit_csv(case_id: int):
    """The case's audit trail as CSV."""
    case = case_or_abort(case_id)
    lines = caselist.audit_csv(case_ops.audit_trail(case.id), select_timezone())
    return Response("".join(lines), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename={case.reference}-audit.csv"})

