"""Running a programme from the browser: an admin clones last year's call into next year's,
moves its dates, previews and publishes it, and the public finds it; the programme pages and
an applicant's organisation profile. Every page is checked with axe-core."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.e2e.test_journey import sign_in
from webapp.db import db, utcnow
from webapp.models import Call, Organisation, Programme

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.postgres]

BRUSSELS = ZoneInfo("Europe/Brussels")


def last_years_call(world) -> Call:
    now = utcnow()
    call = Call(programme=world.programme, slug="iurc-c2c-2025", kind="city-to-city",
                title="IURC city-to-city call 2025",
                summary="EU cities apply to cooperate with a partner city.\n\n"
                        "<strong>Groups of municipalities</strong> are welcome.",
                partner_regions=["Asia", "Latin America and the Caribbean"],
                eligible_countries=[*world.call.eligible_countries, "GB"],
                opens_at=now - timedelta(days=400), closes_at=now - timedelta(days=330))
    db.session.add(call)
    db.session.commit()
    return call


def local(moment) -> str:
    return moment.astimezone(BRUSSELS).strftime("%Y-%m-%dT%H:%M")


def test_an_admin_opens_next_years_call_from_last_years(world, live, pages):
    old = last_years_call(world)
    admin = sign_in(pages, world.admin.email)
    admin.get_by_role("link", name="Calls", exact=True).click()
    admin.wait_for_load_state()
    pages.check(admin, "calls of the programme")
    admin.get_by_role("link", name="IURC city-to-city call 2025").click()
    admin.wait_for_load_state()
    pages.check(admin, "last year's call")
    admin.get_by_role("button", name="Clone for next year").click()
    admin.wait_for_load_state()
    assert "Next year’s call is ready as a draft" in admin.content() or \
        "Next year's call is ready as a draft" in admin.content()
    assert admin.get_by_role("heading", name="IURC city-to-city call 2026").is_visible()
    pages.check(admin, "the clone, a draft")
    clone_id = int(re.search(r"/office/calls/(\d+)", admin.url).group(1))

    admin.get_by_role("button", name="Change the call").click()
    admin.wait_for_load_state()
    pages.check(admin, "the call's form")
    now = utcnow()
    # A closing time before the opening: the page says so and keeps what was typed.
    admin.get_by_label("Opens", exact=True).fill(local(now - timedelta(hours=1)))
    admin.get_by_label("Closes", exact=True).fill(local(now - timedelta(days=2)))
    admin.get_by_role("button", name="Save the call").click()
    admin.wait_for_load_state()
    summary = admin.locator(".error-summary")
    assert "The call must close after it opens." in summary.inner_text()
    assert admin.title().startswith("Error:")
    pages.check(admin, "the call's form with an error")
    closes = now + timedelta(days=60)
    admin.get_by_label("Closes", exact=True).fill(local(closes))
    admin.get_by_role("button", name="Save the call").click()
    admin.wait_for_load_state()
    assert f"/office/calls/{clone_id}" in admin.url
    pages.check(admin, "the clone with its new dates")

    admin.get_by_role("button", name="Preview the public page").click()
    admin.wait_for_load_state()
    assert "This is how the public will see this call once it is published." in \
        admin.content()
    assert admin.get_by_role("heading", name="IURC city-to-city call 2026").is_visible()
    assert "United Kingdom" in admin.content()
    pages.check(admin, "preview of the public page")
    admin.get_by_role("link", name="Back to the call").click()
    admin.wait_for_load_state()
    admin.get_by_role("button", name="Publish", exact=True).click()
    admin.wait_for_load_state()
    assert "The call is published" in admin.content()
    pages.check(admin, "the published call")

    visitor = pages.open()
    visitor.goto("/calls")
    assert visitor.get_by_role("link", name="IURC city-to-city call 2026", exact=True).is_visible()
    pages.check(visitor, "public calls with next year's")
    visitor.get_by_role("link", name="IURC city-to-city call 2026", exact=True).click()
    visitor.wait_for_load_state()
    assert "Groups of municipalities" in visitor.content()
    pages.check(visitor, "next year's call, public")

    db.session.rollback()
    clone = db.session.get(Call, clone_id)
    assert (clone.published, clone.slug, clone.status(utcnow())) == (True, "iurc-c2c-2026",
                                                                    "open")
    assert abs(clone.closes_at - closes) < timedelta(minutes=1)
    assert clone.eligible_countries == old.eligible_countries
    pages.assert_clean()


def test_programme_pages_and_the_organisation_profile(world, live, pages):
    admin = sign_in(pages, world.admin.email)
    admin.goto("/office/admin/programmes/")
    pages.check(admin, "programmes")
    admin.get_by_role("button", name="Add a programme").click()
    admin.wait_for_load_state()
    pages.check(admin, "new programme")
    admin.get_by_label("Name", exact=True).fill("IURC Latin America 2021–2023")
    admin.get_by_label("Short name").fill("IURC LatAm")
    admin.get_by_role("button", name="Save the programme").click()
    admin.wait_for_load_state()
    assert "Use up to 40 lower-case letters" in admin.locator(".error-summary").inner_text()
    pages.check(admin, "new programme with an error")
    admin.get_by_label("Short name").fill("iurc-latam")
    admin.get_by_label("Time zone", exact=True).select_option("America/Sao_Paulo")
    admin.get_by_label("Target: city partnerships").fill("10")
    admin.get_by_role("button", name="Save the programme").click()
    admin.wait_for_load_state()
    assert admin.get_by_role("link", name="IURC Latin America 2021–2023", exact=True).is_visible()
    admin.get_by_role("link", name="IURC Latin America 2021–2023", exact=True).click()
    admin.wait_for_load_state()
    pages.check(admin, "a programme's page")
    admin.goto("/office/calls/new")
    pages.check(admin, "new call")

    db.session.rollback()
    programme = db.session.scalar(select(Programme).where(Programme.slug == "iurc-latam"))
    assert programme.timezone == "America/Sao_Paulo" and programme.targets == {
        "city_partnerships": 10}

    city = sign_in(pages, world.applicant_a.email)
    city.get_by_role("link", name="Your organisation").click()
    city.wait_for_load_state()
    pages.check(city, "organisation profile")
    city.get_by_label("Website (optional)").fill("https://www.lyon.fr")
    city.get_by_role("button", name="Save your organisation’s details").click()
    city.wait_for_load_state()
    assert "Your organisation's details are saved." in city.content()
    pages.check(city, "organisation profile saved")
    db.session.rollback()
    assert db.session.get(Organisation, world.org_a.id).website == "https://www.lyon.fr"
    pages.assert_clean()
