"""Delivering the outbox: a worker claims notifications, renders each, sends it and records
what became of it.

Nothing lost, and nothing sent twice in the normal case:

- the claim (pending -> sending) is one conditional UPDATE, so two workers cannot both send a
  row, and a row whose next try is not due yet is left alone: an early wake-up burns no
  attempt;
- a failure is judged transient (the network, the database, a 4xx reply, a relay that cannot
  be reached) and tried again, backing off, until ``retry_until``; or permanent (a 5xx reply,
  a template that cannot be rendered) and the row fails at once;
- the outcome is written on a connection of its own, tried again a few times, so a database
  hiccup after the relay accepted a message does not send it twice;
- when the end of the message went out and no reply came back, the relay may have it: the row
  becomes "unknown" and goes again only when staff decide so.

The one duplicate window left: a worker that dies after the relay accepted a message and
before the outcome was written; its claim runs out and the message goes again.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from flask import current_app
from jinja2 import TemplateError
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    func,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from webapp.db import db, utcnow
from webapp.mail import calendar
from webapp.mail.rendering import build_message, case_of, external_url, read_for
from webapp.mail.sending import DeliveryUncertain, describe, sender
from webapp.models import (
    Case,
    Deadline,
    Notification,
    NotificationStatus,
    User,
    UserRole,
)
from webapp.operations import audit

log = logging.getLogger(__name__)

#: a retry due this soon rides on the task's own countdown; a later one is handed over by the
#: sweep when it falls due (the database holds the schedule, not the broker)
SOON = 60.0
#: pauses between the tries of writing an outcome, each on a new connection
OUTCOME_PAUSES = (0.2, 0.5, 1.0, 2.0, 4.0)


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery: sent, retry, failed, unknown (the relay may have it), or
    not-claimed (another worker has it, or it is not due or no longer pending)."""

    status: str
    #: a retry soon: the task hands the row over again after this many seconds
    retry_in: float | None = None
    #: the rest of the batch goes back to pending untried, due in this many seconds: the relay
    #: or the database is in trouble, or the relay is slow
    rest_in: float | None = None


def sending_timeout() -> timedelta:
    """How long a claimed row may stay "sending" before its worker is deemed dead."""
    return timedelta(seconds=current_app.config["SENDING_TIMEOUT_SECONDS"])


def longest_send(cfg: Mapping[str, Any] | None = None) -> float:
    """The most one message may take: connecting and the commands (each within SMTP_TIMEOUT),
    the wait for the reply to the end of DATA, and recording the outcome."""
    cfg = cfg or current_app.config
    return cfg["SMTP_DATA_TIMEOUT"] + 8 * cfg["SMTP_TIMEOUT"] + sum(OUTCOME_PAUSES)


def backoff(attempts: int) -> float:
    """Seconds before the next try after ``attempts`` tries: the base, doubled after each
    failure, at most DELIVERY_BACKOFF_MAX_SECONDS."""
    cfg = current_app.config
    doublings = min(max(attempts - 1, 0), 40)
    return float(min(cfg["DELIVERY_BACKOFF_SECONDS"] * 2 ** doublings,
                     cfg["DELIVERY_BACKOFF_MAX_SECONDS"]))


@contextmanager
def _statements() -> Iterator[Session]:
    """A session whose every statement commits on its own.

    The claim and the reads a message needs are each complete by themselves; without BEGIN
    and COMMIT around each, they take half the round trips to the database.
    """
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        with Session(bind=conn, expire_on_commit=False, autoflush=False) as session:
            yield session


def claim(notification_id: int, session: Session | None = None) -> Notification | None:
    """Take a due pending (or abandoned) notification for this worker, or None if another has
    it or its next try is not due yet."""
    if session is None:
        with db.transaction() as own:
            return claim(notification_id, own)
    return session.scalars(_claiming(Notification.id == notification_id),
                           execution_options=_CLAIM_OPTIONS).first()


