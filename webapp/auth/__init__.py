"""Accounts: register, confirm, sign in and out, reset a password, accept an invitation."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import Email, EqualTo, InputRequired, Length

from webapp.errors import OperationError
from webapp.extensions import limiter
from webapp.forms import Form, NoScript, choices, country_choices
from webapp.operations import accounts
from webapp.safety import safe_next
from workflows.countries import EU_MEMBER_STATES
from workflows.eligibility import ORGANISATION_TYPES

bp = Blueprint("auth", __name__, url_prefix="/account")

PASSWORD = [InputRequired(_l("Enter a password.")),
            Length(min=10, max=200, message=_l("Your password must be at least 10 characters."))]


class RegisterForm(Form):
    name = StringField(_l("Your full name"), [InputRequired(_l("Enter your full name.")),
                                          Length(max=200), NoScript()])
    email = EmailField(_l("E-mail address"), [InputRequired(_l("Enter your e-mail address.")),
                                          Email(_l("Enter an e-mail address like name@city.eu.")),
                                          Length(max=320)])
    organisation_name = StringField(
        _l("Your city, municipality or group"),
        [InputRequired(_l("Enter your organisation's name.")), Length(max=300), NoScript()])
    organisation_kind = SelectField(
        _l("Type of organisation"),
        choices=choices((k, _l(v)) for k, v in ORGANISATION_TYPES.items()),
        validators=[InputRequired(_l("Choose the type of organisation."))])
    country = SelectField(_l("Country"), choices=[],
                          validators=[InputRequired(_l("Choose your country."))])
    password = PasswordField(_l("Create a password"), PASSWORD)
    confirm = PasswordField(_l("Type the password again"),
                            [InputRequired(_l("Type the password again.")),
                             EqualTo("password", _l("The two passwords are not the same."))])
    privacy = BooleanField(_l("I have read the privacy notice"),
                           [InputRequired(_l("Confirm you have read the privacy notice."))])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = country_choices(
            EU_MEMBER_STATES, placeholder=_("Choose a country"),
            first_label=_("EU member states"), rest_label=_("Other countries"))


class LoginForm(Form):
    email = EmailField(_l("E-mail address"), [InputRequired(_l("Enter your e-mail address."))])
    password = PasswordField(_l("Password"), [InputRequired(_l("Enter your password."))])


class EmailForm(Form):
    email = EmailField(_l("E-mail address"), [InputRequired(_l("Enter your e-mail address.")),
                                          Email(_l("Enter an e-mail address like name@city.eu."))])


class NewPasswordForm(Form):
    password = PasswordField(_l("New password"), PASSWORD)
    confirm = PasswordField(_l("Type the password again"),
                            [InputRequired(_l("Type the password again.")),
                             EqualTo("password", _l("The two passwords are not the same."))])


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def register():
    form = RegisterForm()
    if form.validate_on_submit():
        accounts.register(email=form.email.data, password=form.password.data,
                          name=form.name.data, organisation_name=form.organisation_name.data,
                          organisation_kind=form.organisation_kind.data,
                          country=form.country.data, locale=str(get_locale()))
        return render_template("auth/check_email.html", email=form.email.data)
    return render_template("auth/register.html", form=form)


@bp.get("/confirm/<token>")
def confirm(token: str):
    try:
        accounts.confirm_email(token)
    except OperationError as exc:
        flash(exc.message, "error")
        return redirect(url_for("auth.login"))
    flash(_("Your e-mail address is confirmed. You can sign in now."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per 15 minutes", methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.email.data, form.password.data)
        except OperationError as exc:
            form.form_errors.append(exc.message)
        else:
            if user.confirmed_at is None:
                accounts.resend_confirmation(user.email)
                form.form_errors.append("Confirm your e-mail address first: we have sent you "
                                        "a new link.")
            else:
                session.clear()  # a fresh session at sign-in: no fixation
                login_user(user)
                return redirect(safe_next(request.args.get("next")) or _home(user))
    return render_template("auth/login.html", form=form)


def _home(user) -> str:
    return url_for("coordinator.cases") if user.is_staff else url_for("applicant.dashboard")


@bp.post("/logout")
@login_required
def logout():
    lang = current_user.locale or session.get("lang")
    logout_user()
    session.clear()
    session["lang"] = lang  # the pages keep speaking the person's language after sign-out
    flash(_("You are signed out."), "info")
    return redirect(url_for("public.index"))


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit("5 per 15 minutes", methods=["POST"])
def forgot():
    form = EmailForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data)
        return render_template("auth/check_email.html", email=form.email.data, reset=True)
    return render_template("auth/forgot.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit("10 per 15 minutes", methods=["POST"])
def reset(token: str):
    form = NewPasswordForm()
    if accounts.read_password_link(token) is None:
        flash(_("This link is not valid, has expired or was already used. Ask for a new one."),
              "error")
        return redirect(url_for("auth.forgot"))
    if form.validate_on_submit():
        accounts.reset_password(token, form.password.data)
        flash(_("Your password is set. You can sign in now."), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form)


@bp.get("/")
@login_required
def account():
    return render_template("auth/account.html", user=current_user)
