"""The operations layer on SQLite and PostgreSQL: one transaction per transition."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import complete_application
from webapp.db import db, utcnow
from webapp.errors import Conflict, Forbidden, Refused
from webapp.models import (
    AuditEvent,
    Case,
    Deadline,
    EligibilityResult,
    Notification,
    Reminder,
)
from webapp.operations import applications, cases

pytestmark = pytest.mark.integration


def draft(world, user=None):
    case = applications.start_application(user or world.applicant_a, world.call.id)
    return db.session.get(Case, case.id)


def test_starting_an_application_creates_the_call_closing_deadline(world):
    case = draft(world)
    assert case.state == "draft" and case.reference.startswith("IUC-")
    [deadline] = db.session.scalars(select(Deadline).where(Deadline.case_id == case.id)).all()
    assert deadline.kind == "call_closing" and deadline.due_at == world.call.closes_at
    offsets = sorted(r.offset_minutes for r in deadline.reminders)
    assert offsets == [-7 * 24 * 60, -24 * 60]
    # The same person starting again gets the same draft, not a second one.
    assert applications.start_application(world.applicant_a, world.call.id).id == case.id


def test_submit_writes_state_audit_eligibility_and_mail_in_one_commit(world, dispatched):
    case = complete_application(draft(world))
    fired = cases.fire(case.id, "submit", world.applicant_a, expected_version=case.version)
    assert fired.moved and fired.target == "eligibility_review"
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.submitted_at is not None
    results = db.session.scalars(select(EligibilityResult).where(
        EligibilityResult.case_id == case.id)).all()
    assert [r.rule for r in results][0] == "country" and len(results) == 7
    assert case.eligibility_summary == "pass"
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "submit")).all()
    assert len(audit) == 1 and audit[0].to_state == "eligibility_review"
    mails = db.session.scalars(select(Notification).where(Notification.case_id == case.id)).all()
    assert [m.template for m in mails] == ["application_submitted"]
    assert dispatched == [mails[0].id]
    # The draft's call-closing deadline is met and its reminders will never be sent.
    d = db.session.scalar(select(Deadline).where(Deadline.case_id == case.id))
    assert d.status == "met"
    assert all(r.outcome == "cancelled" for r in d.reminders)


def test_incomplete_application_is_refused_and_nothing_is_written(world, dispatched):
    case = draft(world)
    before = db.session.scalar(select(func.count(AuditEvent.id)))
    with pytest.raises(Refused) as exc:
        cases.fire(case.id, "submit", world.applicant_a)
    assert any("Complete these sections first" in r for r in exc.value.reasons)
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "draft"
    assert db.session.scalar(select(func.count(AuditEvent.id))) == before
    assert dispatched == []


def test_stale_version_is_refused_with_a_clear_message(world):
    case = complete_application(draft(world))
    old = case.version
    applications.save_section(case.id, world.applicant_a, "resources",
                              {"resources_committed": "More staff time"})
    with pytest.raises(Conflict, match="Someone else changed this case"):
        cases.fire(case.id, "submit", world.applicant_a, expected_version=old)
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "draft"


def test_another_organisation_cannot_act_on_a_case(world):
    case = complete_application(draft(world))
    with pytest.raises(Forbidden):
        cases.fire(case.id, "submit", world.applicant_b)


def test_late_submission_is_refused_by_the_server(world):
    case = complete_application(draft(world))
    with pytest.raises(Refused) as exc:
        cases.fire(case.id, "submit", world.applicant_a,
                   now=world.call.closes_at + timedelta(seconds=1))
    assert "The call closed on" in exc.value.reasons[0]


def test_request_information_then_answer_returns_to_review(world):
    case = complete_application(draft(world))
    cases.fire(case.id, "submit", world.applicant_a)
    due = utcnow() + timedelta(days=10)
    cases.fire(case.id, "request_information", world.coordinator,
               {"message": "Send the council decision", "response_deadline": due})
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.state == "information_requested"
    d = db.session.scalar(select(Deadline).where(Deadline.case_id == case.id,
                                                Deadline.kind == "information_response"))
    assert d.due_at == due.replace(microsecond=d.due_at.microsecond) or \
        abs((d.due_at - due).total_seconds()) < 1
    [r] = d.reminders
    assert abs((r.scheduled_at - (due - timedelta(days=3))).total_seconds()) < 1
    cases.fire(case.id, "provide_information", world.applicant_a,
               {"answer": "Attached to the members step"})
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "eligibility_review"
    d = db.session.get(Deadline, d.id)
    assert d.status == "met"
    assert db.session.get(Reminder, r.id).outcome == "cancelled"


def test_coordinator_decisions_and_ineligible_reason_is_mailed(world, dispatched):
    case = complete_application(draft(world))
    cases.fire(case.id, "submit", world.applicant_a)
    cases.fire(case.id, "declare_ineligible", world.coordinator,
               {"reason": "Population below the threshold"})
    mail = db.session.scalar(select(Notification).where(
        Notification.template == "declared_ineligible"))
    assert mail.context["reason"] == "Population below the threshold"
    assert mail.to_email == "anna@lyon.fr"


def test_region_scoped_coordinator_cannot_act_on_another_region(world):
    case = complete_application(draft(world), region="Latin America and the Caribbean")
    cases.fire(case.id, "submit", world.applicant_a)
    with pytest.raises(Forbidden):
        cases.fire(case.id, "declare_eligible", world.coordinator_asia)
    cases.fire(case.id, "declare_eligible", world.coordinator_latam)


def test_pairing_acceptance_by_both_parties_moves_the_case(world):
    case = complete_application(draft(world))
    cases.fire(case.id, "submit", world.applicant_a)
    cases.fire(case.id, "declare_eligible", world.coordinator)
    cases.fire(case.id, "propose_pairing", world.coordinator,
               {"partner_city_id": world.partner_city.id})
    first = cases.fire(case.id, "accept_pairing", world.applicant_a)
    assert not first.moved
    last = cases.fire(case.id, "accept_pairing", world.partner)
    assert last.moved and last.target == "agreement_pending"


def test_declining_returns_the_case_to_the_pool_and_frees_the_partner(world):
    case = complete_application(draft(world))
    cases.fire(case.id, "submit", world.applicant_a)
    cases.fire(case.id, "declare_eligible", world.coordinator)
    cases.fire(case.id, "propose_pairing", world.coordinator,
               {"partner_city_id": world.partner_city.id})
    cases.fire(case.id, "accept_pairing", world.applicant_a)
    cases.fire(case.id, "decline_pairing", world.partner, {"reason": "Topic mismatch"})
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.state == "awaiting_pairing" and case.partner_city_id is None
    assert case.party_facts == []


def test_a_declined_pairing_is_mailed_to_both_parties(world):
    case = complete_application(draft(world))
    cases.fire(case.id, "submit", world.applicant_a)
    cases.fire(case.id, "declare_eligible", world.coordinator)
    cases.fire(case.id, "propose_pairing", world.coordinator,
               {"partner_city_id": world.partner_city.id})
    cases.fire(case.id, "decline_pairing", world.applicant_a, {"reason": "Too far apart"})
    to = {n.to_email for n in db.session.scalars(select(Notification).where(
        Notification.template == "pairing_declined"))}
    assert {"anna@lyon.fr", "rosa@rosario.ar", "coord@iuc.eu"} <= to
