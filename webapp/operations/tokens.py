"""Personal API tokens: create (the secret is shown once), list, revoke, authenticate.

A token is ``cp_`` followed by a random secret. Only its SHA-256 is stored, so a copy of the
database gives nobody a working token; its first eight characters are kept to tell tokens
apart on the page that lists them. Each token has scopes (``read``, or ``read write``) and an
expiry date chosen at creation (``API_TOKEN_DAYS`` by default, at most
``API_TOKEN_MAX_DAYS``); it ends then, when its owner revokes it, at a password reset and
when the account is closed.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from webapp.db import db, utcnow
from webapp.errors import NotFound, OperationError
from webapp.models import ApiToken, User
from webapp.models.api_token import SCOPES
from webapp.operations import audit

SCHEME = "cp_"
PREFIX_LENGTH = 8
MAX_ACTIVE_TOKENS = 10
#: the last-used time is written at most this often, so busy scripts do not write every call
USE_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class NewToken:
    """A token just created: the row, and the secret its owner sees this once."""

    token: ApiToken
    secret: str


def token_hash(raw: str) -> str:
    """The hex SHA-256 a token is stored and looked up by."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _audit(session, user: User, action: str, token: ApiToken) -> None:
    audit.record(session, action, user,
                 payload={"token_id": token.id, "name": token.name, "prefix": token.prefix,
                          "scopes": token.scopes, "expires_at": token.expires_at.isoformat()})


def lifetimes() -> tuple[int, int]:
    """(default, longest) lifetime of a new token, in days."""
    cfg = current_app.config
    return cfg["API_TOKEN_DAYS"], cfg["API_TOKEN_MAX_DAYS"]


def create_token(user: User, name: str, *, scopes: tuple[str, ...] = SCOPES,
                 days: int | None = None, now: datetime | None = None) -> NewToken:
    """Create a named token for ``user`` with ``scopes`` (read is always among them) that
    ends after ``days``; the returned secret is never shown again."""
    name = name.strip()
    if not name:
        raise OperationError("Give the token a name, so you recognise it later.")
    if len(name) > 100:
        raise OperationError("The name can be at most 100 characters.")
    if any(s not in SCOPES for s in scopes):
        raise OperationError(f"Choose scopes among: {', '.join(SCOPES)}.")
    default, longest = lifetimes()
    days = default if days is None else days
    if not 1 <= days <= longest:
        raise OperationError(f"A token lasts from 1 to {longest} days.")
    now = now or utcnow()
    with db.transaction() as session:
        active = session.scalar(select(func.count(ApiToken.id)).where(
            ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now))
        if active >= MAX_ACTIVE_TOKENS:
            raise OperationError(f"You already have {MAX_ACTIVE_TOKENS} active tokens. "
                                 "Revoke one you no longer use first.")
        secret = SCHEME + secrets.token_urlsafe(32)
        token = ApiToken(user_id=user.id, name=name, prefix=secret[:PREFIX_LENGTH],
                         token_hash=token_hash(secret), created_at=now,
                         scopes=" ".join(s for s in SCOPES if s == "read" or s in scopes),
                         expires_at=now + timedelta(days=days))
        session.add(token)
        session.flush()
        _audit(session, user, "create_api_token", token)
        return NewToken(token, secret)


def list_tokens(user: User) -> list[ApiToken]:
    """The user's tokens, open ones first, newest first."""
    return list(db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.expires_at < utcnow(),
                  ApiToken.created_at.desc(), ApiToken.id.desc())))


def revoke_token(user: User, token_id: int, now: datetime | None = None) -> ApiToken:
    """Revoke one of the user's own tokens; it stops working at once."""
    with db.transaction() as session:
        token = session.get(ApiToken, token_id)
        # Someone else's token does not exist, as far as this person can tell.
        if token is None or token.user_id != user.id:
            raise NotFound("There is no such token.")
        if token.revoked_at is None:
            token.revoked_at = now or utcnow()
            token.revoked_reason = "revoked"
            _audit(session, user, "revoke_api_token", token)
        return token


def end_tokens(session: Session, user: User, now: datetime, *, reason: str) -> int:
    """End every token of ``user`` still open, in the caller's transaction (a password reset,
    an erasure); returns how many."""
    return session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
        .execution_options(synchronize_session=False)).rowcount or 0


def authenticate(raw: str, now: datetime | None = None) -> ApiToken | None:
    """The token presented, when it is known, not revoked, not expired and its owner's
    account is open; None for any other."""
    if not raw.startswith(SCHEME) or len(raw) > 200:
        return None
    now = now or utcnow()
    with db.transaction() as session:
        token = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(raw)))
        if token is None or token.status(now) != "active" or not token.user.is_active:
            return None
        if token.last_used_at is None or now - token.last_used_at >= USE_RESOLUTION:
            token.last_used_at = now
        return token
