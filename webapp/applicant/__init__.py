"""The applicant portal: apply step by step, check answers, submit, follow the case."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from webapp.access import HIDDEN, case_or_abort
from webapp.applicant import forms
from webapp.db import db, utcnow
from webapp.errors import OperationError, Refused
from webapp.forms import choices
from webapp.i18n import region_name, select_timezone
from webapp.models import (
    AuditEvent,
    Call,
    CallStatus,
    Case,
    Deadline,
    DeadlineStatus,
    GroupMember,
    UserRole,
)
from webapp.models.party import is_party
from webapp.operations import accounts, applications, cases, documents, vocabulary
from webapp.views import case_links, case_timeline, progress_for, refusals_flashed, words
from workflows import get_workflow
from workflows.engine import Purpose

bp = Blueprint("applicant", __name__, url_prefix="/my")
# Pages and e-mails name an application's sections in the reader's language.
bp.add_app_template_global(applications.section_title, "section_title")

SECTION_FORMS = {
    "organisation": forms.OrganisationForm,
    "contact": forms.ContactForm,
    "topics": forms.TopicsForm,
    "partnership": forms.PartnershipForm,
    "resources": forms.ResourcesForm,
}


_WITH_CALL = (joinedload(Case.call), joinedload(Case.organisation))


@bp.before_request
@login_required
def _parties_only():
    if not is_party(current_user):
        abort(403)


def _case(case_id: int) -> Case:
    # Every page and action of the portal reads the call and the organisation: one query.
    return case_or_abort(case_id, policy=HIDDEN, options=_WITH_CALL)


@bp.get("/")
def dashboard():
    from webapp.access import visible_cases

    mine = list(db.session.scalars(visible_cases(current_user).order_by(Case.created_at.desc())))
    now = utcnow()
    open_calls = [] if current_user.role != UserRole.APPLICANT else [
        c for c in db.session.scalars(select(Call).where(Call.published.is_(True)))
        if c.status(now) == CallStatus.OPEN]
    return render_template("applicant/dashboard.html", cases=mine, open_calls=open_calls,
                           workflow=get_workflow)


@bp.post("/calls/<int:call_id>/apply")
def start(call_id: int):
    case = applications.start_application(current_user, call_id)
    return redirect(url_for("applicant.case", case_id=case.id))


@bp.get("/cases/<int:case_id>")
def case(case_id: int):
    case = _case(case_id)
    wf = get_workflow(case.workflow)
    state = wf.state(case.state)
    sections = applications.sections_for(case)
    status = {s.key: ("complete" if not applications.section_problems(case, s.key)
                      else "in_progress" if s.key in case.sections_saved else "not_started")
              for s in sections}
    request_event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.case_id == case.id,
                                 AuditEvent.action == wf.name_for(Purpose.REQUEST_INFORMATION))
        .order_by(AuditEvent.id.desc()).limit(1))
    state_deadlines = list(db.session.scalars(select(Deadline).where(
        Deadline.case_id == case.id, Deadline.state == case.state,
        Deadline.status == DeadlineStatus.OPEN).order_by(Deadline.due_at)))
    elsewhere = applications.open_calls_by_kind(
        (r.refer_to for r in case.eligibility_results), utcnow())
    return render_template(
        "applicant/case.html", case=case, state=state, sections=sections, status=status,
        elsewhere=elsewhere,
        state_deadlines=state_deadlines, links=case_links(case, staff=False),
        options=cases.options(case, current_user), progress=progress_for(case),
        timeline=case_timeline(case, staff=False), request_event=request_event,
        answer_form=forms.AnswerForm(), reason_form=forms.ReasonForm())


def _populate(form, case: Case, section: str) -> None:
    if section == "organisation":
        form.offer_countries(case.call.eligible_countries, call_label=True)
    if section == "topics":
        form.topics.choices = choices((t.slug, t.label)
                                      for t in vocabulary.offered(db.session, keep=case.topics))
    if section == "partnership":
        form.partner_region.choices = choices((r, region_name(r))
                                              for r in case.call.partner_regions)


def _next_section(case: Case, section: str) -> str:
    keys = [s.key for s in applications.sections_for(case)]
    i = keys.index(section) if section in keys else -1
    if 0 <= i < len(keys) - 1:
        return url_for("applicant.section", case_id=case.id, section=keys[i + 1])
    return url_for("applicant.check", case_id=case.id)


def _application_case(case_id: int) -> Case:
    """The case, for its organisation's staff: a partner contact does not open its form."""
    case = _case(case_id)
    if current_user.role != UserRole.APPLICANT:
        abort(403)
    return case


