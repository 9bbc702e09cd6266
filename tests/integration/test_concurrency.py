"""Concurrent changes on PostgreSQL: one wins, the others are told; the audit trail is
append-only in the database itself."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from tests.factories import complete_application
from webapp.db import db
from webapp.errors import Conflict
from webapp.models import AuditEvent, Case, Notification, PartyFact
from webapp.operations import applications, cases, tokens

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

THREADS = 20


def submitted(world) -> Case:
    draft = applications.start_application(world.applicant_a, world.call.id)
    case = complete_application(db.session.get(Case, draft.id))
    cases.fire(case.id, "submit", world.applicant_a)
    db.session.expire_all()
    return db.session.get(Case, case.id)


def at_once(jobs):
    """Run every job in its own thread, released together; their results in order."""
    barrier = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def run(i, job):
        barrier.wait()
        try:
            results[i] = job()
        except Exception as exc:  # the test inspects what each thread met
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return results


def test_twenty_decisions_at_once_over_the_api_one_wins(app, world):
    case = submitted(world)
    case_id, version = case.id, case.version
    latam = tokens.create_token(world.coordinator_latam, "desk").secret
    central = tokens.create_token(world.coordinator, "desk").secret

    def decide(secret, transition, payload):
        def job():
            # Each request runs in this thread's own app context and database session.
            resp = app.test_client().post(
                f"/api/v1/cases/{case_id}/transitions/{transition}",
                headers={"Authorization": f"Bearer {secret}"},
                json={"expected_version": version, "payload": payload})
            return resp.status_code, resp.get_json(force=True)
        return job

    jobs = [decide(latam, "declare_eligible", {}) for _ in range(THREADS // 2)] + \
           [decide(central, "declare_ineligible", {"reason": "Below the threshold"})
            for _ in range(THREADS // 2)]
    results = at_once(jobs)
    statuses = Counter(r[0] for r in results)
    assert statuses == {200: 1, 409: THREADS - 1}, results
    winner = next(body for status, body in results if status == 200)
    for status, body in results:
        if status == 409:
            assert body["type"] == "urn:citypair:problem:stale-version"
            assert "Someone else changed this case" in body["detail"]
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    assert case.state == winner["target"] and case.version == winner["version"]
    decisions = db.session.scalars(select(AuditEvent).where(
        AuditEvent.case_id == case_id,
        AuditEvent.action.in_(["declare_eligible", "declare_ineligible"]))).all()
    assert [e.action for e in decisions] == [winner["transition"]]
    assert decisions[0].from_state == "eligibility_review"
    # The losers left nothing behind: one decision mail, no half-written rows.
    mails = db.session.scalar(select(func.count(Notification.id)).where(
        Notification.case_id == case_id,
        Notification.template.in_(["declared_eligible", "declared_ineligible"])))
    assert mails == 1


def test_both_parties_accepting_at_once_never_leave_the_case_stuck(app, world):
    case = submitted(world)
    cases.fire(case.id, "declare_eligible", world.coordinator)
    cases.fire(case.id, "propose_pairing", world.coordinator,
               {"partner_city_id": world.partner_city.id})
    case_id = case.id

    def accept(user):
        def job():
            with app.app_context():
                try:
                    return cases.fire(case_id, "accept_pairing", user)
                finally:
                    db.session.remove()
        return job

    results = at_once([accept(world.applicant_a), accept(world.partner)])
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    facts = db.session.scalars(select(PartyFact.party).where(PartyFact.case_id == case_id)).all()
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert all(isinstance(r, Conflict) or getattr(r, "case_id", None) == case_id
               for r in results), results
    if conflicts:
        # One was told to try again; the other's acceptance stands alone.
        assert len(conflicts) == 1 and case.state == "pairing_proposed" and len(facts) == 1
    else:
        # They went one after the other: the second saw the first and moved the case.
        assert case.state == "agreement_pending"
        assert sorted(r.moved for r in results) == [False, True]


def test_the_audit_trail_refuses_updates_and_deletes(app, world):
    submitted(world)
    assert db.session.scalar(select(func.count(AuditEvent.id))) >= 2
    db.session.remove()
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET action = 'nothing happened'"))
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event"))
    event = db.session.scalar(select(AuditEvent).order_by(AuditEvent.id))
    event.payload = {"rewritten": True}
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(func.count(AuditEvent.id))) >= 2
    assert db.session.get(AuditEvent, event.id).payload != {"rewritten": True}
