"""Notification preferences and the sign-in-free unsubscribe link."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from webapp.db import db
from webapp.errors import OperationError
from webapp.models import NotificationPreference, User


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="citypair-unsubscribe")


def unsubscribe_token(user_id: int) -> str:
    """A signed token naming the user, for the one-click unsubscribe link."""
    return _signer().dumps({"u": user_id})


def user_for_unsubscribe(token: str) -> User:
    """The user an unsubscribe token names; OperationError for a forged one."""
    try:
        data = _signer().loads(token)
    except BadSignature:
        raise OperationError("This unsubscribe link is not valid.") from None
    user = db.session.get(User, data.get("u"))
    if user is None:
        raise OperationError("This unsubscribe link is not valid.")
    return user


def set_preference(user_id: int, preference: str) -> None:
    """Choose how optional notifications arrive; deadline mail is not affected."""
    if preference not in set(NotificationPreference):
        raise OperationError("Choose immediately, a daily digest, or off.")
    with db.transaction() as session:
        user = session.get(User, user_id)
        if user is not None:
            user.notification_preference = preference
