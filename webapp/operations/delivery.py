"""Delivering the outbox: one worker claims a notification, renders and sends it.

At least once, never twice in the normal case: the claim (pending -> sending) is a conditional
UPDATE, so two workers cannot both send one row; the only duplicate window is a crash after the
SMTP server accepted the message and before ``sent`` was committed.
"""

from __future__ import annotations

import smtplib
import socket
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from webapp import calendar
from webapp.db import db, utcnow
from webapp.mail import build_message, sender
from webapp.models import Case, Deadline, Notification, NotificationStatus

#: how long a claimed row may stay "sending" before the sweep deems its worker dead
SENDING_TIMEOUT = timedelta(minutes=2)

TRANSIENT = (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, ConnectionError,
             socket.timeout, TimeoutError, OSError)


@dataclass(frozen=True)
class Outcome:
    status: str
    retry_in: float | None = None


def backoff(attempts: int) -> float:
    """Seconds before the next try: 5, 10, 20 ... capped at 15 minutes."""
    return float(min(5 * 2 ** max(attempts - 1, 0), 900))


def claim(notification_id: int) -> Notification | None:
    """Take a pending (or abandoned) notification for this worker, or None if another has it."""
    now = utcnow()
    with db.transaction() as session:
        claimed = session.execute(
            update(Notification)
            .where(Notification.id == notification_id,
                   or_(Notification.status == NotificationStatus.PENDING,
                       (Notification.status == NotificationStatus.SENDING)
                       & (Notification.claimed_at < now - SENDING_TIMEOUT)))
            .values(status=NotificationStatus.SENDING, claimed_at=now,
                    attempts=Notification.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            return None
        return session.get(Notification, notification_id, populate_existing=True)


def _finish(notification_id: int, **values: object) -> None:
    with db.transaction() as session:
        session.execute(update(Notification).where(Notification.id == notification_id)
                        .values(**values).execution_options(synchronize_session=False))


def deliver(notification_id: int) -> Outcome:
    """Send one notification; the outcome says whether and when to try again."""
    n = claim(notification_id)
    if n is None:
        return Outcome("not-claimed")
    max_attempts = current_app.config["DELIVERY_MAX_ATTEMPTS"]
    try:
        message = build_message(n, unsubscribe_url=_unsubscribe_url(n), ics=_ics(n))
        sender().send(message)
    except smtplib.SMTPResponseException as exc:
        error = f"{exc.smtp_code} {exc.smtp_error!r}"
        if 400 <= exc.smtp_code < 500 and n.attempts < max_attempts:
            return _retry(n, error)
        _finish(n.id, status=NotificationStatus.FAILED, last_error=error)
        return Outcome("failed")
    except smtplib.SMTPRecipientsRefused as exc:
        _finish(n.id, status=NotificationStatus.FAILED, last_error=str(exc.recipients)[:500])
        return Outcome("failed")
    except TRANSIENT as exc:
        error = f"{type(exc).__name__}: {exc}"
        if n.attempts < max_attempts:
            return _retry(n, error)
        _finish(n.id, status=NotificationStatus.FAILED, last_error=error)
        return Outcome("failed")
    _finish(n.id, status=NotificationStatus.SENT, sent_at=utcnow(), last_error="")
    return Outcome("sent")


def _retry(n: Notification, error: str) -> Outcome:
    wait = backoff(n.attempts)
    _finish(n.id, status=NotificationStatus.PENDING, last_error=error[:500],
            next_attempt_at=utcnow() + timedelta(seconds=wait))
    return Outcome("retry", retry_in=wait)


def _unsubscribe_url(n: Notification) -> str | None:
    if not n.optional or not n.user_id:
        return None
    from webapp.mail import external_url
    from webapp.operations.preferences import unsubscribe_token

    return external_url("public.unsubscribe", token=unsubscribe_token(n.user_id))


def _ics(n: Notification) -> bytes | None:
    if not n.deadline_id:
        return None
    deadline = db.session.get(Deadline, n.deadline_id)
    case = db.session.get(Case, deadline.case_id) if deadline else None
    return calendar.calendar([(deadline, case)]) if deadline and case else None


def resend(notification_ids: list[int]) -> int:
    """Put notifications back in the queue (a coordinator's resend); returns how many."""
    from webapp.operations.outbox import enqueue_after_commit

    with db.transaction() as session:
        ids = list(session.scalars(select(Notification.id).where(
            Notification.id.in_(notification_ids),
            Notification.status != NotificationStatus.SENDING)))
        if ids:
            session.execute(update(Notification).where(Notification.id.in_(ids)).values(
                status=NotificationStatus.PENDING, next_attempt_at=None, attempts=0)
                .execution_options(synchronize_session=False))
            enqueue_after_commit(session, ids)
        return len(ids)
