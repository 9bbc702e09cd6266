"""Counts the dashboard reads instead of counting cases: kept by the transaction that changes
what they count (webapp/operations/tallies.py)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base


class Tally(Base):
    """How many cases (kind ``case``), paired cases per topic (``topic``) or deliverables
    (``deliverable``) share one combination of what the dashboard groups and scopes by.

    Columns a kind does not group by hold their empty value, so one unique key covers all.
    """

    __tablename__ = "tally"
    __table_args__ = (
        UniqueConstraint("kind", "call_id", "region", "workflow", "state", "paired",
                         "cooperating", "decision", "topic", "bucket", "due_on",
                         name="uq_tally_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"))
    #: the case's world region (its partner city's, else the preferred one): a coordinator's
    #: scope
    region: Mapped[str] = mapped_column(String(100), default="")
    workflow: Mapped[str] = mapped_column(String(40), default="")
    state: Mapped[str] = mapped_column(String(40), default="")
    #: a partner city is set
    paired: Mapped[bool] = mapped_column(default=False)
    #: the cooperation's start date is set (a programme target counts it)
    cooperating: Mapped[bool] = mapped_column(default=False)
    #: the case's latest eligibility decision: the transition's name, or empty
    decision: Mapped[str] = mapped_column(String(60), default="")
    topic: Mapped[str] = mapped_column(String(80), default="")
    #: a deliverable's: awaited (its deadline open), on_time or late (handed in)
    bucket: Mapped[str] = mapped_column(String(20), default="")
    #: a deliverable's due day in UTC, ISO (YYYY-MM-DD)
    due_on: Mapped[str] = mapped_column(String(10), default="")
    n: Mapped[int] = mapped_column(default=0)
