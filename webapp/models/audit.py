"""The append-only audit trail of every change to a case, a call or a programme."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base, utcnow


class AuditEvent(Base):
    """One thing that happened to a case or a call; never updated, never deleted."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_case_at", "case_id", "at"),
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
