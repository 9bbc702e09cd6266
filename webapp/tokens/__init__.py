"""Personal API tokens: create one (its secret is shown once), see them, revoke one."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import IntegerField, RadioField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from webapp.errors import NotFound, OperationError
from webapp.forms import Form, NoScript, choices
from webapp.operations import tokens

bp = Blueprint("tokens", __name__, url_prefix="/account/tokens")


class TokenForm(Form):
    name = StringField(
        _l("Token name"),
        [InputRequired(_l("Give the token a name, so you recognise it later.")),
         Length(max=100, message=_l("The name can be at most 100 characters.")), NoScript()])
    scope = RadioField(_l("What may it do?"), default="read", choices=choices([
        ("read", _l("Read only: see what you can see")),
        ("write", _l("Read and write: also act on cases as you"))]))
    # Left empty, a token lasts the default number of days.
    days = IntegerField(_l("Valid for (days)"), [Optional()])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        default, longest = tokens.lifetimes()
        kwargs.setdefault("data", {}).setdefault("days", default)
        super().__init__(*args, **kwargs)
        self.days.validators = [*self.days.validators, NumberRange(
            min=1, max=longest, message=_("A token lasts from 1 to %(n)s days.", n=longest))]


def _page(form: TokenForm, created: tokens.NewToken | None = None, status: int = 200):
    response = make_response(render_template(
        "tokens/index.html", form=form, created=created, tokens=tokens.list_tokens(current_user),
        scheme=tokens.SCHEME, longest=tokens.lifetimes()[1]), status)
    # The page may show a secret: no cache may keep it.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    form = TokenForm()
    if not form.is_submitted():
        return _page(form)
    if form.validate():
        try:
            created = tokens.create_token(
                current_user, form.name.data, days=form.days.data,
                scopes=("read", "write") if form.scope.data == "write" else ("read",))
        except OperationError as exc:
            form.form_errors.append(exc.message)
        else:
            return _page(TokenForm(formdata=None), created)
    return _page(form, status=400)


@bp.post("/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    try:
        token = tokens.revoke_token(current_user, token_id)
    except NotFound:
        abort(404)
    flash(_("The token “%(name)s” is revoked: anything still using it is refused now.",
            name=token.name), "success")
    return redirect(url_for("tokens.index"))
