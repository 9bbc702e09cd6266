"""The coordinators' back office: the case list and the case page where decisions are taken."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from webapp.access import can_view_case, visible_cases
from webapp.db import db
from webapp.errors import OperationError, Refused
from webapp.models import Call, Case, Organisation
from webapp.operations import cases as case_ops
from webapp.views import case_timeline, form_payload, progress_for, transition_form
from workflows import get_workflow, workflows

bp = Blueprint("coordinator", __name__, url_prefix="/office")
PAGE_SIZE = 25


@bp.before_request
@login_required
def _staff_only():
    if not current_user.is_staff:
        abort(403)


def _case(case_id: int) -> Case:
    case = db.session.get(Case, case_id)
    if case is None:
        abort(404)
    if not can_view_case(current_user, case):
        abort(403)
    return case


@bp.get("/")
def cases_list():
    return redirect(url_for("coordinator.cases"))


@bp.get("/cases")
def cases():
    q = visible_cases(current_user).join(Organisation, Case.organisation_id == Organisation.id)
    call_id = request.args.get("call", type=int)
    state = request.args.get("state", "")
    search = request.args.get("q", "").strip()
    if call_id:
        q = q.where(Case.call_id == call_id)
    if state:
        q = q.where(Case.state == state)
    if search:
        like = f"%{search.lower()}%"
        q = q.where(or_(func.lower(Organisation.name).like(like),
                        func.lower(Case.reference).like(like)))
    total = db.session.scalar(select(func.count()).select_from(q.subquery()))
    page = max(request.args.get("page", 1, type=int), 1)
    rows = list(db.session.scalars(
        q.options(joinedload(Case.organisation), joinedload(Case.call))
        .order_by(Case.updated_at.desc(), Case.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    states = sorted({(s.name, s.staff_label) for w in workflows().values() for s in w.states},
                    key=lambda s: s[1])
    return render_template("coordinator/cases.html", cases=rows, total=total, page=page,
                           pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
                           calls=list(db.session.scalars(select(Call).order_by(Call.title))),
                           states=states, filters={"call": call_id, "state": state,
                                                   "q": search}, workflow=get_workflow)


@bp.get("/dashboard")
def dashboard():
    counts = db.session.execute(
        visible_cases(current_user).with_only_columns(Case.state, func.count())
        .group_by(Case.state)).all()
    return render_template("coordinator/dashboard.html", counts=counts,
                           workflow=get_workflow("city-to-city"))


@bp.get("/cases/<int:case_id>")
def case(case_id: int):
    case = _case(case_id)
    options = case_ops.options(case, current_user)
    forms = {o.transition.name: transition_form(o.transition) for o in options}
    return render_template("coordinator/case.html", case=case, options=options, forms=forms,
                           state=get_workflow(case.workflow).state(case.state),
                           progress=progress_for(case), timeline=case_timeline(case, staff=True))


@bp.post("/cases/<int:case_id>/act/<transition>")
def act(case_id: int, transition: str):
    case = _case(case_id)
    wf = get_workflow(case.workflow)
    if not wf.has_transition(transition):
        abort(404)
    t = wf.transition(transition)
    form = transition_form(t, formdata=request.form)
    if not form.validate():
        options = case_ops.options(case, current_user)
        forms = {o.transition.name: transition_form(o.transition) for o in options}
        forms[transition] = form
        return render_template("coordinator/case.html", case=case, options=options, forms=forms,
                               state=wf.state(case.state), progress=progress_for(case),
                               timeline=case_timeline(case, staff=True), failed=transition), 400
    payload = form_payload(t, form)
    payload.update({k: v for k, v in request.form.items()
                    if k in {"partner_city_id"}})
    try:
        fired = case_ops.fire(case.id, transition, current_user, payload,
                           expected_version=request.form.get("version", type=int),
                           source_address=g.source_address)
    except Refused as exc:
        for reason in exc.reasons or (exc.message,):
            flash(reason, "error")
        return redirect(url_for("coordinator.case", case_id=case.id)), 303
    except OperationError as exc:
        flash(exc.message, "error")
        return redirect(url_for("coordinator.case", case_id=case.id)), 303
    flash(f"{t.label}: the case is now {wf.state(fired.target).staff_label.lower()}.",
          "success")
    return redirect(url_for("coordinator.case", case_id=case.id))
