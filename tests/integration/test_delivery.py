"""Delivery with a real SMTP server (aiosmtpd), the message itself, the outbox pages, the
preferences page and the calendar feed, on SQLite and PostgreSQL."""

from __future__ import annotations

import email
import email.policy
import smtplib
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest
from sqlalchemy import select

from tests.factories import PASSWORD, complete_application
from tests.smtp_server import MailServer, free_port
from webapp.db import db, utcnow
from webapp.mail import delivery, outbox, rendering, sending
from webapp.mail.calendar import deadline_uid
from webapp.models import AuditEvent, Case, Deadline, Notification, User
from webapp.operations import applications, cases
from webapp.operations import reminders as sweeper

pytestmark = pytest.mark.integration


@pytest.fixture
def smtp(app, monkeypatch):
    """A recording SMTP server the app sends through, with quick retries."""
    server = MailServer().start()
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", server.port)
    monkeypatch.setitem(app.config, "SMTP_TIMEOUT", 5.0)
    monkeypatch.setitem(app.config, "DELIVERY_BACKOFF_SECONDS", 1.0)
    yield server
    sending.close_connections()
    server.stop()


def queued(user: User, key: str, template: str = "state_changed", **kw) -> Notification:
    with db.transaction() as session:
        return outbox.queue(session, key=key, template=template, user=user, **kw)


def a_case(world, region: str = "Latin America and the Caribbean", user=None) -> Case:
    user = user or world.applicant_a
    case = applications.start_application(user, world.call.id)
    complete_application(db.session.get(Case, case.id), region=region)
    cases.fire(case.id, "submit", user)
    return db.session.get(Case, case.id)


def reminder_for(world) -> Notification:
    """A deadline reminder (not optional, with an .ics) for the Lyon case."""
    case = a_case(world)
    cases.fire(case.id, "request_information", world.coordinator,
               {"message": "Send the decision.", "response_deadline": utcnow() + timedelta(days=9)})
    sweeper.sweep(now=utcnow() + timedelta(days=6, minutes=1))
    return db.session.scalar(select(Notification).where(
        Notification.template == "reminder_information_requested"))


def status_of(notification_id: int) -> Notification:
    db.session.expire_all()
    return db.session.get(Notification, notification_id)


def test_only_one_worker_can_claim_a_notification(world):
    n = queued(world.applicant_a, "claim-me")
    first = delivery.claim(n.id)
    assert first is not None and first.status == "sending" and first.attempts == 1
    assert delivery.claim(n.id) is None
    assert delivery.deliver(n.id).status == "not-claimed"