def _claim_many(session: Session, notification_ids: list[int]) -> dict[int, Notification]:
    """``claim`` for several notifications in one statement; those another worker has, or
    whose next try is not due, are left out."""
    rows = session.scalars(_claiming(Notification.id.in_(notification_ids)),
                           execution_options=_CLAIM_OPTIONS).all()
    return {n.id: n for n in rows}


_CLAIM_OPTIONS = {"synchronize_session": False, "populate_existing": True}


def due(now: datetime) -> ColumnElement[bool]:
    """A notification whose next try, if it has one, has come."""
    return or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now)


def _claiming(which: ColumnElement[bool]):
    """The claim of the notifications ``which`` selects that are due, or abandoned."""
    now = utcnow()
    return (update(Notification)
            .where(which, or_(and_(Notification.status == NotificationStatus.PENDING, due(now)),
                              and_(Notification.status == NotificationStatus.SENDING,
                                   Notification.claimed_at < now - sending_timeout())))
            .values(status=NotificationStatus.SENDING, claimed_at=now,
                    attempts=Notification.attempts + 1)
            .returning(Notification))


def _renew(session: Session, rows: list[Notification]) -> set[int]:
    """Claim the rest of a batch afresh, so the next message's longest wait fits in the claim;
    returns the ids still held (a row another worker took over meanwhile is its now)."""
    held = (Notification.status == NotificationStatus.SENDING,
            tuple_(Notification.id, Notification.attempts).in_([(n.id, n.attempts) for n in rows]))
    return set(session.scalars(update(Notification).where(*held)
                               .values(claimed_at=utcnow()).returning(Notification.id)))


@dataclass(frozen=True)
class _Held:
    """An outcome the database could not be told yet."""

    id: int
    attempts: int
    values: dict[str, Any]


#: outcomes that decide against sending again (sent, unknown) which could not be written;
#: this process writes them before it claims anything more
_held: list[_Held] = []
_held_lock = threading.Lock()


class _Recorder:
    """Writes outcomes on a database connection of its own, not the batch's: once the relay
    has a message, the news must reach its row even if the batch's connection broke. A write
    that fails is tried again on a new connection a few times."""

    def __init__(self) -> None:
        self._conn: Connection | None = None
        #: False once a write ran out of tries: the rest of the batch tries each write once
        self.reachable = True

    def write(self, n: Notification | _Held, **values: Any) -> bool | None:
        """Record ``values`` while this claim still holds. True: written; False: a later claim
        has taken the row over; None: the database could not be reached."""
        stmt = (update(Notification)
                .where(Notification.id == n.id, Notification.attempts == n.attempts)
                .values(**values))
        for pause in (0.0, *(OUTCOME_PAUSES if self.reachable else ())):
            time.sleep(pause)
            try:
                if self._conn is None:
                    self._conn = db.engine.connect().execution_options(
                        isolation_level="AUTOCOMMIT")
                return bool(self._conn.execute(stmt).rowcount)
            except SQLAlchemyError as exc:
                log.warning("the outcome of notification %s is not written yet: %s",
                            n.id, error_text(exc))
                self._drop()
        self.reachable = False
        return None

    def write_held(self) -> None:
        """Write the outcomes this process holds back, as far as the database lets it."""
        with _held_lock:
            held, _held[:] = list(_held), []
        for h in held:
            written = self.write(h, **h.values)
            if written is None:
                with _held_lock:
                    _held.append(h)
            elif not written:
                log.warning("notification %s was taken over before its outcome could be "
                            "written; it may go twice", h.id)
        # What comes next is a batch of its own, with the patience of one.
        self.reachable = True

    def hold(self, n: Notification, **values: Any) -> None:
        """Keep an outcome the database cannot be told now, for the next delivery to write."""
        with _held_lock:
            _held.append(_Held(n.id, n.attempts, values))

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._conn.close()
            self._conn = None

    def close(self) -> None:
        """Give the connection back."""
        self._drop()