@bp.route("/cases/<int:case_id>/sections/<section>", methods=["GET", "POST"])
def section(case_id: int, section: str):
    case = _application_case(case_id)
    if section not in {s.key for s in applications.sections_for(case)}:
        abort(404)  # e.g. the group members step of a single city
    if section == "members":
        return members(case)
    if section == "commitments":
        form_cls = forms.commitments_form(words(case), case.call.cooperation_months)
    elif section in SECTION_FORMS:
        form_cls = SECTION_FORMS[section]
    else:
        abort(404)
    form = form_cls(data=applications.section_answers(case, section)) \
        if request.method == "GET" else form_cls()
    _populate(form, case, section)
    saved = False
    if form.validate_on_submit():
        try:
            case = applications.save_section(
                case.id, current_user, section, form.data,
                expected_version=request.form.get("version", type=int),
                source_address=g.source_address)
        except OperationError as exc:
            if exc.status in (403, 404):
                raise
            form.form_errors.append(exc.message)
        else:
            saved = True
            # Saving as complete names what submitting still needs; a draft keeps what it has.
            missing = [] if request.form.get("action") == "draft" else \
                applications.unmet(case, section)
            answers = applications.section_answers(case, section)
            for requirement in missing:
                message = _("Still missing: %(what)s.", what=requirement.missing)
                # A declaration section needs every box: the first one left empty is named.
                names = [n for n, given in answers.items() if not given][:1] \
                    if requirement.every_field else requirement.fields[:1]
                for name in names:
                    form[name].errors.append(message)
                if not names:
                    form.form_errors.append(message)
            if not missing:
                flash(_("Your answers are saved."), "success")
                if request.form.get("action") == "draft":
                    return redirect(url_for("applicant.case", case_id=case.id))
                return redirect(_next_section(case, section))
    db.session.refresh(case)
    _mark_required(form, case, section)
    failed = request.method == "POST" and (form.errors or form.form_errors)
    return render_template(f"applicant/sections/{section}.html", case=case, form=form,
                           section=section, title=applications.SECTION_TITLES[section],
                           sections=applications.sections_for(case), saved=saved), \
        400 if failed else 200


def _mark_required(form, case: Case, section: str) -> None:
    """Flag the fields submitting needs, from the rules the check page applies."""
    answers = {**applications.section_answers(case, section),
               **({"kind": form.kind.data} if section == "organisation" and form.kind.data
                  else {})}
    for name in applications.required_fields(case, section, answers):
        form[name].flags.required = True


def members(case: Case):
    form = forms.MemberForm()
    if request.method == "POST" and form.validate_on_submit():
        upload = form.letter.data if form.letter.data and form.letter.data.filename else None
        try:
            applications.add_member(
                case.id, current_user, name=form.name.data, population=form.population.data,
                is_lead=form.is_lead.data, commitment_declared=form.commitment_declared.data,
                letter=upload.stream if upload else None,
                letter_filename=upload.filename if upload else "")
        except documents.UploadRefused as exc:
            form.letter.errors = [exc.message]
        else:
            flash(_("%(name)s is added to the group.", name=form.name.data), "success")
            return redirect(url_for("applicant.section", case_id=case.id, section="members"))
    db.session.refresh(case)
    status = 400 if request.method == "POST" else 200
    return render_template("applicant/sections/members.html", case=case, form=form,
                           section="members", title="Group members",
                           sections=applications.sections_for(case)), status


