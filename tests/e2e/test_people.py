"""A coordinator's working list and their own time zone, in a real browser: the deliverables
page, then the account page where choosing another zone changes the deadline a page shows.
axe-core checks every page."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.test_journey import sign_in
from tests.integration.test_cooperation import by_kind, cooperating
from webapp.db import utcnow

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.postgres]

CORDOBA = "America/Argentina/Cordoba"


def test_the_deliverables_list_and_a_time_zone_choice(world, live, pages):
    # Forty-five days into the cooperation the work plan falls due within the month.
    case = cooperating(world, utcnow() - timedelta(days=45))
    work_plan = by_kind(case.id)["work_plan", 1]
    page = sign_in(pages, world.coordinator.email)

    page.get_by_role("link", name="Deliverables", exact=True).first.click()
    page.wait_for_load_state()
    assert page.url.endswith("/office/deliverables")
    row = page.get_by_role("row").filter(has_text=case.reference)
    assert "Due soon" in row.inner_text()
    pages.check(page, "deliverables that need attention")
    page.get_by_label("Status").select_option("overdue")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_load_state()
    assert "No deliverable matches your filters." in page.content()
    pages.check(page, "deliverables filtered to none")
    page.get_by_role("link", name="Clear filters").click()
    page.get_by_role("link", name="Work plan").click()
    page.wait_for_load_state()
    due_in_brussels = page.locator("dd", has_text="(CET)").first.inner_text()
    local = work_plan.due_at.astimezone(ZoneInfo("Europe/Brussels"))
    assert f"{local:%-I:%M}" in due_in_brussels
    deliverable_url = page.url

    page.goto("/account/")
    pages.check(page, "account: language and time zone")
    page.get_by_label("Your time zone").select_option(CORDOBA)
    page.get_by_role("button", name="Save my language and time zone").click()
    page.wait_for_load_state()
    assert "Your language and time zone are saved." in page.content()
    assert f"{CORDOBA} (UTC\u221203:00)" in page.content()
    pages.check(page, "account saved")

    page.goto(deliverable_url)
    due_in_cordoba = page.locator("dd", has_text="(UTC-03)").first.inner_text()
    local = work_plan.due_at.astimezone(ZoneInfo(CORDOBA))
    assert f"{local:%-I:%M}" in due_in_cordoba and due_in_cordoba != due_in_brussels
    pages.check(page, "the deadline in Córdoba time")
    pages.assert_clean()
