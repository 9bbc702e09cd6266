"""audit trail: an event's hash covers the call it concerns, and erasure cannot move it

Changes to a call are events of no case that name their call (``audit_event.call_id``); they
join the chain of events of no case. Their hash now covers the call too, appended after the
other fields only when there is one, so every event without a call keeps the hash it has.
Events that named a call before this revision are linked again, with the rest of their chain.
On PostgreSQL the insert trigger hashes the call, and the erasure path refuses to change it.

Revision ID: febd845b391c
Revises: e005d03882f7, f9b35b5781a0
Create Date: 2026-12-03 16:00:00.000000
"""
import hashlib
from collections.abc import Sequence
from datetime import UTC

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = 'febd845b391c'
down_revision: str | Sequence[str] | None = ('e005d03882f7', 'f9b35b5781a0')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _sha256(*parts) -> str:
    # The same as webapp.models.audit, frozen here as this revision writes it.
    text = "".join(f"{len(p)}:{p}" for p in ("" if v is None else str(v) for v in parts))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _moment(at) -> str:
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _link_events_of_no_case(bind, with_call: bool) -> None:
    """Link the chain of events of no case again, in id order, from its first event that
    names a call; ``with_call`` says whether the hash covers the call."""
    first = bind.scalar(sa.text(
        "SELECT min(id) FROM audit_event WHERE case_id IS NULL AND call_id IS NOT NULL"))
    if first is None:
        return
    prev = bind.scalar(sa.text(
        "SELECT chain_hash FROM audit_event WHERE case_id IS NULL AND id < :first "
        "ORDER BY id DESC LIMIT 1"), {"first": first}) or ""
    rows = bind.execute(sa.text(
        "SELECT id, call_id, at, actor_id, actor_role, action, from_state, to_state, "
        "content_digest FROM audit_event WHERE case_id IS NULL AND id >= :first ORDER BY id"
    ).columns(at=sa.DateTime(timezone=True)), {"first": first}).all()
    for r in rows:
        call = (r.call_id,) if with_call and r.call_id is not None else ()
        link = _sha256(prev, None, _moment(r.at), r.actor_id, r.actor_role, r.action,
                       r.from_state, r.to_state, r.content_digest, *call)
        bind.execute(sa.text("UPDATE audit_event SET prev_hash = :p, chain_hash = :h "
                             "WHERE id = :id"), {"p": prev, "h": link, "id": r.id})
        prev = link


def _append_only(call_check: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    owner boolean := audit_by_owner(TG_RELID);
BEGIN
    IF TG_OP = 'UPDATE' AND owner AND current_setting('citypair.erasure', true) = 'on' THEN
        -- Only who did it, from where, and the salt may change; what happened and the
        -- chain stay as they were.
        IF NEW.id = OLD.id
           AND NEW.case_id IS NOT DISTINCT FROM OLD.case_id{call_check}
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


def _chain_trigger(call_argument: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION audit_event_chain() RETURNS trigger LANGUAGE plpgsql AS $$
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
                                       NEW.to_state, NEW.content_digest{call_argument});
    RETURN NEW;
END;
$$;
"""


OLD_CHAIN_HASH = "audit_chain_hash(text, integer, timestamptz, integer, text, text, text, text, text)"

CHAIN_HASH_WITH_CALL = """
CREATE FUNCTION audit_chain_hash(prev_hash text, case_id integer, at timestamptz,
                                 actor_id integer, actor_role text, action text,
                                 from_state text, to_state text, digest text,
                                 call_id integer DEFAULT NULL)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(
        audit_part(prev_hash) || audit_part(case_id::text)
        || audit_part(to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'))
        || audit_part(actor_id::text) || audit_part(actor_role) || audit_part(action)
        || audit_part(from_state) || audit_part(to_state) || audit_part(digest)
        || CASE WHEN call_id IS NULL THEN '' ELSE audit_part(call_id::text) END,
        'UTF8')), 'hex')
$$;
"""

CHAIN_HASH_WITHOUT_CALL = """
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
"""


def _relink(bind, with_call: bool) -> None:
    postgres = bind.dialect.name == "postgresql"
    if postgres:
        op.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
    _link_events_of_no_case(bind, with_call)
    if postgres:
        op.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")


def upgrade() -> None:
    bind = op.get_bind()
    _relink(bind, with_call=True)
    if bind.dialect.name != "postgresql":
        return  # SQLite: the application hashes events itself
    op.execute(f"DROP FUNCTION {OLD_CHAIN_HASH}")
    op.execute(CHAIN_HASH_WITH_CALL)
    op.execute(_chain_trigger(", NEW.call_id"))
    op.execute(_append_only("\n           AND NEW.call_id IS NOT DISTINCT FROM OLD.call_id"))


def downgrade() -> None:
    bind = op.get_bind()
    _relink(bind, with_call=False)
    if bind.dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION audit_chain_hash(text, integer, timestamptz, integer, text, "
               "text, text, text, text, integer)")
    op.execute(CHAIN_HASH_WITHOUT_CALL)
    op.execute(_chain_trigger(""))
    op.execute(_append_only(""))