@bp.post("/cases/<int:case_id>/members/<int:member_id>/remove")
def remove_member(case_id: int, member_id: int):
    case = _case(case_id)
    member = db.session.get(GroupMember, member_id)
    applications.remove_member(case.id, current_user, member_id)
    flash(_("%(name)s is removed from the group.", name=member.name) if member
          else _("The member is removed from the group."), "success")
    return redirect(url_for("applicant.section", case_id=case.id, section="members"))


@bp.get("/cases/<int:case_id>/check")
def check(case_id: int):
    case = _application_case(case_id)
    problems = {s.key: applications.section_problems(case, s.key)
                for s in applications.sections_for(case)}
    return render_template("applicant/check.html", case=case, problems=problems,
                           sections=applications.sections_for(case),
                           submit=next((o for o in cases.options(case, current_user)
                                        if o.transition.purpose is Purpose.SUBMIT_APPLICATION),
                                       None))


@bp.post("/cases/<int:case_id>/act/<transition>")
def act(case_id: int, transition: str):
    """Fire a transition from the portal: submit, answer, accept, withdraw ..."""
    case = _case(case_id)
    wf = get_workflow(case.workflow)
    back = url_for("applicant.case", case_id=case.id)
    # A refused submission goes back to the check page, which lists what is missing.
    submitting = wf.serves(transition, Purpose.SUBMIT_APPLICATION)
    refused_to = url_for("applicant.check", case_id=case.id) if submitting else back
    with refusals_flashed(back), refusals_flashed(refused_to, catch=(Refused,)):
        # Only the transition's own fields go on; anything else the form carries is dropped.
        payload = cases.parse_payload(wf.transition(transition), request.form,
                                      zone=select_timezone()) \
            if wf.has_transition(transition) else {}
        fired = cases.fire(case.id, transition, current_user, payload,
                           expected_version=request.form.get("version", type=int),
                           source_address=g.source_address)
    label = wf.state(fired.target).applicant_label
    flash(_("Done. Your case is now: %(state)s.", state=_(label)) if fired.moved
          else _("Done. We are waiting for the other party."), "success")
    return redirect(url_for("applicant.case", case_id=case.id))


@bp.route("/organisation", methods=["GET", "POST"])
def organisation():
    """The organisation's profile: its details, kept between applications; every new
    application starts from them."""
    if current_user.role != UserRole.APPLICANT or current_user.organisation is None:
        abort(403)
    org = current_user.organisation
    form = forms.OrganisationForm(data=None if request.method == "POST" else {
        f: getattr(org, f) for f in applications.PROFILE_FIELDS})
    form.offer_countries()
    locked = applications.profile_locked_by(org.id)
    if form.validate_on_submit():
        try:
            applications.update_profile(current_user, form.data, source_address=g.source_address)
        except OperationError as exc:
            form.form_errors.append(exc.message)
        else:
            flash(_("Your organisation's details are saved."), "success")
            return redirect(url_for("applicant.organisation"))
    status = 400 if request.method == "POST" else 200
    return render_template("applicant/organisation.html", form=form, organisation=org,
                           locked=locked), status


@bp.route("/team", methods=["GET", "POST"])
def team():
    if current_user.role != UserRole.APPLICANT:
        abort(403)
    form = forms.InviteForm()
    if form.validate_on_submit():
        try:
            accounts.invite_colleague(current_user, email=form.email.data, name=form.name.data)
        except OperationError as exc:
            form.email.errors = [exc.message]
        else:
            flash(_("We have sent an invitation to %(email)s.", email=form.email.data), "success")
            return redirect(url_for("applicant.team"))
    from webapp.models import User

    colleagues = list(db.session.scalars(select(User).where(
        User.organisation_id == current_user.organisation_id).order_by(User.name)))
    return render_template("applicant/team.html", form=form, colleagues=colleagues)
