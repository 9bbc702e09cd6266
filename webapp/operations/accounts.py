"""Accounts: registration, e-mail confirmation, sign-in, password reset, invitations."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, func, or_, select, update

from webapp.db import db, utcnow
from webapp.errors import OperationError
from webapp.forms import has_control_characters
from webapp.i18n import default_timezone, valid_timezone
from webapp.mail import outbox
from webapp.models import Organisation, User, UserRole, UserSession
from workflows.countries import normalise_country

hasher = PasswordHasher()
#: the same words whatever went wrong, so nobody learns which e-mails are registered
BAD_LOGIN = _l("The e-mail address or password is not right, or the account is locked for a "
                "while.")
#: where the session cookie keeps the session's secret
SESSION_KEY = "sid"
#: the last-seen time of a session is written at most this often
SEEN_RESOLUTION = timedelta(minutes=1)


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


def check_name(name: str) -> str:
    """A person's or organisation's name as kept: stripped, on one line."""
    name = name.strip()
    if has_control_characters(name):
        raise OperationError(_("Remove the line breaks and other control characters from the "
                             "name."))
    return name


def register(*, email: str, password: str, name: str, organisation_name: str,
             organisation_kind: str, country: str, locale: str = "en",
             timezone: str | None = None) -> User:
    """Create an applicant and their organisation and send the confirmation e-mail (their
    time zone: ``timezone``, else the programmes' zone).

    Registering an address that exists sends that person a notice instead, and the caller
    shows the same page either way, so the form reveals nothing; the password is hashed
    either way too, so neither does the time the answer takes.
    """
    email = email.strip().lower()
    name, organisation_name = check_name(name), check_name(organisation_name)
    zone = _checked_zone(timezone or default_timezone())
    password_hash = hash_password(password)
    with db.transaction() as session:
        existing = find_user(email)
        if existing is not None:
            outbox.queue(session, key=f"register-again:{existing.id}:{utcnow().isoformat()}",
                         template="account_exists", user=existing)
            return existing
        org = Organisation(name=organisation_name, kind=organisation_kind,
                           country=normalise_country(country))
        user = User(email=email, name=name, password_hash=password_hash,
                    role=UserRole.APPLICANT, organisation=org, locale=locale, timezone=zone)
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


def _lockout() -> tuple[int, timedelta]:
    cfg = current_app.config
    return cfg["LOGIN_LOCK_AFTER"], timedelta(minutes=cfg["LOGIN_LOCK_MINUTES"])


def authenticate(email: str, password: str, now: datetime | None = None) -> User:
    """The user these credentials belong to; OperationError with one neutral message if not.

    A wrong password counts against the account in a transaction of its own, committed
    although the sign-in is refused; after ``LOGIN_LOCK_AFTER`` of them in a row the account
    refuses every password for ``LOGIN_LOCK_MINUTES``. Every path hashes the password once,
    so the time taken tells nothing either.
    """
    now = now or utcnow()
    user = find_user(email)
    if user is None or user.password_hash is None or not user.is_active:
        hasher.hash(password)
        raise OperationError(str(BAD_LOGIN))
    try:
        right = hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        right = False
    if user.locked_until and user.locked_until > now:
        raise OperationError(str(BAD_LOGIN))
    if not right:
        _count_failure(user.id, now)
        raise OperationError(str(BAD_LOGIN))
    with db.transaction():
        user.failed_logins = 0
        user.locked_until = None
        if user.confirmed_at is not None:
            user.last_sign_in_at = now
        if hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
    return user


def _count_failure(user_id: int, now: datetime) -> None:
    lock_after, lock_for = _lockout()
    with db.transaction() as session:
        # Counted in the database, so failures arriving at once all count.
        session.execute(update(User).where(User.id == user_id)
                        .values(failed_logins=User.failed_logins + 1))
        user = session.get(User, user_id, populate_existing=True)
        if user is not None and user.failed_logins >= lock_after:
            user.locked_until = now + lock_for
            user.failed_logins = 0


def request_password_reset(email: str) -> None:
    """E-mail a reset link if the address is known; say nothing either way, and take as long
    either way (one password hash)."""
    hasher.hash(secrets.token_urlsafe(12))
    with db.transaction() as session:
        user = find_user(email)
        if user is not None and user.is_active:
            outbox.queue(session, key=f"reset:{user.id}:{utcnow().isoformat()}",
                         template="password_reset", user=user,
                         context={"token": make_token("reset", user)})


def reset_password(token: str, password: str, now: datetime | None = None) -> User:
    """Set a new password from a reset link; the link, every session and every API token
    end with it."""
    now = now or utcnow()
    user = read_password_link(token)
    if user is None:
        raise OperationError(_("This reset link is not valid, has expired or was already used."))
    from webapp.operations.tokens import end_tokens

    with db.transaction() as session:
        user.password_hash = hash_password(password)
        user.auth_epoch += 1
        user.failed_logins = 0
        user.locked_until = None
        if user.confirmed_at is None:
            user.confirmed_at = utcnow()  # the link proved the address
        end_sessions(session, user.id, now)
        end_tokens(session, user, now, reason="password reset")
    return user


def read_invitation(token: str) -> User | None:
    """The person an invitation link names, while it is valid and unused."""
    return read_token("invite", token, max_age=PASSWORD_LINK_AGES["invite"])


def accept_invitation(token: str, *, name: str, password: str, locale: str,
                      timezone: str) -> User:
    """Accept an invitation: the person sets their password, the language and time zone they
    work in and, if they wish, their name.

    The link dies with it (the auth epoch moves on); the caller signs the person in.
    """
    user = read_invitation(token)
    if user is None or not user.is_active:
        raise OperationError(_("This invitation link is not valid, has expired or was already "
                               "used."))
    _checked_locale(locale)
    _checked_zone(timezone)
    with db.transaction():
        if name.strip():
            user.name = name.strip()
        user.locale = locale
        user.timezone = timezone
        user.password_hash = hash_password(password)
        user.auth_epoch += 1
        user.failed_logins = 0
        user.locked_until = None
        user.confirmed_at = user.confirmed_at or utcnow()
        user.last_sign_in_at = utcnow()
    return user
# -- sessions ----------------------------------------------------------------------------

def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _session_limits() -> tuple[timedelta, timedelta]:
    cfg = current_app.config
    return (timedelta(hours=cfg["SESSION_LIFETIME_HOURS"]),
            timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]))


def start_session(user: User, now: datetime | None = None) -> str:
    """Open a signed-in session for ``user``; the secret returned goes in the session cookie
    and only its SHA-256 is kept. The user's ended and expired sessions are cleared."""
    now = now or utcnow()
    lifetime, _idle = _session_limits()
    secret = secrets.token_urlsafe(32)
    with db.transaction() as session:
        session.execute(delete(UserSession).where(
            UserSession.user_id == user.id,
            or_(UserSession.ended_at.is_not(None), UserSession.created_at < now - lifetime)))
        session.add(UserSession(user_id=user.id, secret_hash=_secret_hash(secret),
                                created_at=now, last_seen_at=now))
    return secret


def session_user(user_key: str, secret: str | None, now: datetime | None = None) -> User | None:
    """The person a session cookie signs in, or None once the session ended (sign-out,
    password reset), outlived ``SESSION_LIFETIME_HOURS``, stayed idle longer than
    ``SESSION_IDLE_MINUTES``, or the account was closed."""
    user_id, _, epoch = user_key.partition(":")
    if not user_id.isdigit() or not secret or int(user_id) > 2**31 - 1:
        return None
    now = now or utcnow()
    lifetime, idle = _session_limits()
    with db.transaction() as session:
        user = session.get(User, int(user_id))
        if user is None or str(user.auth_epoch) != epoch or not user.is_active:
            return None
        row = session.scalar(select(UserSession).where(
            UserSession.secret_hash == _secret_hash(secret)))
        if (row is None or row.user_id != user.id or row.ended_at is not None
                or now - row.created_at > lifetime or now - row.last_seen_at > idle):
            return None
        if now - row.last_seen_at >= SEEN_RESOLUTION:
            row.last_seen_at = now
        return user


def end_session(secret: str | None, now: datetime | None = None) -> None:
    """Sign out: the session's cookie no longer signs anyone in, even if replayed."""
    if not secret:
        return
    with db.transaction():
        row = db.session.scalar(select(UserSession).where(
            UserSession.secret_hash == _secret_hash(secret)))
        if row is not None and row.ended_at is None:
            row.ended_at = now or utcnow()


def end_sessions(session, user_id: int, now: datetime) -> None:
    """End every session of a person, in the caller's transaction."""
    session.execute(update(UserSession).where(UserSession.user_id == user_id,
                                              UserSession.ended_at.is_(None))
                    .values(ended_at=now).execution_options(synchronize_session=False))


def invite_colleague(inviter: User, *, email: str, name: str) -> User:
    """Invite a colleague into the inviter's organisation; they set a password by link."""
    email = email.strip().lower()
    name = check_name(name)
    if inviter.role != UserRole.APPLICANT or inviter.organisation_id is None:
        raise OperationError(_("Only city staff can invite colleagues."))
    with db.transaction() as session:
        if find_user(email) is not None:
            raise OperationError(_("That person already has an account. Ask the programme team "
                                 "to move it to your organisation."))
        user = User(email=email, name=name, password_hash=None, role=UserRole.APPLICANT,
                    organisation_id=inviter.organisation_id, locale=inviter.locale,
                    timezone=inviter.timezone, confirmed_at=utcnow())
        session.add(user)
        session.flush()
        outbox.queue(session, key=f"invite:{user.id}", template="invitation", user=user,
                     context={"token": make_token("invite", user), "inviter": inviter.display_name,
                              "organisation": inviter.organisation.name
                              if inviter.organisation else ""})
        return user


def set_locale(user_id: int, locale: str) -> None:
    """Choose the language of a person's pages and of the e-mails they get from now on."""
    _checked_locale(locale)
    with db.transaction() as session:
        user = session.get(User, user_id)
        if user is not None:
            user.locale = locale


def set_place(user_id: int, locale: str, timezone: str) -> None:
    """Choose the language and time zone of a person's pages, e-mails and calendar."""
    _checked_locale(locale)
    _checked_zone(timezone)
    with db.transaction() as session:
        user = session.get(User, user_id)
        if user is not None:
            user.locale, user.timezone = locale, timezone


def _checked_locale(locale: str) -> str:
    if locale not in current_app.config["LANGUAGES"]:
        raise OperationError(_("Choose one of the languages offered."))
    return locale


def _checked_zone(timezone: str) -> str:
    if not valid_timezone(timezone):
        raise OperationError(_("Choose one of the time zones offered."))
    return timezone
