"""The parties of a case, read from the case: one type for every page and document."""

from __future__ import annotations

from webapp.models import Case, CasePartner, Organisation, PartnerCity, User, UserRole
from webapp.models.party import (
    APPLICANT,
    PARTNER,
    Contact,
    Party,
    is_party,
    key_of,
    kind_of,
    parties_of,
)


def _case(**kw) -> Case:
    org = Organisation(id=7, name="Lyon", kind="city", country="FR")
    return Case(organisation=org, organisation_id=org.id, contact_name=kw.pop("name", "Anna"),
                contact_email=kw.pop("email", "anna@lyon.fr"), contact_title="Mayor", **kw)


def test_a_case_before_pairing_has_only_its_applicant():
    assert parties_of(_case()) == [
        Party("applicant", APPLICANT, "Lyon", organisation_id=7,
              contacts=(Contact("Anna", "anna@lyon.fr", "Mayor"),))]


def test_an_application_that_names_nobody_has_no_contact():
    (applicant,) = parties_of(_case(name="", email=""))
    assert applicant.contacts == ()


def _link(city: PartnerCity, position: int) -> CasePartner:
    return CasePartner(partner_city=city, partner_city_id=city.id, position=position)


def test_a_paired_case_lists_the_applicant_then_each_partner_with_its_contacts():
    rosario = PartnerCity(id=3, name="Rosario", country="AR", region="Latin America",
                          contacts=[{"name": "Rosa", "email": "rosa@rosario.ar",
                                     "role": "Director"},
                                    "not a contact", {"email": "info@rosario.ar"}])
    quito = PartnerCity(id=5, name="Quito", country="EC", region="Latin America")
    applicant, lead, second = parties_of(_case(partner_links=[_link(rosario, 0),
                                                              _link(quito, 1)]))
    assert applicant.key == applicant.kind == APPLICANT
    assert lead == Party("partner:3", PARTNER, "Rosario", partner_city_id=3, contacts=(
        Contact("Rosa", "rosa@rosario.ar", "Director"), Contact("", "info@rosario.ar", "")))
    # Each partner city is a party of its own, with its own key.
    assert (second.key, second.kind, second.name, second.contacts) == (
        "partner:5", PARTNER, "Quito", ())


def test_who_speaks_for_which_kind_of_party():
    roles = {role: kind_of(User(role=role)) for role in UserRole}
    assert roles == {UserRole.APPLICANT: APPLICANT, UserRole.PARTNER: PARTNER,
                     UserRole.COORDINATOR: None, UserRole.ADMIN: None}
    assert [r for r in UserRole if is_party(User(role=r))] == [UserRole.APPLICANT,
                                                              UserRole.PARTNER]
    assert kind_of(None) is None and not is_party(None)


def test_a_partner_contact_acts_as_their_own_city():
    assert key_of(User(role=UserRole.PARTNER, partner_city_id=3)) == "partner:3"
    assert key_of(User(role=UserRole.PARTNER)) is None
    assert key_of(User(role=UserRole.APPLICANT, organisation_id=7)) == "applicant"
    assert key_of(User(role=UserRole.COORDINATOR)) is None
