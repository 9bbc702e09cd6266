"""Stored values the back office shows by their translated names: world regions, and the
made-up values of an e-mail preview; one English word, two meanings, two translations."""

from __future__ import annotations

import pytest

from tests.integration.test_translated_verdicts import text_of
from webapp.db import db

pytestmark = pytest.mark.integration


def test_a_french_coordinator_filters_by_regions_named_in_french(world, browser):
    world.coordinator.locale = "fr"
    db.session.commit()
    browser.login(world.coordinator.email)
    page = browser.get("/office/cases").get_data(as_text=True)
    # The value stays the stored English name; what people read is French.
    assert '<option value="Latin America and the Caribbean">Amérique latine et Caraïbes' in page


def test_the_previews_made_up_values_are_in_the_previewed_language(world, browser):
    browser.login(world.admin.email)
    text = text_of(browser.get("/office/admin/emails/case_terminated/fr"))
    assert "(le motif indiqué)" in text and "(the reason given)" not in text


def test_to_a_state_and_to_a_recipient_are_told_apart(world, browser):
    world.admin.locale = "fr"
    db.session.commit()
    browser.login(world.admin.email)
    workflows = browser.get("/office/workflows").get_data(as_text=True)
    outbox = browser.get("/office/outbox").get_data(as_text=True)
    assert '<th scope="col" class="table__header">Vers</th>' in workflows
    assert '<th scope="col" class="table__header">Destinataire</th>' in outbox
