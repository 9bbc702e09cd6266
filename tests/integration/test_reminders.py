"""Deadlines and reminders as rows, the sweep, daily digests and transactional mail, on SQLite
and PostgreSQL."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import func, select

from tests.factories import complete_application
from webapp.db import UTCDateTime, db, utcnow
from webapp.mail import delivery, outbox
from webapp.mail.calendar import deadline_uid
from webapp.models import (
    Case,
    Deadline,
    Notification,
    NotificationPreference,
)
from webapp.operations import applications, backoffice, cases, preferences
from webapp.operations import reminders as sweeper
from webapp.operations.cases import move_deadline

pytestmark = pytest.mark.integration

DAY = timedelta(days=1)


def submitted(world) -> int:
    case = applications.start_application(world.applicant_a, world.call.id)
    complete_application(db.session.get(Case, case.id))
    cases.fire(case.id, "submit", world.applicant_a)
    return case.id


def information_requested(world, due: datetime) -> int:
    case_id = submitted(world)
    cases.fire(case_id, "request_information", world.coordinator,
               {"message": "Please send the council decision.", "response_deadline": due})
    return case_id


def deadline_of(case_id: int, kind: str) -> Deadline:
    db.session.expire_all()
    return db.session.scalar(select(Deadline).where(Deadline.case_id == case_id,
                                                    Deadline.kind == kind))


def notifications(**where) -> list[Notification]:
    db.session.expire_all()
    q = select(Notification).order_by(Notification.id)
    for key, value in where.items():
        q = q.where(getattr(Notification, key) == value)
    return list(db.session.scalars(q))


def test_entering_a_state_creates_its_deadline_and_reminders(world):
    due = utcnow() + 10 * DAY
    case_id = information_requested(world, due)
    d = deadline_of(case_id, "information_response")
    assert d.status == "open" and d.state == "information_requested"
    assert abs(d.due_at - due) < timedelta(seconds=1)
    [r] = d.reminders
    assert r.offset_minutes == -3 * 24 * 60 and r.done_at is None
    assert abs(r.scheduled_at - (due - 3 * DAY)) < timedelta(seconds=1)
    assert r.template == "reminder_information_requested" and r.recipients == ["applicant"]


def test_leaving_a_state_meets_its_deadline_and_cancels_unsent_reminders(world):
    case_id = information_requested(world, utcnow() + 10 * DAY)
    cases.fire(case_id, "provide_information", world.applicant_a, {"answer": "Attached."})
    d = deadline_of(case_id, "information_response")
    assert d.status == "met" and d.ended_at is not None
    assert [(r.outcome, r.done_at is not None) for r in d.reminders] == [("cancelled", True)]
    # Nothing is left for the sweep: the cancelled reminder is never sent.
    report = sweeper.sweep(now=utcnow() + 9 * DAY)
    assert report.reminders == 0
    assert notifications(template="reminder_information_requested") == []


def test_a_case_that_closes_cancels_its_deadlines(world):
    case_id = information_requested(world, utcnow() + 10 * DAY)
    cases.fire(case_id, "withdraw", world.applicant_a, {"reason": "Council changed its mind."})
    assert deadline_of(case_id, "information_response").status == "cancelled"


def test_moving_a_deadline_moves_its_unsent_reminders(world):
    case_id = information_requested(world, utcnow() + 10 * DAY)
    later = utcnow() + 20 * DAY
    with db.transaction() as session:
        d = session.scalar(select(Deadline).where(Deadline.case_id == case_id,
                                                  Deadline.kind == "information_response"))
        move_deadline(d, later)
    d = deadline_of(case_id, "information_response")
    assert abs(d.reminders[0].scheduled_at - (later - 3 * DAY)) < timedelta(seconds=1)
    # At the old reminder time nothing is due any more.
    assert sweeper.sweep(now=utcnow() + 8 * DAY).reminders == 0
    assert sweeper.sweep(now=utcnow() + 18 * DAY).notifications == 1


def test_sweep_turns_a_due_reminder_into_one_notification_with_its_key(world, dispatched):
    case_id = information_requested(world, utcnow() + 10 * DAY)
    d = deadline_of(case_id, "information_response")
    before = len(dispatched)
    report = sweeper.sweep(now=utcnow() + 7 * DAY + timedelta(minutes=1))
    assert (report.reminders, report.notifications) == (1, 1)
    [n] = notifications(template="reminder_information_requested")
    offset = -3 * 24 * 60
    assert n.idempotency_key == f"reminder:{case_id}:{d.id}:{offset}:{world.applicant_a.id}"
    assert n.deadline_id == d.id and n.optional is False and n.status == "pending"
    assert n.id in dispatched[before:]
    r = deadline_of(case_id, "information_response").reminders[0]
    assert r.outcome == "sent" and r.done_at is not None
    # A second sweep finds the reminder done: no second notification.
    again = sweeper.sweep(now=utcnow() + 7 * DAY + timedelta(minutes=2))
    assert again.reminders == 0
    assert len(notifications(template="reminder_information_requested")) == 1


def test_reminder_is_skipped_for_the_party_that_already_acted(world):
    case_id = submitted(world)
    cases.fire(case_id, "declare_eligible", world.coordinator)
    cases.fire(case_id, "propose_pairing", world.coordinator,
               {"partner_city_id": world.partner_city.id})
    cases.fire(case_id, "accept_pairing", world.applicant_a)
    report = sweeper.sweep(now=utcnow() + 5 * DAY + timedelta(minutes=1))
    reminded = notifications(template="reminder_pairing_proposed")
    # The applicant accepted; only the partner city's contact is reminded.
    assert [n.user_id for n in reminded] == [world.partner.id]
    assert report.skipped == 1


def test_reminder_shows_the_deadline_in_the_recipients_zone_and_language(app, world):
    with db.transaction() as session:
        user = session.get(type(world.applicant_a), world.applicant_a.id)
        user.timezone, user.locale = "America/Argentina/Buenos_Aires", "es"
    due = datetime(2031, 3, 14, 15, 0, tzinfo=ZoneInfo("UTC"))
    case_id = submitted(world)
    cases.fire(case_id, "request_information", world.coordinator,
               {"message": "Please send the council decision.", "response_deadline": due})
    sweeper.sweep(now=due - 3 * DAY + timedelta(minutes=1))
    [n] = notifications(template="reminder_information_requested")
    assert delivery.deliver(n.id).status == "sent"
    sink = Path(app.config["MAIL_SINK_DIR"])
    raw = (sink / f"notification-{n.id}@citypair.local.eml").read_bytes()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    text = msg.get_body(("plain",)).get_content()
    # 15:00 UTC is 12:00 in Buenos Aires (UTC-3), written in Spanish.
    assert "viernes, 14 de marzo de 2031, 12:00 UTC-03" in text
    [ics] = [p for p in msg.iter_attachments() if p.get_content_type() == "text/calendar"]
    body = ics.get_content()
    # The calendar file speaks the recipient's zone too, and names the same moment.
    uid = deadline_uid(db.session.get(Deadline, n.deadline_id))
    assert f"UID:{uid}" in body
    assert "DTSTART;TZID=America/Argentina/Buenos_Aires:20310314T120000" in body
    [event] = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert event.decoded("dtstart") == due


def test_the_due_reminder_query_reads_the_partial_index(world):
    query = sweeper.due_reminders(utcnow(), 1000)
    dialect = db.engine.dialect
    compiled = query.compile(dialect=dialect)
    params = {k: UTCDateTime().process_bind_param(v, dialect) if isinstance(v, datetime) else v
              for k, v in compiled.params.items()}
    with db.engine.connect() as conn:
        if db.dialect == "postgresql":
            # On an almost empty table the planner would scan; forbid it to see the index fits.
            conn.exec_driver_sql("SET enable_seqscan = off")
            plan = conn.exec_driver_sql("EXPLAIN " + str(compiled), params).all()
        else:
            args = tuple(params[k] for k in compiled.positiontup)
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), args).all()
    assert "ix_reminder_due" in " ".join(str(row) for row in plan)


def test_a_rolled_back_operation_sends_nothing(world, dispatched):
    before = db.session.scalar(select(func.count(Notification.id)))
    with pytest.raises(RuntimeError), db.transaction() as session:
        outbox.queue(session, key="rolled-back", template="state_changed",
                     user=world.applicant_a)
        raise RuntimeError("the operation failed after queueing its mail")
    assert db.session.scalar(select(func.count(Notification.id))) == before
    assert dispatched == []


def test_a_transition_that_fails_after_queueing_its_mail_sends_nothing(world, dispatched):
    case = applications.start_application(world.applicant_a, world.call.id)
    complete_application(db.session.get(Case, case.id))
    with pytest.raises(RuntimeError), db.transaction() as session:
        fresh = session.get(Case, case.id)
        cases.apply(session, fresh, "submit", world.applicant_a, {}, now=utcnow())
        assert [n.template for n in session.scalars(select(Notification))] == \
            ["application_submitted"]
        raise RuntimeError("something later in the same request failed")
    assert notifications() == [] and dispatched == []
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "draft"


def test_a_clashing_key_does_not_undo_the_rest_of_the_transaction(world, dispatched):
    with db.transaction() as session:
        first = outbox.queue(session, key="same-key", template="state_changed",
                             user=world.applicant_a)
        clash = outbox.queue(session, key="same-key", template="state_changed",
                             user=world.applicant_b)
        other = outbox.queue(session, key="other-key", template="state_changed",
                             user=world.applicant_b)
    assert first is not None and clash is None and other is not None
    assert {n.idempotency_key for n in notifications()} == {"same-key", "other-key"}
    assert dispatched == [first.id, other.id]


def test_revive_requeues_lost_pending_and_abandoned_sending_rows(app, world, dispatched):
    now = utcnow()
    with db.transaction() as session:
        lost = outbox.queue(session, key="lost", template="state_changed", user=world.applicant_a)
        abandoned = outbox.queue(session, key="abandoned", template="state_changed",
                                 user=world.applicant_a)
        busy = outbox.queue(session, key="busy", template="state_changed", user=world.applicant_a)
    with db.transaction() as session:
        stale = now - timedelta(seconds=app.config["STALE_PENDING_SECONDS"] + 5)
        session.get(Notification, lost.id).created_at = stale
        a = session.get(Notification, abandoned.id)
        a.status, a.attempts = "sending", 1
        a.claimed_at = now - timedelta(seconds=app.config["SENDING_TIMEOUT_SECONDS"] + 5)
        b = session.get(Notification, busy.id)
        b.status, b.attempts, b.claimed_at = "sending", 1, now
    dispatched.clear()
    report = sweeper.sweep(now=now)
    assert sorted(dispatched) == sorted([lost.id, abandoned.id])
    assert report.revived == 2
    db.session.expire_all()
    assert db.session.get(Notification, abandoned.id).status == "pending"
    assert db.session.get(Notification, busy.id).status == "sending"
    # The next sweep leaves them to the workers for a grace period.
    dispatched.clear()
    assert sweeper.sweep(now=now + timedelta(seconds=1)).revived == 0


def test_a_row_waiting_for_its_next_try_is_neither_claimed_nor_handed_over(app, world,
                                                                            dispatched):
    now = utcnow()
    stale = timedelta(seconds=app.config["STALE_PENDING_SECONDS"])
    with db.transaction() as session:
        waiting = outbox.queue(session, key="waiting", template="state_changed",
                               user=world.applicant_a)
    with db.transaction() as session:
        row = session.get(Notification, waiting.id)
        # Written long ago, failed once, next try in an hour.
        row.created_at, row.attempts = now - 10 * stale, 1
        row.next_attempt_at = row.requeue_after = now + timedelta(hours=1)
    assert delivery.claim(waiting.id) is None
    dispatched.clear()
    assert sweeper.sweep(now=now).revived == 0
    assert sweeper.sweep(now=now + timedelta(minutes=59)).revived == 0
    assert dispatched == []
    db.session.expire_all()
    assert db.session.get(Notification, waiting.id).attempts == 1

    # Once due, the sweep hands it over once, then leaves it to the workers for a while.
    due = now + timedelta(hours=1, seconds=1)
    assert sweeper.sweep(now=due).revived == 1 and dispatched == [waiting.id]
    assert sweeper.sweep(now=due + timedelta(seconds=1)).revived == 0
    with db.transaction() as session:
        session.get(Notification, waiting.id).next_attempt_at = utcnow()
    claimed = delivery.claim(waiting.id)
    assert claimed is not None and claimed.attempts == 2


def test_mail_whose_fate_is_unknown_is_left_to_staff(app, world, dispatched):
    now = utcnow()
    with db.transaction() as session:
        unknown = outbox.queue(session, key="unknown", template="state_changed",
                               user=world.applicant_a)
    with db.transaction() as session:
        row = session.get(Notification, unknown.id)
        row.status, row.attempts, row.created_at = "unknown", 1, now - timedelta(days=1)
        row.claimed_at = now - timedelta(days=1)
    dispatched.clear()
    assert sweeper.sweep(now=now + timedelta(days=3)).revived == 0
    assert delivery.claim(unknown.id) is None and dispatched == []


def _morning(days_ahead: int, hour: int = 9) -> datetime:
    day = (utcnow() + timedelta(days=days_ahead)).astimezone(ZoneInfo("Europe/Brussels")).date()
    return datetime.combine(day, time(hour), tzinfo=ZoneInfo("Europe/Brussels"))


def test_daily_digest_gathers_held_mail_once_a_day(world, dispatched):
    preferences.set_preference(world.applicant_a.id, NotificationPreference.DIGEST)
    case_id = submitted(world)
    backoffice.add_comment(case_id, world.coordinator, "Looks good so far.", internal=False)
    backoffice.add_comment(case_id, world.coordinator, "One more remark.", internal=False)
    held = notifications(template="comment_shared")
    assert [n.status for n in held] == ["digest", "digest"]
    assert not set(n.id for n in held) & set(dispatched)

    # Before the digest hour nothing goes.
    assert sweeper.sweep(now=_morning(1, hour=5)).digests == 0
    report = sweeper.sweep(now=_morning(1))
    assert report.digests == 1
    [digest] = notifications(template="digest")
    day = _morning(1).date().isoformat()
    assert digest.idempotency_key == f"digest:{world.applicant_a.id}:{day}"
    assert digest.status == "pending" and digest.id in dispatched
    reference = db.session.get(Case, case_id).reference
    assert [i["reference"] for i in digest.context["items"]] == [reference, reference]
    assert all("New comment" in i["subject"] for i in digest.context["items"])
    assert {n.status for n in notifications(template="comment_shared")} == {"sent"}

    # Later the same day a new comment waits for tomorrow's digest.
    backoffice.add_comment(case_id, world.coordinator, "A third remark.", internal=False)
    assert sweeper.sweep(now=_morning(1, hour=18)).digests == 0
    assert sweeper.sweep(now=_morning(2)).digests == 1
    second = notifications(template="digest")[-1]
    assert len(second.context["items"]) == 1

    assert delivery.deliver(second.id).status == "sent"


def test_switching_off_drops_held_mail_and_immediate_releases_it(world, dispatched):
    preferences.set_preference(world.applicant_a.id, NotificationPreference.DIGEST)
    case_id = submitted(world)
    backoffice.add_comment(case_id, world.coordinator, "First.", internal=False)
    preferences.set_preference(world.applicant_a.id, NotificationPreference.IMMEDIATE)
    [first] = notifications(template="comment_shared")
    assert first.status == "pending" and first.id in dispatched

    preferences.set_preference(world.applicant_a.id, NotificationPreference.DIGEST)
    backoffice.add_comment(case_id, world.coordinator, "Second.", internal=False)
    preferences.set_preference(world.applicant_a.id, NotificationPreference.OFF)
    second = notifications(template="comment_shared")[-1]
    assert second.status == "skipped"
    # Deadline mail still comes when optional mail is off.
    cases.fire(case_id, "request_information", world.coordinator,
               {"message": "Please send it.", "response_deadline": utcnow() + 10 * DAY})
    assert [n.status for n in notifications(template="information_requested")] == ["pending"]

