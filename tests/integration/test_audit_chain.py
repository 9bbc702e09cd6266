"""The audit trail's hash chains: a normal history verifies, a tamper done behind the
application's back is named at its first broken link, erasure and retention keep the trail
verifiable, and PostgreSQL computes exactly what Python checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from click.testing import CliRunner
from sqlalchemy import func, select, text

from tests.integration.test_concurrency import at_once
from tests.integration.test_country_migration import _alembic, scratch_url  # noqa: F401 (fixture)
from tests.integration.test_privacy import old_case, story
from webapp.db import db, make_engine, utcnow
from webapp.models import AuditEvent, Call
from webapp.models import audit as chain
from webapp.operations import audit, backoffice, privacy, tokens
from webapp.operations import calls as call_ops

pytestmark = pytest.mark.integration


def tamper(statement: str, **params) -> None:
    """Change the trail as someone with the database in hand would: on PostgreSQL a
    superuser switching the triggers off for the transaction."""
    db.session.remove()
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:  # SQLite keeps naive UTC text
            params = {k: v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
                      if isinstance(v, datetime) else v for k, v in params.items()}
        conn.execute(text(statement), params)


def events(case_id: int) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id)
                                   .order_by(AuditEvent.id)))


def cli(app, monkeypatch, *args: str):
    from webapp.cli import main

    monkeypatch.setattr("webapp.cli._app", lambda: app)
    return CliRunner().invoke(main, ["audit", "verify", *args])


def test_a_normal_history_verifies(app, world, monkeypatch):
    s = story(world)
    backoffice.add_comment(s.signed.id, world.coordinator, "All fine.", internal=True)
    trail = events(s.signed.id)
    assert len(trail) >= 6
    assert trail[0].prev_hash == "" and all(
        later.prev_hash == earlier.chain_hash for earlier, later in zip(trail, trail[1:]))
    result = audit.verify()
    assert result.ok, [str(b) for b in result.breaks]
    assert result.events == db.session.scalar(select(func.count(AuditEvent.id)))
    assert result.chains >= 3 and len(result.fingerprint) == 64
    out = cli(app, monkeypatch)
    assert out.exit_code == 0 and "ok: every link holds" in out.output
    assert result.fingerprint in out.output


@pytest.mark.parametrize("how", ["action", "at", "delete", "payload", "insert"])
def test_verify_names_the_first_broken_link(app, world, monkeypatch, how):
    s = story(world)
    trail = events(s.signed.id)
    victim, after = trail[2], trail[3]
    if how == "action":
        tamper("UPDATE audit_event SET action = 'declare_ineligible' WHERE id = :id",
               id=victim.id)
        expected, words = victim.id, "what it records"
    elif how == "at":
        tamper("UPDATE audit_event SET at = :at WHERE id = :id",
               at=victim.at - timedelta(days=3), id=victim.id)
        expected, words = victim.id, "what it records"
    elif how == "delete":
        tamper("DELETE FROM audit_event WHERE id = :id", id=victim.id)
        expected, words = after.id, "does not follow"
    elif how == "payload":
        tamper("UPDATE audit_event SET payload = :p WHERE id = :id",
               p='{"partner_city_id": 999}', id=victim.id)
        expected, words = victim.id, "no erasure recorded"
    else:
        # A forged event added to the chain, claiming to follow the victim.
        tamper("INSERT INTO audit_event (id, case_id, at, actor_role, actor_label, "
               "source_address, action, from_state, to_state, payload, content_salt, "
               "content_digest, prev_hash, chain_hash) VALUES (:id, :case, :at, 'admin', "
               "'x', '', 'reopen', '', '', '{}', '', '', :prev, :hash)",
               id=victim.id * 1000, case=s.signed.id, at=victim.at, prev=victim.chain_hash,
               hash="0" * 64)
        expected, words = victim.id * 1000, "does not follow"
    result = audit.verify()
    assert not result.ok and result.first.event_id == expected, [str(b) for b in result.breaks]
    assert words in result.first.problem and result.first.case_id == s.signed.id
    out = cli(app, monkeypatch)
    assert out.exit_code == 1
    assert f"broken: event {expected} (case {s.signed.id})" in out.output


def test_erasure_keeps_the_trail_verifiable_and_records_what_it_changed(app, world):
    story(world)
    anna_id = world.applicant_a.id
    mine = [e.id for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.actor_id == anna_id))]
    digests = {e.id: e.content_digest for e in db.session.scalars(select(AuditEvent))}
    done = privacy.erase_person(anna_id, world.admin, source_address="198.51.100.1")
    db.session.expire_all()
    result = audit.verify()
    assert result.ok, [str(b) for b in result.breaks]
    record = db.session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
    assert record.action == "erase_person" and len(record.payload["rewritten"]) == \
        done.audit_events >= len(mine)
    for event_id in mine:
        event = db.session.get(AuditEvent, event_id)
        # Digest and chain stay; the personal columns and their salt changed.
        assert event.content_digest == digests[event_id]
        assert record.payload["rewritten"][str(event_id)] == chain.content_digest(
            event.content_salt, event.actor_label, event.source_address,
            chain.payload_text(event.payload))
    # A second erasure of someone already named in rewritten events still verifies.
    privacy.erase_person(world.partner.id, world.admin)
    assert audit.verify().ok
    # Changing an erased event afterwards is caught like any other change.
    tamper("UPDATE audit_event SET actor_label = 'Someone else' WHERE id = :id", id=mine[0])
    broken = audit.verify()
    assert broken.first.event_id == mine[0] and "no erasure recorded" in broken.first.problem


def expired_case(world):
    """An ineligible application to a call that closed six years ago: due for retention."""
    now = utcnow()
    old = Call(programme=world.programme, slug="old", kind="city-to-city", title="Old call",
               opens_at=now - timedelta(days=7 * 365), closes_at=now - timedelta(days=6 * 365))
    db.session.add(old)
    db.session.commit()
    return old_case(world, old, "OLD-1", "ineligible")


def test_retention_keeps_the_trail_verifiable(app, world):
    doomed = expired_case(world)
    backoffice.add_comment(doomed.id, world.coordinator, "Too small.", internal=True)
    heads = audit.chain_heads(db.session, [doomed.id])
    done = privacy.apply_retention()
    assert [c[0] for c in done.cases] == [doomed.id]
    db.session.expire_all()
    assert not events(doomed.id)
    assert audit.verify().ok
    record = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "retention"))
    assert record.payload["case_ids"] == [doomed.id]
    assert record.payload["chain_heads"] == heads


@pytest.mark.postgres  # SQLite takes one writer at a time; the race is PostgreSQL's
def test_events_written_at_once_stay_in_one_chain(app, world):
    def make(n: int):
        def job():
            with app.app_context():
                return tokens.create_token(world.coordinator_latam, f"script {n}").token.id
        return job

    made = at_once([make(n) for n in range(8)])
    assert all(isinstance(m, int) for m in made), made
    db.session.remove()
    result = audit.verify()
    assert result.ok, [str(b) for b in result.breaks]


def call_history(world) -> Call:
    """A call created, changed and published from the back office: three events that name
    the call and no case."""
    now = utcnow()
    data = call_ops.CallData(
        programme_id=world.programme.id, kind="city-to-city", title="IURC city call 2027",
        partner_regions=["Asia"], opens_at=now + timedelta(days=10),
        closes_at=now + timedelta(days=70))
    call = call_ops.create_call(world.coordinator, data, source_address="192.0.2.7")
    data.title = "IURC city call 2027, Asia"
    call = call_ops.update_call(call.id, world.coordinator, data,
                                expected_version=call.version)
    call_ops.publish_call(call.id, world.admin, expected_version=call.version)
    return call


def test_a_calls_changes_join_the_chain_of_events_of_no_case(app, world, monkeypatch):
    call = call_history(world)
    trail = list(db.session.scalars(select(AuditEvent).where(AuditEvent.call_id == call.id)
                                    .order_by(AuditEvent.id)))
    assert [e.action for e in trail] == ["create_call", "update_call", "publish_call"]
    assert all(e.case_id is None for e in trail)
    # Each hash covers the call: the same event naming no call would hash otherwise.
    last = trail[-1]
    assert last.chain_hash == chain.chain_hash(
        last.prev_hash, None, last.at, last.actor_id, last.actor_role, last.action,
        last.from_state, last.to_state, last.content_digest, call.id)
    assert last.chain_hash != chain.chain_hash(
        last.prev_hash, None, last.at, last.actor_id, last.actor_role, last.action,
        last.from_state, last.to_state, last.content_digest)
    result = audit.verify()
    assert result.ok, [str(b) for b in result.breaks]
    out = cli(app, monkeypatch)
    assert out.exit_code == 0 and "ok: every link holds" in out.output
    # Moving an event to another call is a change of what it records.
    other = Call(programme=world.programme, slug="other", kind="city-to-city", title="Other",
                 opens_at=call.opens_at, closes_at=call.closes_at)
    db.session.add(other)
    db.session.commit()
    tamper("UPDATE audit_event SET call_id = :other WHERE id = :id", other=other.id,
           id=trail[1].id)
    broken = audit.verify()
    assert broken.first.event_id == trail[1].id and "what it records" in broken.first.problem


@pytest.mark.postgres
def test_postgresql_hashes_what_python_checks(app):
    tricky = ["", "Anna Martínez", "名古屋 🏙", "line\nbreak", '{"a": "\\u00e9"}', "x" * 300]
    at = datetime(2026, 12, 3, 9, 5, 7, 123456, tzinfo=UTC)
    with db.engine.connect() as conn:
        for value in tricky:
            sql = conn.scalar(text("SELECT audit_content_digest(:s, :l, :a, :p)"),
                              {"s": "salt", "l": value, "a": "192.0.2.1", "p": value})
            assert sql == chain.content_digest("salt", value, "192.0.2.1", value)
            sql = conn.scalar(text(
                "SELECT audit_chain_hash(:prev, :case, :at, NULL, 'applicant', :action, "
                "'draft', '', :digest)"),
                {"prev": value, "case": 7, "at": at, "action": "submit", "digest": value})
            assert sql == chain.chain_hash(value, 7, at, None, "applicant", "submit", "draft",
                                           "", value)
            sql = conn.scalar(text(
                "SELECT audit_chain_hash(:prev, NULL, :at, 3, 'coordinator', 'update_call', "
                "'', '', :digest, :call)"),
                {"prev": value, "at": at, "digest": value, "call": 12})
            assert sql == chain.chain_hash(value, None, at, 3, "coordinator", "update_call",
                                           "", "", value, 12)


def test_upgrading_links_the_events_that_named_a_call_again(scratch_url):  # noqa: F811
    """A database where calls were audited before their hash covered the call: upgrading
    links the chain of events of no case again, and every link then holds."""
    cfg = _alembic(scratch_url)
    command.upgrade(cfg, "e005d03882f7")
    command.upgrade(cfg, "f9b35b5781a0")
    engine = make_engine(scratch_url)
    meta = sa.MetaData()
    meta.reflect(engine, only=["programme", "call", "audit_event"])
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(meta.tables["programme"].insert(), {"id": 1, "slug": "iuc", "name": "IUC",
                                                         "targets": {}})
        conn.execute(meta.tables["call"].insert(), {
            "id": 1, "programme_id": 1, "slug": "c2c", "kind": "city-to-city", "title": "Call",
            "summary": "", "partner_regions": ["Asia"], "partner_countries": [],
            "opens_at": now, "closes_at": now, "timezone": "Europe/Brussels",
            "published": True, "archived": False, "population_threshold": 100_000,
            "eligible_countries": [], "allowed_org_types": ["city"], "cooperation_months": 18,
            "report_interval_months": 6, "settings": {}, "created_at": now})
        prev = ""
        for n, (action, call_id) in enumerate([("create_token", None), ("create_call", 1),
                                               ("publish_call", 1), ("revoke_token", None)], 1):
            # As the application wrote them then (PostgreSQL's trigger does it itself).
            salt = f"salt{n}"
            digest = chain.content_digest(salt, "Ada", "", "{}")
            link = chain.chain_hash(prev, None, now, None, "admin", action, "", "", digest)
            conn.execute(meta.tables["audit_event"].insert(), {
                "id": n, "case_id": None, "call_id": call_id, "at": now, "actor_role": "admin",
                "actor_label": "Ada", "source_address": "", "action": action,
                "from_state": "", "to_state": "", "payload": {}, "content_salt": salt,
                "content_digest": digest, "prev_hash": prev, "chain_hash": link})
            prev = link
    command.upgrade(cfg, "heads")
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT id, call_id, at, actor_id, actor_role, action, from_state, to_state, "
            "content_digest, prev_hash, chain_hash FROM audit_event ORDER BY id"
        ).columns(at=sa.DateTime(timezone=True))).all()
    assert [r.call_id for r in rows] == [None, 1, 1, None]
    previous = ""
    for r in rows:
        assert r.prev_hash == previous
        assert r.chain_hash == chain.chain_hash(r.prev_hash, None, r.at, r.actor_id,
                                                r.actor_role, r.action, r.from_state,
                                                r.to_state, r.content_digest, r.call_id)
        previous = r.chain_hash
    # Going back links them as they were, without the call.
    command.downgrade(cfg, "e005d03882f7")
    engine.dispose()
