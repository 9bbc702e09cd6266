"""Personal data: a person downloads what is held about them; an admin erases a person."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import StringField
from wtforms.validators import InputRequired, Length

from webapp.db import db, utcnow
from webapp.errors import NotFound, OperationError
from webapp.forms import Form
from webapp.models import User, UserRole
from webapp.operations import privacy

bp = Blueprint("privacy", __name__)


class EraseForm(Form):
    confirm_email = StringField(
        _l("Type the person’s e-mail address to confirm"),
        [InputRequired(_l("Type the person’s e-mail address to confirm the erasure.")),
         Length(max=320, message=_l("An e-mail address has at most 320 characters."))])


def _admin_only() -> None:
    if current_user.role != UserRole.ADMIN:
        abort(403)


@bp.get("/account/data.json")
@login_required
def export():
    """Everything held about the signed-in person, as a JSON download."""
    response = make_response(privacy.export_json(current_user.id))
    response.mimetype = "application/json"
    stamp = utcnow().strftime("%Y-%m-%d")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="citypair-my-data-{stamp}.json"')
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/office/people")
@login_required
def people():
    """Accounts an admin can find and erase."""
    _admin_only()
    search = request.args.get("q", "").strip()[:200]
    return render_template("privacy/people.html", people=privacy.people(search), search=search)


@bp.route("/office/people/<int:person_id>/erase", methods=["GET", "POST"])
@login_required
def erase(person_id: int):
    """Show what erasing a person changes; erase them once the admin types their address."""
    _admin_only()
    person = db.session.get(User, person_id)
    if person is None:
        abort(404)
    form = EraseForm()
    status = 200
    if form.is_submitted():
        status = 400
        if form.validate():
            if form.confirm_email.data.lower() != person.email.lower():
                form.confirm_email.errors.append(
                    _("The address you typed is not this person’s e-mail address."))
            else:
                try:
                    done = privacy.erase_person(person.id, current_user,
                                                source_address=g.get("source_address", ""))
                except NotFound:
                    abort(404)
                except OperationError as exc:
                    form.form_errors.append(exc.message)
                else:
                    flash(_("The person is erased. They now appear as “%(alias)s”; "
                            "%(documents)d uploaded file(s) no case needs were deleted.",
                            alias=done.pseudonym, documents=done.documents_deleted),
                          "success")
                    return redirect(url_for("privacy.people"))
    preview = privacy.erasure_preview(person.id)
    return render_template("privacy/erase.html", form=form, **preview), status
