"""Delivering the outbox: one worker claims a notification, renders and sends it.

At least once, never twice in the normal case: the claim (pending -> sending) is a conditional
UPDATE, so two workers cannot both send one row; the only duplicate window is a crash after the
SMTP server accepted the message and before ``sent`` was committed. Each claim counts an
attempt, and the outcome is written only while that claim still holds.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from webapp import calendar
from webapp.db import db, utcnow
from webapp.mail import build_message, case_of, external_url, sender
from webapp.models import Deadline, Notification, NotificationStatus

log = logging.getLogger(__name__)

#: network trouble: the relay may answer on the next try
TRANSIENT = (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError, OSError)


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery: sent, retry (in ``retry_in`` seconds), failed, or
    not-claimed (another worker has it, or it is no longer pending)."""

    status: str
    retry_in: float | None = None
    #: the relay could not be reached: the rest of a batch would fare no better now
    relay_down: bool = False


def sending_timeout() -> timedelta:
    """How long a claimed row may stay "sending" before its worker is deemed dead."""
    return timedelta(seconds=current_app.config["SENDING_TIMEOUT_SECONDS"])


def backoff(attempts: int) -> float:
    """Seconds before the next try: the base, doubled after each failure, at most an hour."""
    base = current_app.config["DELIVERY_BACKOFF_SECONDS"]
    return float(min(base * 2 ** max(attempts - 1, 0), 3600))


@contextmanager
def _statements() -> Iterator[Session]:
    """A session whose every statement commits on its own.

    A delivery is a claim, two reads and the outcome, each complete by itself; without
    BEGIN and COMMIT around each, it takes half the round trips to the database.
    """
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        with Session(bind=conn, expire_on_commit=False, autoflush=False) as session:
            yield session


def claim(notification_id: int, session: Session | None = None) -> Notification | None:
    """Take a pending (or abandoned) notification for this worker, or None if another has it."""
    if session is None:
        with db.transaction() as own:
            return claim(notification_id, own)
    return session.scalars(_claiming(Notification.id == notification_id),
                           execution_options=_CLAIM_OPTIONS).first()


def _claim_many(session: Session, notification_ids: list[int]) -> dict[int, Notification]:
    """``claim`` for several notifications in one statement; those another worker has are
    left out."""
    rows = session.scalars(_claiming(Notification.id.in_(notification_ids)),
                           execution_options=_CLAIM_OPTIONS).all()
    return {n.id: n for n in rows}


_CLAIM_OPTIONS = {"synchronize_session": False, "populate_existing": True}


def _claiming(which: ColumnElement[bool]):
    """The claim of the notifications ``which`` selects that are pending or abandoned."""
    now = utcnow()
    return (update(Notification)
            .where(which, or_(Notification.status == NotificationStatus.PENDING,
                              (Notification.status == NotificationStatus.SENDING)
                              & (Notification.claimed_at < now - sending_timeout())))
            .values(status=NotificationStatus.SENDING, claimed_at=now,
                    attempts=Notification.attempts + 1)
            .returning(Notification))


def _finish(n: Notification, session: Session | None = None, **values: object) -> bool:
    """Record the outcome of this claim; False when a later claim has taken the row over."""
    if session is None:
        with db.transaction() as own:
            return _finish(n, own, **values)
    return bool(session.execute(
        update(Notification).where(Notification.id == n.id, Notification.attempts == n.attempts)
        .values(**values).execution_options(synchronize_session=False)).rowcount)


def deliver(notification_id: int) -> Outcome:
    """Send one notification; the outcome says whether and when to try again."""
    with _statements() as session:
        n = claim(notification_id, session)
        if n is None:
            return Outcome("not-claimed")
        return _send(session, n)


def deliver_many(notification_ids: list[int]) -> dict[int, Outcome]:
    """Send several notifications with one claim, one session and one relay connection.

    Each outcome is still recorded as soon as its message is accepted or refused, so a crash
    can send at most the one message in flight twice. When the relay cannot be reached, the
    rest of the batch goes back to pending, untried, for the same later retry.
    """
    outcomes: dict[int, Outcome] = {}
    with _statements() as session:
        claimed = _claim_many(session, notification_ids)
        batch = [claimed[i] for i in dict.fromkeys(notification_ids) if i in claimed]
        for i in notification_ids:
            outcomes.setdefault(i, Outcome("not-claimed"))
        for k, n in enumerate(batch):
            outcome = outcomes[n.id] = _send(session, n)
            if outcome.relay_down:
                for rest in batch[k + 1:]:
                    outcomes[rest.id] = _release(session, rest, outcome.retry_in or 0.0)
                break
    return outcomes


