"""Accounts: register, confirm, sign in and out, reset a password, accept an invitation."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale, refresh
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from wtforms import BooleanField, EmailField, PasswordField, RadioField, SelectField, StringField
from wtforms.validators import Email, EqualTo, InputRequired, Length, Optional

from webapp.db import utcnow
from webapp.errors import OperationError
from webapp.extensions import limiter
from webapp.forms import Form, NoScript, choices, country_choices
from webapp.i18n import (
    LANGUAGE_NAMES,
    default_timezone,
    guess_timezone,
    timezone_choices,
    utc_offset,
)
from webapp.operations import accounts
from webapp.safety import safe_next
from webapp.views import refusals_flashed
from workflows.countries import EU_MEMBER_STATES
from workflows.eligibility import ORGANISATION_TYPES

#: sign-in attempts for one account from one address, and from one address in all
LOGIN_PER_ACCOUNT = "20 per 15 minutes"
LOGIN_PER_ADDRESS = "200 per 15 minutes"

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
    timezone = SelectField(_l("Your time zone"), choices=[], validators=[Optional()])
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


class PlaceForm(Form):
    """A person's language and time zone: what their pages and e-mails are written in."""

    lang = RadioField(_l("Your language"), choices=[],
                      validators=[InputRequired(_l("Choose your language."))])
    timezone = SelectField(_l("Your time zone"), choices=[],
                           validators=[InputRequired(_l("Choose your time zone."))])

    def offer(self, current_zone: str | None) -> None:
        """The languages of the site and the zones, each with its offset today."""
        self.lang.choices = choices((code, LANGUAGE_NAMES.get(code, code))
                                    for code in current_app.config["LANGUAGES"])
        self.timezone.choices = zone_choices(current_zone)


class AcceptInvitationForm(NewPasswordForm, PlaceForm):
    """Accepting an invitation: a password, the language and zone to work in, the name."""

    name = StringField(_l("Your full name"), [Length(max=200), NoScript()])


def zone_choices(current: str | None = None, suggestion: str | None = None
                 ) -> dict[str, list]:
    """The time zones grouped by area for a select; ``suggestion`` labels an empty first
    choice that lets the server pick (from the country typed on the same form)."""
    groups = {area: choices(pairs) for area, pairs in timezone_choices(utcnow(),
                                                                        current).items()}
    if suggestion is None:
        return groups
    return {_("Suggested"): choices([("", suggestion)]), **groups}


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def register():
    form = RegisterForm()
    form.timezone.choices = zone_choices(suggestion=_("The time zone of my country"))
    if form.validate_on_submit():
        zone = (form.timezone.data or guess_timezone(form.country.data, utcnow())
                or default_timezone())
        accounts.register(email=form.email.data, password=form.password.data,
                          name=form.name.data, organisation_name=form.organisation_name.data,
                          organisation_kind=form.organisation_kind.data,
                          country=form.country.data, locale=str(get_locale()), timezone=zone)
        return render_template("auth/check_email.html", email=form.email.data)
    return render_template("auth/register.html", form=form)


@bp.get("/confirm/<token>")
def confirm(token: str):
    with refusals_flashed(url_for("auth.login"), code=302):
        accounts.confirm_email(token)
    flash(_("Your e-mail address is confirmed. You can sign in now."), "success")
    return redirect(url_for("auth.login"))


def _account_and_address() -> str:
    """The sign-in limit's key: one account tried from one address."""
    email = (request.form.get("email") or "").strip().lower()
    return f"{email}|{get_remote_address()}"


@bp.route("/login", methods=["GET", "POST"])
# Guessing one account is slowed down, while a coordination unit behind one office address
# can still sign all its people in on a busy morning; the address has a generous limit too.
@limiter.limit(LOGIN_PER_ACCOUNT, methods=["POST"], key_func=_account_and_address)
@limiter.limit(LOGIN_PER_ADDRESS, methods=["POST"])
def login():
    target = safe_next(request.args.get("next"))  # a broken one is refused before anything
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
                session[accounts.SESSION_KEY] = accounts.start_session(user)
                login_user(user)
                return redirect(target or _home(user))
    return render_template("auth/login.html", form=form)


def _home(user) -> str:
    return url_for("coordinator.cases") if user.is_staff else url_for("applicant.dashboard")


@bp.post("/logout")
@login_required
def logout():
    lang = current_user.locale or session.get("lang")
    accounts.end_session(session.get(accounts.SESSION_KEY))
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
    invited = accounts.read_invitation(token)
    if invited is not None:
        return _accept_invitation(token, invited)
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


def _accept_invitation(token: str, invited):
    """An invitation link: the person sets their name and password and is signed in."""
    # The pages' language (the browser's, or the one picked) and the zone the invitation
    # proposed are the first guess; a form sent without them keeps that guess.
    proposed = {"lang": str(get_locale()), "timezone": invited.timezone}
    if request.method == "GET":
        form = AcceptInvitationForm(data={**proposed, "name": invited.name})
    else:
        sent = request.form.copy()
        for key, value in proposed.items():
            sent.setdefault(key, value)
        form = AcceptInvitationForm(formdata=sent)
    form.offer(invited.timezone)
    if form.validate_on_submit():
        try:
            user = accounts.accept_invitation(token, name=form.name.data or "",
                                              password=form.password.data,
                                              locale=form.lang.data,
                                              timezone=form.timezone.data)
        except OperationError as exc:
            form.form_errors.append(exc.message)
        else:
            session.clear()  # a fresh session at sign-in: no fixation
            session["lang"] = user.locale
            session[accounts.SESSION_KEY] = accounts.start_session(user)
            login_user(user)
            flash(_("Welcome to citypair. Your password is set and you are signed in."),
                  "success")
            return redirect(_home(user))
    return render_template("auth/accept.html", form=form, email=invited.email), \
        400 if form.errors or form.form_errors else 200


@bp.route("/", methods=["GET", "POST"])
@login_required
def account():
    """A person's account: who they are, and the language and time zone they work in."""
    form = PlaceForm(data={"lang": current_user.locale, "timezone": current_user.timezone}
                     if request.method == "GET" else None)
    form.offer(current_user.timezone)
    if form.validate_on_submit():
        accounts.set_place(current_user.id, form.lang.data, form.timezone.data)
        session["lang"] = form.lang.data
        refresh()  # the confirmation is already in the new language
        flash(_("Your language and time zone are saved."), "success")
        return redirect(url_for("auth.account"), 303)
    status = 400 if request.method == "POST" else 200
    return render_template("auth/account.html", user=current_user, form=form,
                           offset=utc_offset(current_user.timezone, utcnow())), status
