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
from sqlalchemy import (
    JSON,
    String,
    and_,
    bindparam,
    cast,
    exists,
    false,
    func,
    literal_column,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy import case as case_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.functions import FunctionElement

from webapp.db import db, utcnow
from webapp.errors import OperationError
from webapp.i18n import default_timezone
from webapp.mail import outbox
from webapp.mail.delivery import due, sending_timeout
from webapp.mail.rendering import render_subject
from webapp.models import (
    Call,
    Case,
    CasePartner,
    Notification,
    NotificationStatus,
    PartnerCity,
    PartyFact,
    Reminder,
    User,
    staff_programme,
)
from webapp.models.case import partner_party
from workflows import workflows

log = logging.getLogger(__name__)

#: what a partner's party key starts with, before its city's id
PARTNER_PREFIX = partner_party(0).removesuffix("0")


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


def due_reminders(now: datetime, batch: int):
    """The query of reminders due by ``now``: it reads the partial index ``ix_reminder_due``."""
    return (select(Reminder.id, Reminder.case_id, Reminder.deadline_id, Reminder.offset_minutes,
                   Reminder.recipients, Reminder.template, Reminder.unless_done_by)
            .where(Reminder.done_at.is_(None), Reminder.scheduled_at <= now)
            .order_by(Reminder.scheduled_at).limit(batch))


class _json_object(FunctionElement):
    """A JSON object built in SQL from alternating keys and values."""

    type = JSON()
    inherit_cache = True


@compiles(_json_object, "postgresql")
def _json_object_pg(element, compiler, **kw):
    return f"json_build_object({compiler.process(element.clauses, **kw)})"


@compiles(_json_object)
def _json_object_default(element, compiler, **kw):
    return f"json_object({compiler.process(element.clauses, **kw)})"


def _mails(due, now: datetime):
    """Every (due reminder, recipient) as the notification row it becomes, recipients resolved
    in SQL as ``outbox.Recipients`` resolves them: the organisation's applicants, the partner
    city's contacts, the responsible coordinator or else every coordinator whose region and
    programmes cover the case. One branch per group, each an indexed join."""
    case, call, city = Case.__table__, Call.__table__, PartnerCity.__table__
    link = CasePartner.__table__
    user, staff = User.__table__, staff_programme
    live = and_(user.c.active.is_(True), user.c.erased_at.is_(None))
    confirmed = and_(live, user.c.confirmed_at.is_not(None))

    def names(*groups: str):
        # The JSON list as text: the same test on every database, where JSON operators differ.
        return or_(*(cast(due.c.recipients, String).like(f'%"{g}"%') for g in groups))

    def branch(party: str, joined, where, partner_id=None):
        # case, deadline, offset, recipient: a second sweep of the same reminder is a no-op
        key = ("reminder:" + cast(due.c.case_id, String) + ":"
               + cast(due.c.deadline_id, String) + ":" + cast(due.c.offset_minutes, String)
               + ":" + cast(user.c.id, String))
        return (select(
            due.c.id.label("reminder_id"), key.label("idempotency_key"),
            case.c.id.label("case_id"), user.c.id.label("user_id"),
            user.c.email.label("to_email"),
            func.coalesce(func.nullif(user.c.name, ""), user.c.email).label("to_name"),
            due.c.template.label("template"),
            _json_object("case_id", case.c.id, "reference", case.c.reference,
                         "party", literal_column(f"'{party}'"),
                         *(() if partner_id is None else ("partner_city_id", partner_id)),
                         "offset_minutes", due.c.offset_minutes).label("context"),
            false().label("optional"),
            user.c.locale.label("locale"),
            func.coalesce(func.nullif(user.c.timezone, ""), call.c.timezone).label("timezone"),
            due.c.deadline_id.label("deadline_id"),
            # constants inline: a bare parameter in a union has no type to insert as
            literal_column(f"'{NotificationStatus.PENDING.value}'").label("status"),
            literal_column("0").label("attempts"), literal_column("''").label("last_error"),
            bindparam("now", now, type_=Notification.created_at.type).label("created_at"),
            # a party that already did what the reminder asks for is not reminded
            exists().where(PartyFact.case_id == due.c.case_id,
                           PartyFact.fact == due.c.unless_done_by,
                           PartyFact.party == (party if partner_id is None else
                                               PARTNER_PREFIX + cast(partner_id, String)))
            .label("done"))
            .select_from(joined(due.join(case, case.c.id == due.c.case_id)
                                .join(call, call.c.id == case.c.call_id)))
            .where(where))

    responsible = aliased(user)
    # in the case's region: a partner's there, or the case has none and prefers it
    in_region = or_(
        user.c.region_scope == "",
        exists().where(link.c.case_id == case.c.id, city.c.id == link.c.partner_city_id,
                       city.c.region == user.c.region_scope),
        and_(~exists().where(link.c.case_id == case.c.id),
             case.c.partner_region == user.c.region_scope))
    return union_all(
        branch("applicant", lambda j: j.join(user, and_(
            user.c.organisation_id == case.c.organisation_id, user.c.role == "applicant")),
            and_(names("applicant", "parties"), confirmed)),
        # every partner's contacts, each partner its own party
        branch("partner", lambda j: j.join(link, link.c.case_id == case.c.id).join(user, and_(
            user.c.partner_city_id == link.c.partner_city_id, user.c.role == "partner")),
            and_(names("partner", "parties"), confirmed, case.c.partner_city_id.is_not(None)),
            partner_id=link.c.partner_city_id),
        branch("coordinator", lambda j: j.join(user, user.c.id == case.c.coordinator_id),
               and_(names("coordinator"), live)),
        branch("coordinator", lambda j: j.join(user, user.c.role == "coordinator"), and_(
            names("coordinator"), live, in_region,
            or_(~exists().where(staff.c.user_id == user.c.id),
                exists().where(staff.c.user_id == user.c.id,
                               staff.c.programme_id == call.c.programme_id)),
            ~exists().where(responsible.c.id == case.c.coordinator_id,
                            responsible.c.active.is_(True), responsible.c.erased_at.is_(None)))),
    )


#: the notification columns a reminder's mail fills, in the order ``_mails`` gives them
_FILLED = ("idempotency_key", "case_id", "user_id", "to_email", "to_name", "template", "context",
           "optional", "locale", "timezone", "deadline_id", "status", "attempts", "last_error",
           "created_at")


def send_due_reminders(now: datetime, report: SweepReport, batch: int) -> bool:
    """One batch of due reminders; True when there may be more.

    On PostgreSQL the batch is one statement: it locks the due reminders, writes their
    notifications (recipients resolved in SQL, a key already there skipped) and marks the
    reminders done. Elsewhere the same rows take three statements, the database file
    serialising the writers.
    """
    with db.transaction() as session:
        if db.dialect == "postgresql":
            row = session.execute(_sweep_statement(now, batch)).one()
            reminders, skipped, pending = row.reminders, row.skipped, list(row.pending or [])
            report.notifications += row.written
        else:
            reminders, skipped, pending = _sweep_in_steps(session, now, batch, report)
        outbox.enqueue_after_commit(session, pending)
        report.reminders += reminders
        report.skipped += skipped
        return reminders == batch


def _sweep_statement(now: datetime, batch: int):
    """The PostgreSQL batch: due (locked) -> mail -> written -> marked, in one statement."""
    due = due_reminders(now, batch).with_for_update(skip_locked=True).cte("due")
    mail = _mails(due, now).cte("mail")
    table = Notification.__table__
    written = (postgresql.insert(table)
               .from_select(list(_FILLED), select(*(mail.c[n] for n in _FILLED))
                            .where(mail.c.done.is_(False)))
               .on_conflict_do_nothing(index_elements=["idempotency_key"])
               .returning(table.c.id, table.c.idempotency_key, table.c.status)
               .cte("written"))
    sent = exists().where(mail.c.reminder_id == Reminder.id,
                          mail.c.idempotency_key == written.c.idempotency_key)
    marked = (update(Reminder).where(Reminder.id == due.c.id)
              .values(done_at=now, outcome=case_((sent, "sent"), else_="skipped"))
              .returning(Reminder.id).cte("marked"))
    return select(
        select(func.count()).select_from(marked).scalar_subquery().label("reminders"),
        select(func.count()).select_from(mail).where(mail.c.done.is_(True))
        .scalar_subquery().label("skipped"),
        select(func.count()).select_from(written).scalar_subquery().label("written"),
        select(func.array_agg(written.c.id)).where(
            written.c.status == NotificationStatus.PENDING.value)
        .scalar_subquery().label("pending"))


def _sweep_in_steps(session: Session, now: datetime, batch: int,
                    report: SweepReport) -> tuple[int, int, list[int]]:
    """The same batch as three statements: the due ids, the notifications, the marks."""
    ids = list(session.scalars(due_reminders(now, batch).with_only_columns(Reminder.id)))
    if not ids:
        return 0, 0, []
    due = due_reminders(now, batch).where(Reminder.id.in_(ids)).subquery("due")
    mails = session.execute(_mails(due, now)).mappings().all()
    table = Notification.__table__
    fresh = [{n: m[n] for n in _FILLED} for m in mails if not m["done"]]
    written = session.execute(sqlite.insert(table).on_conflict_do_nothing(
        index_elements=["idempotency_key"]).returning(table.c.idempotency_key, table.c.id),
        fresh).all() if fresh else []
    keys = {key for key, _id in written}
    sent = {m["reminder_id"] for m in mails if m["idempotency_key"] in keys}
    for outcome, chosen in (("sent", sent), ("skipped", set(ids) - sent)):
        if chosen:
            session.execute(update(Reminder).where(Reminder.id.in_(chosen))
                            .values(done_at=now, outcome=outcome)
                            .execution_options(synchronize_session=False))
    report.notifications += len(written)
    return len(ids), sum(1 for m in mails if m["done"]), [nid for _key, nid in written]


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
