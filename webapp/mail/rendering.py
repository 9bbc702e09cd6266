"""Rendering a notification into an e-mail: subject, text and HTML from the shipped templates
or an admin's wording, in the recipient's language and time zone."""

from __future__ import annotations

import email.policy
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime as rfc2822_date
from email.utils import formataddr, parseaddr
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from webapp import wording
from webapp.db import db
from webapp.forms import one_line
from webapp.i18n import default_timezone, force_timezone, zone_name
from webapp.models import Call, Case, CasePartner, Deadline, Notification


def _domain() -> str:
    return current_app.config["MAIL_FROM"].rsplit("@", 1)[-1].strip("> ") or "citypair.local"


def message_id(n: Notification) -> str:
    """A stable Message-ID: the same notification always carries the same one."""
    return f"<notification-{n.id}@{_domain()}>"


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute link into the site for an e-mail, from the configured base URL.

    Built without the request, so it works the same in a worker, which has none.
    """
    parts = urlsplit(current_app.config["BASE_URL"].rstrip("/"))
    adapter = current_app.url_map.bind(parts.netloc or "localhost", script_name=parts.path or "/",
                                       url_scheme=parts.scheme or "http")
    return adapter.build(endpoint, values, force_external=True)


def _locale(code: str | None) -> Locale:
    try:
        return Locale.parse((code or "en").replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def local_time(dt: datetime | str | None, timezone: str | None, locale: str | None) -> str:
    """A moment as the recipient reads it: their language's long date, their zone's time and
    the zone's name (e.g. "Friday, 3 January 2025, 14:00 CET")."""
    if dt is None or dt == "":
        return ""
    if isinstance(dt, str):
        dt = datetime.fromisoformat(dt)
    tz = ZoneInfo(timezone or default_timezone())
    loc = _locale(locale)
    pattern = loc.datetime_formats["full"].format(loc.time_formats["short"].pattern,
                                                  loc.date_formats["full"].pattern)
    text = format_datetime(dt, pattern, tzinfo=tz, locale=loc)
    return f"{text} {zone_name(dt.astimezone(tz))}"


#: all the templates and the From header read of a case, loaded with it
_CASE_READ = (joinedload(Case.organisation), joinedload(Case.call).joinedload(Call.programme),
              joinedload(Case.partner_city),
              selectinload(Case.partner_links).joinedload(CasePartner.partner_city))


def case_of(n: Notification, session: Session | None = None) -> Case | None:
    """The notification's case with all the templates read of it."""
    if not n.case_id:
        return None
    return (session or db.session).get(Case, n.case_id, options=_CASE_READ)


def read_for(notifications: list[Notification], session: Session) -> list[Case | Deadline]:
    """The cases and deadlines of several notifications, each read once with what the
    templates read of it; the caller holds the list while it renders them, so ``case_of`` and
    the deadline's lookup find them in the session instead of asking the database again."""
    case_ids = {n.case_id for n in notifications if n.case_id}
    deadline_ids = {n.deadline_id for n in notifications if n.deadline_id}
    held: list[Case | Deadline] = []
    if case_ids:
        held.extend(session.scalars(select(Case).where(Case.id.in_(case_ids))
                                    .options(*_CASE_READ)).unique())
    if deadline_ids:
        held.extend(session.scalars(select(Deadline).where(Deadline.id.in_(deadline_ids))))
    return held


def render(n: Notification, session: Session | None = None, *,
           override: wording.Override | None = None, shipped: bool = False
           ) -> tuple[str, str, str, dict[str, Any]]:
    """(subject, text, html, context) of a notification, in the recipient's language and zone.

    The admin's wording of the template in that language is used when there is one (or
    ``override``, a wording being tried out; ``shipped`` keeps to the shipped templates).
    """
    session = session or db.session
    case = case_of(n, session)
    deadline = session.get(Deadline, n.deadline_id) if n.deadline_id else None

    def local(dt: datetime | str | None) -> str:
        return local_time(dt, n.timezone, n.locale)

    ctx = dict(n.context)
    case_url = external_url("applicant.case", case_id=case.id) if case else None
    ctx.update(notification=n, case=case, deadline=deadline, recipient_name=n.to_name,
               local=local, url=external_url, case_url=case_url)
    locale = n.locale or "en"
    chosen = override or (None if shipped else wording.saved(session, n.template, locale))
    with force_locale(locale), force_timezone(n.timezone or default_timezone()):
        if chosen is not None:
            subject, text, html = wording.render(chosen, n, ctx)
            return subject, text, html, ctx
        subject = render_template(f"emails/{n.template}.subject.txt", **ctx).strip()
        text = render_template(f"emails/{n.template}.txt", **ctx)
        html = render_template(f"emails/{n.template}.html", **ctx)
    return one_line(subject), text, html, ctx


def render_subject(n: Notification) -> str:
    """Only the subject line of a notification (for a digest's list)."""
    case = case_of(n)
    ctx = dict(n.context)
    ctx.update(notification=n, case=case, recipient_name=n.to_name,
               local=lambda dt: local_time(dt, n.timezone, n.locale), url=external_url)
    chosen = wording.saved(db.session, n.template, n.locale or "en")
    with force_locale(n.locale or "en"), force_timezone(n.timezone or default_timezone()):
        if chosen is not None:
            return wording.render_subject(chosen, n, ctx)
        subject = render_template(f"emails/{n.template}.subject.txt", **ctx)
    return one_line(subject)


def _transfer_encoding(body: str) -> str:
    # Readable 8-bit bodies (the mail sink is read by people); SMTP allows 998-byte lines.
    longest = max((len(line.encode()) for line in body.splitlines()), default=0)
    return "8bit" if longest <= 998 else "quoted-printable"


def from_header(case: Case | None) -> str:
    """MAIL_FROM, shown under the name of the case's programme when it has one."""
    mail_from = current_app.config["MAIL_FROM"]
    name = case.call.programme.sender_name if case is not None else ""
    return formataddr((one_line(name), parseaddr(mail_from)[1])) if name else mail_from


def build_message(n: Notification, unsubscribe_url: str | None = None,
                  ics: bytes | None = None, session: Session | None = None) -> EmailMessage:
    """The full MIME message of a notification: text and HTML, headers, calendar file."""
    subject, text, html, ctx = render(n, session)
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = from_header(ctx.get("case"))
    msg["To"] = formataddr((one_line(n.to_name), n.to_email))
    msg["Message-ID"] = message_id(n)
    msg["Date"] = rfc2822_date(n.created_at)
    if n.case_id:
        # Mail clients thread every message about one case together.
        msg["References"] = f"<case-{n.case_id}@{_domain()}>"
    msg["Auto-Submitted"] = "auto-generated"  # no out-of-office replies to robots
    msg["X-Citypair-Notification"] = str(n.id)
    if unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(text, cte=_transfer_encoding(text))
    msg.add_alternative(html, subtype="html", cte=_transfer_encoding(html))
    if ics:
        msg.add_attachment(ics, maintype="text", subtype="calendar", filename="deadline.ics",
                           params={"method": "PUBLISH"})
    # The bodies are encoded by now; headers are written on one line each: Python folds a
    # subject just over 78 characters before its first word, which readers show as a space.
    msg.policy = _HEADERS_UNFOLDED
    return msg


_HEADERS_UNFOLDED = email.policy.default.clone(max_line_length=998)
