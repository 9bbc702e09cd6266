"""The sweep: turn due reminders into notifications, revive stuck ones, fire automatic steps.

Each part claims its rows in its own short transaction; on PostgreSQL rows are locked with
SKIP LOCKED so two sweeps running at once split the work instead of doing it twice, and the
notification's unique idempotency key stops a duplicate even where locking is unavailable.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update

from webapp.db import db, utcnow
from webapp.errors import OperationError
from webapp.models import (
    Case,
    Notification,
    NotificationStatus,
    PartyFact,
    Reminder,
)
from webapp.operations import outbox
from webapp.operations.delivery import SENDING_TIMEOUT
from workflows import workflows

log = logging.getLogger(__name__)


@dataclass
class SweepReport:
    reminders: int = 0
    notifications: int = 0
    skipped: int = 0
    revived: int = 0
    transitions: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _lock(query):
    # SQLite has no row locks; its writes are serialised by the database file instead.
    return query.with_for_update(skip_locked=True) if db.dialect == "postgresql" else query


def send_due_reminders(now: datetime, report: SweepReport, batch: int) -> bool:
    """One batch of due reminders; True when there may be more."""
    with db.transaction() as session:
        rows = session.scalars(_lock(
            select(Reminder).where(Reminder.done_at.is_(None), Reminder.scheduled_at <= now)
            .order_by(Reminder.scheduled_at, Reminder.id).limit(batch))).all()
        for r in rows:
            case = session.get(Case, r.case_id)
            done = set()
            if r.unless_done_by:
                done = set(session.scalars(select(PartyFact.party).where(
                    PartyFact.case_id == r.case_id, PartyFact.fact == r.unless_done_by)))
            sent = 0
            for party, person in outbox.recipients(session, case, r.recipients):
                if party in done:
                    report.skipped += 1
                    continue
                n = outbox.queue(
                    session, key=f"reminder:{r.case_id}:{r.deadline_id}:{r.offset_minutes}:"
                                 f"{person.id}",
                    template=r.template, user=person, case=case, deadline_id=r.deadline_id,
                    context={"case_id": case.id, "reference": case.reference, "party": party,
                             "offset_minutes": r.offset_minutes})
                sent += n is not None
            r.done_at = now
            r.outcome = "sent" if sent else "skipped"
            report.reminders += 1
            report.notifications += sent
        return len(rows) == batch


def revive_stuck(now: datetime, report: SweepReport, batch: int) -> None:
    """Re-enqueue notifications a crash left pending or sending, and retries now due."""
    stale = timedelta(seconds=current_app.config["STALE_PENDING_SECONDS"])
    with db.transaction() as session:
        ids = list(session.scalars(_lock(
            select(Notification.id).where(or_(
                and_(Notification.status == NotificationStatus.PENDING,
                     or_(Notification.next_attempt_at <= now,
                         and_(Notification.next_attempt_at.is_(None),
                              Notification.created_at <= now - stale)),
                     ),
                and_(Notification.status == NotificationStatus.SENDING,
                     Notification.claimed_at <= now - SENDING_TIMEOUT),
            )).order_by(Notification.id).limit(batch))))
        if ids:
            # Pushing the next attempt out stops the next sweep re-enqueuing the same rows.
            session.execute(update(Notification).where(
                Notification.id.in_(ids), Notification.status == NotificationStatus.PENDING)
                .values(next_attempt_at=now + stale).execution_options(synchronize_session=False))
            outbox.enqueue_after_commit(session, ids)
        report.revived += len(ids)


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
    revive_stuck(now, report, batch)
    fire_automatic(now, report)
    return report

