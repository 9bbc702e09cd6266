"""The retention rule: whole unsuccessful cases deleted once their programme's years have passed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import and_, delete, false, func, or_, select
from sqlalchemy.orm import Session

from webapp.db import db, utcnow
from webapp.errors import OperationError
from webapp.models import (
    Agreement,
    AuditEvent,
    Call,
    Case,
    Document,
    Notification,
    Programme,
)
from webapp.operations import audit, tallies
from webapp.operations.documents import blob_path
from workflows import workflows
from workflows.engine import StateKind


def _years_before(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


def programme_cutoffs(session: Session, now: datetime) -> dict[int, datetime]:
    """For each programme, the closing time before which its calls' unsuccessful applications
    are deleted: its own retention period, else ``RETENTION_YEARS``."""
    default = current_app.config["RETENTION_YEARS"]
    return {programme_id: _years_before(now, years or default)
            for programme_id, years in session.execute(
                select(Programme.id, Programme.retention_years))}


def unsuccessful_states() -> dict[str, list[str]]:
    """Per workflow, the states an unsuccessful application rests in: ended (a closed state:
    ineligible, not selected, withdrawn, terminated) or abandoned as a draft."""
    return {kind: wf.states_of_kind(StateKind.CLOSED, StateKind.DRAFT)
            for kind, wf in workflows().items()}


def expired_cases(session: Session, now: datetime, years: int | None, *,
                  lock: bool = False) -> list[Case]:
    """Unsuccessful applications whose call closed more than ``years`` years before ``now``
    (None: each programme's own retention period, else ``RETENTION_YEARS``).

    A case that got as far as a Partnership Agreement (or a cooperation) is a partnership
    record and is kept, even when it was later withdrawn or terminated.
    """
    if years is not None:
        closed_long_ago = Call.closes_at < _years_before(now, years)
    else:
        closed_long_ago = or_(false(), *(
            and_(Call.programme_id == programme_id, Call.closes_at < cutoff)
            for programme_id, cutoff in programme_cutoffs(session, now).items()))
    in_rest = or_(*(and_(Case.workflow == kind, Case.state.in_(states))
                    for kind, states in unsuccessful_states().items()))
    q = (select(Case).join(Call, Call.id == Case.call_id)
         .where(closed_long_ago, in_rest, Case.cooperation_start.is_(None),
                ~Case.id.in_(select(Agreement.case_id)))
         .order_by(Case.id))
    if lock:
        # A second run at the same moment waits, then finds these gone.
        q = q.with_for_update(of=Case)
    return list(session.scalars(q))


@dataclass
class Retention:
    """What the retention rule deleted (or would delete, on a dry run)."""

    cutoff: datetime
    cases: list[tuple[int, str, str]] = field(default_factory=list)  # id, reference, state
    #: programmes with a retention period of their own: slug -> (years, cutoff)
    programmes: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    documents: int = 0
    audit_events: int = 0
    notifications: int = 0
    files_deleted: list[str] = field(default_factory=list)
    dry_run: bool = False


def apply_retention(now: datetime | None = None, years: int | None = None, *,
                    dry_run: bool = False) -> Retention:
    """Delete the expired unsuccessful applications with everything that hangs off them, and
    record one audit event naming only how many went. A dry run changes nothing.

    Each programme keeps them for its own ``retention_years``, else ``RETENTION_YEARS``;
    ``years`` overrides both for this run.
    """
    now = now or utcnow()
    if years is not None and years < 1:
        raise OperationError("The retention period must be at least one year.")
    default = current_app.config["RETENTION_YEARS"] if years is None else years
    with db.transaction() as session:
        found = expired_cases(session, now, years, lock=not dry_run)
        result = Retention(_years_before(now, default), dry_run=dry_run)
        if years is None:
            result.programmes = {
                slug: (own, _years_before(now, own)) for slug, own in session.execute(
                    select(Programme.slug, Programme.retention_years).where(
                        Programme.retention_years.is_not(None)).order_by(Programme.slug))}
        result.cases = [(c.id, c.reference, c.state) for c in found]
        ids = [c.id for c in found]
        if not ids:
            return result

        def count(model: Any, column: Any) -> int:
            return session.scalar(select(func.count()).select_from(model)
                                  .where(column.in_(ids))) or 0

        result.documents = count(Document, Document.case_id)
        result.audit_events = count(AuditEvent, AuditEvent.case_id)
        result.notifications = count(Notification, Notification.case_id)
        if dry_run:
            return result
        shas = set(session.scalars(select(Document.sha256).where(Document.case_id.in_(ids))))
        session.expunge_all()
        # Recorded first, with the last hash of each case's chain: the cases' whole chains
        # go, and this record in the chain of events of no case says which and how far.
        record = audit.record(
            session, "retention", None, at=now,
            payload={"cases_deleted": len(ids), "years": default,
                     "programme_years": {k: y for k, (y, _c) in result.programmes.items()},
                     "calls_closed_before": result.cutoff.isoformat(),
                     "documents": result.documents, "audit_events": result.audit_events,
                     "notifications": result.notifications, "case_ids": ids,
                     "chain_heads": audit.chain_heads(session, ids)})
        session.flush()
        tallies.touch(session, ids)  # the dashboard stops counting them in this transaction
        # The audit events first (their foreign key restricts); the rest cascades from the case.
        audit.retire_cases(session, record.id, ids)
        session.execute(delete(Document).where(Document.case_id.in_(ids)))
        session.execute(delete(Case).where(Case.id.in_(ids)))
        shared = set(session.scalars(select(Document.sha256).where(Document.sha256.in_(shas))))
        orphans = sorted(shas - shared)
    for sha in orphans:
        path: Path = blob_path(sha)
        if path.exists():
            path.unlink()
            result.files_deleted.append(str(path))
    return result
