"""Both case pages lead to the pages of the case's later stages."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD, complete_application, sign_agreement
from webapp.db import db
from webapp.models import Case
from webapp.operations import applications, cases

pytestmark = pytest.mark.integration


def test_case_pages_link_to_pairing_agreement_and_cooperation(world, make_browser):
    case = complete_application(applications.start_application(world.applicant_a, world.call.id))
    cases.fire(case.id, "submit", world.applicant_a)
    cases.fire(case.id, "declare_eligible", world.coordinator)
    coord = make_browser()
    coord.login("coord@iuc.eu", PASSWORD)
    page = coord.get(f"/office/cases/{case.id}").get_data(as_text=True)
    assert f"/office/pairing/cases/{case.id}" in page  # proposing happens on the suggestions
    cases.fire(case.id, "propose_pairing", world.coordinator,
               {"partner_city_id": world.partner_city.id})
    cases.fire(case.id, "accept_pairing", world.applicant_a)
    cases.fire(case.id, "accept_pairing", world.partner)
    applicant = make_browser()
    applicant.login("anna@lyon.fr", PASSWORD)
    page = applicant.get(f"/my/cases/{case.id}").get_data(as_text=True)
    assert f"/agreements/{case.id}" in page and "/cooperation/" not in page
    sign_agreement(case.id, world.applicant_a)
    sign_agreement(case.id, world.partner)
    assert db.session.get(Case, case.id).state == "cooperation_active"
    for browser, url in ((applicant, f"/my/cases/{case.id}"), (coord, f"/office/cases/{case.id}")):
        page = browser.get(url).get_data(as_text=True)
        assert f"/cooperation/cases/{case.id}/plan" in page
        assert f"/cooperation/cases/{case.id}/reports" in page
