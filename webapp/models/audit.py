"""The append-only audit trail of every change to a case, a call or a programme, kept as
hash chains.

Each case's events form one chain, and the events of no case (calls, programmes, tokens,
erasures, the retention rule) another: every event carries the hash of the one before it in
its chain. Per-case chains let two cases be written at once without waiting on each other, and
let the retention rule delete a whole case's history without leaving a gap in any chain that
remains.

An event's hash covers what happened (case, time, actor's id and role, action, states, and the
call a change to a call names) and ``content_digest``, the digest of its personal columns
(actor's name, network address, payload) salted with ``content_salt``. Erasure may rewrite the
personal columns (and the salt, so the old digest cannot be tested against guessed names); it
records the new digest of each event it rewrote in its own, chained, ``erase_person`` event, so
the trail still verifies. On PostgreSQL a trigger computes all of this on insert; elsewhere the
ORM does (``hash_on_insert``), both with the functions below.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import FetchedValue, ForeignKey, Index, String, event, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Mapper, mapped_column, object_session

from webapp.db import Base, utcnow


class AuditEvent(Base):
    """One thing that happened to a case or a call; never updated, never deleted."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_case_at", "case_id", "at"),
                      Index("ix_audit_event_chain", "case_id", "id"),
                      Index("ix_audit_event_call_at", "call_id", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id", ondelete="RESTRICT"))
    #: the call a change to a call's own parameters concerns (case_id is then empty)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call.id", ondelete="RESTRICT"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    #: applicant, partner, coordinator, admin or system
    actor_role: Mapped[str] = mapped_column(String(20))
    #: the actor's name as it was then (pseudonymised on erasure)
    actor_label: Mapped[str] = mapped_column(String(200), default="")
    source_address: Mapped[str] = mapped_column(String(64), default="")
    #: a transition name, or another action such as "comment" or "upload"
    action: Mapped[str] = mapped_column(String(60))
    from_state: Mapped[str] = mapped_column(String(40), default="")
    to_state: Mapped[str] = mapped_column(String(40), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: random; salts the digest of the personal columns (erasure replaces it with them)
    content_salt: Mapped[str] = mapped_column(String(32), server_default=FetchedValue())
    #: hex SHA-256 of the salt and the personal columns (actor_label, source_address, payload)
    content_digest: Mapped[str] = mapped_column(String(64), server_default=FetchedValue())
    #: the chain_hash of the event before this one in its chain; empty for the first
    prev_hash: Mapped[str] = mapped_column(String(64), server_default=FetchedValue())
    #: hex SHA-256 of prev_hash, what happened and content_digest
    chain_hash: Mapped[str] = mapped_column(String(64), server_default=FetchedValue())


def _part(value: Any) -> str:
    # Length-prefixed, so no two different lists of fields give the same text.
    text = "" if value is None else str(value)
    return f"{len(text)}:{text}"


def _sha256(*parts: Any) -> str:
    return hashlib.sha256("".join(_part(p) for p in parts).encode("utf-8")).hexdigest()


def moment(at: datetime) -> str:
    """``at`` as the hashes see it: UTC to the microsecond (naive means UTC, as SQLite
    keeps it)."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")


def payload_text(payload: dict[str, Any] | None) -> str:
    """The payload as the JSON column stores it (the text the digest covers)."""
    return json.dumps(payload if payload is not None else {})


def content_digest(salt: str, actor_label: str, source_address: str, payload: str) -> str:
    """The digest of an event's personal columns, ``payload`` as stored text."""
    return _sha256(salt, actor_label, source_address, payload)


def chain_hash(prev_hash: str, case_id: int | None, at: datetime, actor_id: int | None,
               actor_role: str, action: str, from_state: str, to_state: str,
               digest: str, call_id: int | None = None) -> str:
    """An event's link in its chain."""
    # The call comes last and only when there is one: events without a call (all those
    # written before changes to calls were audited) keep the hash they were written with.
    call = () if call_id is None else (call_id,)
    return _sha256(prev_hash, case_id, moment(at), actor_id, actor_role, action, from_state,
                   to_state, digest, *call)


def new_salt() -> str:
    return secrets.token_hex(16)


_HEADS = "audit_chain_heads"


@event.listens_for(AuditEvent, "before_insert")
def hash_on_insert(mapper: Mapper[Any], connection: Connection, target: AuditEvent) -> None:
    """Link a new event into its chain where the database does not (SQLite): one writer at
    a time there, so the last event of the chain is the one to follow."""
    if connection.dialect.name == "postgresql":
        return  # the audit_event_chain trigger does it, under a lock, whoever inserts
    target.at = target.at or utcnow()
    target.payload = target.payload if target.payload is not None else {}
    target.actor_label = target.actor_label or ""
    target.source_address = target.source_address or ""
    target.from_state, target.to_state = target.from_state or "", target.to_state or ""
    # Several events of one chain in one flush follow each other, not the stored head.
    session = object_session(target)
    heads: dict[int | None, str] = session.info.setdefault(_HEADS, {}) if session else {}
    if target.case_id in heads:
        prev = heads[target.case_id]
    else:
        prev = connection.scalar(
            select(AuditEvent.chain_hash)
            .where(AuditEvent.case_id.is_(None) if target.case_id is None
                   else AuditEvent.case_id == target.case_id)
            .order_by(AuditEvent.id.desc()).limit(1)) or ""
    target.content_salt = new_salt()
    target.content_digest = content_digest(target.content_salt, target.actor_label,
                                           target.source_address, payload_text(target.payload))
    target.prev_hash = prev
    target.chain_hash = chain_hash(prev, target.case_id, target.at, target.actor_id,
                                   target.actor_role, target.action, target.from_state,
                                   target.to_state, target.content_digest, target.call_id)
    heads[target.case_id] = target.chain_hash


@event.listens_for(AuditEvent, "after_insert")
def _forget_heads(mapper: Mapper[Any], connection: Connection, target: AuditEvent) -> None:
    # The heads cached for one flush are read from the table again by the next.
    session = object_session(target)
    if session is not None:
        session.info.pop(_HEADS, None)
