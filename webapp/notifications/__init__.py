"""E-mail and calendars: a person's notification settings and private calendar feed, and the
coordinators' outbox of every notification with its preview and resend."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, select
from wtforms import HiddenField, RadioField, SelectField, SelectMultipleField
from wtforms.validators import InputRequired

from webapp import ROOT
from webapp.access import case_or_abort
from webapp.db import db
from webapp.errors import OperationError
from webapp.extensions import limiter
from webapp.forms import Form, choices
from webapp.mail import calendar as ical
from webapp.mail import delivery
from webapp.mail.delivery import MAYBE_DELIVERED, visible_notifications
from webapp.mail.rendering import external_url, message_id, render
from webapp.models import (
    Case,
    Notification,
    NotificationPreference,
    NotificationStatus,
    User,
)
from webapp.operations import preferences
from webapp.safety import safe_next

bp = Blueprint("notifications", __name__)
PAGE_SIZE = 50

PREFERENCE_CHOICES = (
    (NotificationPreference.IMMEDIATE, _l("Send each e-mail as it happens")),
    (NotificationPreference.DIGEST, _l("Send me one summary a day")),
    (NotificationPreference.OFF, _l("Do not send them")),
)
STATUS_LABELS = {
    NotificationStatus.PENDING: _l("Waiting to be sent"),
    NotificationStatus.SENDING: _l("Being sent"),
    NotificationStatus.SENT: _l("Sent"),
    NotificationStatus.FAILED: _l("Failed"),
    NotificationStatus.UNKNOWN: _l("May have been sent"),
    NotificationStatus.SKIPPED: _l("Not sent (switched off)"),
    NotificationStatus.DIGEST: _l("Held for the daily digest"),
}


class PreferenceForm(Form):
    preference = RadioField(
        _l("Optional e-mails"), choices=choices(PREFERENCE_CHOICES),
        validators=[InputRequired(_l("Choose how you want to receive optional e-mails."))])


class OutboxFilterForm(Form):
    """The outbox's filters, read from the query string."""

    class Meta:
        csrf = False

    status = SelectField(_l("Status"), choices=choices([("", _l("Any status")),
                                                        *STATUS_LABELS.items()]), default="")
    template = SelectField(_l("Kind of e-mail"), default="")


class ConfirmForm(Form):
    """A button that may need a yes first: ``confirmed`` once staff have said yes to a second
    copy of mail that may already have arrived."""

    confirmed = HiddenField()

    @property
    def said_yes(self) -> bool:
        """Whether this came from the confirmation page."""
        return self.confirmed.data == "yes"


class ResendForm(ConfirmForm):
    """The notifications ticked for sending again."""

    notification = SelectMultipleField(
        _l("Notifications"), coerce=int, validate_choice=False,
        validators=[InputRequired(_l("Tick the e-mails to send again."))])


def email_templates() -> list[str]:
    """Every kind of e-mail there is a template for."""
    return sorted(p.name.removesuffix(".subject.txt")
                  for p in (ROOT / "templates" / "emails").glob("*.subject.txt"))


def _staff() -> User:
    if not current_user.is_staff:
        abort(403)
    return current_user


def _notification(notification_id: int) -> Notification:
    _staff()
    n = db.session.get(Notification, notification_id)
    if n is None:
        abort(404)
    if n.case_id is not None:
        # A notification of a case is refused as its case is.
        case_or_abort(n.case_id)
    return n


# -- a person's own settings ------------------------------------------------------------

@bp.route("/account/notifications", methods=["GET", "POST"])
@login_required
def preferences_page():
    form = PreferenceForm(data={"preference": current_user.notification_preference})
    if request.method == "POST":
        form = PreferenceForm()
        if form.validate():
            preferences.set_preference(current_user.id, form.preference.data)
            flash(_("Your e-mail settings are saved."), "success")
            return redirect(url_for("notifications.preferences_page")), 303
    feed_url = external_url("notifications.calendar_feed",
                            token=preferences.calendar_token(current_user))
    status = 400 if form.errors else 200
    return render_template("notifications/preferences.html", form=form, feed_url=feed_url,
                           timezone=current_user.timezone), status


@bp.get("/calendar/<token>.ics")
@limiter.limit("120 per hour")
def calendar_feed(token: str):
    try:
        user = preferences.user_for_calendar(token)
    except OperationError:
        abort(404)
    resp = Response(ical.feed(user), mimetype="text/calendar")
    resp.headers["Content-Disposition"] = 'inline; filename="citypair.ics"'
    resp.headers["Cache-Control"] = "private, max-age=300"
    return resp


# -- the coordinators' outbox -----------------------------------------------------------

