"""The applicant organisation's profile: one record, kept between applications, audited, that
every application shows; locked while a coordinator judges an application."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import complete_application
from webapp.db import db
from webapp.errors import Forbidden, OperationError
from webapp.models import AuditEvent, Case, Organisation
from webapp.operations import applications, cases

pytestmark = pytest.mark.integration

URL = "/my/organisation"
FORM = {"name": "Métropole de Lyon", "kind": "city", "country": "FR", "population": "1400000",
        "website": "https://www.grandlyon.com"}


def test_an_applicant_keeps_the_organisations_details_and_each_change_is_audited(
        world, browser):
    browser.login(world.applicant_a.email)
    page = browser.get(URL).get_data(as_text=True)
    assert 'value="Lyon"' in page and '<option selected value="FR">France' in page
    resp = browser.post(URL, FORM)
    assert resp.status_code == 302
    db.session.expire_all()
    org = db.session.get(Organisation, world.org_a.id)
    assert (org.name, org.population, org.website) == ("Métropole de Lyon", 1_400_000,
                                                       "https://www.grandlyon.com")
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "update_organisation"))
    assert event.case_id is None and event.actor_id == world.applicant_a.id
    assert event.payload == {"organisation_id": org.id, "changes": {
        "name": ["Lyon", "Métropole de Lyon"], "population": [522_000, 1_400_000],
        "website": ["", "https://www.grandlyon.com"]}}
    # Saving the same details again records nothing.
    browser.post(URL, FORM)
    assert len(db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "update_organisation")).all()) == 1


def test_bad_input_is_kept_and_explained(world, browser):
    browser.login(world.applicant_a.email)
    browser.get(URL)
    resp = browser.post(URL, {**FORM, "population": "lots", "country": "Atlantis"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "There is a problem" in page
    assert "Enter a whole number of inhabitants." in page and 'value="lots"' in page
    assert 'value="Métropole de Lyon"' in page
    assert db.session.get(Organisation, world.org_a.id).name == "Lyon"


def test_a_new_application_starts_from_the_profile(world, browser):
    applications.update_profile(world.applicant_a, {**FORM, "population": 1_400_000})
    draft = applications.start_application(world.applicant_a, world.call.id)
    assert applications.section_problems(draft, "organisation") == []
    browser.login(world.applicant_a.email)
    page = browser.get(f"/my/cases/{draft.id}/sections/organisation").get_data(as_text=True)
    assert 'value="Métropole de Lyon"' in page and 'value="1400000"' in page
    assert "See your organisation’s profile" in page
    # The call's eligible countries come first in the application's list.
    assert page.index("Eligible countries for this call") < page.index("Other countries")
    # One record: what the application's step changes, the profile shows.
    browser.post(f"/my/cases/{draft.id}/sections/organisation",
                 {**FORM, "website": "https://lyon.fr", "action": "draft"})
    assert 'value="https://lyon.fr"' in browser.get(URL).get_data(as_text=True)


def test_the_details_stay_as_submitted_while_a_coordinator_judges_them(world, browser):
    case = complete_application(applications.start_application(world.applicant_a,
                                                               world.call.id))
    cases.fire(case.id, "submit", world.applicant_a)
    reference = db.session.get(Case, case.id).reference
    browser.login(world.applicant_a.email)
    page = browser.get(URL).get_data(as_text=True)
    assert f"These details are being checked in application {reference}" in page
    assert "Save your organisation’s details" not in page
    resp = browser.post(URL, FORM)
    assert resp.status_code == 400
    assert f"being checked in application {reference}" in resp.get_data(as_text=True)
    assert db.session.get(Organisation, world.org_a.id).name == "Lyon"
    with pytest.raises(OperationError, match=reference):
        applications.update_profile(world.applicant_a, FORM)
    # Once decided, they can change again.
    cases.fire(case.id, "declare_eligible", world.coordinator)
    applications.update_profile(world.applicant_a, {**FORM, "population": 1_400_000})
    db.session.expire_all()
    assert db.session.get(Organisation, world.org_a.id).name == "Métropole de Lyon"


def test_only_the_organisations_applicants_reach_the_profile(world, make_browser):
    for person, status in ((world.partner, 403), (world.coordinator, 403)):
        b = make_browser()
        b.login(person.email)
        assert b.get(URL).status_code == status
    with pytest.raises(Forbidden):
        applications.update_profile(world.coordinator, FORM)
    anonymous = make_browser()
    assert "/account/login" in anonymous.get(URL).headers["Location"]


@pytest.mark.parametrize("lang", ["fr", "es", "pt"])
def test_the_profile_speaks_the_applicants_language(world, browser, lang):
    world.applicant_a.locale = lang
    db.session.commit()
    browser.login(world.applicant_a.email)
    page = browser.get(URL).get_data(as_text=True)
    expected = {"fr": ("Votre organisation", "Allemagne"), "es": ("Su organización", "Alemania"),
                "pt": ("Sua organização", "Alemanha")}[lang]
    assert all(word in page for word in expected)
    assert "Your organisation’s details are kept here" not in page
