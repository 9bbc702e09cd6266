"""The administration pages in a real browser, as an admin: staff and roles (with the invitee
accepting through the e-mail the worker really sends), the topic vocabulary and e-mail
wording; every page, and every form sent back with its errors, checked with axe-core."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.e2e.test_journey import sign_in
from tests.factories import complete_application
from webapp.db import db
from webapp.models import Case, MailWording, Topic, User
from webapp.operations import applications, cases

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.postgres]

INVITEE = "nadia@iurc.eu"
NEW_PASSWORD = "a long staff password"


def submitted_case(world) -> Case:
    case = complete_application(db.session.get(Case, applications.start_application(
        world.applicant_a, world.call.id).id))
    cases.fire(case.id, "submit", world.applicant_a)
    return case


def test_staff_and_roles_pages(world, live, pages):
    page = sign_in(pages, world.admin.email)
    page.get_by_role("link", name="Administration").click()
    page.wait_for_load_state()
    assert page.url.endswith("/office/admin/people")
    pages.check(page, "staff list")
    page.get_by_role("button", name="Invite a person").click()
    page.wait_for_load_state()
    pages.check(page, "invite form")
    page.get_by_label("Full name").fill("Nadia Team")
    page.get_by_label("E-mail address").fill("not an address")
    page.get_by_role("button", name="Send the invitation").click()
    page.wait_for_load_state()
    assert page.title().startswith("Error:")
    assert page.get_by_label("Full name").input_value() == "Nadia Team"
    pages.check(page, "invite form with errors")
    page.get_by_label("E-mail address").fill(INVITEE)
    page.get_by_label("Coordinator").check()
    page.get_by_label(world.programme.name).check()
    page.get_by_label("World region").select_option("Asia")
    page.get_by_role("button", name="Send the invitation").click()
    page.wait_for_load_state()
    assert "We have sent an invitation to nadia@iurc.eu." in page.content()
    pages.check(page, "invited person")

    # The invitee follows the link in the real e-mail and lands in the back office.
    message = live.mail_to(INVITEE, "invited you to citypair")
    link = live.link_in(message, "/account/reset/")
    invitee = pages.open()
    invitee.goto(link)
    pages.check(invitee, "accept the invitation")
    invitee.get_by_label("New password").fill(NEW_PASSWORD)
    invitee.get_by_label("Type the password again").fill(NEW_PASSWORD)
    invitee.get_by_role("button", name="Accept the invitation").click()
    invitee.wait_for_load_state()
    assert invitee.url.endswith("/office/cases")
    pages.check(invitee, "invitee in the back office")

    # The admin cannot step down as the last admin: the page says why.
    page.goto(f"/office/admin/people/{world.admin.id}")
    page.get_by_label("Coordinator").check()
    page.get_by_role("button", name="Change the role").click()
    page.wait_for_load_state()
    summary = page.locator(".error-summary").inner_text()
    assert "\nAdmin is the last active administrator." in summary and "None" not in summary
    pages.check(page, "last admin refused")
    person = db.session.scalar(select(User).where(User.email == INVITEE))
    page.goto(f"/office/admin/people/{person.id}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Deactivate Nadia Team").click()
    page.wait_for_load_state()
    assert "is deactivated" in page.content()
    pages.check(page, "deactivated person")
    pages.assert_clean()


def test_topic_vocabulary_pages(world, live, pages):
    page = sign_in(pages, world.admin.email)
    page.goto("/office/admin/topics")
    pages.check(page, "topic vocabulary")
    page.get_by_role("button", name="Add a topic").click()
    page.wait_for_load_state()
    page.get_by_role("button", name="Add the topic").click()
    page.wait_for_load_state()
    assert page.title().startswith("Error:")
    pages.check(page, "add a topic with errors")
    page.get_by_label("Label in English").fill("Night-time economy")
    page.get_by_label("Label in Français").fill("Économie de la nuit")
    page.get_by_role("button", name="Add the topic").click()
    page.wait_for_load_state()
    assert page.url.endswith("/office/admin/topics/night-time-economy")
    pages.check(page, "a new topic")
    page.get_by_label("Merge into", exact=True).select_option("tourism")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Merge").click()
    page.wait_for_load_state()
    assert page.url.endswith("/office/admin/topics/tourism")
    pages.check(page, "the surviving topic")
    db.session.expire_all()
    assert db.session.get(Topic, "night-time-economy").merged_into == "tourism"
    pages.assert_clean()


def test_e_mail_wording_pages(world, live, pages):
    case = submitted_case(world)
    page = sign_in(pages, world.admin.email)
    page.goto("/office/admin/emails")
    pages.check(page, "e-mail wording list")
    page.goto("/office/admin/emails/application_submitted/fr")
    assert case.reference in page.locator("main").inner_text()
    pages.check(page, "wording starts from the shipped one")
    body = page.get_by_label("Text")
    body.fill(body.input_value() + "\n{{ favourite_colour }}")
    page.get_by_role("button", name="Preview").click()
    page.wait_for_load_state()
    assert "Unknown variables: favourite_colour" in page.locator(".error-summary").inner_text()
    pages.check(page, "wording with an unknown variable")
    page.get_by_label("Text").fill("Bonjour {{ recipient_name }},\n\nNous avons reçu le "
                                   "dossier {{ reference }}.\n\n{{ link }}")
    page.get_by_role("button", name="Preview").click()
    page.wait_for_load_state()
    assert f"Nous avons reçu le dossier {case.reference}." in page.locator("main").inner_text()
    pages.check(page, "wording preview")
    page.get_by_role("button", name="Save the wording").click()
    page.wait_for_load_state()
    assert "The wording is saved" in page.content()
    pages.check(page, "saved wording")
    assert db.session.scalar(select(MailWording.locale)) == "fr"
    pages.assert_clean()


#: the administration pages, including those with tables whose cells hold hidden texts
ADMIN_PAGES = ("/office/admin/people", "/office/admin/people/invite", "/office/admin/topics",
               "/office/admin/emails", "/office/admin/programmes/", "/office/calls/",
               "/office/calls/new", "/account/tokens/")


def test_the_administration_pages_fit_a_narrow_screen_and_a_keyboard(world, live, pages):
    page = sign_in(pages, world.admin.email, viewport={"width": 320, "height": 640})
    page.goto("/account/tokens/")
    page.get_by_label("Token name").fill("Report script")
    page.get_by_role("button", name="Create the token").click()
    page.wait_for_load_state()
    for url in ADMIN_PAGES:
        page.goto(url)
        # WCAG 1.4.10: nothing but a data table's own box scrolls sideways at 320 px.
        scrolled = page.evaluate("() => { window.scrollTo(1000, 0); return window.scrollX; }")
        assert scrolled == 0, f"{url} scrolls sideways by {scrolled}px"
    pages.check(page, "the programmes at 320 px")

    # The call form by keyboard alone: every field, then Save, within a reasonable reach.
    desk = sign_in(pages, world.admin.email)
    desk.goto(f"/office/calls/{world.call.id}/edit")
    for presses in range(1, 120):
        desk.keyboard.press("Tab")
        if desk.evaluate("document.activeElement.textContent.trim()") == "Save the call":
            break
    else:
        raise AssertionError("Save the call is out of the keyboard's reach")
    assert presses < 80, presses
    with desk.expect_navigation():
        desk.keyboard.press("Enter")
    assert desk.url.endswith(f"/office/calls/{world.call.id}")
    pages.check(desk, "the call saved by keyboard")
    pages.assert_clean()
