"""Personal API tokens: create (the secret is shown once), list, revoke, authenticate.

A token is ``cp_`` followed by a random secret. Only its SHA-256 is stored, so a copy of the
database gives nobody a working token; its first eight characters are kept to tell tokens
apart on the page that lists them.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from webapp.db import db, utcnow
from webapp.errors import NotFound, OperationError
from webapp.models import ApiToken, AuditEvent, User

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
    session.add(AuditEvent(case_id=None, actor_id=user.id, actor_role=user.role,
                           actor_label=user.display_name, action=action,
                           payload={"token_id": token.id, "name": token.name,
                                    "prefix": token.prefix}))


def create_token(user: User, name: str, now: datetime | None = None) -> NewToken:
    """Create a named token for ``user``; the returned secret is never shown again."""
    name = name.strip()
    if not name:
        raise OperationError("Give the token a name, so you recognise it later.")
    if len(name) > 100:
        raise OperationError("The name can be at most 100 characters.")
    now = now or utcnow()
    with db.transaction() as session:
        active = session.scalar(select(func.count(ApiToken.id)).where(
            ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)))
        if active >= MAX_ACTIVE_TOKENS:
            raise OperationError(f"You already have {MAX_ACTIVE_TOKENS} active tokens. "
                                 "Revoke one you no longer use first.")
        secret = SCHEME + secrets.token_urlsafe(32)
        token = ApiToken(user_id=user.id, name=name, prefix=secret[:PREFIX_LENGTH],
                         token_hash=token_hash(secret), created_at=now)
        session.add(token)
        session.flush()
        _audit(session, user, "create_api_token", token)
        return NewToken(token, secret)


def list_tokens(user: User) -> list[ApiToken]:
    """The user's tokens, active ones first, newest first."""
    return list(db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(),
                  ApiToken.id.desc())))


def revoke_token(user: User, token_id: int, now: datetime | None = None) -> ApiToken:
    """Revoke one of the user's own tokens; it stops working at once."""
    with db.transaction() as session:
        token = session.get(ApiToken, token_id)
        # Someone else's token does not exist, as far as this person can tell.
        if token is None or token.user_id != user.id:
            raise NotFound("There is no such token.")
        if token.revoked_at is None:
            token.revoked_at = now or utcnow()
            _audit(session, user, "revoke_api_token", token)
        return token


def authenticate(raw: str, now: datetime | None = None) -> User | None:
    """The active person a presented token belongs to, or None for any bad token."""
    if not raw.startswith(SCHEME) or len(raw) > 200:
        return None
    now = now or utcnow()
    with db.transaction() as session:
        token = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(raw)))
        if token is None or token.revoked_at is not None or not token.user.is_active:
            return None
        if token.last_used_at is None or now - token.last_used_at >= USE_RESOLUTION:
            token.last_used_at = now
        return token.user
