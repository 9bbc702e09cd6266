"""Public pages: open calls with their countdown, the quick eligibility check, the pairings
showcase, the mailing list (double opt-in), statements, unsubscribe, language."""

from __future__ import annotations

from datetime import datetime

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from webapp.db import db, utcnow
from webapp.errors import OperationError
from webapp.extensions import csrf, limiter
from webapp.i18n import use_timezone
from webapp.models import Call, CallStatus, NotificationPreference
from webapp.operations import accounts, applications, preferences, vocabulary
from webapp.operations import mailing_list as mailing
from webapp.operations.cases import call_rules
from webapp.public import quick_check, showcase
from webapp.public.forms import PairingFilterForm, QuickCheckForm, SubscribeForm, parse_members
from webapp.safety import safe_next
from workflows import eligibility
from workflows.countries import normalise_country
from workflows.pairing import read_pairings

bp = Blueprint("public", __name__)


def published_calls() -> list[Call]:
    return list(db.session.scalars(select(Call).where(Call.published.is_(True),
                                                      Call.archived.is_(False))
                                   .order_by(Call.closes_at.desc())))


@bp.get("/")
def index():
    now = utcnow()
    calls = [c for c in published_calls() if c.status(now) == CallStatus.OPEN]
    return render_template("public/index.html", calls=calls, now=now)


@bp.get("/calls")
def calls():
    now = utcnow()
    # ?kind=region-to-region lists the calls of one kind (the quick check points there).
    kind = request.args.get("kind", "")
    shown = [c for c in published_calls() if not kind or c.kind == kind]
    return render_template("public/calls.html", calls=shown, now=now, kind=kind)


def _published_call(slug: str) -> Call:
    c = db.session.scalar(select(Call).where(Call.slug == slug, Call.published.is_(True)))
    if c is None:
        abort(404)
    return c


@bp.get("/calls/<slug>")
def call(slug: str):
    c = _published_call(slug)
    use_timezone(c.timezone)
    return render_template("public/call.html", call=c, now=utcnow())


