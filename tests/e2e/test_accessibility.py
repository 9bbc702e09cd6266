"""Accessibility beyond the journey: the checker itself, the skip link and visible focus,
pages read on a 320 px wide screen without sideways scrolling, an application made and
submitted with JavaScript turned off, its error summary linked to the fields, and the outbox's
questions before mail goes again, answered without JavaScript."""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_journey import STEPS, case_state, sign_in
from tests.factories import complete_application, sign_agreement
from webapp.db import db
from webapp.mail import outbox
from webapp.models import Case
from webapp.operations import applications, cases

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.postgres]

#: what overflows the page sideways, for the failure message
OVERFLOWING = """(width) => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > width + 1)
  .filter(e => !e.closest('.table-wrap, .visually-hidden, .skip-link'))
  .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
                   + ' ' + Math.round(e.getBoundingClientRect().right) + 'px')"""


def cooperating_case(world) -> Case:
    """Porto's application, paired with Rosario and signed by both."""
    case = applications.start_application(world.applicant_b, world.call.id)
    complete_application(db.session.get(Case, case.id))
    for name, who, payload in (
            ("submit", world.applicant_b, None), ("declare_eligible", world.coordinator, None),
            ("propose_pairing", world.coordinator, {"partner_city_id": world.partner_city.id}),
            ("accept_pairing", world.applicant_b, None), ("accept_pairing", world.partner, None)):
        cases.fire(case.id, name, who, payload)
    sign_agreement(case.id, world.applicant_b)
    sign_agreement(case.id, world.partner)
    db.session.expire_all()
    return db.session.get(Case, case.id)


def test_the_checker_finds_what_it_must(chromium, live, pages):
    page = pages.open()
    page.set_content('<!DOCTYPE html><html lang="en"><title>Bad</title><main>'
                     '<img src="data:,"><input type="text"></main></html>')
    pages.axe(page, "a page made to fail")
    found = {(v["id"], v["impact"]) for v in pages.violations}
    assert {("image-alt", "critical"), ("label", "critical")} <= found
    pages.violations.clear()


def test_skip_link_and_focus_are_visible(world, live, pages):
    page = pages.open()
    page.goto("/account/login")
    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    assert skip.inner_text() == "Skip to main content"
    box = skip.bounding_box()
    assert box and box["height"] > 10 and box["y"] >= 0
    pages.check(page, "skip link focused")
    page.keyboard.press("Enter")
    assert page.url.endswith("#main-content")
    assert page.evaluate("document.activeElement.id") == "main-content"
    # Every control shows where the keyboard is: an outline or a thick shadow, not colour alone.
    for control in (page.get_by_label("E-mail address"), page.get_by_role("button",
                                                                           name="Sign in")):
        before = control.evaluate("e => getComputedStyle(e).outlineStyle + "
                                  "getComputedStyle(e).boxShadow")
        control.focus()
        style = control.evaluate("e => [getComputedStyle(e).outlineStyle, "
                                 "getComputedStyle(e).outlineWidth, getComputedStyle(e).boxShadow]")
        assert style[0] + style[2] != before, style
        assert (style[0] != "none" and float(style[1].removesuffix("px")) >= 2) or \
            style[2] != "none", style
    pages.check(page, "button focused")
    pages.assert_clean()


