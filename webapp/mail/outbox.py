"""Queue notifications inside a transaction; hand them to Celery only after it commits."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, bindparam, column, event, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from webapp.db import utcnow
from webapp.i18n import default_timezone
from webapp.models import (
    Case,
    CasePartner,
    Notification,
    NotificationPreference,
    NotificationStatus,
    User,
    partner_party,
    party_partner_id,
    party_role,
)
from webapp.models.party import KINDS as PARTY_KINDS

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


_LIVE = (User.active.is_(True), User.erased_at.is_(None))
# Built once: every transition that notifies runs them, and building costs more than running.
_COORDINATORS = (select(User).where(User.role == "coordinator", *_LIVE)
                 .options(selectinload(User.programmes)))
_CONFIRMED = (*_LIVE, User.confirmed_at.is_not(None))
_APPLICANTS = (select(User).where(User.organisation_id.in_(bindparam("ids", expanding=True)),
                                  User.role == "applicant", *_CONFIRMED).order_by(User.id))
_PARTNERS = (select(User).where(User.partner_city_id.in_(bindparam("ids", expanding=True)),
                                User.role == "partner", *_CONFIRMED).order_by(User.id))
_CASE_PARTNERS = (select(CasePartner.case_id, CasePartner.partner_city_id)
                  .where(CasePartner.case_id.in_(bindparam("ids", expanding=True)))
                  .order_by(CasePartner.case_id, CasePartner.position))


def coordinators_for(session: Session, case: Case,
                     staff: list[User] | None = None) -> list[User]:
    """The responsible coordinator, else every coordinator whose scope covers the case
    (among ``staff`` when the caller has loaded them already)."""
    if case.coordinator is not None and case.coordinator.is_active:
        return [case.coordinator]
    from webapp.access import in_region, sees_programme

    users = session.scalars(_COORDINATORS).all() if staff is None else staff
    return [u for u in users if in_region(case, u.region_scope)
            and sees_programme(u, case.call.programme_id)]


def _expand(groups: Iterable[str]) -> set[str]:
    wanted = set(groups)
    if "parties" in wanted:
        wanted |= set(PARTY_KINDS)
    return wanted


class Recipients:
    """Who receives mail for many cases at once: one query per recipient group, not per case.

    Call it with a case and recipient groups (applicant, partner, parties, coordinator) for
    the (party, user) pairs, each person once; "partner" means the contacts of every partner
    of the case, each under its own party key (``partner:<id>``).
    """

    def __init__(self, session: Session, cases: Iterable[Case], groups: Iterable[str]):
        self.session = session
        self._staff: list[User] | None = None
        cases = list(cases)
        wanted = _expand(groups)
        self.applicants: dict[int, list[User]] = {}
        self.partners: dict[int, list[User]] = {}
        self.partners_of: dict[int, list[int]] = {}  # case id -> partner city ids, lead first
        orgs = {c.organisation_id for c in cases}
        if "applicant" in wanted and orgs:
            for u in session.scalars(_APPLICANTS, {"ids": list(orgs)}):
                self.applicants.setdefault(u.organisation_id, []).append(u)
        paired = [c.id for c in cases if c.partner_city_id]
        if "partner" in wanted and paired:
            for case_id, city_id in session.execute(_CASE_PARTNERS, {"ids": paired}):
                self.partners_of.setdefault(case_id, []).append(city_id)
            cities = {city for found in self.partners_of.values() for city in found}
            for u in session.scalars(_PARTNERS, {"ids": list(cities)}):
                self.partners.setdefault(u.partner_city_id, []).append(u)

    def staff(self) -> list[User]:
        """Every live coordinator, read once for all the cases."""
        if self._staff is None:
            self._staff = list(self.session.scalars(_COORDINATORS))
        return self._staff

    def __call__(self, case: Case, groups: Iterable[str]) -> list[tuple[str, User]]:
        wanted = _expand(groups)
        found: list[tuple[str, User]] = []
        if "applicant" in wanted:
            found += [("applicant", u) for u in self.applicants.get(case.organisation_id, [])]
        if "partner" in wanted:
            for city in self.partners_of.get(case.id, []):
                found += [(partner_party(city), u) for u in self.partners.get(city, [])]
        if "coordinator" in wanted:
            found += [("coordinator", u) for u in coordinators_for(self.session, case,
                                                                   self.staff())]
        seen: set[int] = set()
        unique = []
        for party, user in found:
            if user.id not in seen:
                seen.add(user.id)
                unique.append((party, user))
        return unique


def party_context(party: str) -> dict[str, Any]:
    """What a mail's context says of the recipient's party: its role (applicant, partner,
    coordinator) and, for a partner, which partner city it speaks for."""
    city = party_partner_id(party)
    return {"party": party_role(party)} | ({"partner_city_id": city} if city else {})


def recipients(session: Session, case: Case, groups: Iterable[str]) -> list[tuple[str, User]]:
    """(party, user) pairs for recipient groups: applicant, partner, parties, coordinator."""
    groups = list(groups)
    return Recipients(session, [case], groups)(case, groups)


@dataclass(frozen=True)
class Mail:
    """One notification to write: what ``queue`` takes, as a value for ``queue_many``."""

    key: str
    template: str
    user: User | None
    to_email: str | None = None
    to_name: str = ""
    case: Case | None = None
    context: dict[str, Any] | None = None
    optional: bool = False
    deadline_id: int | None = None
    #: forces a status; otherwise optional kinds follow the recipient's preference
    status: str | None = None
    #: the language of a recipient without an account (a mailing-list subscriber)
    locale: str | None = None
    #: the time zone of a recipient without an account (the call's, for a subscriber)
    timezone: str | None = None

    def recipient_timezone(self) -> str:
        """The recipient's zone; for someone without an account, the case's call's zone."""
        if self.user is not None and self.user.timezone:
            return self.user.timezone
        if self.timezone:
            return self.timezone
        return self.case.call.timezone if self.case is not None else default_timezone()

    def row(self) -> dict[str, Any]:
        """The column values of the notification row."""
        status = self.status
        if status is None:
            status = NotificationStatus.PENDING
            if self.optional and self.user is not None:
                pref = self.user.notification_preference
                if pref == NotificationPreference.OFF:
                    status = NotificationStatus.SKIPPED
                elif pref == NotificationPreference.DIGEST:
                    status = NotificationStatus.DIGEST
        user = self.user
        return {
            "idempotency_key": self.key,
            "template": self.template,
            "user_id": user.id if user else None,
            "to_email": self.to_email or (user.email if user else ""),
            "to_name": self.to_name or (user.display_name if user else ""),
            "case_id": self.case.id if self.case else None,
            "context": self.context or {},
            "optional": self.optional,
            "locale": self.locale or (user.locale if user else "en"),
            "timezone": self.recipient_timezone(),
            "deadline_id": self.deadline_id,
            "status": status,
            "created_at": utcnow(),
        }


