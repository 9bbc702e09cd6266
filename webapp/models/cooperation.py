"""The cooperation period: deliverables, activities, reports, the plan, and the assessment of
applications by evaluators (scores and declared conflicts of interest)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db import Base, utcnow
from webapp.models.document import Document

if TYPE_CHECKING:
    from webapp.models.user import User


class Deliverable(Base):
    """Something the parties owe the programme by a due time: a work plan, a report, the plan.

    Its status is stored as scheduled, submitted, accepted or revision_requested; ``open`` is
    derived from ``opens_at`` and *overdue* from ``due_at``.
    """

    __tablename__ = "deliverable"
    __table_args__ = (
        UniqueConstraint("case_id", "kind", "sequence"),
        Index("ix_deliverable_case_status", "case_id", "status"),
        Index("ix_deliverable_status_due", "status", "due_at"),
        CheckConstraint("status IN ('scheduled','submitted','accepted','revision_requested')",
                        name="status"),
        # A deliverable handed in knows when; an accepted one knows when it was accepted.
        CheckConstraint("status = 'scheduled' OR submitted_at IS NOT NULL", name="submitted"),
        CheckConstraint("status <> 'accepted' OR accepted_at IS NOT NULL", name="accepted"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    #: work_plan, progress_report, draft_lap, final_lap, final_report or follow_up_report
    kind: Mapped[str] = mapped_column(String(30))
    #: 1, 2, 3 ... among the deliverables of the same kind
    sequence: Mapped[int] = mapped_column(default=1)
    title: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime]
    #: from this time the deliverable is open for submission
    opens_at: Mapped[datetime]
    #: scheduled, submitted, accepted or revision_requested
    status: Mapped[str] = mapped_column(String(30), default="scheduled")
    #: a periodic progress report: closing the cooperation waits for every one
    periodic: Mapped[bool] = mapped_column(default=False)
    submitted_at: Mapped[datetime | None]
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    #: what the parties wrote when handing it in (a work plan's summary, a cover note)
    note: Mapped[str] = mapped_column(Text, default="")
    #: the uploaded file handed in, when the deliverable is a document
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id",
                                                               ondelete="SET NULL"))
    accepted_at: Mapped[datetime | None]
    reviewed_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    #: the coordinator's comments on the latest review
    review_comments: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    document: Mapped[Document | None] = relationship()
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])


activity_document = Table(
    "activity_document",
    Base.metadata,
    Column("activity_id", ForeignKey("activity.id", ondelete="CASCADE"), primary_key=True),
    Column("document_id", ForeignKey("document.id", ondelete="CASCADE"), primary_key=True),
)


class Activity(Base):
    """One thing the pair did together: a study tour, a staff exchange, a webinar ..."""

    __tablename__ = "activity"
    __table_args__ = (
        Index("ix_activity_case_starts", "case_id", "starts_on"),
        CheckConstraint("ends_on >= starts_on", name="dates"),
        CheckConstraint("participants >= 0", name="participants"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    #: study_tour, staff_exchange, training, seminar, webinar, working_meeting, mou_signing
    type: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    place: Mapped[str] = mapped_column(String(200), default="")
    #: eu_to_partner, partner_to_eu or online
    direction: Mapped[str] = mapped_column(String(20))
    #: how many people took part
    participants: Mapped[int] = mapped_column(default=0)
    #: the local stakeholders involved
    stakeholders: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    created_by: Mapped[User | None] = relationship()
    documents: Mapped[list[Document]] = relationship(secondary=activity_document,
                                                     order_by=Document.id)


report_activity = Table(
    "report_activity",
    Base.metadata,
    Column("report_id", ForeignKey("report.id", ondelete="CASCADE"), primary_key=True),
    Column("activity_id", ForeignKey("activity.id", ondelete="CASCADE"), primary_key=True),
)


class Report(Base):
    """The text of a progress, final or follow-up report; both parties write the same draft.

    ``version`` is an optimistic lock: a save based on an older version is refused.
    """

    __tablename__ = "report"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    deliverable_id: Mapped[int] = mapped_column(
        ForeignKey("deliverable.id", ondelete="CASCADE"), unique=True)
    period_start: Mapped[date | None]
    period_end: Mapped[date | None]
    achievements: Mapped[str] = mapped_column(Text, default="")
    difficulties: Mapped[str] = mapped_column(Text, default="")
    next_steps: Mapped[str] = mapped_column(Text, default="")
    #: progress on the Local Action Plan (or the roadmap)
    lap_progress: Mapped[str] = mapped_column(Text, default="")
    indicators: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __mapper_args__ = {"version_id_col": version}

    deliverable: Mapped[Deliverable] = relationship()
    activities: Mapped[list[Activity]] = relationship(secondary=report_activity,
                                                      order_by=Activity.starts_on)
    updated_by: Mapped[User | None] = relationship()


class LocalActionPlan(Base):
    """The working draft of a case's plan, saved section by section.

    ``revisions`` counts saves per section, so two people editing different sections never
    collide and two editing the same one are told.
    """

    __tablename__ = "local_action_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), unique=True)
    #: {section key: {field: text, "rows": [...]}} (see workflows.lap)
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: {section key: number of saves}
    revisions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: the number the next frozen version will carry
    draft_number: Mapped[int] = mapped_column(default=1)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __mapper_args__ = {"version_id_col": version}

    updated_by: Mapped[User | None] = relationship()


class LapVersion(Base):
    """A frozen version of the plan, sent as a draft or submitted; never changed afterwards."""

    __tablename__ = "lap_version"
    __table_args__ = (
        UniqueConstraint("case_id", "number"),
        CheckConstraint("purpose IN ('draft','final')", name="purpose"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    #: draft (sent for comments) or final (submitted for approval)
    purpose: Mapped[str] = mapped_column(String(10))
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: SHA-256 of the canonical JSON content
    sha256: Mapped[str] = mapped_column(String(64))
    deliverable_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliverable.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id",
                                                                   ondelete="SET NULL"))

    submitted_by: Mapped[User | None] = relationship()


class Score(Base):
    """One evaluator's score of an application on one selection criterion; each evaluator
    scores on their own, so a case has one score set per evaluator."""

    __tablename__ = "score"
    __table_args__ = (
        UniqueConstraint("case_id", "scored_by_id", "criterion"),
        CheckConstraint("score BETWEEN 0 AND 5", name="range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    #: the key of a criterion of the case's vocabulary
    criterion: Mapped[str] = mapped_column(String(40))
    score: Mapped[int]
    comment: Mapped[str] = mapped_column(Text, default="")
    #: the evaluator
    scored_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    scored_at: Mapped[datetime] = mapped_column(default=utcnow)

    scored_by: Mapped[User | None] = relationship()


class ConflictOfInterest(Base):
    """An evaluator's declaration that they have an interest in an application: it bars them
    from scoring it."""

    __tablename__ = "conflict_of_interest"
    __table_args__ = (UniqueConstraint("case_id", "evaluator_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    evaluator_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    #: what the interest is, in the evaluator's words
    statement: Mapped[str] = mapped_column(Text)
    declared_at: Mapped[datetime] = mapped_column(default=utcnow)

    evaluator: Mapped[User | None] = relationship()
