"""The public mailing list: subscribe, confirm by the link sent (double opt-in), unsubscribe,
and the news of a call sent to confirmed subscribers.

Nothing here tells a visitor whether an address is on the list: subscribing answers the same
way whatever the list holds, and only the mailbox's owner learns more, by e-mail.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from webapp.db import db, utcnow
from webapp.errors import NotFound, OperationError
from webapp.mail import outbox
from webapp.models import Call, MailingSubscriber
from webapp.models.programme import WORLD_REGIONS

#: how long a confirmation link works
CONFIRM_MAX_AGE = 7 * 24 * 3600

_CONFIRM_SALT = "citypair-mailing-confirm"
_UNSUBSCRIBE_SALT = "citypair-mailing-unsubscribe"


def _timed() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_CONFIRM_SALT)


def _plain() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_UNSUBSCRIBE_SALT)


def confirm_token(sub: MailingSubscriber) -> str:
    """The signed, time-limited key of the confirmation link."""
    return _timed().dumps({"s": sub.id, "k": sub.secret})


def unsubscribe_token(sub: MailingSubscriber) -> str:
    """The signed key of the unsubscribe link every mailing carries; it does not expire."""
    return _plain().dumps({"s": sub.id, "k": sub.secret})


def normalise_email(email: str) -> str:
    """The address as stored: checked for form, case-folded; OperationError if malformed."""
    try:
        checked = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise OperationError(_("Enter an e-mail address in the correct format, "
                               "like name@example.com.")) from None
    return checked.normalized.casefold()


def clean_interests(interests: Iterable[str]) -> list[str]:
    """The chosen world regions, in the programme's order; unknown names are dropped."""
    chosen = set(interests)
    return [r for r in WORLD_REGIONS if r in chosen]


def _mail(sub: MailingSubscriber, template: str, key: str, timezone: str | None = None,
          **context) -> outbox.Mail:
    # Every mailing carries its own unsubscribe link; the subscriber has no account, so a
    # call's times are written in the call's zone.
    return outbox.Mail(key=key, template=template, user=None, to_email=sub.email,
                       locale=sub.locale, timezone=timezone,
                       context={"unsubscribe_token": unsubscribe_token(sub), **context})


def subscribe(email: str, locale: str = "en", interests: Iterable[str] = (),
              now: datetime | None = None) -> None:
    """Ask to join the list: the address gets a confirmation link and nothing else.

    An address already confirmed is told so by e-mail and left as it is. At most one such
    e-mail an hour goes to an address, however often the form is sent.
    """
    address = normalise_email(email)
    now = now or utcnow()
    if locale not in current_app.config["LANGUAGES"]:
        locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    regions = clean_interests(interests)
    hour = f"{now:%Y%m%d%H}"
    with db.transaction() as session:
        # Addresses never confirmed are kept no longer than their link works.
        session.execute(delete(MailingSubscriber).where(
            MailingSubscriber.confirmed_at.is_(None),
            MailingSubscriber.created_at < now - timedelta(seconds=CONFIRM_MAX_AGE)))
        sub = session.scalar(select(MailingSubscriber).where(MailingSubscriber.email == address))
        if sub is None:
            sub = MailingSubscriber(email=address, locale=locale, interests=regions,
                                    secret=secrets.token_hex(16), created_at=now)
            try:
                # Two requests for one new address at once: the second finds the first's row.
                with session.begin_nested():
                    session.add(sub)
            except IntegrityError:
                sub = session.scalar(select(MailingSubscriber)
                                     .where(MailingSubscriber.email == address))
        if sub.confirmed:
            outbox.queue_many(session, [_mail(sub, "mailing_already_subscribed",
                                              f"mailing-again:{sub.id}:{hour}")])
            return
        # Unconfirmed: the latest request is what the new link will confirm, and it starts
        # the time the address may wait for confirmation again.
        sub.locale, sub.interests, sub.created_at = locale, regions, now
        session.flush()
        outbox.queue_many(session, [_mail(sub, "mailing_confirm",
                                          f"mailing-confirm:{sub.id}:{hour}",
                                          token=confirm_token(sub))])


def _read(token: str, *, timed: bool) -> tuple[int, str]:
    try:
        data = (_timed().loads(token, max_age=CONFIRM_MAX_AGE) if timed
                else _plain().loads(token))
    except SignatureExpired:
        raise OperationError(_("This confirmation link has expired. Links work for 7 days: "
                               "subscribe again to get a new one.")) from None
    except BadSignature:
        raise OperationError(_("This link is not valid. Check that you copied the whole "
                               "address from the e-mail.")) from None
    if not isinstance(data, dict) or not isinstance(data.get("s"), int):
        raise OperationError(_("This link is not valid."))
    return data["s"], str(data.get("k", ""))


def subscriber_for_confirmation(token: str) -> MailingSubscriber:
    """The subscriber a confirmation link names; OperationError for a bad or expired link."""
    sub_id, key = _read(token, timed=True)
    sub = db.session.get(MailingSubscriber, sub_id)
    if sub is None or not secrets.compare_digest(sub.secret, key):
        raise OperationError(_("This confirmation link is no longer valid: the address has "
                               "left the list since. Subscribe again to get a new one."))
    return sub


def confirm(token: str, now: datetime | None = None) -> MailingSubscriber:
    """Confirm the subscription a link names (the owner clicked); a second click is harmless."""
    sub = subscriber_for_confirmation(token)
    with db.transaction() as session:
        sub = session.get(MailingSubscriber, sub.id)
        if sub.confirmed_at is None:
            sub.confirmed_at = now or utcnow()
        return sub


def check_unsubscribe(token: str) -> MailingSubscriber | None:
    """The subscriber an unsubscribe link names, or None when they already left the list."""
    sub_id, key = _read(token, timed=False)
    sub = db.session.get(MailingSubscriber, sub_id)
    if sub is None:
        return None
    if not secrets.compare_digest(sub.secret, key):
        raise OperationError(_("This link is not valid."))
    return sub


def unsubscribe(token: str) -> None:
    """Leave the list: the address is deleted, as nothing more will be sent to it."""
    sub = check_unsubscribe(token)
    if sub is None:
        return
    with db.transaction() as session:
        row = session.get(MailingSubscriber, sub.id)
        if row is not None:
            session.delete(row)


def announce_call(call_id: int) -> int:
    """Tell every confirmed subscriber interested in the call's regions that it is published;
    returns how many e-mails were queued. Announcing twice sends nothing more."""
    with db.transaction() as session:
        call = session.get(Call, call_id)
        if call is None or not call.published or call.archived:
            raise NotFound("There is no such published call.")
        regions = set(call.partner_regions or ())
        subs = session.scalars(select(MailingSubscriber)
                               .where(MailingSubscriber.confirmed_at.is_not(None))
                               .order_by(MailingSubscriber.id)).all()
        mails = [_mail(s, "mailing_new_call", f"mailing-call:{call.id}:{s.id}",
                       timezone=call.timezone, call_slug=call.slug, call_title=call.title,
                       closes_at=call.closes_at.isoformat())
                 for s in subs if not s.interests or regions & set(s.interests)]
        return len(outbox.queue_many(session, mails))
