"""audit trail: hash chains, and on PostgreSQL rules the application's own role cannot bend

Revision ID: e005d03882f7
Revises: e7a5e0f1d2c3
Create Date: 2026-12-03 10:00:00.000000

Every event gets a salt, the digest of its personal columns, the hash of the event before it
in its chain (its case's, or the chain of events of no case) and its own hash; the events
already there are linked in id order. On PostgreSQL:

- a BEFORE INSERT trigger computes all four itself, under a lock per chain, and gives the
  event its id there, so ids follow each chain's order; for any role but the schema owner it
  refuses an event whose time is not now (give or take a few minutes);
- updates, deletes and TRUNCATE are refused, except for the schema owner with the erasure or
  retention setting on: the two SECURITY DEFINER functions below, owned by the schema owner,
  turn it on for their one statement and are how the application role gets there. It may
  call them, not imitate them: a setting it sets itself does not make it the owner;
- ``audit_pseudonymise`` rewrites an event's personal columns only to the digest that an
  ``erase_person`` event of the same transaction recorded for it, so every rewrite is itself
  in a chain; ``audit_retire_cases`` deletes the history of the cases a ``retention`` event of
  the same transaction lists, and only of cases whose call closed more than a year ago and
  that never reached an agreement or a cooperation.
"""
import hashlib
import json
import secrets
from collections.abc import Sequence
from datetime import UTC

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = 'e005d03882f7'
down_revision: str | Sequence[str] | None = 'e7a5e0f1d2c3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (('content_salt', 32), ('content_digest', 64), ('prev_hash', 64), ('chain_hash', 64))


def _sha256(*parts) -> str:
    # The same as webapp.models.audit, frozen here as this migration wrote it.
    text = "".join(f"{len(p)}:{p}" for p in ("" if v is None else str(v) for v in parts))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _moment(at) -> str:
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _link_existing_events(bind) -> None:
    rows = bind.execute(sa.text(
        "SELECT id, case_id, at, actor_id, actor_role, action, from_state, to_state, "
        "actor_label, source_address, CAST(payload AS TEXT) AS payload_text FROM audit_event "
        "ORDER BY case_id, id").columns(at=sa.DateTime(timezone=True))).all()
    previous: dict = {}
    for r in rows:
        salt = secrets.token_hex(16)
        digest = _sha256(salt, r.actor_label, r.source_address, r.payload_text or json.dumps({}))
        prev = previous.get(r.case_id, "")
        link = _sha256(prev, r.case_id, _moment(r.at), r.actor_id, r.actor_role, r.action,
                       r.from_state, r.to_state, digest)
        bind.execute(sa.text("UPDATE audit_event SET content_salt = :s, content_digest = :d, "
                             "prev_hash = :p, chain_hash = :h WHERE id = :id"),
                     {"s": salt, "d": digest, "p": prev, "h": link, "id": r.id})
        previous[r.case_id] = link


