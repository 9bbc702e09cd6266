"""Notification preferences, the sign-in-free unsubscribe link and the calendar feed address."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update

from webapp.db import db
from webapp.errors import NotFound, OperationError
from webapp.mail import outbox
from webapp.models import Notification, NotificationPreference, NotificationStatus, User


def _signer(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt)


def unsubscribe_token(user_id: int) -> str:
    """A signed token naming the user, for the one-click unsubscribe link."""
    return _signer("citypair-unsubscribe").dumps({"u": user_id})


def user_for_unsubscribe(token: str) -> User:
    """The user an unsubscribe token names; OperationError for a forged one."""
    try:
        data = _signer("citypair-unsubscribe").loads(token)
    except BadSignature:
        raise OperationError("This unsubscribe link is not valid.") from None
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None:
        raise OperationError("This unsubscribe link is not valid.")
    return user


def calendar_token(user: User) -> str:
    """The secret part of a person's calendar feed address.

    It carries the sign-in epoch: changing the password retires every address given out.
    """
    return _signer("citypair-calendar").dumps({"u": user.id, "e": user.auth_epoch})


def user_for_calendar(token: str) -> User:
    """The person a calendar token names; NotFound for a forged or retired one."""
    try:
        data = _signer("citypair-calendar").loads(token)
    except BadSignature:
        raise NotFound("There is no such calendar.") from None
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or not user.is_active or user.auth_epoch != data.get("e"):
        raise NotFound("There is no such calendar.")
    return user


def set_preference(user_id: int, preference: str) -> None:
    """Choose how optional notifications arrive; deadline mail is not affected.

    Mail held for a digest follows the choice: switched off, it is dropped; switched to
    immediate, it leaves now.
    """
    if preference not in set(NotificationPreference):
        raise OperationError("Choose immediately, a daily digest, or off.")
    with db.transaction() as session:
        user = session.get(User, user_id)
        if user is None:
            return
        user.notification_preference = preference
        held = (Notification.user_id == user_id, Notification.status == NotificationStatus.DIGEST)
        if preference == NotificationPreference.OFF:
            session.execute(update(Notification).where(*held)
                            .values(status=NotificationStatus.SKIPPED)
                            .execution_options(synchronize_session=False))
        elif preference == NotificationPreference.IMMEDIATE:
            ids = list(session.scalars(select(Notification.id).where(*held)))
            if ids:
                session.execute(update(Notification).where(Notification.id.in_(ids))
                                .values(status=NotificationStatus.PENDING)
                                .execution_options(synchronize_session=False))
                outbox.enqueue_after_commit(session, ids)
