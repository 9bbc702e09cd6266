"""The public pages in a real browser: the countdown kept live by its script under the strict
CSP, the quick eligibility check, the pairings filters and the mailing list's double opt-in
with the mail the worker really sends; every page checked with axe-core."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from webapp.db import db, utcnow
from webapp.models import MailingSubscriber

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.postgres]


def test_countdown_runs_live_and_announces_only_coarse_steps(world, live, pages):
    world.call.closes_at = utcnow() + timedelta(days=1, minutes=30)
    db.session.commit()
    page = pages.open(timezone_id="America/Montevideo")
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.clock.install()
    page.goto(f"/calls/{world.call.slug}")
    countdown = page.locator("[data-countdown]")
    assert countdown.inner_text() in ("Closes in 1 day.", "Closes in 1 day 0 hours.")
    # The script shows the deadline in the browser's own zone, which the server cannot know.
    local = page.locator("[data-local-time]").first
    assert local.is_visible() and "Your time:" in local.inner_text()
    pages.check(page, "call page with countdown")
    live_region = page.locator("[data-countdown] ~ [aria-live='polite']")
    assert live_region.inner_text() == ""
    page.clock.fast_forward("01:00:00")
    assert countdown.inner_text().startswith("Closes in 23 hours")
    # Crossing from days to hours is a step worth telling screen-reader users about.
    assert live_region.inner_text().startswith("Closes in 23 hours")
    before = live_region.inner_text()
    page.clock.fast_forward("00:05:00")
    assert countdown.inner_text() != before  # the minutes move on screen
    assert live_region.inner_text() == before  # but are not announced
    assert not errors, errors  # nothing refused by the CSP, no script errors
    assert not pages.violations, pages.report()


def test_countdown_with_reduced_motion_changes_only_at_coarse_steps(world, live, pages):
    world.call.closes_at = utcnow() + timedelta(hours=5, minutes=40)
    db.session.commit()
    page = pages.open(reduced_motion="reduce")
    page.clock.install()
    page.goto(f"/calls/{world.call.slug}")
    countdown = page.locator("[data-countdown]")
    first = countdown.inner_text()
    assert first.startswith("Closes in 5 hours")
    page.clock.fast_forward("00:05:00")
    assert countdown.inner_text() == first
    page.clock.fast_forward("01:00:00")
    assert countdown.inner_text().startswith("Closes in 4 hours")


def test_quick_check_pairings_filters_and_mailing_list(world, live, pages):
    page = pages.open()
    page.goto("/")
    page.get_by_role("link", name="Check in a minute whether your city can apply").click()
    page.get_by_role("button", name="Check eligibility").click()
    assert page.title().startswith("Error:")
    assert page.locator(".error-summary").is_visible()
    pages.check(page, "eligibility check with errors")
    page.get_by_label("City or municipality").check()
    page.get_by_label("Country").select_option("Portugal")
    page.get_by_label("Number of inhabitants").fill("53000")
    page.get_by_role("button", name="Check eligibility").click()
    # Seed 003 only encourages larger cities: a smaller one goes to a coordinator.
    assert "A coordinator will need to check your application" in page.content()
    pages.check(page, "eligibility check, a coordinator checks")
    page.get_by_label("Province or other sub-national government").check()
    page.get_by_role("button", name="Check eligibility").click()
    assert "Your organisation cannot apply to this call" in page.content()
    assert "should apply to a region-to-region call instead" in page.content()
    pages.check(page, "eligibility check, not eligible")
    page.get_by_label("City or municipality").check()
    page.get_by_label("Number of inhabitants").fill("230000")
    page.get_by_role("button", name="Check eligibility").click()
    assert page.get_by_role("heading", name="Your city is likely to be eligible").is_visible()
    pages.check(page, "eligibility check, eligible")

    page.goto("/pairings")
    everything = page.locator("tbody tr").count()
    page.get_by_label("Partner region").select_option("North America")
    page.get_by_role("button", name="Apply filters").click()
    assert "region=North+America" in page.url
    assert 0 < page.locator("tbody tr").count() < everything
    pages.check(page, "pairings filtered by region")

    page.goto("/mailing-list")
    page.get_by_label("E-mail address").fill("reader@example.org")
    page.get_by_label("Français").check()
    page.get_by_label("Latin America and the Caribbean").check()
    page.get_by_role("button", name="Subscribe").click()
    assert page.get_by_role("heading", name="Check your e-mail").is_visible()
    pages.check(page, "mailing list, check your e-mail")
    assert db.session.scalar(select(MailingSubscriber.confirmed_at)) is None
    mail = live.mail_to("reader@example.org")
    page.goto(live.link_in(mail, "/mailing-list/confirm/"))
    pages.check(page, "mailing list, confirm")
    page.get_by_role("button").filter(has_text="Confirm").click()
    assert page.get_by_role("heading", name="Subscription confirmed").is_visible()
    db.session.expire_all()
    assert db.session.scalar(select(MailingSubscriber.confirmed_at)) is not None
    assert not pages.violations, pages.report()
