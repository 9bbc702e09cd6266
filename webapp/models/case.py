"""A case is one application and everything that follows it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
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
from webapp.models.organisation import Organisation, PartnerCity, Topic
from webapp.models.programme import Call

if TYPE_CHECKING:
    from webapp.models.user import User

case_topic = Table(
    "case_topic",
    Base.metadata,
    Column("case_id", ForeignKey("case.id", ondelete="CASCADE"), primary_key=True),
    Column("topic_slug", ForeignKey("topic.slug", ondelete="CASCADE"), primary_key=True),
)


class Case(Base):
    """One application to one call, from draft to completion; ``version`` guards edits."""

    __tablename__ = "case"
    __table_args__ = (
        Index("ix_case_call_state", "call_id", "state"),
        # The case list's default order: a page is read from the index, not sorted.
        Index("ix_case_updated", "updated_at", "id"),
        UniqueConstraint("reference"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: human reference shown on every page and e-mail, e.g. IUC-2026-0042
    reference: Mapped[str] = mapped_column(String(40))
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    #: the workflow definition, copied from the call so a case keeps its rules
    workflow: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(40), index=True)
    #: optimistic lock: every change bumps it; a stale form is refused
    version: Mapped[int] = mapped_column(default=1)
    state_entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    #: the responsible coordinator
    coordinator_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    #: the lead partner: the first of ``partner_links``, kept in step with them
    partner_city_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_city.id", ondelete="SET NULL"), index=True
    )

    # -- the application form --
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_title: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(320), default="")
    contact_phone: Mapped[str] = mapped_column(String(50), default="")
    challenge_statement: Mapped[str] = mapped_column(Text, default="")
    #: preferred world region of the partner city
    partner_region: Mapped[str] = mapped_column(String(100), default="")
    stakeholders: Mapped[str] = mapped_column(Text, default="")
    resources_committed: Mapped[str] = mapped_column(Text, default="")
    #: the commitment declarations: key -> given
    commitments: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: sections the applicant has saved at least once
    sections_saved: Mapped[list[Any]] = mapped_column(default=list)
    #: the outcome of the automatic rules: "pass", "fail" or "needs_review"
    eligibility_summary: Mapped[str] = mapped_column(String(20), default="")
    #: sections flagged for change by an information request
    flagged_sections: Mapped[list[Any]] = mapped_column(default=list)

    # -- cooperation --
    cooperation_start: Mapped[datetime | None]
    cooperation_ends_at: Mapped[datetime | None]

    __mapper_args__ = {"version_id_col": version}

    call: Mapped[Call] = relationship()
    organisation: Mapped[Organisation] = relationship()
    partner_city: Mapped[PartnerCity | None] = relationship()
    #: every partner of the case, the lead first
    partner_links: Mapped[list[CasePartner]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CasePartner.position"
    )
    coordinator: Mapped[User | None] = relationship(foreign_keys=[coordinator_id])
    topics: Mapped[list[Topic]] = relationship(secondary=case_topic, order_by=Topic.slug)
    eligibility_results: Mapped[list[EligibilityResult]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="EligibilityResult.position"
    )
    party_facts: Mapped[list[PartyFact]] = relationship(
        back_populates="case", cascade="all, delete-orphan"
    )

    @property
    def partners(self) -> list[PartnerCity]:
        """The partner cities (or regions) of the case, the lead first."""
        return [link.partner_city for link in self.partner_links]

    @property
    def parties(self) -> tuple[str, ...]:
        """The party keys of the case: the applicant, then each partner."""
        return (APPLICANT_PARTY, *(partner_party(link.partner_city_id)
                                   for link in self.partner_links))


#: the party key of the applicant; a partner's is ``partner_party(partner city id)``
APPLICANT_PARTY = "applicant"
_PARTNER_PREFIX = "partner:"


def partner_party(partner_city_id: int) -> str:
    """The party key of one partner city on a case, e.g. ``partner:12``."""
    return f"{_PARTNER_PREFIX}{partner_city_id}"


def party_role(party: str) -> str:
    """``applicant`` or ``partner``: what a party key stands for, whichever partner it is."""
    return "partner" if party.startswith(_PARTNER_PREFIX) else party


def party_partner_id(party: str) -> int | None:
    """The partner city a party key names, or None for the applicant."""
    rest = party.removeprefix(_PARTNER_PREFIX)
    return int(rest) if rest != party and rest.isdigit() else None


class CasePartner(Base):
    """One partner city (or region) proposed for, then paired with, a case.

    Each partner accepts and signs as its own party (``partner_party``); the acceptance is a
    party fact, so the engine counts it like the applicant's.
    """

    __tablename__ = "case_partner"
    __table_args__ = (UniqueConstraint("case_id", "partner_city_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    partner_city_id: Mapped[int] = mapped_column(
        ForeignKey("partner_city.id", ondelete="CASCADE"), index=True
    )
    #: 0 for the lead partner, then in the order the partners were added
    position: Mapped[int] = mapped_column(default=0)
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    case: Mapped[Case] = relationship(back_populates="partner_links")
    partner_city: Mapped[PartnerCity] = relationship()


class EligibilityResult(Base):
    """The verdict of one automatic eligibility rule, stored when the case entered review."""

    __tablename__ = "eligibility_result"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    rule: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    #: pass, fail or needs_review
    verdict: Mapped[str] = mapped_column(String(20))
    #: the sentence in English, as it was said when the rule ran
    message: Mapped[str] = mapped_column(Text)
    #: the sentence as a message id with its values (workflows.refusal.to_data), said in the
    #: reader's language; verdicts recorded before it was kept have none
    reason: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: the call kind the applicant should apply to instead (a page links its open call)
    refer_to: Mapped[str] = mapped_column(String(40), default="")
    run_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship(back_populates="eligibility_results")


class PartyFact(Base):
    """Something one party did on a multi-party step, e.g. accepted the pairing or signed."""

    __tablename__ = "party_fact"
    __table_args__ = (UniqueConstraint("case_id", "party", "fact"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    #: the party key: applicant, or partner:<partner city id>
    party: Mapped[str] = mapped_column(String(40))
    fact: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship(back_populates="party_facts")


class Comment(Base):
    """A note on a case: internal to staff, or shared with the applicant."""

    __tablename__ = "comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User | None] = relationship()
