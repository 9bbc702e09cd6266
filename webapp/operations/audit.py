"""The audit trail: writing its events, verifying its hash chains, and on PostgreSQL the
rights of the application's own database role.

``record`` is the one way an operation writes an event: it fills the actor's id, role and
name as they are now, the time, the case and its state, and leaves the chain's links to the
database (or ``hash_on_insert``), so every event is made the same way.

``verify`` walks every chain in order and names the first broken link: an event whose
``prev_hash`` is not the hash of the event before it (one was removed, added or moved), whose
own hash does not match what it records (what happened was changed), or whose personal
columns match neither their digest nor the digest an erasure recorded for them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, delete, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from webapp.db import db, utcnow
from webapp.models import Case, User
from webapp.models.audit import (
    AuditEvent,
    chain_hash,
    content_digest,
    new_salt,
    payload_text,
)

#: the event that records which events an erasure rewrote, and their new digests
ERASURE = "erase_person"
#: who acts when nobody does: the sweep, the retention rule, a deadline
SYSTEM_ROLE, SYSTEM_LABEL = "system", "citypair"


def record(session: Session, action: str, actor: User | None, *, case: Case | None = None,
           call_id: int | None = None, payload: dict[str, Any] | None = None,
           source_address: str = "", at: datetime | None = None,
           from_state: str | None = None, to_state: str | None = None) -> AuditEvent:
    """Add the event of ``action`` to the transaction and return it.

    ``actor`` None is the system. An event of a case is chained to the case's other events and
    records its state before and after (the case's state now, unless given: most actions do not
    move it); ``call_id`` names the call a change to a call's own parameters concerns. The hash
    chain fields are filled on insert.
    """
    state = case.state if case is not None else ""
    event = AuditEvent(
        case_id=case.id if case is not None else None, call_id=call_id, at=at or utcnow(),
        actor_id=actor.id if actor is not None else None,
        actor_role=actor.role if actor is not None else SYSTEM_ROLE,
        actor_label=actor.display_name if actor is not None else SYSTEM_LABEL,
        source_address=source_address, action=action,
        from_state=state if from_state is None else from_state,
        to_state=state if to_state is None else to_state, payload=payload or {})
    session.add(event)
    return event


@dataclass(frozen=True)
class Break:
    """A broken link: the event, its chain (a case id, or None) and what is wrong."""

    event_id: int
    case_id: int | None
    problem: str

    def __str__(self) -> str:
        chain = f"case {self.case_id}" if self.case_id is not None else "events of no case"
        return f"event {self.event_id} ({chain}): {self.problem}"


@dataclass
class Verification:
    """What ``verify`` found: counts, the chains' heads' fingerprint, and every break."""

    events: int = 0
    chains: int = 0
    breaks: list[Break] = field(default_factory=list)
    #: SHA-256 over every chain's last hash: note it elsewhere to notice a cut-off tail later
    fingerprint: str = ""

    @property
    def first(self) -> Break | None:
        return min(self.breaks, key=lambda b: b.event_id, default=None)

    @property
    def ok(self) -> bool:
        return not self.breaks


def _rows(batch: int) -> Iterator:
    columns = (AuditEvent.id, AuditEvent.case_id, AuditEvent.call_id, AuditEvent.at,
               AuditEvent.actor_id, AuditEvent.actor_role, AuditEvent.action,
               AuditEvent.from_state, AuditEvent.to_state, AuditEvent.actor_label,
               AuditEvent.source_address,
               cast(AuditEvent.payload, Text).label("payload_text"), AuditEvent.payload,
               AuditEvent.content_salt, AuditEvent.content_digest, AuditEvent.prev_hash,
               AuditEvent.chain_hash)
    query = (select(*columns)
             .order_by(AuditEvent.case_id.asc().nulls_first(), AuditEvent.id)
             .execution_options(yield_per=batch))
    yield from db.session.execute(query)


def verify(batch: int = 2000) -> Verification:
    """Walk every chain of the audit trail and report each broken link."""
    result = Verification()
    heads = hashlib.sha256()
    chain: object = object()  # no chain yet
    previous = ""
    last_hash = ""
    #: events whose personal columns differ from their digest: id -> (chain, actual digest)
    rewritten: dict[int, tuple[int | None, str]] = {}
    #: digests erasures recorded: id -> digest (a later erasure's wins)
    recorded: dict[int, str] = {}
    for row in _rows(batch):
        result.events += 1
        if row.case_id != chain:
            if result.events > 1:
                heads.update(f"{chain}:{last_hash};".encode())
            chain, previous = row.case_id, ""
            result.chains += 1
        if row.prev_hash != previous:
            result.breaks.append(Break(row.id, row.case_id, "it does not follow the event "
                                       "before it in its chain (an event was removed, added "
                                       "or moved)"))
        expected = chain_hash(row.prev_hash, row.case_id, row.at, row.actor_id, row.actor_role,
                              row.action, row.from_state, row.to_state, row.content_digest,
                              row.call_id)
        if expected != row.chain_hash:
            result.breaks.append(Break(row.id, row.case_id, "what it records (time, actor, "
                                       "action, states or call) was changed after it was "
                                       "written"))
        actual = content_digest(row.content_salt, row.actor_label, row.source_address,
                                row.payload_text)
        if actual != row.content_digest:
            rewritten[row.id] = (row.case_id, actual)
        if row.action == ERASURE and row.case_id is None:
            for event_id, digest in ((row.payload or {}).get("rewritten") or {}).items():
                if str(event_id).isdigit():
                    recorded[int(event_id)] = str(digest)
        previous = last_hash = row.chain_hash
    if result.events:
        heads.update(f"{chain}:{last_hash};".encode())
    for event_id, (case_id, actual) in rewritten.items():
        if recorded.get(event_id) != actual:
            result.breaks.append(Break(event_id, case_id, "its actor, address or payload was "
                                       "changed, and no erasure recorded the change"))
    result.fingerprint = heads.hexdigest()
    return result


# -- the application's database role (PostgreSQL) -------------------------------------------

#: the functions through which the application role erases and applies retention
SANCTIONED_FUNCTIONS = ("audit_pseudonymise(integer, integer, text, text, text, json)",
                        "audit_retire_cases(integer)")


def grant_app_role(conn: Connection, role: str) -> None:
    """Give ``role`` what the running application needs and nothing more: read and write
    every table, except that the audit trail takes only inserts and the migrations' record
    is read-only, and call the two sanctioned functions. Run it as the schema owner, after
    the migrations (``citypair init-db`` does, with ``DATABASE_APP_ROLE``)."""
    quote = conn.dialect.identifier_preparer.quote
    quoted = quote(role)
    schema = quote(conn.scalar(text("SELECT current_schema()")))
    database = quote(conn.scalar(text("SELECT current_database()")))
    for statement in (
        f"GRANT CONNECT ON DATABASE {database} TO {quoted}",
        f"GRANT USAGE ON SCHEMA {schema} TO {quoted}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {quoted}",
        f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {quoted}",
        f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_event FROM {quoted}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {quoted}",
        *(f"GRANT EXECUTE ON FUNCTION {fn} TO {quoted}" for fn in SANCTIONED_FUNCTIONS),
    ):
        conn.execute(text(statement))


# -- the two sanctioned paths: erasure and retention ----------------------------------------

@dataclass(frozen=True)
class Rewrite:
    """An event's personal columns as an erasure leaves them, with a fresh salt."""

    event_id: int
    salt: str
    actor_label: str
    source_address: str
    payload: str  # the JSON text to store

    @property
    def digest(self) -> str:
        return content_digest(self.salt, self.actor_label, self.source_address, self.payload)


