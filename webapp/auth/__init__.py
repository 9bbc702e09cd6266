"""Accounts: register, confirm, sign in and out, reset a password, accept an invitation."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import Email, EqualTo, InputRequired, Length

from webapp.errors import OperationError
from webapp.extensions import limiter
from webapp.forms import COUNTRY_CHOICES, Form, NoScript, choices
from webapp.operations import accounts
from webapp.safety import safe_next
from workflows.eligibility import ORGANISATION_TYPES

bp = Blueprint("auth", __name__, url_prefix="/account")

PASSWORD = [InputRequired("Enter a password."),
            Length(min=10, max=200, message="Your password must be at least 10 characters.")]


class RegisterForm(Form):
    name = StringField("Your full name", [InputRequired("Enter your full name."),
                                          Length(max=200), NoScript()])
    email = EmailField("E-mail address", [InputRequired("Enter your e-mail address."),
                                          Email("Enter an e-mail address like name@city.eu."),
                                          Length(max=320)])
    organisation_name = StringField(
        "Your city, municipality or group", [InputRequired("Enter your organisation's name."),
                                             Length(max=300), NoScript()])
    organisation_kind = SelectField(
        "Type of organisation", choices=choices(ORGANISATION_TYPES.items()),
        validators=[InputRequired("Choose the type of organisation.")])
    country = SelectField("Country", choices=COUNTRY_CHOICES,
                          validators=[InputRequired("Choose your country.")])
    password = PasswordField("Create a password", PASSWORD)
    confirm = PasswordField("Type the password again",
                            [InputRequired("Type the password again."),
                             EqualTo("password", "The two passwords are not the same.")])
    privacy = BooleanField("I have read the privacy notice",
                           [InputRequired("Confirm you have read the privacy notice.")])


class LoginForm(Form):
    email = EmailField("E-mail address", [InputRequired("Enter your e-mail address.")])
    password = PasswordField("Password", [InputRequired("Enter your password.")])


class EmailForm(Form):
    email = EmailField("E-mail address", [InputRequired("Enter your e-mail address."),
                                          Email("Enter an e-mail address like name@city.eu.")])


class NewPasswordForm(Form):
    password = PasswordField("New password", PASSWORD)
    confirm = PasswordField("Type the password again",
                            [InputRequired("Type the password again."),
                             EqualTo("password", "The two passwords are not the same.")])


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def register():
    form = RegisterForm()
    if form.validate_on_submit():
        accounts.register(email=form.email.data, password=form.password.data,
                          name=form.name.data, organisation_name=form.organisation_name.data,
                          organisation_kind=form.organisation_kind.data,
                          country=form.country.data, locale=session.get("lang", "en"))
        return render_template("auth/check_email.html", email=form.email.data)
    return render_template("auth/register.html", form=form)


@bp.get("/confirm/<token>")
def confirm(token: str):
    try:
        accounts.confirm_email(token)
    except OperationError as exc:
        flash(exc.message, "error")
        return redirect(url_for("auth.login"))
    flash("Your e-mail address is confirmed. You can sign in now.", "success")
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
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
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
    if accounts.read_token("reset", token, max_age=2 * 3600) is None:
        flash("This link is not valid, has expired or was already used. Ask for a new one.",
              "error")
        return redirect(url_for("auth.forgot"))
    if form.validate_on_submit():
        accounts.reset_password(token, form.password.data)
        flash("Your password is set. You can sign in now.", "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form)


@bp.get("/")
@login_required
def account():
    return render_template("auth/account.html", user=current_user)
