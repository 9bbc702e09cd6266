"""What a city and a coordinator notice first, in a real browser: what the application needs is
marked before anything is sent, the workflows page draws its diagrams, the case page starts
with its actions, the case list fits a 1,280 px screen and the board keeps its words whole."""

from __future__ import annotations

import pytest

from tests.e2e.test_accessibility import cooperating_case
from tests.e2e.test_journey import sign_in
from tests.factories import complete_application
from webapp.db import db
from webapp.models import Case
from webapp.operations import applications, cases

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.postgres]

#: the height of the first screen the pages are read on
FIRST_SCREEN = 900
#: words of an element that the browser broke across two lines
BROKEN_WORDS = """(el) => {
  const text = el.firstChild && el.firstChild.nodeType === 3 ? el.firstChild : null;
  if (!text) return ['no text'];
  const broken = [];
  const re = /\\S+/g; let m;
  while ((m = re.exec(text.data))) {
    const range = document.createRange();
    range.setStart(text, m.index); range.setEnd(text, m.index + m[0].length);
    const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
    if (tops.size > 1) broken.push(m[0]);
  }
  return broken;
}"""


def waiting_case(world, user) -> Case:
    case = complete_application(applications.start_application(user, world.call.id))
    cases.fire(case.id, "submit", user)
    cases.fire(case.id, "declare_eligible", world.coordinator)
    db.session.expire_all()
    return db.session.get(Case, case.id)


def test_what_submitting_needs_is_marked_required_before_anything_is_sent(world, live, pages):
    case = applications.start_application(world.applicant_a, world.call.id)
    page = sign_in(pages, world.applicant_a.email)
    page.goto(f"/my/cases/{case.id}/sections/organisation")
    country = page.get_by_label("Country")
    assert country.get_attribute("required") is not None
    assert country.get_attribute("aria-required") == "true"
    assert "(required)" in page.locator('label[for="country"]').inner_text()
    population = page.get_by_label("Population (inhabitants)")
    assert population.get_attribute("aria-required") == "true"
    assert "(optional)" in page.locator('label[for="website"]').inner_text()
    pages.check(page, "organisation step with its required answers")
    page.goto(f"/my/cases/{case.id}/sections/contact")
    for label in ("Full name", "E-mail address"):
        field = page.get_by_label(label)
        assert field.get_attribute("required") is not None, label
        assert field.get_attribute("aria-required") == "true", label
    assert "(optional)" in page.locator('label[for="contact_phone"]').inner_text()
    pages.check(page, "contact step with its required answers")
    # A draft is still saved without them (the browser does not block the form).
    page.get_by_label("Full name").fill("")
    page.get_by_role("button", name="Save as draft").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/my/cases/{case.id}")
    pages.assert_clean()


def test_the_workflows_page_draws_each_definition(world, live, pages):
    page = sign_in(pages, world.coordinator.email)
    page.goto("/office/workflows")
    drawing = page.get_by_role("img", name="State diagram of IUC city-to-city cooperation")
    assert drawing.is_visible()
    box = drawing.bounding_box()
    assert box["width"] > 500 and box["height"] > 600
    assert page.locator("svg.workflow-diagram").count() == 2
    # The tables say it all in words, folded below the drawing.
    tables = page.locator("#wf-city-to-city-tables")
    assert tables.get_attribute("open") is None
    assert drawing.get_attribute("aria-details") == "wf-city-to-city-tables"
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 4500, height
    pages.check(page, "workflows page with its diagrams")
    tables.locator("summary").first.click()
    assert tables.get_by_role("table").first.is_visible()
    pages.check(page, "workflows page with the tables unfolded")
    pages.assert_clean()


def test_the_case_page_starts_with_its_stage_and_actions(world, live, pages):
    draft = waiting_case(world, world.applicant_a)
    paired = cooperating_case(world)
    page = sign_in(pages, world.coordinator.email)
    page.goto(f"/office/cases/{draft.id}")
    progress = page.locator(".progress").first.bounding_box()
    actions = page.locator("#actions-title").bounding_box()
    assert progress["y"] < actions["y"] < FIRST_SCREEN, (progress, actions)
    assert page.get_by_role("button", name="Propose a partner city").is_visible()
    pages.check(page, "case page awaiting pairing")
    page.goto(f"/office/cases/{paired.id}")
    assert page.locator("#actions-title").bounding_box()["y"] < FIRST_SCREEN
    pages.check(page, "case page of a running cooperation")
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 3500, height
    applicant = sign_in(pages, world.applicant_b.email)
    applicant.goto(f"/my/cases/{paired.id}")
    assert applicant.locator(".progress").first.bounding_box()["y"] < FIRST_SCREEN
    pages.check(applicant, "applicant case page of a running cooperation")
    pages.assert_clean()


def test_the_case_list_searches_on_one_line_and_fits_1280_pixels(world, live, pages):
    waiting_case(world, world.applicant_a)
    cooperating_case(world)
    page = sign_in(pages, world.coordinator.email)
    page.goto("/office/cases")
    filters = page.locator("form.case-filters")
    assert filters.bounding_box()["height"] < 260
    assert page.locator(".case-filters__more").get_attribute("open") is None
    wrap = page.locator(".table-wrap").first
    fits = wrap.evaluate("(w) => w.scrollWidth <= w.clientWidth + 1")
    last = page.get_by_role("columnheader", name="Last change").bounding_box()
    assert fits and last["x"] + last["width"] <= wrap.bounding_box()["x"] + \
        wrap.bounding_box()["width"] + 1, last
    pages.check(page, "case list at 1280 px")
    # A filter beyond the search keeps the folded filters open.
    page.goto("/office/cases?state=awaiting_pairing")
    assert page.locator(".case-filters__more").get_attribute("open") is not None
    pages.check(page, "case list filtered")
    pages.assert_clean()


def test_the_pairing_board_keeps_its_labels_whole(world, live, pages):
    waiting_case(world, world.applicant_a)
    page = sign_in(pages, world.coordinator.email)
    page.goto(f"/office/pairing/calls/{world.call.id}/board")
    label = page.locator("dt", has_text="Words both statements use").first
    assert label.evaluate(BROKEN_WORDS) == []
    pages.check(page, "pairing board")
    pages.assert_clean()
