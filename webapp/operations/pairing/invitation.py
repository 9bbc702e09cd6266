"""The partner contact's invitation."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select

from webapp.access import can_view_case
from webapp.db import db, utcnow
from webapp.errors import Forbidden, NotFound, OperationError
from webapp.forms import one_line
from webapp.i18n import guess_timezone
from webapp.mail import outbox
from webapp.models import (
    Case,
    PartnerCity,
    User,
    UserRole,
)
from webapp.operations import audit
from webapp.operations.accounts import find_user, make_token


@dataclass(frozen=True)
class Contact:
    """A partner city's contact as the pairing page shows it."""

    name: str
    email: str
    role: str
    account: User | None  # the person's account, when they have one


def contacts_of(partner: PartnerCity) -> list[Contact]:
    """The partner city's listed contacts, each with the account its e-mail already has, then
    the partner contact accounts of the city that no listed contact names."""
    emails = [str(c.get("email") or "").strip().lower() for c in partner.contacts or []]
    accounts = {u.email: u for u in db.session.scalars(select(User).where(or_(
        User.email.in_([e for e in emails if e]),
        (User.partner_city_id == partner.id) & (User.role == UserRole.PARTNER))))}
    listed = [Contact(str(c.get("name") or ""), e, str(c.get("role") or ""), accounts.get(e))
              for c, e in zip(partner.contacts or [], emails, strict=True)]
    unlisted = [Contact(u.name, u.email, "", u) for u in sorted(
        accounts.values(), key=lambda u: u.id)
        if u.email not in emails and u.partner_city_id == partner.id and u.is_active]
    return listed + unlisted


def invite_partner_contact(case_id: int, user: User, email: str) -> User:
    """Give a partner city's contact a partner account for a proposed pairing.

    The contact gets an invitation with a link to set a password (the reset link), and then
    sees the case in their portal, where they accept or decline the pairing.
    """
    email = email.strip().lower()
    now = utcnow()
    with db.transaction() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise NotFound("There is no such case.")
        if not user.is_staff or not can_view_case(user, case):
            raise Forbidden("This case is not yours to manage.")
        if not case.partners:
            raise OperationError("Propose a partner city first.")
        # The contact speaks for the partner that lists it, whichever of the case's it is.
        found = next(((p, c) for p in case.partners for c in contacts_of(p)
                      if c.email == email and email), None)
        if found is None:
            names = " or ".join(p.name for p in case.partners)
            raise OperationError(f"{email or 'That address'} is not a contact of {names}.")
        partner, contact = found
        if find_user(email) is not None:
            raise OperationError(f"{email} already has an account.")
        # Their zone is guessed from the partner city's country until they choose their own.
        person = User(email=email, name=one_line(contact.name) or email.split("@")[0],
                      password_hash=None, role=UserRole.PARTNER, partner_city_id=partner.id,
                      timezone=guess_timezone(partner.country, now)
                      or case.call.programme.timezone, confirmed_at=now)
        session.add(person)
        session.flush()
        audit.record(session, "invite_partner_contact", user, case=case, at=now,
                     payload={"partner_city_id": partner.id, "email": email})
        outbox.queue(session, key=f"invite:{person.id}", template="invitation", user=person,
                     case=case, context={"token": make_token("invite", person),
                                         "inviter": user.display_name,
                                         "organisation": partner.name,
                                         "reference": case.reference})
        return person

