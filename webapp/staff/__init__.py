"""Staff and roles: an admin invites coordinators and admins, changes their role and scope,
deactivates and reactivates them (operations in webapp/operations/staff.py)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import EmailField, RadioField, SelectField, SelectMultipleField, StringField
from wtforms.validators import Email, InputRequired, Length

from webapp.errors import NotFound, OperationError
from webapp.forms import Form, NoScript, choices
from webapp.i18n import LANGUAGE_NAMES
from webapp.models import User, UserRole
from webapp.models.programme import WORLD_REGIONS
from webapp.operations import staff
from webapp.views import admins_only

bp = Blueprint("staff", __name__, url_prefix="/office/admin/people")

ROLES = {UserRole.COORDINATOR.value: _l("Coordinator"), UserRole.ADMIN.value: _l("Administrator")}
STATUSES = {"active": (_l("Active"), "green"), "invited": (_l("Invited"), "blue"),
            "deactivated": (_l("Deactivated"), "grey")}


def _programme_field() -> SelectMultipleField:
    return SelectMultipleField(
        _l("Programmes"), choices=[], coerce=int,
        description=_l("None chosen: every programme, including those added later."))


def _region_field() -> SelectField:
    return SelectField(_l("World region"), default="", choices=choices(
        [("", _l("Every region")), *((r, r) for r in WORLD_REGIONS)]))


class InviteForm(Form):
    name = StringField(_l("Full name"), [InputRequired(_l("Enter the person’s full name.")),
                                         Length(max=200), NoScript()])
    email = EmailField(_l("E-mail address"), [
        InputRequired(_l("Enter the person’s e-mail address.")),
        Email(_l("Enter an e-mail address like name@example.eu.")), Length(max=320)])
    role = RadioField(_l("Role"), choices=choices(ROLES.items()),
                      validators=[InputRequired(_l("Choose a role."))])
    locale = SelectField(_l("Language of the invitation"), default="en",
                         choices=choices(LANGUAGE_NAMES.items()))
    programmes = _programme_field()
    region = _region_field()


class RoleForm(Form):
    role = RadioField(_l("Role"), choices=choices(ROLES.items()),
                      validators=[InputRequired(_l("Choose a role."))])


class ScopeForm(Form):
    programmes = _programme_field()
    region = _region_field()


def _offer_programmes(*forms: Any) -> None:
    offered = choices((p.id, p.name) for p in staff.programmes())
    for form in forms:
        form.programmes.choices = offered


bp.before_request(admins_only)


def _source() -> str:
    return g.get("source_address", "")


@bp.get("")
def people():
    """Every coordinator and administrator: role, scope, status and last sign-in."""
    return render_template("staff/people.html", people=staff.members(), roles=ROLES,
                           statuses=STATUSES, status_of=staff.status)


@bp.route("/invite", methods=["GET", "POST"])
def invite():
    """Invite a coordinator or an administrator by e-mail."""
    form = InviteForm()
    _offer_programmes(form)
    if form.validate_on_submit():
        try:
            person = staff.invite(current_user, staff.Invitation(
                email=form.email.data, name=form.name.data, role=form.role.data,
                locale=form.locale.data,
                scope=staff.Scope(tuple(form.programmes.data or ()), form.region.data or "")),
                source_address=_source())
        except OperationError as exc:
            form.form_errors.append(exc.message)
        else:
            flash(_("We have sent an invitation to %(email)s. The link is valid for 14 days.",
                    email=person.email), "success")
            return redirect(url_for("staff.person", staff_id=person.id), 303)
    return render_template("staff/invite.html", form=form), 400 if form.is_submitted() else 200


def _member(staff_id: int) -> User:
    try:
        return staff.member(staff_id)
    except NotFound:
        abort(404)


def _page(person: User, status: int = 200, **forms: Any):
    """The person's page, with any form sent back with what was typed and its errors."""
    role_form = forms.get("role_form") or RoleForm(formdata=None, data={"role": person.role})
    scope_form = forms.get("scope_form") or ScopeForm(formdata=None, data={
        "programmes": [p.id for p in person.programmes], "region": person.region_scope})
    _offer_programmes(scope_form)
    errors = forms.get("errors") or []
    return render_template(
        "staff/person.html", person=person, roles=ROLES, statuses=STATUSES,
        status=staff.status(person), role_form=role_form, scope_form=scope_form,
        events=staff.history(person.id), errors=errors,
        has_errors=bool(errors or role_form.errors or scope_form.errors
                        or role_form.form_errors or scope_form.form_errors)), status


@bp.get("/<int:staff_id>")
def person(staff_id: int):
    """A member of staff: standing, the changes made to them, and what can be changed."""
    return _page(_member(staff_id))


def _done(person: User, message: str):
    flash(message, "success")
    return redirect(url_for("staff.person", staff_id=person.id), 303)


@bp.post("/<int:staff_id>/role")
def change_role(staff_id: int):
    person = _member(staff_id)
    form = RoleForm()
    if form.validate():
        try:
            staff.change_role(current_user, person.id, form.role.data, _source())
        except OperationError as exc:
            form.form_errors.append(exc.message)
        else:
            return _done(person, _("%(name)s is now: %(role)s.", name=person.display_name,
                                   role=ROLES[form.role.data]))
    return _page(person, 400, role_form=form)


@bp.post("/<int:staff_id>/scope")
def change_scope(staff_id: int):
    person = _member(staff_id)
    form = ScopeForm()
    _offer_programmes(form)
    if form.validate():
        try:
            staff.change_scope(current_user, person.id, staff.Scope(
                tuple(form.programmes.data or ()), form.region.data or ""), _source())
        except OperationError as exc:
            form.form_errors.append(exc.message)
        else:
            return _done(person, _("The scope of %(name)s is saved.", name=person.display_name))
    return _page(person, 400, scope_form=form)


def _act(staff_id: int, operation, message: str):
    person = _member(staff_id)
    try:
        operation(current_user, person.id, _source())
    except OperationError as exc:
        return _page(person, 400, errors=[(None, exc.message)])
    return _done(person, message % {"name": person.display_name})


@bp.post("/<int:staff_id>/deactivate")
def deactivate(staff_id: int):
    return _act(staff_id, staff.deactivate, _("%(name)s is deactivated: they cannot sign in "
                                               "and their API tokens no longer work."))


@bp.post("/<int:staff_id>/reactivate")
def reactivate(staff_id: int):
    return _act(staff_id, staff.reactivate, _("%(name)s is active again."))


@bp.post("/<int:staff_id>/invitation")
def resend_invitation(staff_id: int):
    return _act(staff_id, staff.resend_invitation,
                _("A new invitation is on its way to %(name)s."))
