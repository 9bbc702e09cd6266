"""The parties of a case, read from the case: one type for every page and document."""

from __future__ import annotations

from webapp.models import Case, Organisation, PartnerCity, User, UserRole
from webapp.models.party import (
    APPLICANT,
    PARTNER,
    Contact,
    Party,
    is_party,
    kind_of,
    parties_of,
)


def _case(**kw) -> Case:
    org = Organisation(id=7, name="Lyon", kind="city", country="FR")
    return Case(organisation=org, organisation_id=org.id, contact_name=kw.pop("name", "Anna"),
                contact_email=kw.pop("email", "anna@lyon.fr"), contact_title="Mayor", **kw)


def test_a_case_before_pairing_has_only_its_applicant():
    assert parties_of(_case()) == [
        Party(APPLICANT, "Lyon", organisation_id=7,
              contacts=(Contact("Anna", "anna@lyon.fr", "Mayor"),))]


def test_an_application_that_names_nobody_has_no_contact():
    (applicant,) = parties_of(_case(name="", email=""))
    assert applicant.contacts == ()


def test_a_paired_case_lists_the_applicant_then_the_partner_with_its_contacts():
    city = PartnerCity(id=3, name="Rosario", country="AR", region="Latin America",
                       contacts=[{"name": "Rosa", "email": "rosa@rosario.ar", "role": "Director"},
                                 "not a contact", {"email": "info@rosario.ar"}])
    applicant, partner = parties_of(_case(partner_city=city))
    assert applicant.kind == APPLICANT
    assert partner == Party(PARTNER, "Rosario", partner_city_id=3, contacts=(
        Contact("Rosa", "rosa@rosario.ar", "Director"), Contact("", "info@rosario.ar", "")))


def test_who_speaks_for_which_kind_of_party():
    roles = {role: kind_of(User(role=role)) for role in UserRole}
    assert roles == {UserRole.APPLICANT: APPLICANT, UserRole.PARTNER: PARTNER,
                     UserRole.COORDINATOR: None, UserRole.ADMIN: None}
    assert [r for r in UserRole if is_party(User(role=r))] == [UserRole.APPLICANT,
                                                              UserRole.PARTNER]
    assert kind_of(None) is None and not is_party(None)
