"""Queue notifications inside a transaction; hand them to Celery only after it commits."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from webapp.models import Case, Notification, NotificationPreference, NotificationStatus, User

log = logging.getLogger(__name__)

_KEY = "citypair_outbox"

#: how delivery is handed over after commit; the Celery wiring replaces it at start-up
dispatcher: Callable[[list[int]], None] = lambda ids: None  # noqa: E731


def set_dispatcher(fn: Callable[[list[int]], None]) -> None:
    """Choose what happens to committed notification ids (enqueue delivery tasks)."""
    global dispatcher
    dispatcher = fn


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session: Session) -> None:
    ids = session.info.pop(_KEY, None)
    if ids:
        try:
            dispatcher(list(ids))
        except Exception:  # the sweep re-enqueues pending rows; never fail a committed request
            log.exception("could not enqueue %d notifications; the sweep will", len(ids))


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_KEY, None)


def enqueue_after_commit(session: Session, ids: Iterable[int]) -> None:
    """Remember ids to hand to the workers once the current transaction commits."""
    session.info.setdefault(_KEY, []).extend(ids)


def coordinators_for(session: Session, case: Case) -> list[User]:
    """The responsible coordinator, else every coordinator whose scope covers the case."""
    if case.coordinator is not None and case.coordinator.is_active:
        return [case.coordinator]
    from webapp.access import case_region

    region = case_region(case)
    users = session.scalars(select(User).where(User.role == "coordinator", User.active.is_(True),
                                               User.erased_at.is_(None))).all()
    return [u for u in users if not u.region_scope or u.region_scope == region]


def recipients(session: Session, case: Case, groups: Iterable[str]) -> list[tuple[str, User]]:
    """(party, user) pairs for recipient groups: applicant, partner, parties, coordinator."""
    wanted = set(groups)
    if "parties" in wanted:
        wanted |= {"applicant", "partner"}
    found: list[tuple[str, User]] = []
    live = (User.active.is_(True), User.erased_at.is_(None), User.confirmed_at.is_not(None))
    if "applicant" in wanted:
        found += [("applicant", u) for u in session.scalars(
            select(User).where(User.organisation_id == case.organisation_id,
                               User.role == "applicant", *live).order_by(User.id))]
    if "partner" in wanted and case.partner_city_id:
        found += [("partner", u) for u in session.scalars(
            select(User).where(User.partner_city_id == case.partner_city_id,
                               User.role == "partner", *live).order_by(User.id))]
    if "coordinator" in wanted:
        found += [("coordinator", u) for u in coordinators_for(session, case)]
    seen: set[int] = set()
    unique = []
    for party, user in found:
        if user.id not in seen:
            seen.add(user.id)
            unique.append((party, user))
    return unique


def queue(
    session: Session,
    *,
    key: str,
    template: str,
    user: User | None,
    to_email: str | None = None,
    to_name: str = "",
    case: Case | None = None,
    context: dict[str, Any] | None = None,
    optional: bool = False,
    deadline_id: int | None = None,
) -> Notification | None:
    """Write one notification row unless one with the same key exists; it leaves after commit.

    Optional kinds follow the recipient's preference (off: skipped, digest: held).
    """
    if session.scalar(select(Notification.id).where(Notification.idempotency_key == key)):
        return None
    status = NotificationStatus.PENDING
    if optional and user is not None:
        pref = user.notification_preference
        if pref == NotificationPreference.OFF:
            status = NotificationStatus.SKIPPED
        elif pref == NotificationPreference.DIGEST:
            status = NotificationStatus.DIGEST
    n = Notification(
        idempotency_key=key,
        template=template,
        user_id=user.id if user else None,
        to_email=to_email or (user.email if user else ""),
        to_name=to_name or (user.display_name if user else ""),
        case_id=case.id if case else None,
        context=context or {},
        optional=optional,
        locale=user.locale if user else "en",
        timezone=user.timezone if user else "Europe/Brussels",
        deadline_id=deadline_id,
        status=status,
    )
    session.add(n)
    session.flush()
    if status == NotificationStatus.PENDING:
        enqueue_after_commit(session, [n.id])
    return n
