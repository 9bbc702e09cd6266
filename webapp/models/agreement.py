"""The Partnership Agreement of a case: its versions and the parties' signatures."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db import Base, utcnow
from webapp.models.document import Document

if TYPE_CHECKING:
    from webapp.models.user import User


class Agreement(Base):
    """One version of a case's agreement, rendered once and never changed afterwards.

    A newer version voids the older one and every signature given on it.
    """

    __tablename__ = "agreement"
    __table_args__ = (UniqueConstraint("case_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    #: 1 for the first agreement of the case, then counting up with each regeneration
    version: Mapped[int]
    #: SHA-256 (hex) of ``html``: what a signature is bound to
    content_hash: Mapped[str] = mapped_column(String(64))
    #: the rendered document (escaped at rendering); the page and the PDF show exactly this
    html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: the coordinator who regenerated it; empty when the workflow generated it
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    #: why a coordinator regenerated the agreement (empty for the first version)
    reason: Mapped[str] = mapped_column(Text, default="")
    #: set when a newer version replaced this one
    voided_at: Mapped[datetime | None]

    created_by: Mapped[User | None] = relationship()
    signatures: Mapped[list[Signature]] = relationship(
        back_populates="agreement", order_by="Signature.signed_at"
    )


class Signature(Base):
    """A party's signature on one agreement version: typed, or an uploaded signed PDF."""

    __tablename__ = "signature"
    __table_args__ = (
        # One signature per party on a version; the engine refuses a party signing twice.
        UniqueConstraint("agreement_id", "party"),
        CheckConstraint("party = 'applicant' OR party LIKE 'partner:%'", name="party"),
        CheckConstraint("method IN ('typed','upload')", name="method"),
        # A typed signature is valid only with the signatory's consent.
        CheckConstraint("method <> 'typed' OR consent", name="typed_consent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    #: the party key: applicant, or partner:<partner city id>
    party: Mapped[str] = mapped_column(String(40))
    #: the account that signed
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    #: typed (electronic signature) or upload (a signed PDF)
    method: Mapped[str] = mapped_column(String(10))
    #: the signatory's full name as typed
    full_name: Mapped[str] = mapped_column(String(200))
    #: the signatory's title or function, e.g. Mayor
    title: Mapped[str] = mapped_column(String(200), default="")
    #: the consent box of a typed signature was ticked
    consent: Mapped[bool] = mapped_column(default=False)
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: the network address the signature came from
    source_address: Mapped[str] = mapped_column(String(64), default="")
    #: the uploaded signed PDF
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("document.id", ondelete="SET NULL")
    )
    #: the content hash of the version the signatory saw and signed
    agreement_hash: Mapped[str] = mapped_column(String(64))
    #: set when the agreement was regenerated after this signature
    voided_at: Mapped[datetime | None]

    agreement: Mapped[Agreement] = relationship(back_populates="signatures")
    user: Mapped[User | None] = relationship()
    document: Mapped[Document | None] = relationship()
