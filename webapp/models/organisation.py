"""Applicant organisations, their group members, partner cities and the topic vocabulary."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column, ColumnElement, ForeignKey, String, Table, Text
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db import Base, utcnow

#: the languages a topic's label is kept in besides English
TOPIC_LANGUAGES = ("fr", "es", "pt")


def reader_language() -> str:
    """The language pages and e-mails are being written in now (English outside them)."""
    from flask_babel import get_locale

    locale = get_locale()
    return locale.language if locale is not None else "en"


class Topic(Base):
    """One term of the controlled vocabulary: a programme theme or an SDG.

    A retired topic stays on the cases and partner cities that have it but is no longer
    offered; a merged one is retired and names the topic that took its place.
    """

    __tablename__ = "topic"

    slug: Mapped[str] = mapped_column(String(60), primary_key=True)
    #: the English label, which every other language falls back to
    label_en: Mapped[str] = mapped_column("label", String(200))
    #: "theme" or "sdg"
    family: Mapped[str] = mapped_column(String(20))
    #: the label in other languages: {"fr": ..., "es": ..., "pt": ...}
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: when an admin retired it (None: offered)
    retired_at: Mapped[datetime | None]
    #: the slug of the topic a merged topic now points to (topics are never deleted)
    merged_into: Mapped[str | None] = mapped_column(String(60))

    def label_in(self, language: str) -> str:
        """The label in ``language``, or in English when it has none there."""
        return str((self.labels or {}).get(language) or self.label_en)

    @hybrid_property
    def label(self) -> str:
        """The label in the reader's language (in queries: the English label)."""
        return self.label_in(reader_language())

    @label.inplace.setter
    def _label_setter(self, value: str) -> None:
        self.label_en = value

    @label.inplace.expression
    @classmethod
    def _label_expression(cls) -> ColumnElement[str]:
        return cls.label_en

    @property
    def retired(self) -> bool:
        return self.retired_at is not None


class Organisation(Base):
    """An applicant: a city, a group of municipalities or (for region calls) a region."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), index=True)
    #: city, group, metropolitan, region or province (workflows.eligibility.ORGANISATION_TYPES)
    kind: Mapped[str] = mapped_column(String(20), default="city")
    #: ISO 3166-1 alpha-2 code ("" until given)
    country: Mapped[str] = mapped_column(String(100), default="")
    #: inhabitants; for a group the members' populations count instead
    population: Mapped[int | None]
    website: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    members: Mapped[list[GroupMember]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan", order_by="GroupMember.id"
    )

    @property
    def total_population(self) -> int | None:
        if self.kind == "group":
            pops = [m.population for m in self.members]
            return sum(p for p in pops if p) if pops else None
        return self.population


class GroupMember(Base):
    """A municipality of a group; the lead urban authority is flagged."""

    __tablename__ = "group_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(300))
    population: Mapped[int | None]
    is_lead: Mapped[bool] = mapped_column(default=False)
    #: the member declared its commitment in the form (instead of, or beside, a letter)
    commitment_declared: Mapped[bool] = mapped_column(default=False)
    commitment_document_id: Mapped[int | None] = mapped_column(
        ForeignKey("document.id", ondelete="SET NULL")
    )

    organisation: Mapped[Organisation] = relationship(back_populates="members")

    @property
    def has_commitment(self) -> bool:
        return self.commitment_declared or self.commitment_document_id is not None


partner_city_topic = Table(
    "partner_city_topic",
    Base.metadata,
    Column("partner_city_id", ForeignKey("partner_city.id", ondelete="CASCADE"), primary_key=True),
    Column("topic_slug", ForeignKey("topic.slug", ondelete="CASCADE"), primary_key=True),
)


#: the kinds of partner: a call kind's vocabulary names the kind it pairs with
PARTNER_KINDS: dict[str, str] = {"city": "City", "region": "Region"}


class PartnerCity(Base):
    """A city or a region outside the EU that the programme can pair with an applicant."""

    __tablename__ = "partner_city"
    __table_args__ = (CheckConstraint("kind IN ('city','region')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), index=True)
    #: city or region: a city call pairs with cities, a region call with regions
    kind: Mapped[str] = mapped_column(String(20), default="city")
    #: ISO 3166-1 alpha-2 code
    country: Mapped[str] = mapped_column(String(100))
    #: world region: Asia, Latin America and the Caribbean, North America ...
    region: Mapped[str] = mapped_column(String(100), index=True)
    population: Mapped[int | None]
    challenge_statement: Mapped[str] = mapped_column(Text, default="")
    #: contacts: [{"name":..., "email":..., "role":...}]
    contacts: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    topics: Mapped[list[Topic]] = relationship(secondary=partner_city_topic, order_by=Topic.slug)