POSTGRES_FUNCTIONS = """
CREATE FUNCTION audit_part(v text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT length(coalesce(v, ''))::text || ':' || coalesce(v, '')
$$;

CREATE FUNCTION audit_content_digest(salt text, actor_label text, source_address text,
                                     payload text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(audit_part(salt) || audit_part(actor_label)
                                    || audit_part(source_address) || audit_part(payload),
                                    'UTF8')), 'hex')
$$;

CREATE FUNCTION audit_chain_hash(prev_hash text, case_id integer, at timestamptz,
                                 actor_id integer, actor_role text, action text,
                                 from_state text, to_state text, digest text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(
        audit_part(prev_hash) || audit_part(case_id::text)
        || audit_part(to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'))
        || audit_part(actor_id::text) || audit_part(actor_role) || audit_part(action)
        || audit_part(from_state) || audit_part(to_state) || audit_part(digest),
        'UTF8')), 'hex')
$$;

-- Whether the role at work owns the audit trail (inside the SECURITY DEFINER functions it
-- does); every other role is held to the rules.
CREATE FUNCTION audit_by_owner(relation oid) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT pg_get_userbyid(relowner) = current_user FROM pg_class WHERE oid = relation
$$;

CREATE FUNCTION audit_event_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head text;
BEGIN
    IF NOT audit_by_owner(TG_RELID)
       AND (NEW.at < now() - interval '5 minutes'
            OR NEW.at > clock_timestamp() + interval '1 minute') THEN
        RAISE EXCEPTION 'audit_event: an event is recorded when it happens (at %, now %)',
            NEW.at, now();
    END IF;
    -- One writer per chain at a time, until its transaction ends; the id is drawn under the
    -- lock, so a chain's order is its ids' order.
    PERFORM pg_advisory_xact_lock(1635083380, coalesce(NEW.case_id, 0));
    NEW.id := nextval(pg_get_serial_sequence(TG_TABLE_SCHEMA || '.audit_event', 'id'));
    IF NEW.case_id IS NULL THEN
        SELECT chain_hash INTO head FROM audit_event WHERE case_id IS NULL
            ORDER BY id DESC LIMIT 1;
    ELSE
        SELECT chain_hash INTO head FROM audit_event WHERE case_id = NEW.case_id
            ORDER BY id DESC LIMIT 1;
    END IF;
    NEW.prev_hash := coalesce(head, '');
    NEW.content_salt := replace(gen_random_uuid()::text, '-', '');
    NEW.content_digest := audit_content_digest(NEW.content_salt, NEW.actor_label,
                                               NEW.source_address, NEW.payload::text);
    NEW.chain_hash := audit_chain_hash(NEW.prev_hash, NEW.case_id, NEW.at, NEW.actor_id,
                                       NEW.actor_role, NEW.action, NEW.from_state,
                                       NEW.to_state, NEW.content_digest);
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    owner boolean := audit_by_owner(TG_RELID);
BEGIN
    IF TG_OP = 'UPDATE' AND owner AND current_setting('citypair.erasure', true) = 'on' THEN
        -- Only who did it, from where, and the salt may change; what happened and the
        -- chain stay as they were.
        IF NEW.id = OLD.id
           AND NEW.case_id IS NOT DISTINCT FROM OLD.case_id
           AND NEW.at = OLD.at
           AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id
           AND NEW.actor_role = OLD.actor_role
           AND NEW.action = OLD.action
           AND NEW.from_state = OLD.from_state
           AND NEW.to_state = OLD.to_state
           AND NEW.content_digest = OLD.content_digest
           AND NEW.prev_hash = OLD.prev_hash
           AND NEW.chain_hash = OLD.chain_hash THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'erasure may change only the personal columns of audit_event';
    END IF;
    IF TG_OP = 'DELETE' AND owner AND current_setting('citypair.retention', true) = 'on'
       AND OLD.case_id IS NOT NULL THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_event is append-only';
END;
$$;
"""