def test_key_pages_fit_a_320px_screen(world, live, pages):
    draft = complete_application(applications.start_application(world.applicant_a,
                                                                 world.call.id))
    paired = cooperating_case(world)
    by_person = {
        None: ["/", "/calls", f"/calls/{world.call.slug}", "/pairings", "/account/login",
               "/account/register", "/accessibility"],
        world.applicant_a.email: ["/my/", f"/my/cases/{draft.id}",
                                  f"/my/cases/{draft.id}/sections/organisation",
                                  f"/my/cases/{draft.id}/sections/topics",
                                  f"/my/cases/{draft.id}/check"],
        world.applicant_b.email: [f"/agreements/{paired.id}", f"/cooperation/cases/{paired.id}",
                                  f"/cooperation/cases/{paired.id}/reports",
                                  f"/cooperation/cases/{paired.id}/plan"],
        world.coordinator.email: ["/office/cases", f"/office/cases/{paired.id}",
                                  f"/office/pairing/calls/{world.call.id}/board",
                                  "/office/dashboard"],
    }
    narrow = {"viewport": {"width": 320, "height": 640}}
    too_wide: dict[str, list[str]] = {}
    for person, urls in by_person.items():
        page = pages.open(**narrow) if person is None else sign_in(pages, person, **narrow)
        for url in urls:
            response = page.goto(url)
            assert response.ok, (url, response.status)
            pages.check(page, f"320px {url}")
            if page.evaluate("document.documentElement.scrollWidth") > 320:
                too_wide[url] = page.evaluate(OVERFLOWING, 320)
        if person is None:
            # French words run longer: the same pages must still fit.
            page.get_by_role("button", name="Français").click()
            page.wait_for_load_state()
            assert page.locator("html").get_attribute("lang") == "fr"
            for url in urls[:3] + ["/account/register"]:
                page.goto(url)
                pages.check(page, f"320px fr {url}")
                if page.evaluate("document.documentElement.scrollWidth") > 320:
                    too_wide[f"fr {url}"] = page.evaluate(OVERFLOWING, 320)
    assert not too_wide, too_wide
    pages.assert_clean()


def test_an_application_without_javascript(world, live, pages):
    page = sign_in(pages, world.applicant_a.email, java_script_enabled=False)
    page.goto("/my/")
    page.get_by_role("button", name=re.compile("Start or continue your application")).click()
    page.wait_for_load_state()
    case_id = int(re.search(r"/my/cases/(\d+)", page.url).group(1))
    pages.check(page, "no-js task list", axe=False)
    page.get_by_role("link", name="Organisation").first.click()
    page.get_by_label("Population (inhabitants)").fill("lots")
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_load_state()
    pages.check(page, "no-js error summary", axe=False)

    # The error summary names the problem and links to the field, which says it again.
    assert page.title().startswith("Error:")
    summary = page.locator(".error-summary")
    assert summary.get_attribute("role") == "alert"
    # One message, the one that says what to type (not a generic "not a valid integer").
    assert summary.locator("li").all_inner_texts() == ["Enter a whole number of inhabitants."]
    link = summary.get_by_role("link", name="Enter a whole number of inhabitants.")
    field = page.get_by_label("Population (inhabitants)")
    assert link.get_attribute("href") == "#" + field.get_attribute("id")
    described = field.get_attribute("aria-describedby").split()
    assert f"{field.get_attribute('id')}-error" in described
    assert "Enter a whole number of inhabitants." in page.locator(
        f"#{field.get_attribute('id')}-error").inner_text()
    assert field.input_value() == "lots"
    link.click()
    assert page.url.endswith("#" + field.get_attribute("id"))

    field.fill("522000")
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_load_state()
    while "/sections/" in page.url:
        section = page.url.rsplit("/", 1)[-1]
        pages.check(page, f"no-js step {section}", axe=False)
        STEPS[section](page)
    pages.check(page, "no-js check your answers", axe=False)
    page.get_by_role("button", name="Submit application").click()
    page.wait_for_load_state()
    pages.check(page, "no-js submitted", axe=False)
    assert case_state(case_id) == "eligibility_review"


def test_two_evaluators_and_a_conflict_on_the_scoring_page(world, live, pages):
    from tests.integration.test_cooperation import region_case_in_scoring

    case = region_case_in_scoring(world)
    url = f"/cooperation/cases/{case.id}/scoring"
    for email, marks in ((world.coordinator.email, ("4", "5", "3")),
                         (world.coordinator_latam.email, ("3", "4", "2"))):
        page = sign_in(pages, email)
        page.goto(url)
        pages.check(page, f"scoring by {email}")
        for label, mark in zip(("Support for a smart-specialisation strategy (RIS3)",
                                "Potential to leverage joint new projects",
                                "Potential to create business opportunities"), marks,
                               strict=True):
            page.get_by_role("group", name=label).get_by_label(mark, exact=True).check()
        page.get_by_role("button", name="Save my scores").click()
        page.wait_for_load_state()
        assert "Your scores are saved." in page.content()
    pages.check(page, "scoring: means and spreads")
    assert "Every mean score meets its threshold" in page.content()
    admin = sign_in(pages, world.admin.email)
    admin.goto(url)
    admin.get_by_role("button", name="Declare a conflict of interest").click()
    admin.wait_for_load_state()
    pages.check(admin, "conflict: the statement is needed")
    admin.get_by_label("Your interest in this application").fill("I advised the applicant.")
    admin.get_by_role("button", name="Declare a conflict of interest").click()
    admin.wait_for_load_state()
    pages.check(admin, "conflict declared")
    assert "you do not score it" in admin.content()
    office = sign_in(pages, world.coordinator.email)
    office.goto(f"/office/cases/{case.id}")
    pages.check(office, "case page with its assessment")
    assert "Conflicts of interest declared by:" in office.content()
