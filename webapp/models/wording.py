"""An admin's own wording of a notification e-mail in one language."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base, utcnow


class MailWording(Base):
    """The subject and text of one e-mail template in one language, replacing the shipped
    wording for every recipient who reads that language; the HTML part is made from the text."""

    __tablename__ = "mail_wording"
    __table_args__ = (UniqueConstraint("template", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the template's name, as in templates/emails/<template>.subject.txt
    template: Mapped[str] = mapped_column(String(80))
    #: en, fr, es or pt
    locale: Mapped[str] = mapped_column(String(10))
    #: a sandboxed Jinja template of the subject line
    subject: Mapped[str] = mapped_column(String(300))
    #: a sandboxed Jinja template of the plain-text body
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