SANCTIONED = """
CREATE FUNCTION audit_pseudonymise(p_record integer, p_event integer, p_salt text,
                                   p_label text, p_address text, p_payload json) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
DECLARE
    erasure audit_event;
BEGIN
    SELECT * INTO erasure FROM audit_event WHERE id = p_record;
    IF erasure.id IS NULL OR erasure.action <> 'erase_person'
       OR (SELECT xmin FROM audit_event WHERE id = p_record) <> pg_current_xact_id()::xid THEN
        RAISE EXCEPTION 'audit_pseudonymise: % is not an erasure recorded in this transaction',
            p_record;
    END IF;
    IF (erasure.payload -> 'rewritten' ->> p_event::text) IS DISTINCT FROM
       audit_content_digest(p_salt, p_label, p_address, p_payload::text) THEN
        RAISE EXCEPTION 'audit_pseudonymise: erasure % did not record this change of event %',
            p_record, p_event;
    END IF;
    -- The setting opens the path only for the owner this function runs as, and only here.
    PERFORM set_config('citypair.erasure', 'on', true);
    UPDATE audit_event SET content_salt = p_salt, actor_label = p_label,
                           source_address = p_address, payload = p_payload
        WHERE id = p_event;
    PERFORM set_config('citypair.erasure', '', true);
END;
$$;

CREATE FUNCTION audit_retire_cases(p_record integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
DECLARE
    retention audit_event;
    ids integer[];
    kept integer;
    removed integer;
BEGIN
    SELECT * INTO retention FROM audit_event WHERE id = p_record;
    IF retention.id IS NULL OR retention.action <> 'retention'
       OR (SELECT xmin FROM audit_event WHERE id = p_record) <> pg_current_xact_id()::xid THEN
        RAISE EXCEPTION 'audit_retire_cases: % is not a retention recorded in this transaction',
            p_record;
    END IF;
    SELECT coalesce(array_agg(value::integer), '{{}}')
        INTO ids FROM json_array_elements_text(retention.payload -> 'case_ids');
    SELECT c.id INTO kept FROM "case" c JOIN call ON call.id = c.call_id
        WHERE c.id = ANY(ids)
          AND (call.closes_at >= now() - interval '1 year' OR c.cooperation_start IS NOT NULL
               OR EXISTS (SELECT 1 FROM agreement a WHERE a.case_id = c.id))
        LIMIT 1;
    IF kept IS NOT NULL THEN
        RAISE EXCEPTION 'audit_retire_cases: case % is not due for retention', kept;
    END IF;
    PERFORM set_config('citypair.retention', 'on', true);
    DELETE FROM audit_event WHERE case_id = ANY(ids);
    GET DIAGNOSTICS removed = ROW_COUNT;
    PERFORM set_config('citypair.retention', '', true);
    RETURN removed;
END;
$$;

REVOKE ALL ON FUNCTION audit_pseudonymise(integer, integer, text, text, text, json) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_retire_cases(integer) FROM PUBLIC;
"""


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        for name, length in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=True))
        batch_op.create_index('ix_audit_event_chain', ['case_id', 'id'], unique=False)
    if postgres:
        op.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
    _link_existing_events(bind)
    if postgres:
        op.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        for name, length in COLUMNS:
            batch_op.alter_column(name, existing_type=sa.String(length=length), nullable=False)
    if not postgres:
        return  # SQLite: the application links events itself, one writer at a time
    schema = bind.scalar(sa.text("SELECT current_schema()"))
    op.execute(POSTGRES_FUNCTIONS)
    op.execute(SANCTIONED.format(schema=bind.dialect.identifier_preparer.quote(schema)))
    op.execute("""
        CREATE TRIGGER audit_event_chain BEFORE INSERT ON audit_event
            FOR EACH ROW EXECUTE FUNCTION audit_event_chain();
        CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
            FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();
    """)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("""
            DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event;
            DROP TRIGGER IF EXISTS audit_event_chain ON audit_event;
            DROP FUNCTION IF EXISTS audit_retire_cases(integer);
            DROP FUNCTION IF EXISTS audit_pseudonymise(integer, integer, text, text, text, json);
            DROP FUNCTION IF EXISTS audit_event_chain();
            DROP FUNCTION IF EXISTS audit_chain_hash(text, integer, timestamptz, integer, text,
                                                     text, text, text, text);
            DROP FUNCTION IF EXISTS audit_content_digest(text, text, text, text);
            CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'UPDATE' AND current_setting('citypair.erasure', true) = 'on' THEN
                    IF NEW.id = OLD.id
                       AND NEW.case_id IS NOT DISTINCT FROM OLD.case_id
                       AND NEW.at = OLD.at
                       AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id
                       AND NEW.actor_role = OLD.actor_role
                       AND NEW.action = OLD.action
                       AND NEW.from_state = OLD.from_state
                       AND NEW.to_state = OLD.to_state THEN
                        RETURN NEW;
                    END IF;
                    RAISE EXCEPTION 'erasure may change only the personal columns of audit_event';
                END IF;
                IF TG_OP = 'DELETE' AND current_setting('citypair.retention', true) = 'on'
                   AND OLD.case_id IS NOT NULL THEN
                    RETURN OLD;
                END IF;
                RAISE EXCEPTION 'audit_event is append-only';
            END;
            $$ LANGUAGE plpgsql;
            DROP FUNCTION IF EXISTS audit_by_owner(oid);
            DROP FUNCTION IF EXISTS audit_part(text);
        """)
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_chain')
        for name, _length in reversed(COLUMNS):
            batch_op.drop_column(name)
