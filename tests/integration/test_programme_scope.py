"""Coordinators scoped to programmes: another programme's cases do not exist for them."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import complete_application, user
from webapp.access import programme_scope, visible_cases
from webapp.db import db, utcnow
from webapp.mail import outbox
from webapp.models import Call, Case, Programme, UserRole
from webapp.operations import applications, cases

LATAM = "Latin America and the Caribbean"


def _second_programme(world) -> Call:
    now = utcnow()
    programme = Programme(slug="iurc-na", name="IURC North America 2024–2025",
                          timezone="America/Toronto")
    call = Call(programme=programme, slug="na-c2c", kind="city-to-city",
                title="North America city-to-city", partner_regions=["North America", LATAM],
                opens_at=now - timedelta(days=5), closes_at=now + timedelta(days=30))
    db.session.add_all([programme, call])
    db.session.commit()
    return call


def _submitted(world, applicant, call) -> Case:
    case = applications.start_application(applicant, call.id)
    complete_application(case)
    cases.fire(case.id, "submit", applicant)
    return db.session.get(Case, case.id)


def test_a_coordinator_of_one_programme_sees_nothing_of_another(browser, make_browser, world):
    other_call = _second_programme(world)
    mine = _submitted(world, world.applicant_a, world.call)
    theirs = _submitted(world, world.applicant_b, other_call)
    iuc_only = user("iuc-only@iuc.eu", UserRole.COORDINATOR, programmes=[world.programme])
    db.session.commit()
    assert programme_scope(iuc_only) == {world.programme.id}
    assert programme_scope(world.coordinator) is None

    browser.login(iuc_only.email)
    assert browser.get(f"/office/cases/{theirs.id}").status_code == 404
    assert browser.get(f"/office/cases/{theirs.id}/audit.csv").status_code == 404
    assert browser.get(f"/office/pairing/cases/{theirs.id}").status_code == 404
    assert browser.get(f"/cooperation/cases/{theirs.id}").status_code == 404
    assert browser.get(f"/office/cases/{mine.id}").status_code == 200
    listing = browser.get("/office/cases").get_data(as_text=True)
    assert mine.reference in listing and theirs.reference not in listing
    exported = browser.get("/office/cases/export.csv").get_data(as_text=True)
    assert mine.reference in exported and theirs.reference not in exported
    ids = set(db.session.scalars(visible_cases(iuc_only).with_only_columns(Case.id)))
    assert ids == {mine.id}
    # The same pages exist for a coordinator of every programme.
    everyone = make_browser()
    everyone.login(world.coordinator.email)
    assert everyone.get(f"/office/cases/{theirs.id}").status_code == 200
    assert everyone.get(f"/office/pairing/cases/{theirs.id}").status_code == 200


def test_mail_for_coordinators_goes_to_those_of_the_case_programme(world):
    other_call = _second_programme(world)
    theirs = _submitted(world, world.applicant_b, other_call)
    iuc_only = user("iuc-only@iuc.eu", UserRole.COORDINATOR, programmes=[world.programme])
    na_only = user("na-only@iuc.eu", UserRole.COORDINATOR,
                   programmes=[other_call.programme])
    db.session.commit()
    told = {u.email for u in outbox.coordinators_for(db.session, theirs)}
    assert na_only.email in told and world.coordinator.email in told
    assert iuc_only.email not in told
