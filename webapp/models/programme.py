"""Programmes and their calls for applications."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db import Base, utcnow
from workflows import vocabulary
from workflows.countries import EU_MEMBER_STATES
from workflows.refusal import N_

if TYPE_CHECKING:
    from webapp.models.organisation import Organisation

#: the world regions partners lie in, stored in English and shown translated (``region_name``)
WORLD_REGIONS = (N_("Asia"), N_("Latin America and the Caribbean"), N_("North America"),
                 N_("Australasia"))


class CallStatus(enum.StrEnum):
    """A call's status; open and closed follow its dates."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"
    ARCHIVED = "archived"


#: the programmes a coordinator works on; a coordinator with none works on every programme
staff_programme = Table(
    "staff_programme",
    Base.metadata,
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("programme_id", ForeignKey("programme.id", ondelete="CASCADE"), primary_key=True),
)


class Programme(Base):
    """A cooperation programme, e.g. IUC 2016–2020 or IURC Latin America 2021–2023."""

    __tablename__ = "programme"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: short stable identifier used in references, e.g. "iuc"
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: the programme period, e.g. 2021-01-01 to 2023-12-31
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    #: the programme's working time zone: calls' deadlines are announced in it
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Brussels")
    #: the name the programme's e-mails come from, e.g. "IURC Latin America"
    sender_name: Mapped[str] = mapped_column(String(200), default="")
    #: programme targets, e.g. {"city_partnerships": 10, "regional_partnerships": 10}
    targets: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: years unsuccessful applications are kept after their call closed (None: the default)
    retention_years: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    calls: Mapped[list[Call]] = relationship(back_populates="programme")


class Call(Base):
    """A call for applications: its kind picks the workflow definition."""

    __tablename__ = "call"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id"))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    #: the workflow definition: a key of workflows.workflows()
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    #: the introduction the public reads first (sanitised rich text)
    summary: Mapped[str] = mapped_column(Text, default="")
    #: the call's conditions in full, beyond its parameters (sanitised rich text)
    conditions: Mapped[str] = mapped_column(Text, default="")
    #: world regions whose cities this call offers as partners
    partner_regions: Mapped[list[Any]] = mapped_column(default=list)
    #: partner countries offered, ISO 3166-1 alpha-2 codes (empty: any country of those regions)
    partner_countries: Mapped[list[Any]] = mapped_column(default=list)
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    #: the programme's working time zone, in which the deadline is announced
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Brussels")
    #: a draft call is invisible to applicants whatever its dates
    published: Mapped[bool] = mapped_column(default=True)
    archived: Mapped[bool] = mapped_column(default=False)
    population_threshold: Mapped[int] = mapped_column(default=100_000)
    #: applicants' eligible countries, ISO 3166-1 alpha-2 codes
    eligible_countries: Mapped[list[Any]] = mapped_column(default=lambda: list(EU_MEMBER_STATES))
    allowed_org_types: Mapped[list[Any]] = mapped_column(default=lambda: ["city", "group"])
    cooperation_months: Mapped[int] = mapped_column(default=18)
    report_interval_months: Mapped[int] = mapped_column(default=6)
    #: how many partners the call-wide optimum may give one case (coordinators may add more)
    max_partners_per_case: Mapped[int] = mapped_column(default=1, server_default="1")
    #: per-call changes to the default schedule and reminder offsets
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: optimistic lock: every change bumps it; a stale form or API change is refused
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    programme: Mapped[Programme] = relationship(back_populates="calls")
    extensions: Mapped[list[CallExtension]] = relationship(back_populates="call")

    @property
    def applicant_types(self) -> list[str]:
        """The organisation types that may apply: the call's choice among its kind's (a call
        narrows its kind's types, never widens them)."""
        accepted = vocabulary(self.kind).applicant_types
        return [t for t in self.allowed_org_types or () if t in accepted] or list(accepted)

    def status(self, now: datetime) -> CallStatus:
        """Draft and archived are set by staff; the rest follows the dates."""
        if self.archived:
            return CallStatus.ARCHIVED
        if not self.published:
            return CallStatus.DRAFT
        if now < self.opens_at:
            return CallStatus.SCHEDULED
        return CallStatus.OPEN if now <= self.closes_at else CallStatus.CLOSED


class CallExtension(Base):
    """A coordinator's extension of the deadline for one named applicant organisation."""

    __tablename__ = "call_extension"
    __table_args__ = (UniqueConstraint("call_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    until: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text, default="")
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    call: Mapped[Call] = relationship(back_populates="extensions")
    organisation: Mapped[Organisation] = relationship()