@bp.get("/office/outbox")
@login_required
def outbox():
    user = _staff()
    form = OutboxFilterForm(request.args)
    form.template.choices = choices([("", _("Any kind")),
                                     *((t, t.replace("_", " ")) for t in email_templates())])
    q = visible_notifications(user)
    failed = delivery.failed_count(user)
    if not form.validate():
        return render_template("notifications/outbox.html", form=form, rows=[], total=0,
                               page=1, pages=1, args={}, resend_form=ResendForm(),
                               failed=failed), 400
    args = {k: v for k, v in (("status", form.status.data), ("template", form.template.data))
            if v}
    if form.status.data:
        q = q.where(Notification.status == form.status.data)
    if form.template.data:
        q = q.where(Notification.template == form.template.data)
    total = db.session.scalar(select(func.count()).select_from(q.subquery())) or 0
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    rows = db.session.execute(
        q.add_columns(Case.reference).outerjoin(Case, Notification.case_id == Case.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return render_template("notifications/outbox.html", form=form, rows=rows, total=total,
                           page=page, pages=pages, args=args, resend_form=ResendForm(),
                           failed=failed)


@bp.get("/office/outbox/<int:notification_id>")
@login_required
def outbox_detail(notification_id: int):
    n = _notification(notification_id)
    preview: dict[str, Any] = {}
    try:
        subject, text, _html, _ctx = render(n)
        preview = {"subject": subject, "paragraphs": [p for p in text.split("\n\n") if p.strip()]}
    except Exception as exc:  # the page shows why the e-mail cannot be rendered
        preview = {"error": f"{type(exc).__name__}: {exc}"}
    case = db.session.get(Case, n.case_id) if n.case_id else None
    return render_template("notifications/outbox_detail.html", n=n, case=case, preview=preview,
                           message_id=message_id(n), resend_form=ResendForm())


@bp.get("/office/outbox/<int:notification_id>/email.html")
@login_required
def outbox_html(notification_id: int):
    n = _notification(notification_id)
    _subject, _text, html, _ctx = render(n)
    resp = Response(html, mimetype="text/html")
    # The e-mail's own markup and styles run in a sandbox: no scripts, no access to the site.
    resp.headers["Content-Security-Policy"] = "sandbox"
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


def _confirm_resend(rows: list[Notification], back: str):
    """The question before a second copy: these e-mails were sent, or may have been."""
    return render_template("notifications/outbox_confirm_resend.html", rows=rows, back=back,
                           form=ResendForm(), message_id=message_id)


@bp.post("/office/outbox/resend")
@login_required
def resend():
    user = _staff()
    form = ResendForm()
    back = safe_next(request.form.get("next")) or url_for("notifications.outbox")
    if not form.validate():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
        return redirect(back), 303
    wanted = set(form.notification.data)
    allowed = db.session.scalars(visible_notifications(user)
                                 .where(Notification.id.in_(wanted))
                                 .order_by(Notification.id)).all()
    if wanted - {n.id for n in allowed}:
        abort(403)
    again = [n for n in allowed if n.status in MAYBE_DELIVERED]
    if again and not form.said_yes:
        return _confirm_resend(list(allowed), back)
    count = delivery.resend([n.id for n in allowed], user, source_address=g.source_address,
                            again=form.said_yes)
    skipped = len(allowed) - count
    flash(_("%(n)s e-mails will be sent again.", n=count) if count != 1
          else _("1 e-mail will be sent again."), "success")
    if skipped:
        flash(_("%(n)s were left alone: they are being sent right now, or have just gone.",
                n=skipped), "info")
    return redirect(back), 303


@bp.get("/office/outbox/<int:notification_id>/resend")
@login_required
def resend_confirm(notification_id: int):
    n = _notification(notification_id)
    back = url_for("notifications.outbox_detail", notification_id=n.id)
    return _confirm_resend([n], back)


@bp.post("/office/outbox/<int:notification_id>/resend")
@login_required
def resend_one(notification_id: int):
    n = _notification(notification_id)
    form = ConfirmForm()
    if not form.validate():
        abort(400)
    if n.status in MAYBE_DELIVERED and not form.said_yes:
        return redirect(url_for("notifications.resend_confirm", notification_id=n.id)), 303
    if delivery.resend([n.id], current_user, source_address=g.source_address,
                       again=form.said_yes):
        flash(_("The e-mail will be sent again."), "success")
    else:
        flash(_("This e-mail is being sent right now, or has just gone."), "info")
    return redirect(url_for("notifications.outbox_detail", notification_id=n.id)), 303


@bp.get("/office/outbox/retry-failed")
@login_required
def retry_failed_confirm():
    user = _staff()
    return render_template("notifications/outbox_retry_failed.html", form=ConfirmForm(),
                           failed=delivery.failed_count(user))


@bp.post("/office/outbox/retry-failed")
@login_required
def retry_failed():
    user = _staff()
    form = ConfirmForm()
    if not form.validate():
        abort(400)
    if not form.said_yes:
        return redirect(url_for("notifications.retry_failed_confirm")), 303
    count = delivery.retry_failed(user, source_address=g.source_address)
    if count:
        flash(_("%(n)s failed e-mails will be sent again.", n=count) if count != 1
              else _("1 failed e-mail will be sent again."), "success")
    else:
        flash(_("There were no failed e-mails to send again."), "info")
    return redirect(url_for("notifications.outbox")), 303
