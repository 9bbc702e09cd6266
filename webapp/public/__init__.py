"""Public pages: open calls, pairings, statements, unsubscribe, language."""

from __future__ import annotations

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
from sqlalchemy import select

from webapp.db import db, utcnow
from webapp.errors import OperationError
from webapp.extensions import csrf, limiter
from webapp.models import Call, CallStatus, Case, NotificationPreference
from webapp.operations import preferences
from webapp.safety import safe_next
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
    return render_template("public/calls.html", calls=published_calls(), now=now)


@bp.get("/calls/<slug>")
def call(slug: str):
    c = db.session.scalar(select(Call).where(Call.slug == slug, Call.published.is_(True)))
    if c is None:
        abort(404)
    return render_template("public/call.html", call=c, now=utcnow())


@bp.get("/pairings")
def pairings():
    history = read_pairings(current_app.config.get("PAIRINGS_HISTORY_FILE")
                            or _default_history())
    current = list(db.session.scalars(select(Case).where(Case.cooperation_start.is_not(None))
                                      .order_by(Case.reference)))
    return render_template("public/pairings.html", history=history, current=current)


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