def pseudonymised(event_id: int, actor_label: str, source_address: str,
                  payload: dict[str, Any]) -> Rewrite:
    """The rewrite of one event's personal columns."""
    return Rewrite(event_id, new_salt(), actor_label, source_address, payload_text(payload))


def rewrite_personal_columns(session: Session, erasure_id: int,
                             rewrites: list[Rewrite]) -> None:
    """Apply ``rewrites`` that the chained ``erasure_id`` event (of this transaction)
    recorded; on PostgreSQL through ``audit_pseudonymise``, the only way there."""
    postgres = session.get_bind().dialect.name == "postgresql"
    for r in rewrites:
        if postgres:
            session.execute(text(
                "SELECT audit_pseudonymise(:record, :event, :salt, :label, :address, "
                "CAST(:payload AS json))"),
                {"record": erasure_id, "event": r.event_id, "salt": r.salt,
                 "label": r.actor_label, "address": r.source_address, "payload": r.payload})
        else:
            session.execute(text(
                "UPDATE audit_event SET content_salt = :salt, actor_label = :label, "
                "source_address = :address, payload = :payload WHERE id = :event"),
                {"event": r.event_id, "salt": r.salt, "label": r.actor_label,
                 "address": r.source_address, "payload": r.payload})


def chain_heads(session: Session, case_ids: list[int]) -> dict[str, str]:
    """The last hash of each case's chain, for the record of a retention."""
    last = (select(AuditEvent.case_id, func.max(AuditEvent.id).label("id"))
            .where(AuditEvent.case_id.in_(case_ids)).group_by(AuditEvent.case_id).subquery())
    rows = session.execute(select(AuditEvent.case_id, AuditEvent.chain_hash)
                           .join(last, AuditEvent.id == last.c.id))
    return {str(case_id): head for case_id, head in rows}


def retire_cases(session: Session, retention_id: int, case_ids: list[int]) -> int:
    """Delete the whole history of the cases the chained ``retention_id`` event (of this
    transaction) lists; on PostgreSQL through ``audit_retire_cases``, the only way there."""
    if session.get_bind().dialect.name == "postgresql":
        return session.scalar(text("SELECT audit_retire_cases(:record)"),
                              {"record": retention_id}) or 0
    return session.execute(delete(AuditEvent).where(AuditEvent.case_id.in_(case_ids))
                           .execution_options(synchronize_session=False)).rowcount or 0