@bp.app_template_global()
def closes_in(closes_at: datetime, now: datetime) -> str:
    """How long a call stays open, in words: "Closes in 3 days 4 hours"."""
    left = int((closes_at - now).total_seconds())
    if left <= 0:
        return _("This call has closed.")
    days, rest = divmod(left, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    if days:
        parts = [ngettext("%(num)s day", "%(num)s days", days)]
        if hours:
            parts.append(ngettext("%(num)s hour", "%(num)s hours", hours))
    elif hours:
        parts = [ngettext("%(num)s hour", "%(num)s hours", hours)]
        if minutes:
            parts.append(ngettext("%(num)s minute", "%(num)s minutes", minutes))
    elif minutes:
        parts = [ngettext("%(num)s minute", "%(num)s minutes", minutes)]
    else:
        return _("Closes in less than a minute.")
    return _("Closes in %(time)s.", time=" ".join(parts))


@bp.get("/eligibility-check")
def eligibility_check_start():
    now = utcnow()
    open_calls = [c for c in published_calls() if c.status(now) == CallStatus.OPEN]
    if len(open_calls) == 1:
        return redirect(url_for("public.eligibility_check", slug=open_calls[0].slug))
    return render_template("public/check_start.html", calls=open_calls)


@bp.get("/calls/<slug>/check")
def eligibility_check(slug: str):
    c = _published_call(slug)
    use_timezone(c.timezone)
    rules = call_rules(c)
    form = QuickCheckForm(request.args)
    form.offer_countries(list(rules.eligible_countries))
    results = None
    # The form is sent by GET; an address without answers is the empty form, not errors.
    if "country" in request.args and form.validate():
        results = quick_check.run(_applicant(form), rules)
    now = utcnow()
    elsewhere = applications.open_calls_by_kind((r.refer_to for r in results or ()), now)
    return render_template("public/check.html", call=c, form=form, results=results,
                           summary=quick_check.summary(results) if results else None,
                           later=quick_check.LATER, now=now, elsewhere=elsewhere)


def _applicant(form: QuickCheckForm) -> eligibility.Applicant:
    group = form.org_type.data == "group"
    return eligibility.Applicant(
        name=form.name.data or _("Your organisation"), org_type=form.org_type.data,
        country=form.country.data,
        population=None if group else form.population.data,
        members=tuple(parse_members(form.members.data)) if group else ())


@bp.get("/pairings")
def pairings():
    history = read_pairings(current_app.config.get("PAIRINGS_HISTORY_FILE")
                            or _default_history())
    everything = showcase.current_rows() + showcase.history_rows(
        history, vocabulary.survivors(db.session))
    args = request.args.copy()
    if args.get("country"):
        # Links made when countries were names ("Argentina") still filter.
        args["country"] = normalise_country(args["country"])
    form = PairingFilterForm(args)
    form.offer(showcase.topics_in(everything, vocabulary.labels(db.session)),
               showcase.countries(everything))
    # An unknown value in the address (an old link) filters nothing rather than erring.
    form.validate()
    for f in (form.topic, form.region, form.country):
        if f.errors:
            f.data, f.errors = "", []
    wanted = {name: form[name].data or "" for name in ("topic", "region", "country")}
    shown = showcase.narrow(everything, **wanted)
    return render_template("public/pairings.html", form=form, filtered=any(wanted.values()),
                           current=[r for r in shown if r.source == "current"],
                           history=[r for r in shown if r.source == "history"],
                           chart=showcase.by_region(shown), total=len(everything))


def _default_history() -> str:
    from importlib import resources

    return str(resources.files("workflows") / "data" / "iuc_2017_pairings.csv")


@bp.get("/accessibility")
def accessibility():
    return render_template("public/accessibility.html")


@bp.get("/privacy")
def privacy():
    return render_template("public/privacy.html")


@bp.post("/language")
def language():
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        if current_user.is_authenticated:
            accounts.set_locale(current_user.id, lang)
    return redirect(safe_next(request.form.get("next")) or url_for("public.index"))


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click: mail clients POST without a form token
@limiter.limit("30 per hour")
def unsubscribe(token: str):
    try:
        user = preferences.user_for_unsubscribe(token)
    except OperationError as exc:
        return render_template("errors/error.html", code=400, title="Link not valid",
                               message=exc.message), 400
    if request.method == "POST":
        preferences.set_preference(user.id, NotificationPreference.OFF)
        return render_template("public/unsubscribed.html")
    return render_template("public/unsubscribe.html", token=token)


# -- the mailing list (double opt-in) -----------------------------------------------------

@bp.route("/mailing-list", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def mailing_list():
    form = SubscribeForm()
    form.offer_languages()
    if request.method == "GET":
        form.language.data = form.language.data or str(get_locale())
    if form.validate_on_submit():
        try:
            mailing.subscribe(form.email.data, form.language.data, form.interests.data or ())
        except OperationError as exc:
            form.email.errors = [*form.email.errors, exc.message]
        else:
            # The same answer whether or not the address was on the list already.
            return redirect(url_for("public.mailing_list_sent"))
    return render_template("public/mailing_list.html", form=form)


@bp.get("/mailing-list/check-your-email")
def mailing_list_sent():
    return render_template("public/mailing_list_sent.html")


@bp.route("/mailing-list/confirm/<token>", methods=["GET", "POST"])
@limiter.limit("30 per hour")
def mailing_confirm(token: str):
    try:
        if request.method == "POST":
            mailing.confirm(token)
            return render_template("public/mailing_confirmed.html")
        mailing.subscriber_for_confirmation(token)
    except OperationError as exc:
        return render_template("errors/error.html", code=400, title=_("Link not valid"),
                               message=exc.message), 400
    # Opening the link only shows the button: mail scanners that follow links confirm nothing.
    return render_template("public/mailing_confirm.html", token=token)


@bp.route("/mailing-list/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click: mail clients POST without a form token
@limiter.limit("30 per hour")
def mailing_unsubscribe(token: str):
    try:
        if request.method == "POST":
            mailing.unsubscribe(token)
            return render_template("public/mailing_unsubscribed.html")
        subscribed = mailing.check_unsubscribe(token) is not None
    except OperationError as exc:
        return render_template("errors/error.html", code=400, title=_("Link not valid"),
                               message=exc.message), 400
    if not subscribed:
        return render_template("public/mailing_unsubscribed.html")
    return render_template("public/mailing_unsubscribe.html", token=token)