#: what an insert gives back of each notification it wrote
_WRITTEN = (Notification.id, Notification.idempotency_key, Notification.status)


def queue_many(session: Session, mails: Iterable[Mail]) -> dict[str, int]:
    """Write many notifications in one statement; returns the new ones' ids by key.

    A key that exists already, even one another transaction wrote a moment ago, is skipped:
    the insert does nothing for it and this transaction goes on.
    """
    rows = [m.row() for m in mails]
    if not rows:
        return {}
    # Pending objects (the user, the case) must have their ids before the insert names them.
    session.flush()
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql" and len(rows) > 1:
        result = session.execute(_from_json(rows))
    else:
        result = session.execute(_INSERTS[dialect](Notification.__table__)
                                 .on_conflict_do_nothing(index_elements=["idempotency_key"])
                                 .returning(*_WRITTEN), rows)
    written = result.all()
    enqueue_after_commit(session, [nid for nid, _key, status in written
                                   if status == NotificationStatus.PENDING])
    return {key: nid for nid, key, _status in written}


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
    status: str | None = None,
) -> Notification | None:
    """Write one notification row unless one with the same key exists; it leaves after commit.

    Optional kinds follow the recipient's preference (off: skipped, digest: held) unless
    ``status`` is given. Returns None when the key was already there, even when another
    transaction wrote it a moment ago: the insert then does nothing and this transaction goes on.
    """
    mail = Mail(key=key, template=template, user=user, to_email=to_email, to_name=to_name,
                case=case, context=context, optional=optional, deadline_id=deadline_id,
                status=status)
    session.flush()
    stmt = (_INSERTS[session.get_bind().dialect.name](Notification)
            .on_conflict_do_nothing(index_elements=[Notification.idempotency_key])
            .returning(Notification))
    written = session.scalars(stmt, [mail.row()]).first()
    if written is not None and written.status == NotificationStatus.PENDING:
        enqueue_after_commit(session, [written.id])
    return written


def _from_json(rows: list[dict[str, Any]]):
    """The PostgreSQL insert of many rows as one JSON parameter: a thousand rows of
    placeholders cost the driver more to parse than the database takes to insert them."""
    table = Notification.__table__
    names = list(rows[0])
    records = func.json_to_recordset(
        bindparam("records", [{k: _plain(v) for k, v in r.items()} for r in rows], type_=JSON)
    ).table_valued(*(column(n, table.c[n].type) for n in names)).render_derived(
        name="r", with_types=True)
    return (postgresql.insert(table)
            .from_select([*names, "attempts", "last_error"],
                         select(*(records.c[n] for n in names), literal(0), literal("")))
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(*_WRITTEN))


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


#: INSERT ... ON CONFLICT DO NOTHING in each supported database's words
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