def test_the_api_tokens_page_with_its_scope_and_lifetime(world, live, pages):
    page = sign_in(pages, world.coordinator.email)
    page.goto("/account/tokens/")
    pages.check(page, "tokens page")
    # Least privilege first: a new token reads only unless its owner chooses more.
    assert page.get_by_label("Read only: see what you can see").is_checked()
    page.get_by_label("Token name").fill("Nightly sync")
    page.get_by_label("Valid for (days)").fill("9999")
    page.get_by_role("button", name="Create the token").click()
    page.wait_for_load_state()
    pages.check(page, "tokens page, lifetime refused")
    assert "A token lasts from 1 to" in page.locator(".error-summary").inner_text()
    page.get_by_label("Read and write: also act on cases as you").check()
    page.get_by_label("Valid for (days)").fill("30")
    page.get_by_role("button", name="Create the token").click()
    page.wait_for_load_state()
    pages.check(page, "tokens page, token created")
    assert page.get_by_label("Token", exact=True).input_value().startswith("cp_")
    row = page.locator("tr", has_text="Nightly sync")
    assert "read and write" in row.inner_text() and "Active" in row.inner_text()
def test_the_outbox_asks_before_a_second_copy_without_javascript(world, live, pages):
    with db.transaction() as session:
        mail = {status: [outbox.queue(session, key=f"{status}-{i}", template="state_changed",
                                      user=world.applicant_a, status=status)
                         for i in range(2 if status == "failed" else 1)]
                for status in ("sent", "unknown", "failed")}
        unknown = mail["unknown"][0]
        unknown.last_error = ("no reply to the end of the message (SMTPServerDisconnected: "
                              "Connection unexpectedly closed: timed out): the relay may have "
                              "accepted it")
        for n in mail["failed"]:
            n.last_error = "550 5.1.1 No such mailbox here"
    page = sign_in(pages, world.coordinator.email, java_script_enabled=False)
    page.goto(f"/office/outbox/{unknown.id}")
    assert "may have accepted it" in page.content()
    pages.check(page, "no-js unknown e-mail", axe=False)
    page.get_by_role("button", name="Send this e-mail again…").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/office/outbox/{unknown.id}/resend")
    assert "second copy" in page.content()
    pages.check(page, "no-js send again?", axe=False)
    page.get_by_role("button", name="Yes, send again").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/office/outbox/{unknown.id}")
    assert "The e-mail will be sent again." in page.content()

    page.goto("/office/outbox")
    page.get_by_role("button", name="Send the 2 failed e-mails again…").click()
    page.wait_for_load_state()
    pages.check(page, "no-js retry failed?", axe=False)
    page.get_by_role("button", name="Yes, send them again").click()
    page.wait_for_load_state()
    assert "2 failed e-mails will be sent again." in page.content()
    pages.check(page, "no-js outbox after retry", axe=False)

    # The same pages, checked with axe.
    sent = mail["sent"][0]
    checked = sign_in(pages, world.coordinator.email)
    for url, label in ((f"/office/outbox/{sent.id}", "sent e-mail"),
                       (f"/office/outbox/{sent.id}/resend", "send again?"),
                       ("/office/outbox/retry-failed", "retry failed (none left)")):
        assert checked.goto(url).ok
        pages.check(checked, label)
    pages.assert_clean()
