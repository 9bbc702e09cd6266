"""E-mail: rendering a notification into a message, and the two ways of sending it."""

from __future__ import annotations

import contextlib
import email.policy
import os
import re
import smtplib
import ssl
import threading
import time
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime as rfc2822_date
from email.utils import formataddr, parseaddr
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy.orm import Session, joinedload

from webapp import wording
from webapp.db import db
from webapp.forms import one_line
from webapp.i18n import default_timezone, force_timezone, zone_name
from webapp.models import Case, Deadline, Notification
from webapp.safety import write_private

#: a pooled connection idle longer than this is closed rather than trusted
SMTP_KEEPALIVE_SECONDS = 30.0
#: relays often cap the messages of one connection; reconnect before they refuse
SMTP_MESSAGES_PER_CONNECTION = 100


class Sender(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class DeliveryUncertain(smtplib.SMTPException):
    """The end of the message went out but no reply came back: the relay may have accepted it,
    so sending it again could deliver a second copy."""


class _SMTP(smtplib.SMTP):
    """DATA as smtplib speaks it, with RFC 5321's long wait for the final reply (section
    4.5.3.2.6) instead of the command timeout, and a note of how far the message got, which
    decides whether trying again is safe."""

    #: the DATA command was given
    in_data = False
    #: the message and its final dot went out: from here the relay may have accepted it
    end_sent = False
    #: seconds to wait for the body to go out and the final reply to come back
    data_timeout: float | None = None

    def data(self, msg: bytes) -> tuple[int, bytes]:
        self.in_data = True
        self.putcmd("data")
        code, reply = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        # A line starting with a dot gets another one (RFC 5321 section 4.5.2).
        body = re.sub(rb"(?m)^\.", b"..", msg)
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        self.sock.settimeout(self.data_timeout)
        try:
            self.send(body + b".\r\n")
            self.end_sent = True
            return self.getreply()
        finally:
            if self.sock is not None:
                self.sock.settimeout(self.timeout)


class _SMTPSSL(_SMTP, smtplib.SMTP_SSL):
    pass


def describe(exc: BaseException) -> str:
    """An SMTP or network error as people read it: the relay's reply decoded ("451 4.3.0 Try
    again later", each with its address when several recipients were refused), else the
    error's kind and words."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = {address: _reply(code, text)
                   for address, (code, text) in exc.recipients.items()}
        if len(replies) == 1:
            return next(iter(replies.values()))
        return "; ".join(f"{address}: {reply}" for address, reply in replies.items())
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply(exc.smtp_code, exc.smtp_error)
    words = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {words}" if words else type(exc).__name__


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    # Lines of a multi-line reply are joined: the outbox shows it on one line.
    return " ".join([str(code), *text.split()])


class _Connection:
    def __init__(self, smtp: smtplib.SMTP):
        self.smtp = smtp
        self.pid = os.getpid()
        self.sent = 0
        self.used_at = time.monotonic()


class SMTPSender:
    """Sends through an SMTP relay, keeping one open connection per thread of each process.

    A connection that went stale between two messages (the relay closed it, or restarted) is
    replaced and the message tried once more, but only when the relay had not yet seen the
    message body: after that point a retry could deliver it twice.
    """

    def __init__(self, cfg: dict[str, Any]):
        self.cfg = cfg
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: set[_Connection] = set()

    def _connect(self) -> _Connection:
        cfg = self.cfg
        cls = _SMTPSSL if cfg["SMTP_SSL"] else _SMTP
        smtp = cls(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=cfg["SMTP_TIMEOUT"])
        smtp.data_timeout = cfg["SMTP_DATA_TIMEOUT"]
        try:
            smtp.ehlo()
            if cfg["SMTP_STARTTLS"]:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if cfg["SMTP_USERNAME"]:
                smtp.login(cfg["SMTP_USERNAME"], cfg["SMTP_PASSWORD"])
        except BaseException:
            smtp.close()
            raise
        conn = _Connection(smtp)
        with self._lock:
            self._open.add(conn)
        return conn

    def _discard(self, conn: _Connection, polite: bool = False) -> None:
        with self._lock:
            self._open.discard(conn)
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None
        # A connection inherited from a parent process is not ours to say goodbye on.
        if polite and conn.pid == os.getpid():
            with contextlib.suppress(smtplib.SMTPException, OSError):
                conn.smtp.quit()
        conn.smtp.close()

    def _reusable(self) -> _Connection | None:
        conn: _Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            return None
        fresh = (conn.pid == os.getpid() and conn.smtp.sock is not None
                 and conn.sent < SMTP_MESSAGES_PER_CONNECTION
                 and time.monotonic() - conn.used_at < SMTP_KEEPALIVE_SECONDS)
        if not fresh:
            self._discard(conn, polite=conn.pid == os.getpid())
            return None
        return conn

    def send(self, message: EmailMessage) -> None:
        """Send one message; SMTP errors are raised for the caller to judge."""
        conn = self._reusable()
        if conn is not None:
            try:
                self._transfer(conn, message)
                return
            except (smtplib.SMTPServerDisconnected, smtplib.SMTPResponseException) as exc:
                stale = not isinstance(exc, smtplib.SMTPResponseException) or exc.smtp_code == 421
                if not stale or conn.smtp.in_data:
                    self._after_error(conn, exc)
                    raise
                # The relay let an idle connection go before it saw the message: a fresh
                # connection may try again without any risk of a second copy.
                self._discard(conn)
            except BaseException as exc:
                self._after_error(conn, exc)
                raise
        conn = self._local.conn = self._connect()
        try:
            self._transfer(conn, message)
        except BaseException as exc:
            self._after_error(conn, exc)
            raise

    def _after_error(self, conn: _Connection, exc: BaseException) -> None:
        # After a refusal smtplib resets the transaction and the connection stays usable.
        refused = isinstance(exc, (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused))
        if not refused or conn.smtp.sock is None:
            self._discard(conn)

    def _transfer(self, conn: _Connection, message: EmailMessage) -> None:
        smtp = conn.smtp
        smtp.in_data = smtp.end_sent = False
        conn.used_at = time.monotonic()
        try:
            smtp.send_message(message)
        except Exception as exc:
            # A reply is an answer; anything else after the final dot leaves it open.
            if smtp.end_sent and not isinstance(exc, smtplib.SMTPResponseException):
                raise DeliveryUncertain(
                    f"no reply to the end of the message ({describe(exc)}): the relay may "
                    f"have accepted it") from exc
            raise
        conn.sent += 1
        conn.used_at = time.monotonic()

    def close(self) -> None:
        """Say goodbye on every connection this sender holds (a worker shutting down)."""
        with self._lock:
            conns = list(self._open)
        for conn in conns:
            self._discard(conn, polite=True)


class SinkSender:
    """Writes each message as an .eml file: the embedded mode's mail sink."""

    def __init__(self, folder: str):
        self.folder = Path(folder)

    def send(self, message: EmailMessage) -> None:
        """Write the message atomically: a reader never sees half a file."""
        name = message["Message-ID"].strip("<>").replace("/", "_")
        tmp = self.folder / f".{name}.tmp"
        write_private(tmp, bytes(message))  # reset and confirmation links are in there
        tmp.replace(self.folder / f"{name}.eml")


_senders: dict[tuple[Any, ...], SMTPSender] = {}
_senders_lock = threading.Lock()
#: a sender that replaces the configured one in this process (a simulation's recorder)
_override: Sender | None = None


def use_sender(replacement: Sender | None) -> None:
    """Send through ``replacement`` in this process from now on (None: as configured)."""
    global _override
    _override = replacement


def sender() -> Sender:
    """The sender the configuration asks for; SMTP senders are kept for the process's life."""
    if _override is not None:
        return _override
    cfg = current_app.config
    if not cfg["SMTP_HOST"]:
        return SinkSender(cfg["MAIL_SINK_DIR"])
    key = tuple(cfg[k] for k in ("SMTP_HOST", "SMTP_PORT", "SMTP_SSL", "SMTP_STARTTLS",
                                 "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_TIMEOUT",
                                 "SMTP_DATA_TIMEOUT"))
    with _senders_lock:
        if key not in _senders:
            _senders[key] = SMTPSender({k: cfg[k] for k in cfg if k.startswith("SMTP_")})
        return _senders[key]


def close_connections() -> None:
    """Close every pooled SMTP connection of this process."""
    with _senders_lock:
        senders = list(_senders.values())
    for s in senders:
        s.close()


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


def case_of(n: Notification, session: Session | None = None) -> Case | None:
    """The notification's case with all the templates read of it, in one query."""
    if not n.case_id:
        return None
    return (session or db.session).get(Case, n.case_id, options=[
        joinedload(Case.organisation), joinedload(Case.call), joinedload(Case.partner_city)])


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
