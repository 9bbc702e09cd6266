"""The sweep: turn due reminders into notifications, send the daily digests, revive stuck
notifications and fire automatic steps.

Each part claims its rows in its own short transaction; on PostgreSQL rows are locked with
SKIP LOCKED so two sweeps running at once split the work instead of doing it twice, and the
notification's unique idempotency key (an insert that does nothing on a clash) stops a
duplicate even where locking is unavailable, without undoing the rest of the batch.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, load_only, selectinload

from webapp.db import db, utcnow
from webapp.errors import OperationError
from webapp.i18n import default_timezone
from webapp.mail import outbox
from webapp.mail.delivery import due, sending_timeout
from webapp.mail.rendering import render_subject
from webapp.models import (
    Case,
    Notification,
    NotificationStatus,
    PartyFact,
    Reminder,
    User,
)
from workflows import workflows

log = logging.getLogger(__name__)


@dataclass
class SweepReport:
    """What one sweep did, for the task's result and the logs."""

    reminders: int = 0
    notifications: int = 0
    skipped: int = 0
    digests: int = 0
    revived: int = 0
    transitions: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counts by name."""
        return asdict(self)


def _lock(query):
    # SQLite has no row locks; its writes are serialised by the database file instead.
    return query.with_for_update(skip_locked=True) if db.dialect == "postgresql" else query


#: what the sweep reads of a due reminder: columns, not objects, as a batch holds thousands
_DUE_COLUMNS = (Reminder.id, Reminder.case_id, Reminder.deadline_id, Reminder.offset_minutes,
                Reminder.recipients, Reminder.template, Reminder.unless_done_by)
#: what recipients and the mail context read of a case
_CASE_COLUMNS = (Case.id, Case.reference, Case.organisation_id, Case.partner_city_id,
                 Case.coordinator_id, Case.partner_region)


def due_reminders(now: datetime, batch: int):
    """The query of reminders due by ``now``: it reads the partial index ``ix_reminder_due``."""
    return (select(*_DUE_COLUMNS).where(Reminder.done_at.is_(None), Reminder.scheduled_at <= now)
            .order_by(Reminder.scheduled_at).limit(batch))


def reminder_key(r: Any, user_id: int) -> str:
    """The idempotency key of one reminder (or a row of its columns) to one person: case,
    deadline, offset, recipient."""
    return f"reminder:{r.case_id}:{r.deadline_id}:{r.offset_minutes}:{user_id}"


def send_due_reminders(now: datetime, report: SweepReport, batch: int) -> bool:
    """One batch of due reminders; True when there may be more.

    The batch costs a fixed number of statements, whatever its size: the reminders, their
    cases, the recipients per group, what parties already did, one insert of every
    notification and one update marking the reminders done.
    """
    with db.transaction() as session:
        rows = session.execute(_lock(due_reminders(now, batch))).all()
        if not rows:
            return False
        groups = {g for r in rows for g in r.recipients}
        query = select(Case).where(Case.id.in_({r.case_id for r in rows})).options(
            load_only(*_CASE_COLUMNS))
        if "coordinator" in groups:  # escalations: who is responsible, and the case's region
            query = query.options(selectinload(Case.coordinator), selectinload(Case.partner_city))
        cases = {c.id: c for c in session.scalars(query)}
        who = outbox.Recipients(session, cases.values(), groups)
        done = _parties_done(session, [r for r in rows if r.unless_done_by])
        mails: dict[int, list[outbox.Mail]] = {}
        for r in rows:
            case = cases[r.case_id]
            mails[r.id] = []
            for party, person in who(case, r.recipients):
                if (r.case_id, r.unless_done_by, party) in done:
                    report.skipped += 1
                    continue
                mails[r.id].append(outbox.Mail(
                    key=reminder_key(r, person.id), template=r.template, user=person, case=case,
                    deadline_id=r.deadline_id,
                    context={"case_id": case.id, "reference": case.reference,
                             **outbox.party_context(party), "offset_minutes": r.offset_minutes}))
        written = outbox.queue_many(session, [m for ms in mails.values() for m in ms])
        outcome: dict[str, list[int]] = {"sent": [], "skipped": []}
        for r in rows:
            sent = sum(m.key in written for m in mails[r.id])
            outcome["sent" if sent else "skipped"].append(r.id)
            report.notifications += sent
        report.reminders += len(rows)
        for name, ids in outcome.items():
            if ids:
                session.execute(update(Reminder).where(Reminder.id.in_(ids))
                                .values(done_at=now, outcome=name)
                                .execution_options(synchronize_session=False))
        return len(rows) == batch


def _parties_done(session: Session, rows: list[Reminder]) -> set[tuple[int, str, str]]:
    """(case, fact, party) for the facts these reminders wait for that are already true."""
    if not rows:
        return set()
    facts = session.execute(select(PartyFact.case_id, PartyFact.fact, PartyFact.party).where(
        PartyFact.case_id.in_({r.case_id for r in rows}),
        PartyFact.fact.in_({r.unless_done_by for r in rows})))
    return {(case_id, fact, party) for case_id, fact, party in facts}


def send_digests(now: datetime, report: SweepReport) -> None:
    """Gather each person's held notifications into one daily digest, once per local day.

    A digest goes out at the first sweep after ``DIGEST_HOUR`` in the person's time zone; its
    key ``digest:{user}:{local date}`` keeps it to one a day whoever sweeps.
    """
    hour = current_app.config["DIGEST_HOUR"]
    user_ids = list(db.session.scalars(select(Notification.user_id).where(
        Notification.status == NotificationStatus.DIGEST, Notification.user_id.is_not(None))
        .distinct()))
    db.session.rollback()
    for user_id in user_ids:
        with db.transaction() as session:
            user = session.get(User, user_id)
            if user is None:
                continue
            local = now.astimezone(ZoneInfo(user.timezone or default_timezone()))
            key = f"digest:{user.id}:{local.date().isoformat()}"
            if local.hour < hour or session.scalar(
                    select(Notification.id).where(Notification.idempotency_key == key)):
                continue
            held = session.scalars(_lock(select(Notification).where(
                Notification.user_id == user.id,
                Notification.status == NotificationStatus.DIGEST)
                .order_by(Notification.created_at, Notification.id))).all()
            if not held:
                continue
            items: list[dict[str, Any]] = [
                {"subject": render_subject(n), "reference": n.context.get("reference", ""),
                 "notification_id": n.id} for n in held]
            digest = outbox.queue(session, key=key, template="digest", user=user,
                                  context={"items": items}, optional=True,
                                  status=NotificationStatus.PENDING)
            if digest is None:
                continue
            for n in held:
                n.status = NotificationStatus.SENT
                n.sent_at = now
                n.context = {**n.context, "digest_id": digest.id}
            report.digests += 1


#: a row revived again and again waits at most 2 ** this grace periods between revivals
MAX_GRACE_DOUBLINGS = 2


def revive_stuck(now: datetime, report: SweepReport, batch: int) -> bool:
    """Hand notifications a crash or a lost message left behind to the workers again; True if
    there may be more.

    A pending row is handed over once its next try is due and it is not already on its way
    (``requeue_after``; a row never handed over since it was written counts as on its way for
    ``STALE_PENDING_SECONDS``); a row whose next try is later is left alone, so no attempt is
    spent early. Rows stuck in "sending" longer than the sending timeout (their worker died)
    become pending again. Each then gets a grace period before it is looked at again, doubling
    with the row's age: behind a long queue, a row is not queued again and again while its
    first message is still waiting its turn. Rows whose outcome is unknown are staff's to
    decide, never the sweep's.
    """
    stale = timedelta(seconds=current_app.config["STALE_PENDING_SECONDS"])
    with db.transaction() as session:
        stuck = or_(
            and_(Notification.status == NotificationStatus.PENDING, due(now),
                 or_(Notification.requeue_after <= now,
                     and_(Notification.requeue_after.is_(None),
                          Notification.created_at <= now - stale))),
            and_(Notification.status == NotificationStatus.SENDING,
                 Notification.claimed_at <= now - sending_timeout()))
        rows = session.execute(_lock(
            select(Notification.id, Notification.created_at).where(stuck)
            .order_by(Notification.id).limit(batch))).all()
        by_grace: dict[int, list[int]] = {}
        for notification_id, created_at in rows:
            age = max(now - created_at, stale)
            doublings = min(int(age / stale).bit_length() - 1, MAX_GRACE_DOUBLINGS)
            by_grace.setdefault(doublings, []).append(notification_id)
        for doublings, ids in by_grace.items():
            session.execute(update(Notification).where(
                Notification.id.in_(ids),
                Notification.status.in_((NotificationStatus.PENDING, NotificationStatus.SENDING)))
                .values(status=NotificationStatus.PENDING,
                        requeue_after=now + stale * 2 ** doublings)
                .execution_options(synchronize_session=False))
        outbox.enqueue_after_commit(session, [notification_id for notification_id, _ in rows])
        report.revived += len(rows)
        return len(rows) == batch


def fire_automatic(now: datetime, report: SweepReport) -> None:
    """Fire every automatic transition whose guards hold now (e.g. closing at month 18)."""
    from webapp.operations.cases import case_facts, fire

    for wf in workflows().values():
        states = {src for t in wf.transitions if t.automatic for src in t.sources}
        if not states:
            continue
        ids = list(db.session.scalars(select(Case.id).where(
            Case.workflow == wf.kind, Case.state.in_(states),
            or_(Case.cooperation_ends_at.is_(None), Case.cooperation_ends_at <= now))))
        db.session.rollback()
        for case_id in ids:
            case = db.session.get(Case, case_id)
            due = wf.automatic_due(case_facts(db.session, case, now))
            db.session.rollback()
            if due is None:
                continue
            try:
                fire(case_id, due.name, None, now=now)
                report.transitions += 1
            except OperationError as exc:  # someone acted first; the next sweep looks again
                log.info("automatic %s on case %s not fired: %s", due.name, case_id, exc)


def sweep(now: datetime | None = None) -> SweepReport:
    """One whole sweep; safe to run concurrently with another."""
    now = now or utcnow()
    report = SweepReport()
    batch = current_app.config["SWEEP_BATCH"]
    while send_due_reminders(now, report, batch):
        pass
    send_digests(now, report)
    while revive_stuck(now, report, batch):
        pass
    fire_automatic(now, report)
    return report
