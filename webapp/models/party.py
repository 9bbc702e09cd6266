"""The parties of a case: the applicant organisation and each partner city it is proposed to
or paired with, with the people named as their contacts.

One type for every page, operation, e-mail and document that speaks of "the parties". A party
is read from the case, never stored: the case's organisation and partner links are the truth.
Its ``key`` is what party facts and signatures record (``applicant``, ``partner:<city id>``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from webapp.models.case import APPLICANT_PARTY, partner_party
from webapp.models.user import UserRole

if TYPE_CHECKING:
    from webapp.models.case import Case
    from webapp.models.organisation import PartnerCity
    from webapp.models.user import User

APPLICANT = APPLICANT_PARTY
PARTNER = "partner"
#: the kinds of party, in the order pages list them and documents name them
KINDS = (APPLICANT, PARTNER)
#: the role in which a person speaks for each kind of party
ROLES = {UserRole.APPLICANT: APPLICANT, UserRole.PARTNER: PARTNER}


@dataclass(frozen=True)
class Contact:
    """A person named for a party: its signatory or one of its contact persons."""

    name: str
    email: str = ""
    #: their title or role at the organisation or city
    title: str = ""


@dataclass(frozen=True)
class Party:
    """One side of a case: the applicant (an organisation) or a partner (a partner city)."""

    #: the party key: ``applicant``, or ``partner:<partner city id>``
    key: str
    #: applicant or partner
    kind: str
    name: str
    organisation_id: int | None = None
    partner_city_id: int | None = None
    contacts: tuple[Contact, ...] = ()


def kind_of(user: User | None) -> str | None:
    """The kind of party ``user`` speaks for; None for staff, the system and nobody."""
    return ROLES.get(user.role) if user is not None else None


def key_of(user: User | None) -> str | None:
    """The party key ``user`` acts as: ``applicant``, their own partner city's, or None."""
    kind = kind_of(user)
    if kind == PARTNER:
        # Each partner city of a case is a party of its own: it accepts and signs for itself.
        return partner_party(user.partner_city_id) if user.partner_city_id else None
    return kind


def is_party(user: User | None) -> bool:
    """Whether ``user`` speaks for one of the parties of the cases they see."""
    return kind_of(user) is not None


def _partner_contact(entry: Any) -> Contact | None:
    # The contacts column is free JSON: anything but a mapping is ignored.
    if not isinstance(entry, dict):
        return None
    return Contact(str(entry.get("name") or ""), str(entry.get("email") or ""),
                   str(entry.get("role") or ""))


def applicant_of(case: Case) -> Party:
    """The applicant party: the case's organisation and the contact its application names."""
    named = case.contact_name or case.contact_email
    contact = Contact(case.contact_name, case.contact_email, case.contact_title)
    return Party(APPLICANT, APPLICANT, case.organisation.name,
                 organisation_id=case.organisation_id, contacts=(contact,) if named else ())


def partner(city: PartnerCity) -> Party:
    """The party a partner city is on the cases it is paired with."""
    contacts = tuple(c for c in map(_partner_contact, city.contacts or []) if c is not None)
    return Party(partner_party(city.id), PARTNER, city.name, partner_city_id=city.id,
                 contacts=contacts)


def partners_of(case: Case) -> list[Party]:
    """The partner parties, the lead first: the partner cities the case is proposed to or
    paired with; none before pairing."""
    return [partner(city) for city in case.partners]


def parties_of(case: Case) -> list[Party]:
    """Every party of the case: the applicant first, then each partner."""
    return [applicant_of(case), *partners_of(case)]
