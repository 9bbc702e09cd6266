"""Uploaded files, stored once by the SHA-256 of their content."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base, utcnow


class Document(Base):
    """An upload: its blob lives at uploads/<sha[:2]>/<sha>, shared by identical uploads."""

    __tablename__ = "document"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    #: the type found by reading the content, not the one the browser claimed
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    #: commitment_letter, signed_agreement, agreement, attachment ...
    kind: Mapped[str] = mapped_column(String(40), default="attachment")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"),
                                                index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
