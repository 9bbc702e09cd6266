"""Mail that starts or carries a deadline names its date in the reader's zone and brings the
deadline as a calendar event, whose UID stays the same when the date moves while its
SEQUENCE grows; an extension has its own wording."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select

from tests.factories import complete_application
from webapp.db import db, utcnow
from webapp.mail import delivery
from webapp.mail.calendar import deadline_uid
from webapp.mail.rendering import local_time
from webapp.models import Case, Deadline, Notification, User
from webapp.operations import applications, backoffice, cases

pytestmark = pytest.mark.integration

DAY = timedelta(days=1)


def latest(template: str, user: User) -> Notification:
    db.session.expire_all()
    n = db.session.scalar(select(Notification).where(
        Notification.template == template, Notification.user_id == user.id)
        .order_by(Notification.id.desc()).limit(1))
    assert n is not None, template
    return n


def sent(n: Notification) -> email.message.EmailMessage:
    """The message as a mail client reads it off the wire."""
    raw = bytes(delivery.compose(n))
    return email.message_from_bytes(raw, policy=email.policy.default)


def event_of(msg) -> dict:
    [ics] = [p for p in msg.iter_attachments() if p.get_content_type() == "text/calendar"]
    [event] = Calendar.from_ical(ics.get_payload(decode=True)).walk("VEVENT")
    return {"uid": str(event["UID"]), "sequence": int(event["SEQUENCE"]),
            "start": event.decoded("DTSTART")}


def text_of(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def eligible_case(world) -> Case:
    case = complete_application(applications.start_application(world.applicant_a,
                                                               world.call.id))
    cases.fire(case.id, "submit", world.applicant_a)
    cases.fire(case.id, "declare_eligible", world.coordinator)
    return db.session.get(Case, case.id)


def test_a_pairing_proposal_names_the_response_date_in_the_readers_zone(world):
    world.partner.timezone = "America/Argentina/Buenos_Aires"
    world.partner.locale = "es"
    db.session.commit()
    case = eligible_case(world)
    cases.fire(case.id, "propose_pairing", world.coordinator,
               {"partner_city_id": world.partner_city.id})
    deadline = db.session.scalar(select(Deadline).where(Deadline.case_id == case.id,
                                                        Deadline.kind == "pairing_response"))
    for person, words in ((world.applicant_a, "Please accept or decline the proposal by"),
                          (world.partner, "Acepte o rechace la propuesta antes del")):
        n = latest("pairing_proposed", person)
        assert n.deadline_id == deadline.id
        msg = sent(n)
        when = local_time(deadline.due_at, person.timezone, person.locale)
        assert f"{words} {when}" in text_of(msg), text_of(msg)
        event = event_of(msg)
        assert event["uid"] == deadline_uid(deadline) and event["sequence"] == 0
        assert event["start"] == deadline.due_at.replace(microsecond=0)
    assert "UTC-03" in local_time(deadline.due_at, world.partner.timezone, "es")


def test_the_agreement_mail_names_the_signing_date_and_a_new_version_moves_the_event(world):
    case = eligible_case(world)
    cases.fire(case.id, "propose_pairing", world.coordinator,
               {"partner_city_id": world.partner_city.id})
    cases.fire(case.id, "accept_pairing", world.applicant_a)
    cases.fire(case.id, "accept_pairing", world.partner)
    first = sent(latest("agreement_to_sign", world.applicant_a))
    deadline = db.session.scalar(select(Deadline).where(
        Deadline.case_id == case.id, Deadline.kind == "agreement_signature"))
    assert "within 30 days" not in text_of(first)
    assert (f"Please sign it by {local_time(deadline.due_at, 'Europe/Brussels', 'en')}"
            in text_of(first))
    # The subject is one line, read back without a leading space.
    raw = bytes(delivery.compose(latest("agreement_to_sign", world.applicant_a)))
    assert raw.startswith(f"Subject: [{case.reference}] The pairing".encode())
    assert first["Subject"] == (f"[{case.reference}] The pairing is accepted: the agreement "
                                "is ready to sign")
    from webapp.operations import agreements

    later = utcnow() + 2 * DAY
    agreements.regenerate(case.id, world.coordinator, "The partner's mayor changed.",
                          now=later)
    again = sent(latest("agreement_to_sign", world.applicant_a))
    before, after = event_of(first), event_of(again)
    assert after["uid"] == before["uid"]
    assert after["start"] > before["start"] and after["sequence"] > before["sequence"]


def test_an_extension_has_its_own_mail_and_moves_the_call_closing_event(world):
    case = applications.start_application(world.applicant_a, world.call.id)
    closing = db.session.scalar(select(Deadline).where(Deadline.case_id == case.id,
                                                       Deadline.kind == "call_closing"))
    assert event_of(_reminder(closing))["sequence"] == 0
    # The call closes; the coordinator gives this applicant two more days.
    closed = utcnow() - timedelta(minutes=5)
    world.call.closes_at = closed
    db.session.commit()
    until = datetime(2031, 5, 6, 16, 0, tzinfo=ZoneInfo("Europe/Brussels"))
    backoffice.extend_case(case.id, world.coordinator, until, "Council vote delayed.")
    n = latest("extension_granted", world.applicant_a)
    msg = sent(n)
    when = local_time(until, "Europe/Brussels", "en")
    # A subject is one line of plain spaces (the time's narrow space included).
    assert msg["Subject"] == " ".join(
        f"[{case.reference}] Extension granted: you can submit until {when}".split())
    assert f"you can submit it until {when}" in text_of(msg)
    assert "Reminder" not in msg["Subject"]
    event = event_of(msg)
    assert event["uid"] == deadline_uid(closing) and event["sequence"] == 1
    assert event["start"] == until
    # Granting again with a new date moves it once more.
    backoffice.extend_case(case.id, world.coordinator, until + DAY, "One more day.")
    assert event_of(sent(latest("extension_granted", world.applicant_a)))["sequence"] == 2


def _reminder(deadline: Deadline):
    """The message of the deadline's reminder, as the sweep would send it."""
    from webapp.mail import outbox

    with db.transaction() as session:
        case = session.get(Case, deadline.case_id)
        user = session.scalar(select(User).where(User.organisation_id == case.organisation_id))
        n = outbox.queue(session, key=f"test-reminder:{deadline.id}",
                         template="reminder_call_closing", user=user, case=case,
                         deadline_id=deadline.id, context={"reference": case.reference,
                                                          "party": "applicant"})
    return sent(db.session.get(Notification, n.id))
