"""One case paired with two partner cities through the screens of a real browser: the
coordinator proposes both on the pairing page, the applicant and each partner's contact accept
(the case waits for the last of them), and the agreement names three parties, each of whom
signs; every page photographed and checked with axe-core."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.e2e.test_journey import act, case_state, sign_in
from tests.integration import test_several_partners as several
from webapp.db import db
from webapp.models import Case, Signature

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.postgres]


def accept_as_partner(pages, email: str, case_id: int):
    page = sign_in(pages, email)
    page.goto(f"/my/cases/{case_id}")
    page.locator("form[action$='/act/accept_pairing'] button[type=submit]").click()
    page.wait_for_load_state()
    return page


def sign(pages, page, case_id: int, name: str, title: str) -> None:
    page.goto(f"/agreements/{case_id}")
    form = page.locator("form[action$='/sign/typed']")
    form.locator("input[name$=full_name]").fill(name)
    form.locator("input[name$=title]").fill(title)
    form.locator("input[type=checkbox]").check()
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    pages.check(page, f"signed ({name})")


def test_a_coordinator_pairs_one_case_with_two_partner_cities(world, live, pages):
    medellin, mateo = several.second_partner()
    case = several.waiting(world)
    # Both partners share the case's topics, so the pairing page suggests both.
    world.partner_city.topics = list(case.topics)
    medellin.topics = list(case.topics)
    db.session.commit()
    case_id = case.id

    # -- the coordinator proposes Rosario, then adds Medellín on the pairing page
    coordinator = sign_in(pages, world.coordinator.email)
    coordinator.goto(f"/office/pairing/cases/{case_id}")
    pages.check(coordinator, "pairing page")
    coordinator.get_by_role("button", name=re.compile(r"Propose this partner\W+Rosario")).click()
    coordinator.wait_for_load_state()
    assert case_state(case_id) == "pairing_proposed"
    coordinator.get_by_role("button", name=re.compile(r"Add this partner too\W+Medellín")).click()
    coordinator.wait_for_load_state()
    pages.check(coordinator, "pairing page with two partners")
    assert coordinator.get_by_role("heading", name="Proposed partner: Medellín").is_visible()
    db.session.expire_all()
    assert [p.name for p in db.session.get(Case, case_id).partners] == ["Rosario", "Medellín"]

    # -- the applicant and Rosario accept; the case waits for Medellín
    city = sign_in(pages, world.applicant_a.email)
    city.goto(f"/my/cases/{case_id}")
    pages.check(city, "applicant sees both partners")
    assert city.get_by_role("heading", name="The partners we propose").is_visible()
    act(city, "Accept the pairing")
    rosario = accept_as_partner(pages, world.partner.email, case_id)
    pages.check(rosario, "first partner accepted")
    assert case_state(case_id) == "pairing_proposed"
    coordinator.reload()
    assert "Not yet accepted" in coordinator.locator(
        "section", has=coordinator.get_by_role("heading",
                                               name="Proposed partner: Medellín")).inner_text()
    medellin_page = accept_as_partner(pages, mateo.email, case_id)
    pages.check(medellin_page, "second partner accepted")
    assert case_state(case_id) == "agreement_pending"

    # -- one agreement, three parties, each signs
    city.goto(f"/agreements/{case_id}")
    pages.check(city, "agreement of three parties")
    text = city.locator("main").inner_text()
    for party in ("Lyon", "Rosario", "Medellín"):
        assert party in text
    sign(pages, city, case_id, "Anna Lyon", "Deputy Mayor")
    sign(pages, rosario, case_id, world.partner.name, "Secretary for Mobility")
    assert case_state(case_id) == "agreement_pending"
    sign(pages, medellin_page, case_id, mateo.name, "Head of Urban Planning")
    assert case_state(case_id) == "cooperation_active"
    db.session.rollback()
    signed = set(db.session.scalars(select(Signature.party).where(Signature.case_id == case_id)))
    assert signed == {"applicant", f"partner:{world.partner_city.id}", f"partner:{medellin.id}"}

    city.goto(f"/cooperation/cases/{case_id}")
    pages.check(city, "cooperation with two partners")
    assert "with Rosario and Medellín" in city.locator("main").inner_text()
    pages.assert_clean()
