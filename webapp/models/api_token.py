"""Personal API tokens: a person's key to the JSON API, kept only as a hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db import Base, utcnow
from webapp.models.user import User

#: what a token may do: ``read`` every GET of the API, ``write`` also what changes something
SCOPES = ("read", "write")


class ApiToken(Base):
    """A named token its owner created; the secret is shown once and stored as SHA-256."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: whose token it is; the API acts with this person's role and access
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    #: what the owner calls it, e.g. "Monitoring script"
    name: Mapped[str] = mapped_column(String(100))
    #: the token's first eight characters, shown so the owner can tell tokens apart
    prefix: Mapped[str] = mapped_column(String(8))
    #: hex SHA-256 of the whole token; the token itself is never stored
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: the last request made with it, to the minute
    last_used_at: Mapped[datetime | None]
    #: a revoked token is refused and stays listed for the record
    revoked_at: Mapped[datetime | None]
    #: why it ended before its time: "revoked" (by its owner), "password reset", "erasure"
    revoked_reason: Mapped[str] = mapped_column(String(40), default="")
    #: space-separated, from SCOPES: "read" or "read write"
    scopes: Mapped[str] = mapped_column(String(40), default="read")
    #: chosen at creation; the token is refused from then on
    expires_at: Mapped[datetime]

    user: Mapped[User] = relationship()

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())

    def status(self, now: datetime | None = None) -> str:
        """active, expired or revoked."""
        if self.revoked_at is not None:
            return "revoked"
        return "active" if (now or utcnow()) < self.expires_at else "expired"

    @property
    def active(self) -> bool:
        return self.status() == "active"
