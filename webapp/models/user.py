"""People who sign in, their roles and organisation."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db import Base, utcnow
from webapp.models.organisation import Organisation, PartnerCity
from webapp.models.programme import Programme, staff_programme


class UserRole(enum.StrEnum):
    """A person's role; coordinators may be scoped to one world region."""

    APPLICANT = "applicant"
    PARTNER = "partner"
    COORDINATOR = "coordinator"
    ADMIN = "admin"


class NotificationPreference(enum.StrEnum):
    """How optional notifications reach a person; deadline mail always comes."""

    IMMEDIATE = "immediate"
    DIGEST = "digest"
    OFF = "off"


class User(UserMixin, Base):
    """A person with an account."""

    __tablename__ = "user"
    __table_args__ = (
        CheckConstraint("role IN ('applicant','partner','coordinator','admin')", name="role"),
        # An applicant belongs to an organisation, a partner contact to a partner city.
        CheckConstraint("role <> 'partner' OR partner_city_id IS NOT NULL", name="partner_city"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stored lower-cased; the login name
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default=UserRole.APPLICANT)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"), index=True
    )
    partner_city_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_city.id", ondelete="SET NULL"), index=True
    )
    #: a coordinator's world region; empty means every region
    region_scope: Mapped[str] = mapped_column(String(100), default="")
    confirmed_at: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str] = mapped_column(String(10), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Brussels")
    notification_preference: Mapped[str] = mapped_column(
        String(20), default=NotificationPreference.IMMEDIATE
    )
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    #: bumped to invalidate sessions and one-time links (password change, erasure)
    auth_epoch: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: the last time the person signed in (None: never, or not since this was recorded)
    last_sign_in_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]

    organisation: Mapped[Organisation | None] = relationship()
    partner_city: Mapped[PartnerCity | None] = relationship()
    #: a coordinator's programmes; none means every programme
    programmes: Mapped[list[Programme]] = relationship(secondary=staff_programme,
                                                       order_by=Programme.id)

    def get_id(self) -> str:
        # The epoch in the session id logs out every session when it changes.
        return f"{self.id}:{self.auth_epoch}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active and self.erased_at is None

    @property
    def display_name(self) -> str:
        return self.name or self.email

    @property
    def is_staff(self) -> bool:
        return self.role in (UserRole.COORDINATOR, UserRole.ADMIN)


class UserSession(Base):
    """A signed-in browser session, kept on the server so that signing out, a password reset
    or an idle or old session ends it whatever the cookie says."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    #: hex SHA-256 of the random secret the session cookie carries; the secret is not stored
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: the last request made in it, to the minute (the idle timeout counts from here)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: signed out, or ended by a password reset
    ended_at: Mapped[datetime | None]
