"""The one builder of audit events: every event is filled the same way and chains."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from webapp.db import db, utcnow
from webapp.models import AuditEvent, Case
from webapp.operations import applications, audit

pytestmark = pytest.mark.integration


def test_an_event_names_its_actor_case_and_states_as_they_are(world):
    case = applications.start_application(world.applicant_a, world.call.id)
    at = utcnow() - timedelta(minutes=5)
    with db.transaction() as session:
        event = audit.record(session, "note", world.coordinator,
                             case=session.get(Case, case.id), at=at,
                             source_address="192.0.2.7", payload={"why": "a test"})
        session.flush()
        event_id = event.id
    stored = db.session.get(AuditEvent, event_id)
    assert (stored.case_id, stored.call_id, stored.action) == (case.id, None, "note")
    assert (stored.actor_id, stored.actor_role, stored.actor_label) == (
        world.coordinator.id, "coordinator", world.coordinator.display_name)
    # An action that does not move the case records its state on both sides.
    assert stored.from_state == stored.to_state == case.state
    assert stored.source_address == "192.0.2.7" and stored.payload == {"why": "a test"}
    # It follows the case's "start" event in the case's own chain.
    start = db.session.scalar(select(AuditEvent).where(AuditEvent.case_id == case.id,
                                                       AuditEvent.action == "start"))
    assert start.from_state == "" and start.to_state == case.state
    assert stored.prev_hash == start.chain_hash and stored.chain_hash
    assert audit.verify().ok


def test_the_system_acts_with_no_person_and_events_of_no_case_chain_apart(world):
    with db.transaction() as session:
        first = audit.record(session, "sweep", None, payload={"n": 1})
        second = audit.record(session, "change_call", world.admin, call_id=world.call.id)
        session.flush()
        ids = first.id, second.id
    first, second = (db.session.get(AuditEvent, i) for i in ids)
    assert (first.actor_id, first.actor_role, first.actor_label) == (None, "system", "citypair")
    assert first.case_id is None and first.from_state == first.to_state == ""
    assert second.call_id == world.call.id and second.payload == {}
    assert second.prev_hash == first.chain_hash
    result = audit.verify()
    assert result.ok, [str(b) for b in result.breaks]
