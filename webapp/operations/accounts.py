"""Accounts: registration, e-mail confirmation, sign-in, password reset, invitations."""

from __future__ import annotations

from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select

from webapp.db import db, utcnow
from webapp.errors import OperationError
from webapp.models import Organisation, User, UserRole
from webapp.operations import outbox
from workflows.countries import normalise_country

hasher = PasswordHasher()
LOCK_AFTER = 5
LOCK_FOR = timedelta(minutes=15)
#: the same words whatever went wrong, so nobody learns which e-mails are registered
BAD_LOGIN = _l("The e-mail address or password is not right, or the account is locked for a "
                "while.")


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"citypair-{purpose}")


def make_token(purpose: str, user: User) -> str:
    """A signed one-time link token; it dies when the user's auth epoch changes."""
    return _serializer(purpose).dumps({"u": user.id, "e": user.auth_epoch})


def read_token(purpose: str, token: str, max_age: int) -> User | None:
    """The user a valid token names, or None when it is forged, expired or used."""
    try:
        data = _serializer(purpose).loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None
    user = db.session.get(User, data.get("u"))
    if user is None or user.auth_epoch != data.get("e"):
        return None
    return user


# A reset is asked for by the person at hand; an invitation may wait in an inbox for days.
PASSWORD_LINK_AGES = {"reset": 2 * 3600, "invite": 14 * 24 * 3600}


def read_password_link(token: str) -> User | None:
    """The user a reset or invitation link names, each judged by its own lifetime."""
    for purpose, max_age in PASSWORD_LINK_AGES.items():
        user = read_token(purpose, token, max_age=max_age)
        if user is not None:
            return user
    return None


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def hash_password(password: str) -> str:
    return hasher.hash(password)


def register(*, email: str, password: str, name: str, organisation_name: str,
             organisation_kind: str, country: str, locale: str = "en") -> User:
    """Create an applicant and their organisation and send the confirmation e-mail.

    Registering an address that exists sends that person a notice instead, and the caller
    shows the same page either way, so the form reveals nothing.
    """
    email = email.strip().lower()
    with db.transaction() as session:
        existing = find_user(email)
        if existing is not None:
            outbox.queue(session, key=f"register-again:{existing.id}:{utcnow().isoformat()}",
                         template="account_exists", user=existing)
            return existing
        org = Organisation(name=organisation_name.strip(), kind=organisation_kind,
                           country=normalise_country(country))
        user = User(email=email, name=name.strip(), password_hash=hash_password(password),
                    role=UserRole.APPLICANT, organisation=org, locale=locale)
        session.add(user)
        session.flush()
        _send_confirmation(session, user)
        return user


def _send_confirmation(session, user: User) -> None:
    outbox.queue(session, key=f"confirm:{user.id}:{utcnow().isoformat()}",
                 template="confirm_email", user=user,
                 context={"token": make_token("confirm", user)})


def resend_confirmation(email: str) -> None:
    """Send the confirmation link again (silently nothing for unknown or confirmed users)."""
    with db.transaction() as session:
        user = find_user(email)
        if user is not None and user.confirmed_at is None:
            _send_confirmation(session, user)


def confirm_email(token: str) -> User:
    """Confirm the address a confirmation link was sent to."""
    user = read_token("confirm", token, max_age=7 * 24 * 3600)
    if user is None:
        raise OperationError(_("This confirmation link is not valid or has expired. "
                             "Sign in to ask for a new one."))
    with db.transaction():
        if user.confirmed_at is None:
            user.confirmed_at = utcnow()
    return user


def authenticate(email: str, password: str) -> User:
    """The user these credentials belong to; OperationError with one neutral message if not."""
    now = utcnow()
    with db.transaction():
        user = find_user(email)
        if user is None or user.password_hash is None or not user.is_active:
            hasher.hash(password)  # spend the same time either way
            raise OperationError(str(BAD_LOGIN))
        if user.locked_until and user.locked_until > now:
            raise OperationError(str(BAD_LOGIN))
        try:
            hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            user.failed_logins += 1
            if user.failed_logins >= LOCK_AFTER:
                user.locked_until = now + LOCK_FOR
                user.failed_logins = 0
            raise OperationError(str(BAD_LOGIN)) from None
        user.failed_logins = 0
        user.locked_until = None
        if hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        return user


def request_password_reset(email: str) -> None:
    """E-mail a reset link if the address is known; say nothing either way."""
    with db.transaction() as session:
        user = find_user(email)
        if user is not None and user.is_active:
            outbox.queue(session, key=f"reset:{user.id}:{utcnow().isoformat()}",
                         template="password_reset", user=user,
                         context={"token": make_token("reset", user)})


def reset_password(token: str, password: str) -> User:
    """Set a new password from a reset link; the link and every session die with it."""
    user = read_password_link(token)
    if user is None:
        raise OperationError(_("This reset link is not valid, has expired or was already used."))
    with db.transaction():
        user.password_hash = hash_password(password)
        user.auth_epoch += 1
        user.failed_logins = 0
        user.locked_until = None
        if user.confirmed_at is None:
            user.confirmed_at = utcnow()  # the link proved the address
    return user


def invite_colleague(inviter: User, *, email: str, name: str) -> User:
    """Invite a colleague into the inviter's organisation; they set a password by link."""
    email = email.strip().lower()
    if inviter.role != UserRole.APPLICANT or inviter.organisation_id is None:
        raise OperationError(_("Only city staff can invite colleagues."))
    with db.transaction() as session:
        if find_user(email) is not None:
            raise OperationError(_("That person already has an account. Ask the programme team "
                                 "to move it to your organisation."))
        user = User(email=email, name=name.strip(), password_hash=None, role=UserRole.APPLICANT,
                    organisation_id=inviter.organisation_id, locale=inviter.locale,
                    confirmed_at=utcnow())
        session.add(user)
        session.flush()
        outbox.queue(session, key=f"invite:{user.id}", template="invitation", user=user,
                     context={"token": make_token("invite", user), "inviter": inviter.display_name,
                              "organisation": inviter.organisation.name
                              if inviter.organisation else ""})
        return user


def set_locale(user_id: int, locale: str) -> None:
    """Choose the language of a person's pages and of the e-mails they get from now on."""
    if locale not in current_app.config["LANGUAGES"]:
        raise OperationError(_("Choose one of the languages offered."))
    with db.transaction() as session:
        user = session.get(User, user_id)
        if user is not None:
            user.locale = locale