def _release(session: Session, n: Notification, wait: float) -> Outcome:
    # Not tried: the claim gives back the attempt it counted.
    _finish(n, session, status=NotificationStatus.PENDING, attempts=n.attempts - 1,
            next_attempt_at=utcnow() + timedelta(seconds=wait))
    return Outcome("retry", retry_in=wait)


def _send(session: Session, n: Notification) -> Outcome:
    max_attempts = current_app.config["DELIVERY_MAX_ATTEMPTS"]
    if n.attempts > max_attempts:
        # Workers died on it again and again: stop before it takes more of them down.
        return _fail(session, n, n.last_error or f"gave up after {max_attempts} attempts")
    try:
        message = compose(n, session)
    except Exception as exc:  # a template or data problem: retrying will not help
        log.exception("notification %s could not be rendered", n.id)
        return _fail(session, n, f"cannot be rendered: {type(exc).__name__}: {exc}")
    try:
        sender().send(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        error = "; ".join(f"{code} {msg!r}" for code, msg in exc.recipients.values())
        return _retry_or_fail(session, n, error, all(400 <= c < 500 for c in codes))
    except smtplib.SMTPResponseException as exc:
        error = f"{exc.smtp_code} {exc.smtp_error!r}"
        return _retry_or_fail(session, n, error, 400 <= exc.smtp_code < 500)
    except TRANSIENT as exc:
        outcome = _retry_or_fail(session, n, f"{type(exc).__name__}: {exc}", True)
        return Outcome(outcome.status, outcome.retry_in, relay_down=True)
    except smtplib.SMTPException as exc:
        return _fail(session, n, f"{type(exc).__name__}: {exc}")
    _finish(n, session, status=NotificationStatus.SENT, sent_at=utcnow(), last_error="",
            next_attempt_at=None)
    return Outcome("sent")


def _retry_or_fail(session: Session, n: Notification, error: str, transient: bool) -> Outcome:
    if not transient or n.attempts >= current_app.config["DELIVERY_MAX_ATTEMPTS"]:
        return _fail(session, n, error)
    wait = backoff(n.attempts)
    _finish(n, session, status=NotificationStatus.PENDING, last_error=error[:500],
            next_attempt_at=utcnow() + timedelta(seconds=wait))
    return Outcome("retry", retry_in=wait)


def _fail(session: Session, n: Notification, error: str) -> Outcome:
    _finish(n, session, status=NotificationStatus.FAILED, last_error=error[:500],
            next_attempt_at=None)
    return Outcome("failed")


def _unsubscribe_url(n: Notification) -> str | None:
    # Mailing-list mail: the subscriber leaves the list, not their notification settings.
    if (n.context or {}).get("unsubscribe_token") and not n.user_id:
        return external_url("public.mailing_unsubscribe", token=n.context["unsubscribe_token"])
    if not n.optional or not n.user_id:
        return None
    from webapp.operations.preferences import unsubscribe_token

    return external_url("public.unsubscribe", token=unsubscribe_token(n.user_id))


def compose(n: Notification, session: Session | None = None) -> EmailMessage:
    """The message of a notification with its unsubscribe link and, for deadline mail, the
    deadline as an iCalendar file."""
    session = session or db.session
    # Held here, the case and deadline stay in the session for the rendering to reuse.
    case = case_of(n, session)
    deadline = session.get(Deadline, n.deadline_id) if n.deadline_id else None
    ics = None
    if deadline is not None and case is not None and deadline.case_id == case.id:
        ics = calendar.calendar([(deadline, case)], timezone=n.timezone)
    return build_message(n, unsubscribe_url=_unsubscribe_url(n), ics=ics, session=session)


def resend(notification_ids: list[int]) -> int:
    """Put notifications back in the queue (a coordinator's resend); returns how many.

    One being sent right now is left alone: it is on its way.
    """
    from webapp.operations.outbox import enqueue_after_commit

    with db.transaction() as session:
        ids = list(session.scalars(select(Notification.id).where(
            Notification.id.in_(notification_ids),
            Notification.status != NotificationStatus.SENDING)))
        if ids:
            session.execute(update(Notification).where(
                Notification.id.in_(ids), Notification.status != NotificationStatus.SENDING)
                .values(status=NotificationStatus.PENDING, next_attempt_at=None, attempts=0,
                        last_error="")
                .execution_options(synchronize_session=False))
            enqueue_after_commit(session, ids)
        return len(ids)
