"""E-mail: rendering a notification into a message, and the two ways of sending it."""

from __future__ import annotations

import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from flask import current_app, render_template, url_for
from flask_babel import force_locale

from webapp.db import db
from webapp.models import Case, Deadline, Notification, User


class Sender(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class SMTPSender:
    """Sends through an SMTP relay, one connection per message, with a timeout."""

    def __init__(self, cfg: dict[str, Any]):
        self.cfg = cfg

    def send(self, message: EmailMessage) -> None:
        cfg = self.cfg
        cls = smtplib.SMTP_SSL if cfg["SMTP_SSL"] else smtplib.SMTP
        with cls(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=cfg["SMTP_TIMEOUT"]) as smtp:
            if cfg["SMTP_STARTTLS"]:
                smtp.starttls(context=ssl.create_default_context())
            if cfg["SMTP_USERNAME"]:
                smtp.login(cfg["SMTP_USERNAME"], cfg["SMTP_PASSWORD"])
            smtp.send_message(message)


class SinkSender:
    """Writes each message as an .eml file: the embedded mode's mail sink."""

    def __init__(self, folder: str):
        self.folder = Path(folder)

    def send(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = message["Message-ID"].strip("<>").replace("@", "_").replace("/", "_")
        tmp = self.folder / f".{name}.tmp"
        tmp.write_bytes(bytes(message))
        tmp.replace(self.folder / f"{name}.eml")


def sender() -> Sender:
    """The sender the configuration asks for."""
    cfg = current_app.config
    return SMTPSender(dict(cfg)) if cfg["SMTP_HOST"] else SinkSender(cfg["MAIL_SINK_DIR"])


def message_id(n: Notification) -> str:
    """A stable Message-ID: the same notification always carries the same one."""
    domain = current_app.config["MAIL_FROM"].rsplit("@", 1)[-1].strip(">") or "citypair.local"
    return f"<notification-{n.id}@{domain}>"


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute link into the site for an e-mail, from the configured base URL."""
    path = url_for(endpoint, **values)
    return current_app.config["BASE_URL"].rstrip("/") + path


def render(n: Notification) -> tuple[str, str, str, dict[str, Any]]:
    """(subject, text, html, context) of a notification, in the recipient's language and zone."""
    case = db.session.get(Case, n.case_id) if n.case_id else None
    deadline = db.session.get(Deadline, n.deadline_id) if n.deadline_id else None
    user = db.session.get(User, n.user_id) if n.user_id else None
    tz = ZoneInfo(n.timezone or "Europe/Brussels")

    def local(dt: datetime | str | None) -> str:
        if dt is None or dt == "":
            return ""
        if isinstance(dt, str):
            dt = datetime.fromisoformat(dt)
        d = dt.astimezone(tz)
        return d.strftime("%A %d %B %Y, %H:%M ") + (d.tzname() or "")

    ctx = dict(n.context)
    ctx.update(notification=n, case=case, deadline=deadline, recipient=user,
               recipient_name=n.to_name, local=local, url=external_url,
               case_url=external_url("applicant.case", case_id=case.id) if case else None)
    with force_locale(n.locale or "en"):
        subject = render_template(f"emails/{n.template}.subject.txt", **ctx).strip()
        text = render_template(f"emails/{n.template}.txt", **ctx)
        html = render_template(f"emails/{n.template}.html", **ctx)
    return " ".join(subject.split()), text, html, ctx


def build_message(n: Notification, unsubscribe_url: str | None = None,
                  ics: bytes | None = None) -> EmailMessage:
    """The full MIME message of a notification: text and HTML, headers, calendar file."""
    subject, text, html, _ = render(n)
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = current_app.config["MAIL_FROM"]
    msg["To"] = formataddr((n.to_name, n.to_email))
    msg["Message-ID"] = message_id(n)
    msg["Date"] = format_datetime(n.created_at)
    msg["Auto-Submitted"] = "auto-generated"  # no out-of-office replies to robots
    msg["X-Citypair-Notification"] = str(n.id)
    if unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    if ics:
        msg.add_attachment(ics, maintype="text", subtype="calendar", filename="deadline.ics",
                           params={"method": "PUBLISH"})
    return msg