def error_text(exc: BaseException) -> str:
    """An error as the outbox shows it: the database's own words, not the statement."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return describe(exc.orig)
    return describe(exc)


def deliver(notification_id: int) -> Outcome:
    """Send one notification; the outcome says whether and when to try again."""
    return deliver_many([notification_id])[notification_id]


def deliver_many(notification_ids: list[int]) -> dict[int, Outcome]:
    """Send several notifications with one claim, one session and one relay connection.

    Each outcome is recorded as soon as its message is accepted or refused, so a crash can
    send at most the one message in flight twice. When the relay cannot be reached, the
    database is in trouble or the relay is slow, the rest of the batch goes back to pending,
    untried.
    """
    outcomes = {i: Outcome("not-claimed") for i in notification_ids}
    recorder = _Recorder()
    try:
        recorder.write_held()
        with _statements() as session:
            claimed = _claim_many(session, notification_ids)
            batch = [claimed[i] for i in dict.fromkeys(notification_ids) if i in claimed]
            _send_batch(session, recorder, batch, outcomes)
    finally:
        recorder.close()
    return outcomes


def _send_batch(session: Session, recorder: _Recorder, batch: list[Notification],
                outcomes: dict[int, Outcome]) -> None:
    waiting = list(batch)
    #: the batch's cases and deadlines, read with its first message and held until its last
    read: list[Any] = []
    claimed_at = time.monotonic()
    while waiting:
        # The claim must outlast the next message's longest wait, or the row could go twice.
        if len(waiting) < len(batch) and (time.monotonic() - claimed_at + longest_send()
                                          > current_app.config["SENDING_TIMEOUT_SECONDS"]):
            try:
                kept = _renew(session, waiting)
            except SQLAlchemyError as exc:
                log.warning("the rest of a batch goes back untried: %s", error_text(exc))
                for n in waiting:
                    outcomes[n.id] = _release(recorder, n, 0.0)
                return
            waiting = [n for n in waiting if n.id in kept]
            claimed_at = time.monotonic()
            if not waiting:
                return
        n = waiting.pop(0)
        outcome = outcomes[n.id] = _send(session, recorder, n, read, waiting)
        if outcome.rest_in is not None:
            for rest in waiting:
                outcomes[rest.id] = _release(recorder, rest, outcome.rest_in)
            return


def _release(recorder: _Recorder, n: Notification, wait: float) -> Outcome:
    # Not tried: the claim gives back the attempt it counted.
    at = utcnow() + timedelta(seconds=wait)
    if not recorder.write(n, status=NotificationStatus.PENDING, attempts=n.attempts - 1,
                          next_attempt_at=at, requeue_after=_requeue_after(at, wait)):
        return Outcome("not-claimed")
    return Outcome("retry", retry_in=wait if wait <= SOON else None)


def _requeue_after(at: datetime, wait: float) -> datetime:
    """When the sweep may hand a row due at ``at`` over again: a retry soon rides on the
    task's countdown, so the sweep waits a grace period beyond it; a later one is the sweep's
    to hand over when due."""
    if wait <= SOON:
        return at + timedelta(seconds=current_app.config["STALE_PENDING_SECONDS"])
    return at


def _send(session: Session, recorder: _Recorder, n: Notification, read: list[Any] | None = None,
          rest: list[Notification] | None = None) -> Outcome:
    cfg = current_app.config
    if n.attempts > cfg["DELIVERY_MAX_ATTEMPTS"]:
        # Workers died on it again and again: stop before it takes more of them down.
        return _fail(recorder, n, n.last_error or f"gave up after {n.attempts - 1} attempts")
    try:
        if read is not None and not read:
            # One query or two for the batch instead of a few for each of its messages.
            read.extend(read_for([n, *(rest or [])], session))
        message = compose(n, session)
    except Exception as exc:
        if _passing(exc):
            log.warning("notification %s could not be composed now: %s", n.id, error_text(exc))
            outcome = _retry_or_fail(recorder, n, f"could not be composed now: {error_text(exc)}")
            return replace(outcome, rest_in=0.0)
        log.exception("notification %s could not be rendered", n.id)
        return _fail(recorder, n, f"cannot be rendered: {type(exc).__name__}: {exc}")
    started = time.monotonic()
    try:
        sender().send(message)
    except DeliveryUncertain as exc:
        log.error("notification %s (Message-ID %s): %s", n.id, message["Message-ID"], exc)
        return _unknown(recorder, n, str(exc))
    except smtplib.SMTPRecipientsRefused as exc:
        # One recipient a notification; a 4xx for it is "later", a 5xx "never".
        later = all(400 <= code < 500 for code, _ in exc.recipients.values())
        return _retry_or_fail(recorder, n, describe(exc)) if later else \
            _fail(recorder, n, describe(exc))
    except (smtplib.SMTPHeloError, smtplib.SMTPAuthenticationError) as exc:
        # The session was refused, not the message: the relay or our account with it.
        return _relay_down(recorder, n, describe(exc))
    except smtplib.SMTPResponseException as exc:
        if exc.smtp_code == 421:  # the relay is closing the session
            return _relay_down(recorder, n, describe(exc))
        if 400 <= exc.smtp_code < 500:
            return _retry_or_fail(recorder, n, describe(exc))
        return _fail(recorder, n, describe(exc))
    except smtplib.SMTPServerDisconnected as exc:
        return _relay_down(recorder, n, describe(exc))
    except smtplib.SMTPException as exc:  # e.g. an address the relay cannot take
        return _fail(recorder, n, describe(exc))
    except OSError as exc:  # the relay cannot be reached
        return _relay_down(recorder, n, describe(exc))
    slow = time.monotonic() - started > cfg["SMTP_TIMEOUT"]
    sent = {"status": NotificationStatus.SENT, "sent_at": utcnow(), "last_error": "",
            "next_attempt_at": None, "retry_until": None, "requeue_after": None}
    written = recorder.write(n, **sent)
    if written is None:
        # The relay has it and the database cannot be told: never send it again for that.
        log.error("notification %s (Message-ID %s) was accepted by the relay; its outcome "
                  "is held until the database answers", n.id, message["Message-ID"])
        recorder.hold(n, **sent)
        return Outcome("sent", rest_in=0.0)
    if not written:
        log.warning("notification %s was sent after another worker had taken it over", n.id)
    # A slow relay keeps the rest of the batch from going by fresh claims of their own.
    return Outcome("sent", rest_in=0.0 if slow else None)


def _passing(exc: Exception) -> bool:
    """Whether trouble while composing passes: the database or the network, not a template
    (TemplateNotFound is an OSError too) or the data."""
    return isinstance(exc, (SQLAlchemyError, OSError)) and not isinstance(exc, TemplateError)


def _relay_down(recorder: _Recorder, n: Notification, error: str) -> Outcome:
    # The rest of the batch would fare no better now: it waits as long as this one.
    return replace(_retry_or_fail(recorder, n, error), rest_in=backoff(n.attempts))


def _retry_or_fail(recorder: _Recorder, n: Notification, error: str) -> Outcome:
    """A transient failure: try again after the backoff, unless the retry window is over."""
    cfg = current_app.config
    now = utcnow()
    until = n.retry_until or now + timedelta(seconds=cfg["DELIVERY_RETRY_FOR_SECONDS"])
    if now >= until or n.attempts >= cfg["DELIVERY_MAX_ATTEMPTS"]:
        return _fail(recorder, n, f"{error} (given up after {n.attempts} attempts)")
    wait = backoff(n.attempts)
    at = min(now + timedelta(seconds=wait), until)
    recorder.write(n, status=NotificationStatus.PENDING, last_error=error[:500],
                   next_attempt_at=at, retry_until=until,
                   requeue_after=_requeue_after(at, wait))
    return Outcome("retry", retry_in=wait if wait <= SOON else None)


def _fail(recorder: _Recorder, n: Notification, error: str) -> Outcome:
    recorder.write(n, status=NotificationStatus.FAILED, last_error=error[:500],
                   next_attempt_at=None, requeue_after=None)
    return Outcome("failed")


def _unknown(recorder: _Recorder, n: Notification, error: str) -> Outcome:
    values = {"status": NotificationStatus.UNKNOWN, "last_error": error[:500],
              "next_attempt_at": None, "requeue_after": None}
    if recorder.write(n, **values) is None:
        recorder.hold(n, **values)
    return Outcome("unknown", rest_in=0.0)


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


# -- staff putting mail back in the queue --------------------------------------------------

#: statuses whose mail may already be in the recipient's mailbox: resending asks first
MAYBE_DELIVERED = (NotificationStatus.SENT, NotificationStatus.UNKNOWN)


def visible_notifications(user: User) -> Select[tuple[Notification]]:
    """The notifications a member of staff may see: their programmes' and region's cases' and
    those without a case; admins and coordinators of every programme and region see all."""
    from webapp.access import programme_scope, visible_cases

    q = select(Notification)
    if user.role == UserRole.ADMIN or (not user.region_scope and programme_scope(user) is None):
        return q
    # Never correlated with a case table the caller joins: this is the list of visible cases.
    cases = visible_cases(user).with_only_columns(Case.id).correlate(None)
    return q.where(or_(Notification.case_id.is_(None), Notification.case_id.in_(cases)))


def _requeue(session: Session, which: ColumnElement[bool], again: bool = False) -> list[int]:
    """Put the notifications ``which`` selects back in the queue as new, after the commit.

    One being sent right now is left alone: it is on its way. So is one that was sent, or may
    have been, unless ``again`` says a second copy is wanted.
    """
    from webapp.mail.outbox import enqueue_after_commit

    now = utcnow()
    grace = timedelta(seconds=current_app.config["STALE_PENDING_SECONDS"])
    left = (NotificationStatus.SENDING,) if again else (NotificationStatus.SENDING,
                                                        *MAYBE_DELIVERED)
    ids = sorted(session.scalars(
        update(Notification).where(which, Notification.status.not_in(left))
        .values(status=NotificationStatus.PENDING, next_attempt_at=None, retry_until=None,
                requeue_after=now + grace, attempts=0, last_error="")
        .returning(Notification.id).execution_options(synchronize_session=False)))
    enqueue_after_commit(session, ids)
    return ids


def _audit(session: Session, actor: User, action: str, source_address: str,
           payload: dict[str, Any]) -> None:
    audit.record(session, action, actor, source_address=source_address, payload=payload)


#: how many ids an audit event lists; the count is always there
AUDIT_IDS = 1000


def resend(notification_ids: list[int], actor: User | None = None,
           source_address: str = "", again: bool = False) -> int:
    """Put notifications back in the queue (a coordinator's resend); returns how many.

    One being sent right now is left alone: it is on its way. So is one that was sent, or may
    have been (``MAYBE_DELIVERED``), unless ``again``: the caller has asked whether a second
    copy is wanted and was told yes.
    """
    with db.transaction() as session:
        before = dict(session.execute(select(Notification.id, Notification.status).where(
            Notification.id.in_(notification_ids))).all())
        ids = _requeue(session, Notification.id.in_(notification_ids), again)
        if actor is not None and ids:
            again = [i for i in ids if before.get(i) in MAYBE_DELIVERED]
            _audit(session, actor, "resend_mail", source_address,
                   {"count": len(ids), "notification_ids": ids[:AUDIT_IDS],
                    "maybe_delivered_before": again[:AUDIT_IDS]})
        return len(ids)


def failed_count(user: User) -> int:
    """How many failed notifications ``user`` may see."""
    q = visible_notifications(user).where(Notification.status == NotificationStatus.FAILED)
    return db.session.scalar(select(func.count()).select_from(q.subquery())) or 0


def retry_failed(actor: User, source_address: str = "") -> int:
    """Put every failed notification ``actor`` may see back in the queue, as new; recorded in
    the audit trail. Returns how many."""
    with db.transaction() as session:
        failed = (visible_notifications(actor)
                  .where(Notification.status == NotificationStatus.FAILED)
                  .with_only_columns(Notification.id))
        ids = _requeue(session, and_(Notification.status == NotificationStatus.FAILED,
                                     Notification.id.in_(failed)))
        if ids:
            _audit(session, actor, "retry_failed_mail", source_address,
                   {"count": len(ids), "notification_ids": ids[:AUDIT_IDS],
                    "region_scope": actor.region_scope})
        return len(ids)
