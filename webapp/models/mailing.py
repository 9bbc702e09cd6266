"""The public mailing list: people who asked for news of calls, confirmed by double opt-in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base, utcnow


class MailingSubscriber(Base):
    """One address on the mailing list; it gets news only once its owner confirmed it."""

    __tablename__ = "mailing_subscriber"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stored case-folded, so one person is one row whatever they type
    email: Mapped[str] = mapped_column(String(320), unique=True)
    locale: Mapped[str] = mapped_column(String(10), default="en")
    #: world regions whose calls the person wants to hear about; empty means every call
    interests: Mapped[list[Any]] = mapped_column(default=list)
    #: part of every link sent; changing it retires the links given out before
    secret: Mapped[str] = mapped_column(String(32))
    #: when the address was entered (last asked for, while unconfirmed)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: set only when the person opened the confirmation link and confirmed
    confirmed_at: Mapped[datetime | None]

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None
