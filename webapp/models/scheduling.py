"""Deadlines, their reminders and the notification outbox: the database is the scheduler."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db import Base, utcnow


class DeadlineStatus(enum.StrEnum):
    OPEN = "open"
    MET = "met"
    CANCELLED = "cancelled"


class NotificationStatus(enum.StrEnum):
    PENDING = "pending"  # written, waiting for a worker
    SENDING = "sending"  # claimed by one worker
    SENT = "sent"
    FAILED = "failed"  # a permanent refusal, or transient failures for longer than retried
    UNKNOWN = "unknown"  # the relay may have accepted it without saying so: staff decide
    SKIPPED = "skipped"  # the recipient switched this kind off
    DIGEST = "digest"  # held for the recipient's daily digest


class Deadline(Base):
    """A due time a state started; it is met or cancelled when the case leaves the state."""

    __tablename__ = "deadline"
    __table_args__ = (Index("ix_deadline_case_status", "case_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime]
    #: the zone the deadline was set in; people see it in their own
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Brussels")
    status: Mapped[str] = mapped_column(String(20), default=DeadlineStatus.OPEN)
    #: the state that started it
    state: Mapped[str] = mapped_column(String(40), default="")
    deliverable_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    #: how many times its date moved: calendars replace an event whose SEQUENCE grew
    sequence: Mapped[int] = mapped_column(default=0, server_default="0")

    reminders: Mapped[list[Reminder]] = relationship(
        back_populates="deadline", cascade="all, delete-orphan"
    )


class Reminder(Base):
    """One reminder of a deadline; the sweep turns it into notifications when it falls due."""

    __tablename__ = "reminder"
    __table_args__ = (
        # The sweep reads only undone rows by time: its cost follows the due work.
        Index(
            "ix_reminder_due",
            "scheduled_at",
            postgresql_where=text("done_at IS NULL"),
            sqlite_where=text("done_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deadline_id: Mapped[int] = mapped_column(ForeignKey("deadline.id", ondelete="CASCADE"),
                                             index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    #: minutes relative to the deadline (negative: before)
    offset_minutes: Mapped[int]
    scheduled_at: Mapped[datetime]
    #: recipient groups: applicant, partner, parties, coordinator
    recipients: Mapped[list[Any]] = mapped_column(default=list)
    template: Mapped[str] = mapped_column(String(80))
    #: skip a recipient whose party has already done this
    unless_done_by: Mapped[str | None] = mapped_column(String(40))
    done_at: Mapped[datetime | None]
    #: sent, skipped (already done) or cancelled (deadline ended)
    outcome: Mapped[str] = mapped_column(String(20), default="")

    deadline: Mapped[Deadline] = relationship(back_populates="reminders")


class Notification(Base):
    """One e-mail to one person: the outbox row a worker claims, renders and sends."""

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: unique per (what, case, deadline, offset, recipient): a second write is a no-op
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"),
                                                index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"),
                                                index=True)
    to_email: Mapped[str] = mapped_column(String(320))
    to_name: Mapped[str] = mapped_column(String(200), default="")
    template: Mapped[str] = mapped_column(String(80))
    #: optional kinds can be switched off or batched; deadline mail cannot
    optional: Mapped[bool] = mapped_column(default=False)
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    locale: Mapped[str] = mapped_column(String(10), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Brussels")
    deadline_id: Mapped[int | None] = mapped_column(ForeignKey("deadline.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), default=NotificationStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    #: a delivery that failed for now is not tried (claimed or handed over) before this
    next_attempt_at: Mapped[datetime | None]
    #: set at the first transient failure: tried again, backing off, until then
    retry_until: Mapped[datetime | None]
    #: the row is on its way to a worker: the sweep hands it over again only after this
    requeue_after: Mapped[datetime | None]
