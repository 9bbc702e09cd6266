"""The application's own database role, as docker-compose sets it up (not a superuser, not the
schema owner, the grants of ``citypair init-db``): it runs the whole application, erasure and
retention included, and every way around the audit trail that the superuser the other tests
use would have is refused to it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError

from tests.integration.test_api import submitted
from tests.integration.test_audit_chain import expired_case
from tests.integration.test_privacy import story
from webapp.db import db, utcnow
from webapp.models import AuditEvent, User
from webapp.operations import audit, privacy

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


@pytest.fixture
def app_role(app) -> Iterator[str]:
    """A login role for this test database with exactly the application's grants; the URL
    the application would connect with as it."""
    owner_url = make_url(app.config["DATABASE_URL"])
    role = f"citypair_app_{uuid.uuid4().hex[:8]}"
    with db.engine.begin() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE '
                          "NOINHERIT"))
        audit.grant_app_role(conn, role)
    yield owner_url.set(username=role, password=None).render_as_string(hide_password=False)
    with db.engine.begin() as conn:
        conn.execute(text(f'DROP OWNED BY "{role}"'))
        conn.execute(text(f'DROP ROLE "{role}"'))


@contextmanager
def acting_as(app, url: str) -> Iterator[Engine]:
    """Run the application's operations as another role, then back as the owner."""
    db.configure(url)
    try:
        yield db.engine
    finally:
        db.configure(app.config["DATABASE_URL"])


@pytest.fixture
def as_app(app, app_role) -> Iterator[Engine]:
    with acting_as(app, app_role) as engine:
        yield engine


def refused(engine: Engine, *statements: str, match: str, **params) -> None:
    with engine.connect() as conn, pytest.raises(DBAPIError, match=match):
        for statement in statements:
            conn.execute(text(statement), params)


def test_the_app_role_is_neither_superuser_nor_owner(app, app_role):
    with psycopg.connect(app_role.replace("postgresql+psycopg", "postgresql")) as conn:
        row = conn.execute("SELECT rolsuper, pg_get_userbyid(c.relowner) = current_user "
                           "FROM pg_roles r, pg_class c WHERE r.rolname = current_user "
                           "AND c.relname = 'audit_event'").fetchone()
    assert row == (False, False)


def test_every_bypass_of_the_audit_trail_is_refused_to_the_app_role(app, world, as_app):
    case = submitted(world)  # written as the application role
    event = db.session.scalar(select(AuditEvent.id).where(AuditEvent.case_id == case.id))
    engine = as_app
    denied = "permission denied|must be owner"
    # Rewriting or removing history outright.
    refused(engine, "UPDATE audit_event SET actor_label = 'x' WHERE id = :id", match=denied,
            id=event)
    refused(engine, "DELETE FROM audit_event WHERE id = :id", match=denied, id=event)
    refused(engine, "TRUNCATE audit_event", match=denied)
    refused(engine, "TRUNCATE audit_event CASCADE", match=denied)
    # The sanctioned settings, set by the role itself, open nothing.
    refused(engine, "SELECT set_config('citypair.erasure', 'on', true)",
            "UPDATE audit_event SET actor_label = 'x' WHERE id = :id", match=denied, id=event)
    refused(engine, "SELECT set_config('citypair.retention', 'on', true)",
            "DELETE FROM audit_event WHERE id = :id", match=denied, id=event)
    # Switching the guards off.
    refused(engine, "DROP TRIGGER audit_event_append_only ON audit_event", match=denied)
    refused(engine, "DROP TRIGGER audit_event_chain ON audit_event", match=denied)
    refused(engine, "ALTER TABLE audit_event DISABLE TRIGGER ALL", match=denied)
    refused(engine, "SET session_replication_role = replica", match=denied)
    refused(engine, "DROP FUNCTION audit_event_append_only() CASCADE", match=denied)
    refused(engine, "CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger "
                    "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$", match=denied)
    # A function of its own, to run as someone else.
    refused(engine, "CREATE FUNCTION citypair_sneak() RETURNS void LANGUAGE sql "
                    "SECURITY DEFINER AS $$ DELETE FROM audit_event $$", match=denied)
    # A back-dated (or forward-dated) event.
    for at in (utcnow() - timedelta(days=30), utcnow() + timedelta(hours=2)):
        refused(engine, "INSERT INTO audit_event (case_id, at, actor_role, actor_label, "
                        "source_address, action, from_state, to_state, payload) VALUES "
                        "(:case, :at, 'coordinator', 'x', '', 'declare_eligible', "
                        "'eligibility_review', 'awaiting_pairing', '{}')",
                match="recorded when it happens", case=case.id, at=at)
    # The sanctioned functions without a record of this transaction to back them.
    refused(engine, "SELECT audit_pseudonymise(:id, :id, 's', 'x', '', '{}'::json)",
            match="not an erasure recorded in this transaction", id=event)
    refused(engine, "SELECT audit_retire_cases(:id)",
            match="not a retention recorded in this transaction", id=event)
    # Made-up hashes on an insert are replaced by the database's own.
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO audit_event (case_id, at, actor_role, actor_label, source_address, "
            "action, from_state, to_state, payload, content_salt, content_digest, prev_hash, "
            "chain_hash) VALUES (:case, now(), 'coordinator', 'x', '', 'comment', '', '', "
            "'{}', 's', 'd', 'forged', 'forged')"), {"case": case.id})
    assert audit.verify().ok
    db.session.remove()
    # Nothing of all that changed the trail.
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT actor_label FROM audit_event WHERE id = :id"),
                           {"id": event}) != "x"


def test_a_recorded_erasure_or_retention_cannot_be_stretched(app, world, as_app):
    case = submitted(world)
    event = db.session.scalar(select(AuditEvent.id).where(AuditEvent.case_id == case.id))
    engine = as_app
    with engine.connect() as conn:
        # An erasure recorded now still only allows the rewrite it recorded.
        record = conn.scalar(text(
            "INSERT INTO audit_event (at, actor_role, actor_label, source_address, action, "
            "from_state, to_state, payload) VALUES (now(), 'admin', 'a', '', 'erase_person', "
            "'', '', '{\"rewritten\": {}}') RETURNING id"))
        with pytest.raises(DBAPIError, match="did not record this change"):
            conn.execute(text("SELECT audit_pseudonymise(:r, :e, 's', 'x', '', '{}'::json)"),
                         {"r": record, "e": event})
        conn.rollback()
        # A retention recorded now may not reach a live case.
        record = conn.scalar(text(
            "INSERT INTO audit_event (at, actor_role, actor_label, source_address, action, "
            "from_state, to_state, payload) VALUES (now(), 'system', 'c', '', 'retention', "
            "'', '', :p) RETURNING id"), {"p": f'{{"case_ids": [{case.id}]}}'})
        with pytest.raises(DBAPIError, match="not due for retention"):
            conn.execute(text("SELECT audit_retire_cases(:r)"), {"r": record})
        conn.rollback()
    db.session.remove()
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.id == event)) == event


def test_the_app_role_runs_erasure_and_retention_and_the_trail_verifies(app, world, app_role):
    story(world)
    doomed = expired_case(world)
    anna_id, admin_id = world.applicant_a.id, world.admin.id
    with acting_as(app, app_role):
        done = privacy.erase_person(anna_id, db.session.get(User, admin_id))
        assert done.audit_events > 0
        retired = privacy.apply_retention()
        assert [c[0] for c in retired.cases] == [doomed.id]
        result = audit.verify()
        assert result.ok, [str(b) for b in result.breaks]
        assert not db.session.scalar(select(AuditEvent.id).where(
            AuditEvent.case_id == doomed.id))