def test_the_message_has_both_bodies_stable_id_headers_and_calendar(app, world):
    n = reminder_for(world)
    msg = delivery.compose(n)
    assert msg["Message-ID"] == delivery.compose(n)["Message-ID"] == \
        f"<notification-{n.id}@citypair.local>"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["X-Citypair-Notification"] == str(n.id)
    assert msg["References"] == f"<case-{n.case_id}@citypair.local>"
    # Deadline mail cannot be switched off: no unsubscribe header.
    assert msg["List-Unsubscribe"] is None
    assert msg.get_body(("plain",)) is not None and msg.get_body(("html",)) is not None
    case = db.session.get(Case, n.case_id)
    assert f"http://localhost/my/cases/{case.id}" in msg.get_body(("plain",)).get_content()
    [ics] = list(msg.iter_attachments())
    assert ics.get_content_type() == "text/calendar"
    assert ics.get_param("method") == "PUBLISH"
    uid = deadline_uid(db.session.get(Deadline, n.deadline_id))
    assert uid.endswith("@localhost") and f"UID:{uid}" in ics.get_content()

    optional = queued(world.applicant_a, "optional", template="comment_shared", case=case,
                      optional=True, context={"reference": case.reference, "body": "Hi"})
    assert delivery.deliver(optional.id).status == "sent"
    raw = (Path(app.config["MAIL_SINK_DIR"]) /
           f"notification-{optional.id}@citypair.local.eml").read_bytes()
    sent = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(sent["List-Unsubscribe"]).strip().startswith("<http://localhost/unsubscribe/")
    assert sent["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_local_time_is_written_by_babel_in_the_recipients_language():
    at = datetime(2025, 1, 3, 13, 0, tzinfo=UTC)
    assert rendering.local_time(at, "Europe/Brussels", "fr") == "vendredi 3 janvier 2025, 14:00 CET"
    assert rendering.local_time(at.isoformat(), "Asia/Tokyo", "en") == \
        "Friday, January 3, 2025, 10:00\u202fPM JST"
    assert rendering.local_time(None, "Asia/Tokyo", "en") == ""


def test_delivery_over_smtp_reuses_one_connection(smtp, world):
    ids = [queued(world.applicant_a, f"pooled-{i}").id for i in range(5)]
    assert [delivery.deliver(i).status for i in ids] == ["sent"] * 5
    assert smtp.recorder.ids() == {str(i): 1 for i in ids}
    assert len(smtp.recorder.peers) == 1
    for i in ids:
        n = status_of(i)
        assert n.status == "sent" and n.sent_at is not None and n.attempts == 1


def test_a_relay_restart_between_messages_is_survived(smtp, world):
    first = queued(world.applicant_a, "before-restart")
    assert delivery.deliver(first.id).status == "sent"
    smtp.stop()
    smtp.start()
    second = queued(world.applicant_a, "after-restart")
    assert delivery.deliver(second.id).status == "sent"
    assert status_of(second.id).attempts == 1
    assert smtp.recorder.ids() == {str(first.id): 1, str(second.id): 1}


def come_due(*notification_ids: int) -> None:
    """Move the next try of these notifications into the past, as if their wait were over."""
    with db.transaction() as session:
        for i in notification_ids:
            session.get(Notification, i).next_attempt_at = utcnow() - timedelta(seconds=1)


def test_451_backs_off_until_the_retry_window_closes(app, smtp, world, dispatched,
                                                     monkeypatch):
    monkeypatch.setitem(app.config, "DELIVERY_BACKOFF_MAX_SECONDS", 4.0)
    smtp.recorder.answer = "451 4.3.0 Please try again later"
    n = queued(world.applicant_a, "greylisted")
    first = delivery.deliver(n.id)
    assert (first.status, first.retry_in) == ("retry", 1.0)
    row = status_of(n.id)
    assert row.status == "pending" and row.attempts == 1
    assert row.last_error == "451 4.3.0 Please try again later"
    window = timedelta(seconds=app.config["DELIVERY_RETRY_FOR_SECONDS"])
    assert row.next_attempt_at > utcnow()
    assert abs(row.retry_until - (row.next_attempt_at - timedelta(seconds=1) + window)) < \
        timedelta(seconds=1)
    until = row.retry_until
    # Not due yet: not claimed, and no attempt spent.
    assert delivery.deliver(n.id).status == "not-claimed"
    assert status_of(n.id).attempts == 1

    waits = []
    for _ in range(4):
        come_due(n.id)
        waits.append(delivery.deliver(n.id).retry_in)
    assert waits == [2.0, 4.0, 4.0, 4.0]  # doubling, then capped
    row = status_of(n.id)
    assert row.attempts == 5 and row.retry_until == until

    # Once the window has closed, the next transient failure is the last.
    with db.transaction() as session:
        late = session.get(Notification, n.id)
        late.retry_until = late.next_attempt_at = utcnow() - timedelta(seconds=1)
    assert delivery.deliver(n.id).status == "failed"
    row = status_of(n.id)
    assert row.status == "failed" and row.attempts == 6
    assert row.last_error == "451 4.3.0 Please try again later (given up after 6 attempts)"
    assert smtp.recorder.ids() == {}

    # A coordinator sends it again once the relay is happy: a fresh start.
    smtp.recorder.answer = "accept"
    dispatched.clear()
    assert delivery.resend([n.id]) == 1
    assert dispatched == [n.id]
    row = status_of(n.id)
    assert (row.status, row.attempts, row.retry_until, row.last_error) == ("pending", 0, None, "")
    assert delivery.deliver(n.id).status == "sent"
    assert status_of(n.id).attempts == 1 and smtp.recorder.ids() == {str(n.id): 1}


def test_max_attempts_bounds_the_retries_too(app, smtp, world, monkeypatch):
    monkeypatch.setitem(app.config, "DELIVERY_MAX_ATTEMPTS", 2)
    smtp.recorder.answer = "452 4.2.2 Mailbox full"
    n = queued(world.applicant_a, "full")
    assert delivery.deliver(n.id).status == "retry"
    come_due(n.id)
    assert delivery.deliver(n.id).status == "failed"
    assert status_of(n.id).last_error == "452 4.2.2 Mailbox full (given up after 2 attempts)"


def test_the_schedule_doubles_from_the_base_up_to_the_cap(app, monkeypatch):
    monkeypatch.setitem(app.config, "DELIVERY_BACKOFF_SECONDS", 30.0)
    monkeypatch.setitem(app.config, "DELIVERY_BACKOFF_MAX_SECONDS", 3600.0)
    assert [delivery.backoff(a) for a in range(1, 10)] == [
        30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert delivery.backoff(500) == 3600


def test_errors_read_as_the_relay_wrote_them():
    assert sending.describe(smtplib.SMTPResponseException(451, b"4.3.0 Try again\n later")) == \
        "451 4.3.0 Try again later"
    refused = smtplib.SMTPRecipientsRefused({"a@x.test": (550, b"5.1.1 No such mailbox")})
    assert sending.describe(refused) == "550 5.1.1 No such mailbox"
    refused.recipients["b@x.test"] = (451, b"4.3.0 Later")
    assert sending.describe(refused) == \
        "a@x.test: 550 5.1.1 No such mailbox; b@x.test: 451 4.3.0 Later"
    assert sending.describe(ConnectionRefusedError(111, "Connection refused")) == \
        "ConnectionRefusedError: [Errno 111] Connection refused"
    assert sending.describe(smtplib.SMTPServerDisconnected()) == "SMTPServerDisconnected"


def test_550_fails_at_once_and_keeps_the_reason(smtp, world):
    smtp.recorder.refused.add(world.applicant_b.email)
    bad = queued(world.applicant_b, "refused")
    good = queued(world.applicant_a, "accepted")
    assert delivery.deliver(bad.id).status == "failed"
    assert delivery.deliver(good.id).status == "sent"
    row = status_of(bad.id)
    assert row.attempts == 1
    assert row.last_error == "550 5.1.1 No such mailbox here"
    assert smtp.recorder.ids() == {str(good.id): 1}


def test_a_relay_that_is_down_is_a_transient_failure(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", free_port())
    n = queued(world.applicant_a, "nobody-listens")
    assert delivery.deliver(n.id).status == "retry"
    assert "ConnectionRefusedError" in status_of(n.id).last_error


def test_a_mail_that_cannot_be_rendered_fails_with_the_reason(world):
    n = queued(world.applicant_a, "broken", template="no_such_template")
    assert delivery.deliver(n.id).status == "failed"
    assert "cannot be rendered" in status_of(n.id).last_error


def test_a_worker_that_lost_its_claim_does_not_overwrite_the_outcome(app, world):
    n = queued(world.applicant_a, "taken-over")
    # What the first, slow worker remembers of its claim.
    mine = SimpleNamespace(id=n.id, attempts=delivery.claim(n.id).attempts)
    with db.transaction() as session:
        row = session.get(Notification, n.id)
        row.claimed_at = utcnow() - timedelta(seconds=app.config["SENDING_TIMEOUT_SECONDS"] + 1)
    theirs = delivery.claim(n.id)
    assert theirs is not None and theirs.attempts == 2
    assert delivery._Recorder().write(mine, status="failed", last_error="late news") is False
    assert status_of(n.id).status == "sending"


# -- the outbox pages ---------------------------------------------------------------------

def test_outbox_lists_filters_previews_and_resends(make_browser, world, dispatched):
    failed = reminder_for(world)
    with db.transaction() as session:
        row = session.get(Notification, failed.id)
        row.status, row.attempts, row.last_error = "failed", 8, "550 'mailbox unavailable'"
    browser = make_browser()
    browser.login(world.coordinator.email, PASSWORD)
    page = browser.get("/office/outbox")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Application submitted".lower() in body.lower() and "mailbox unavailable" in body

    only_failed = browser.get("/office/outbox?status=failed").get_data(as_text=True)
    assert f'value="{failed.id}"' in only_failed
    assert only_failed.count('name="notification"') == 1
    assert browser.get("/office/outbox?status=nonsense").status_code == 400

    detail = browser.get(f"/office/outbox/{failed.id}")
    assert detail.status_code == 200
    text = detail.get_data(as_text=True)
    assert "Reminder: please answer the information request" in text
    assert f"/office/outbox/{failed.id}/email.html" in text
    html = browser.get(f"/office/outbox/{failed.id}/email.html")
    assert html.status_code == 200 and html.mimetype == "text/html"
    assert html.headers["Content-Security-Policy"] == "sandbox"
    assert "<html" in html.get_data(as_text=True)

    dispatched.clear()
    browser.get("/office/outbox?status=failed")
    resp = browser.post("/office/outbox/resend", {"notification": [failed.id],
                                                   "next": "/office/outbox?status=failed"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("status=failed")
    assert dispatched == [failed.id]
    row = status_of(failed.id)
    assert row.status == "pending" and row.attempts == 0

    browser.get(f"/office/outbox/{failed.id}")
    assert browser.post(f"/office/outbox/{failed.id}/resend").status_code == 303


def test_outbox_follows_the_coordinators_region(make_browser, world):
    asia = a_case(world, region="Asia", user=world.applicant_b)
    latam = a_case(world)
    no_case = queued(world.applicant_a, "no-case")
    asia_mail = db.session.scalar(select(Notification).where(Notification.case_id == asia.id))
    latam_mail = db.session.scalar(select(Notification).where(Notification.case_id == latam.id))
    browser = make_browser()
    browser.login(world.coordinator_latam.email, PASSWORD)
    listed = browser.get("/office/outbox").get_data(as_text=True)
    assert f'value="{latam_mail.id}"' in listed and f'value="{no_case.id}"' in listed
    assert f'value="{asia_mail.id}"' not in listed
    assert browser.get(f"/office/outbox/{asia_mail.id}").status_code == 403
    assert browser.get(f"/office/outbox/{asia_mail.id}/email.html").status_code == 403
    browser.get("/office/outbox")
    resp = browser.post("/office/outbox/resend", {"notification": [asia_mail.id]})
    assert resp.status_code == 403
    assert browser.get("/office/outbox/999999").status_code == 404

    applicant = make_browser()
    applicant.login(world.applicant_a.email, PASSWORD)
    assert applicant.get("/office/outbox").status_code == 403
    assert applicant.get(f"/office/outbox/{latam_mail.id}").status_code == 403
    anonymous = make_browser()
    assert anonymous.get("/office/outbox").status_code == 302


# -- preferences, unsubscribe and the calendar feed ---------------------------------------

def test_preferences_page_saves_the_choice_and_refuses_nonsense(make_browser, world):
    browser = make_browser()
    browser.login(world.applicant_a.email, PASSWORD)
    page = browser.get("/account/notifications")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and 'value="immediate" checked' in body
    assert "/calendar/" in body and ".ics" in body
    resp = browser.post("/account/notifications", {"preference": "digest"})
    assert resp.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, world.applicant_a.id).notification_preference == "digest"
    bad = browser.post("/account/notifications", {"preference": "sometimes"})
    assert bad.status_code == 400 and "There is a problem" in bad.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, world.applicant_a.id).notification_preference == "digest"
    assert make_browser().get("/account/notifications").status_code == 302


def test_unsubscribe_link_in_the_mail_works_without_signing_in(app, make_browser, world):
    case = a_case(world)
    n = queued(world.applicant_a, "unsub", template="comment_shared", case=case,
               optional=True, context={"reference": case.reference, "body": "Hi"})
    link = delivery.compose(n)["List-Unsubscribe"].strip("<>").removeprefix("http://localhost")
    browser = make_browser()
    assert browser.get(link).status_code == 200
    # RFC 8058 one-click: the mail client posts without any form token.
    assert browser.post(link, token=False).status_code == 200
    db.session.expire_all()
    assert db.session.get(User, world.applicant_a.id).notification_preference == "off"
    assert browser.get("/unsubscribe/forged.token").status_code == 400


def test_calendar_feed_lists_open_deadlines_with_stable_uids(make_browser, world):
    case = a_case(world)
    due = utcnow() + timedelta(days=9)
    cases.fire(case.id, "request_information", world.coordinator,
               {"message": "Send the decision.", "response_deadline": due})
    browser = make_browser()
    browser.login(world.applicant_a.email, PASSWORD)
    page = browser.get("/account/notifications").get_data(as_text=True)
    feed_path = page.split('id="calendar-address" type="text" value="http://localhost', 1)[1] \
        .split('"', 1)[0]
    anonymous = make_browser()
    resp = anonymous.get(feed_path)
    assert resp.status_code == 200 and resp.mimetype == "text/calendar"
    body = resp.get_data(as_text=True)
    assert body.count("BEGIN:VEVENT") == 1 and case.reference in body
    deadline = db.session.scalar(select(Deadline).where(Deadline.case_id == case.id,
                                                        Deadline.status == "open"))
    uid = f"UID:{deadline_uid(deadline)}"
    assert uid in body
    # The same event keeps its UID, so calendars update it instead of adding another.
    assert uid in anonymous.get(feed_path).get_data(as_text=True)
    # Another organisation's calendar does not show this case.
    other = make_browser()
    other.login(world.applicant_b.email, PASSWORD)
    other_page = other.get("/account/notifications").get_data(as_text=True)
    other_path = other_page.split('value="http://localhost/calendar/', 1)[1].split('"', 1)[0]
    assert "BEGIN:VEVENT" not in other.get("/calendar/" + other_path).get_data(as_text=True)
    assert anonymous.get("/calendar/forged.ics").status_code == 404
    # A password change retires the address.
    with db.transaction() as session:
        session.get(User, world.applicant_a.id).auth_epoch += 1
    assert anonymous.get(feed_path).status_code == 404


def test_a_batch_is_claimed_once_and_sent_over_one_connection(smtp, world):
    ids = [queued(world.applicant_a, f"batch-{i}").id for i in range(4)]
    smtp.recorder.refused.add(world.applicant_b.email)
    refused = queued(world.applicant_b, "batch-refused").id
    assert delivery.deliver(ids[0]).status == "sent"  # already gone: not claimed again
    outcomes = delivery.deliver_many([*ids, refused])
    assert {i: o.status for i, o in outcomes.items()} == {
        ids[0]: "not-claimed", ids[1]: "sent", ids[2]: "sent", ids[3]: "sent",
        refused: "failed"}
    assert smtp.recorder.ids() == {str(i): 1 for i in ids}
    assert len(smtp.recorder.peers) == 1
    for i in ids:
        n = status_of(i)
        assert n.status == "sent" and n.attempts == 1 and n.sent_at is not None
    assert status_of(refused).status == "failed" and "550" in status_of(refused).last_error


def test_a_relay_that_is_down_puts_the_rest_of_a_batch_back_untried(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", free_port())
    ids = [queued(world.applicant_a, f"down-{i}").id for i in range(3)]
    outcomes = delivery.deliver_many(ids)
    assert [outcomes[i].status for i in ids] == ["retry"] * 3
    first, *rest = (status_of(i) for i in ids)
    assert first.attempts == 1 and "ConnectionRefusedError" in first.last_error
    # The others were never tried: the attempt their claim counted is given back.
    for n in rest:
        assert n.status == "pending" and n.attempts == 0 and n.next_attempt_at > utcnow()


# -- faults on the way: the database, a slow relay ------------------------------------------

def case_mail(world, key: str, case: Case) -> Notification:
    """A notification about ``case``: composing it reads the case from the database."""
    return queued(world.applicant_a, key, case=case)


def other_backends(pg_url: str, what: str) -> None:
    """``pg_cancel_backend`` or ``pg_terminate_backend`` on every other connection to the
    test database."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"SELECT {what}(pid) FROM pg_stat_activity "
                     "WHERE datname = current_database() AND pid <> pg_backend_pid()")


@pytest.mark.postgres
def test_a_query_cancelled_while_composing_is_retried_and_sent_once(smtp, world, pg_url):
    case = a_case(world)
    n = case_mail(world, "cancelled", case)
    cancelled = threading.Event()

    def cancel_the_blocked_read() -> None:
        # The case table is locked below: the composing read waits, and is cancelled.
        with psycopg.connect(pg_url, autocommit=True) as conn:
            end = time.monotonic() + 20
            while time.monotonic() < end and not cancelled.is_set():
                if conn.execute("SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = current_database() "
                                "AND wait_event_type = 'Lock'").fetchall():
                    cancelled.set()
                time.sleep(0.05)

    with psycopg.connect(pg_url) as holder:
        holder.execute('LOCK TABLE "case" IN ACCESS EXCLUSIVE MODE')
        canceller = threading.Thread(target=cancel_the_blocked_read)
        canceller.start()
        outcome = delivery.deliver(n.id)
        canceller.join()
        holder.rollback()
    assert cancelled.is_set()
    assert outcome.status == "retry"
    row = status_of(n.id)
    assert row.status == "pending" and row.attempts == 1
    assert row.last_error == \
        "could not be composed now: QueryCanceled: canceling statement due to user request"
    assert smtp.recorder.ids() == {}
    come_due(n.id)
    assert delivery.deliver(n.id).status == "sent"
    assert smtp.recorder.ids() == {str(n.id): 1}


@pytest.mark.postgres
def test_connections_dropped_after_the_relay_accepted_send_nothing_twice(smtp, world, pg_url,
                                                                         dispatched):
    case = a_case(world)
    ids = [case_mail(world, f"dropped-{i}", case).id for i in range(4)]

    def drop_every_connection(msg) -> None:
        # Right after the relay took the second message: the batch's connection and the one
        # the first outcome was written on both go.
        if msg["X-Citypair-Notification"] == str(ids[1]):
            other_backends(pg_url, "pg_terminate_backend")

    smtp.recorder.on_accept = drop_every_connection
    outcomes = delivery.deliver_many(ids)
    # The batch read its case with the first message: the rest need no connection of the
    # batch's to be composed, and each outcome is written on a fresh one.
    assert [outcomes[i].status for i in ids] == ["sent"] * 4
    assert [status_of(i).status for i in ids] == ["sent"] * 4

    smtp.recorder.on_accept = None
    come_due(*ids)
    assert {i: o.status for i, o in delivery.deliver_many(ids).items()} == {
        i: "not-claimed" for i in ids}
    # Later sweeps find nothing to send again.
    dispatched.clear()
    sweeper.sweep(now=utcnow() + timedelta(days=2))
    assert not set(dispatched) & set(ids)
    assert smtp.recorder.ids() == {str(i): 1 for i in ids}


@pytest.mark.postgres
def test_an_outcome_the_database_cannot_take_is_held_not_sent_again(app, smtp, world, pg_url,
                                                                    monkeypatch):
    from tests.conftest import PG_ADMIN

    monkeypatch.setattr(delivery, "OUTCOME_PAUSES", (0.05, 0.1))
    name = pg_url.rsplit("/", 1)[1]
    ids = [queued(world.applicant_a, f"held-{i}").id for i in range(3)]

    def database(allow: bool) -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allow).lower()}')
            if not allow:
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = %s", (name,))

    def database_gone(msg) -> None:
        if msg["X-Citypair-Notification"] == str(ids[0]):
            database(False)

    smtp.recorder.on_accept = database_gone
    try:
        outcomes = delivery.deliver_many(ids)
    finally:
        database(True)
    smtp.recorder.on_accept = None
    assert outcomes[ids[0]].status == "sent"
    # The relay has it; the row could not be told and is still claimed.
    assert status_of(ids[0]).status == "sending"
    # The next delivery of this process writes the held outcome before anything else.
    assert delivery.deliver_many([]) == {}
    assert status_of(ids[0]).status == "sent"
    # The others were never sent: once their claim runs out, they go, each once.
    later = utcnow() + delivery.sending_timeout() + timedelta(seconds=1)
    sweeper.sweep(now=later)
    assert [status_of(i).status for i in ids] == ["sent", "pending", "pending"]
    with db.transaction() as session:
        for i in ids[1:]:
            session.get(Notification, i).claimed_at = utcnow() - delivery.sending_timeout()
    assert {o.status for o in delivery.deliver_many(ids[1:]).values()} == {"sent"}
    assert smtp.recorder.ids() == {str(i): 1 for i in ids}


def test_a_late_reply_to_the_end_of_a_message_is_waited_for(app, smtp, world, monkeypatch):
    # The relay answers after the command timeout, well within the DATA termination wait.
    monkeypatch.setitem(app.config, "SMTP_TIMEOUT", 1.0)
    monkeypatch.setitem(app.config, "SMTP_DATA_TIMEOUT", 20.0)
    smtp.recorder.data_delay = 2.5
    ids = [queued(world.applicant_a, f"slow-{i}").id for i in range(3)]
    outcomes = delivery.deliver_many(ids)
    # A slow relay sends the rest of the batch back to go by claims of their own.
    assert [outcomes[i].status for i in ids] == ["sent", "retry", "retry"]
    assert status_of(ids[0]).status == "sent" and status_of(ids[1]).attempts == 0
    smtp.recorder.data_delay = 0
    assert {o.status for o in delivery.deliver_many(ids[1:]).values()} == {"sent"}
    assert smtp.recorder.ids() == {str(i): 1 for i in ids}


def test_no_reply_to_the_end_of_a_message_leaves_it_unknown_and_unsent(app, smtp, world,
                                                                     dispatched, monkeypatch,
                                                                     make_browser):
    monkeypatch.setitem(app.config, "SMTP_TIMEOUT", 1.0)
    monkeypatch.setitem(app.config, "SMTP_DATA_TIMEOUT", 1.0)
    smtp.recorder.data_delay = 3.0
    n = queued(world.applicant_a, "no-reply")
    assert delivery.deliver(n.id).status == "unknown"
    row = status_of(n.id)
    assert row.status == "unknown" and row.next_attempt_at is None
    assert row.last_error.startswith("no reply to the end of the message (")
    assert row.last_error.endswith("the relay may have accepted it")
    assert "b'" not in row.last_error
    end = time.monotonic() + 10
    while not smtp.recorder.ids() and time.monotonic() < end:
        time.sleep(0.1)
    assert smtp.recorder.ids() == {str(n.id): 1}  # it had, in fact

    # Neither a worker nor the sweep sends it again.
    smtp.recorder.data_delay = 0
    assert delivery.deliver(n.id).status == "not-claimed"
    dispatched.clear()
    sweeper.sweep(now=utcnow() + timedelta(days=2))
    assert n.id not in dispatched

    # Staff see why, and are asked before a second copy goes.
    browser = make_browser()
    browser.login(world.coordinator.email, PASSWORD)
    assert "May have been sent" in browser.get("/office/outbox?status=unknown").get_data(
        as_text=True)
    detail = browser.get(f"/office/outbox/{n.id}").get_data(as_text=True)
    assert "may have accepted it" in detail and f"notification-{n.id}@" in detail
    assert f'href="/office/outbox/{n.id}/resend"' in detail
    assert f'action="/office/outbox/{n.id}/resend"' not in detail
    unasked = browser.post(f"/office/outbox/{n.id}/resend")
    assert unasked.status_code == 303
    assert unasked.headers["Location"].endswith(f"/office/outbox/{n.id}/resend")
    assert status_of(n.id).status == "unknown" and dispatched == []
    question = browser.get(f"/office/outbox/{n.id}/resend").get_data(as_text=True)
    assert "second copy" in question and 'name="confirmed" value="yes"' in question
    assert browser.post(f"/office/outbox/{n.id}/resend", {"confirmed": "yes"}).status_code == 303
    assert status_of(n.id).status == "pending" and dispatched == [n.id]
    assert delivery.deliver(n.id).status == "sent"
    assert smtp.recorder.ids() == {str(n.id): 2}


# -- staff putting mail back in the queue ---------------------------------------------------

def set_status(notification_id: int, **values) -> None:
    with db.transaction() as session:
        row = session.get(Notification, notification_id)
        for key, value in values.items():
            setattr(row, key, value)


def test_resending_mail_already_sent_asks_first(make_browser, world, dispatched):
    case = a_case(world)
    sent = case_mail(world, "was-sent", case)
    failed = case_mail(world, "has-failed", case)
    set_status(sent.id, status="sent", sent_at=utcnow(), attempts=1)
    set_status(failed.id, status="failed", attempts=1, last_error="550 5.1.1 No such mailbox")
    # Without a yes, mail that went (maybe only a moment ago) is left alone.
    assert delivery.resend([sent.id]) == 0 and status_of(sent.id).status == "sent"
    browser = make_browser()
    browser.login(world.coordinator.email, PASSWORD)
    dispatched.clear()

    # One at a time: the detail page leads to the question, never straight to a resend.
    detail = browser.get(f"/office/outbox/{sent.id}").get_data(as_text=True)
    assert f'href="/office/outbox/{sent.id}/resend"' in detail
    unasked = browser.post(f"/office/outbox/{sent.id}/resend")
    assert unasked.status_code == 303 and unasked.headers["Location"].endswith(
        f"/office/outbox/{sent.id}/resend")
    assert status_of(sent.id).status == "sent" and dispatched == []

    # Ticked in the list with a failed one: the answer is a question, nothing goes yet.
    browser.get("/office/outbox")
    question = browser.post("/office/outbox/resend", {"notification": [sent.id, failed.id],
                                                      "next": "/office/outbox?status=sent"})
    page = question.get_data(as_text=True)
    assert question.status_code == 200
    assert "1 of them were sent already, or may have been" in page
    assert page.count('name="notification"') == 2 and 'name="confirmed" value="yes"' in page
    assert 'name="next" value="/office/outbox?status=sent"' in page
    assert (status_of(sent.id).status, status_of(failed.id).status) == ("sent", "failed")
    assert dispatched == []
    yes = browser.post("/office/outbox/resend", {"notification": [sent.id, failed.id],
                                                 "next": "/office/outbox?status=sent",
                                                 "confirmed": "yes"})
    assert yes.status_code == 303 and yes.headers["Location"].endswith("status=sent")
    assert sorted(dispatched) == sorted([sent.id, failed.id])
    assert {status_of(sent.id).status, status_of(failed.id).status} == {"pending"}
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "resend_mail"))
    assert event.actor_id == world.coordinator.id and event.case_id is None
    assert event.payload["maybe_delivered_before"] == [sent.id]

    # A failed one alone goes without a question.
    set_status(failed.id, status="failed")
    dispatched.clear()
    browser.get("/office/outbox")
    assert browser.post("/office/outbox/resend",
                        {"notification": [failed.id]}).status_code == 303
    assert dispatched == [failed.id]


def test_retry_failed_sends_every_failed_mail_the_coordinator_may_see(make_browser, world,
                                                                      dispatched):
    asia = a_case(world, region="Asia", user=world.applicant_b)
    latam = a_case(world)
    asia_failed = case_mail(world, "asia-failed", asia)
    latam_failed = [case_mail(world, f"latam-failed-{i}", latam) for i in range(2)]
    latam_sent = case_mail(world, "latam-sent", latam)
    no_case = queued(world.applicant_a, "no-case-failed")
    for n in (asia_failed, *latam_failed, no_case):
        set_status(n.id, status="failed", attempts=3, last_error="550 5.7.1 Relay denied")
    set_status(latam_sent.id, status="sent", sent_at=utcnow())
    browser = make_browser()
    browser.login(world.coordinator_latam.email, PASSWORD)

    listing = browser.get("/office/outbox").get_data(as_text=True)
    assert "Send the 3 failed e-mails again" in listing
    assert 'href="/office/outbox/retry-failed"' in listing
    question = browser.get("/office/outbox/retry-failed")
    assert question.status_code == 200
    assert "3 e-mails you can see have failed" in question.get_data(as_text=True)
    dispatched.clear()
    # Without the yes of the question page nothing happens.
    unasked = browser.post("/office/outbox/retry-failed")
    assert unasked.status_code == 303 and unasked.headers["Location"].endswith(
        "/office/outbox/retry-failed")
    assert dispatched == []

    browser.get("/office/outbox/retry-failed")
    done = browser.post("/office/outbox/retry-failed", {"confirmed": "yes"})
    assert done.status_code == 303
    assert "3 failed e-mails will be sent again" in browser.get("/office/outbox").get_data(
        as_text=True)
    mine = sorted([*(n.id for n in latam_failed), no_case.id])
    assert sorted(dispatched) == mine
    assert [status_of(i).status for i in mine] == ["pending"] * 3
    assert all(status_of(i).attempts == 0 and status_of(i).last_error == "" for i in mine)
    # Another region's failure and a sent mail are left as they were.
    assert status_of(asia_failed.id).status == "failed"
    assert status_of(latam_sent.id).status == "sent"
    [event] = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "retry_failed_mail"))
    assert event.actor_id == world.coordinator_latam.id
    assert event.payload == {"count": 3, "notification_ids": mine,
                             "region_scope": "Latin America and the Caribbean"}

    # Nothing left to retry: the page says so and offers no button.
    browser.get("/office/outbox/retry-failed")
    assert browser.post("/office/outbox/retry-failed", {"confirmed": "yes"}).status_code == 303
    assert "no failed e-mails" in browser.get("/office/outbox").get_data(as_text=True)
    assert 'action="/office/outbox/retry-failed"' not in browser.get(
        "/office/outbox/retry-failed").get_data(as_text=True)


def test_the_outbox_shows_the_next_try_and_until_when(app, smtp, make_browser, world,
                                                      dispatched):
    smtp.recorder.answer = "451 4.3.0 Try again later"
    n = queued(world.applicant_a, "waiting")
    assert delivery.deliver(n.id).status == "retry"
    # The pages run in this test's session: it must not answer from what it held before.
    db.session.expire_all()
    browser = make_browser()
    browser.login(world.coordinator.email, PASSWORD)
    listing = browser.get("/office/outbox?status=pending").get_data(as_text=True)
    assert "451 4.3.0 Try again later" in listing and "b&#39;" not in listing
    assert "next try" in listing and "retrying until" in listing
    detail = browser.get(f"/office/outbox/{n.id}").get_data(as_text=True)
    assert "retrying until" in detail


def test_a_long_batch_renews_its_claim_and_skips_rows_taken_over(app, smtp, world,
                                                                 monkeypatch):
    from sqlalchemy import update

    # A claim shorter than one message may take: the batch renews it before each message.
    monkeypatch.setitem(app.config, "SENDING_TIMEOUT_SECONDS", 1)
    ids = [queued(world.applicant_a, f"long-{i}").id for i in range(4)]

    def another_worker_takes_the_last(msg) -> None:
        if msg["X-Citypair-Notification"] == str(ids[0]):
            with db.engine.begin() as conn:
                conn.execute(update(Notification).where(Notification.id == ids[3])
                             .values(attempts=Notification.attempts + 1))

    smtp.recorder.on_accept = another_worker_takes_the_last
    outcomes = delivery.deliver_many(ids)
    assert [outcomes[i].status for i in ids] == ["sent", "sent", "sent", "not-claimed"]
    assert smtp.recorder.ids() == {str(i): 1 for i in ids[:3]}
    assert status_of(ids[3]).status == "sending"
