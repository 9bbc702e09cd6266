"""The applicant portal over HTTP: register, confirm, apply step by step, submit."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from tests.factories import PASSWORD, complete_application
from webapp.db import db
from webapp.mail import delivery
from webapp.models import Case, Notification, User
from webapp.operations import applications

pytestmark = pytest.mark.integration


def sent_mail(app, template):
    n = db.session.scalar(select(Notification).where(Notification.template == template)
                          .order_by(Notification.id.desc()))
    assert n is not None, f"no {template} notification"
    assert delivery.deliver(n.id).status == "sent"
    from pathlib import Path

    files = sorted(Path(app.config["MAIL_SINK_DIR"]).glob(f"notification-{n.id}@*.eml"))
    assert files, "the mail sink holds no message"
    return files[0].read_text()


def test_register_confirm_by_the_link_in_the_mail_and_sign_in(app, browser, world):
    browser.get("/account/register")
    resp = browser.post("/account/register", {
        "name": "Marie Curie", "email": "Marie@Lille.fr", "organisation_name": "Lille",
        "organisation_kind": "city", "country": "FR", "password": "long enough pw",
        "confirm": "long enough pw", "privacy": "y"})
    assert resp.status_code == 200 and "marie@lille.fr" in resp.get_data(as_text=True).lower()
    mail = sent_mail(app, "confirm_email")
    link = re.search(r"http://localhost(/account/confirm/[\w.\-]+)", mail).group(1)
    # Before confirming, signing in is refused with a clear message.
    browser.get("/account/login")
    resp = browser.post("/account/login", {"email": "marie@lille.fr", "password": "long enough pw"})
    assert "Confirm your e-mail address first" in resp.get_data(as_text=True)
    assert browser.get(link).status_code == 302
    browser.login("marie@lille.fr", "long enough pw")
    assert browser.get("/my/").status_code == 200


def test_register_with_bad_input_keeps_what_was_typed(browser, world):
    browser.get("/account/register")
    resp = browser.post("/account/register", {
        "name": "Marie", "email": "not-an-email", "organisation_name": "Lille",
        "organisation_kind": "city", "country": "FR", "password": "short",
        "confirm": "other"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "There is a problem" in body
    assert "Enter an e-mail address like name@city.eu." in body
    assert "at least 10 characters" in body
    assert 'value="Lille"' in body and 'value="not-an-email"' in body
    assert db.session.scalar(select(User).where(User.email == "not-an-email")) is None


def test_wrong_password_message_does_not_reveal_the_account(browser, world):
    browser.get("/account/login")
    known = browser.post("/account/login", {"email": "anna@lyon.fr", "password": "wrong pass"})
    unknown = browser.post("/account/login", {"email": "nobody@x.eu", "password": "wrong pass"})
    assert known.status_code == unknown.status_code == 200
    msg = "The e-mail address or password is not right"
    assert msg in known.get_data(as_text=True) and msg in unknown.get_data(as_text=True)


def _start(browser, world) -> int:
    browser.login("anna@lyon.fr", PASSWORD)
    browser.get("/my/")
    resp = browser.post(f"/my/calls/{world.call.id}/apply")
    assert resp.status_code == 302
    return int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[-1])


def test_multi_step_application_saves_every_step_and_submits(app, browser, world, dispatched):
    case_id = _start(browser, world)
    base = f"/my/cases/{case_id}/sections"
    steps = {
        "organisation": {"name": "Lyon", "kind": "city", "country": "FR",
                         "population": "522000", "website": "https://lyon.fr"},
        "contact": {"contact_name": "Anna", "contact_email": "anna@lyon.fr",
                    "contact_title": "Head of international relations"},
        "topics": {"topics": ["smart-city", "urban-mobility"],
                   "challenge_statement": "We want to make urban mobility cleaner and use "
                                          "data to plan it with our citizens."},
        "partnership": {"partner_region": "Asia", "stakeholders": "University, SMEs"},
        "resources": {"resources_committed": "Two officers at 30% and a travel budget."},
        "commitments": {"cooperate_18_months": "y", "allocate_resources": "y",
                        "develop_lap": "y", "report_progress": "y"},
    }
    for section, data in steps.items():
        browser.get(f"{base}/{section}")
        resp = browser.post(f"{base}/{section}", {**data, "action": "continue"})
        assert resp.status_code == 302, (section, resp.get_data(as_text=True)[:3000])
    check = browser.get(f"/my/cases/{case_id}/check")
    assert "Submit application" in check.get_data(as_text=True)
    case = db.session.get(Case, case_id)
    resp = browser.post(f"/my/cases/{case_id}/act/submit", {"version": case.version})
    assert resp.status_code == 302
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    assert case.state == "eligibility_review"
    status = browser.get(f"/my/cases/{case_id}").get_data(as_text=True)
    assert "Eligible country" in status  # the eligibility verdict, in plain words
    assert "application_submitted" in [db.session.get(Notification, i).template
                                       for i in dispatched]


def test_invalid_step_input_is_kept_and_nothing_is_lost(browser, world):
    case_id = _start(browser, world)
    url = f"/my/cases/{case_id}/sections/organisation"
    browser.get(url)
    resp = browser.post(url, {"name": "Lyon Métropole", "kind": "city", "country": "FR",
                              "population": "lots", "action": "continue"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "There is a problem" in body and 'value="lots"' in body
    assert 'value="Lyon Métropole"' in body


def test_submit_refused_after_the_deadline_whatever_the_browser_shows(browser, world):
    case_id = _start(browser, world)
    case = complete_application(db.session.get(Case, case_id))
    from datetime import timedelta

    from webapp.db import utcnow

    world.call.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    resp = browser.post(f"/my/cases/{case_id}/act/submit", {"version": case.version})
    assert resp.status_code == 303
    page = browser.get(resp.headers["Location"]).get_data(as_text=True)
    assert "The call closed on" in page
    db.session.expire_all()
    assert db.session.get(Case, case_id).state == "draft"


def test_group_members_with_pdf_letter_and_bad_uploads(app, browser, world, monkeypatch):
    # A small limit keeps the oversize body in memory (large ones are spooled to disk).
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 100 * 1024)
    world.org_a.kind = "group"
    db.session.commit()
    case_id = _start(browser, world)
    url = f"/my/cases/{case_id}/sections/members"
    browser.get(url)
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    ok = browser.post(url, {"name": "Lead city", "population": "70000", "is_lead": "y",
                            "letter": (io.BytesIO(pdf), "letter.pdf")},
                      content_type="multipart/form-data")
    assert ok.status_code == 302
    fake = browser.post(url, {"name": "Second", "population": "40000",
                              "letter": (io.BytesIO(b"MZ\x90\x00 not a pdf"), "letter.pdf")},
                        content_type="multipart/form-data")
    assert fake.status_code == 400 and "must be a PDF" in fake.get_data(as_text=True)
    big = browser.post(url, {"name": "Third", "population": "40000",
                             "letter": (io.BytesIO(b"%PDF-" + b"0" * (200 * 1024)),
                                        "big.pdf")},
                       content_type="multipart/form-data")
    assert big.status_code == 400 and "smaller than 100 KB" in big.get_data(as_text=True)
    case = db.session.get(Case, case_id)
    assert [m.name for m in case.organisation.members] == ["Lead city"]
    assert case.organisation.members[0].commitment_document_id is not None


def test_another_organisation_gets_404(browser, world):
    case = applications.start_application(world.applicant_b, world.call.id)
    browser.login("anna@lyon.fr", PASSWORD)
    assert browser.get(f"/my/cases/{case.id}").status_code == 404
    assert browser.get(f"/my/cases/{case.id}/sections/contact").status_code == 404
    resp = browser.post(f"/my/cases/{case.id}/act/withdraw", {"reason": "hostile"})
    assert resp.status_code == 404


def test_post_without_csrf_token_is_refused(browser, world):
    case_id = _start(browser, world)
    resp = browser.post(f"/my/cases/{case_id}/act/withdraw", {"reason": "x"}, token=False)
    assert resp.status_code == 400
    assert db.session.get(Case, case_id).state == "draft"


def test_coordinator_decides_eligibility_through_the_case_page(make_browser, world):
    case = complete_application(applications.start_application(world.applicant_a, world.call.id))
    from webapp.operations import cases

    cases.fire(case.id, "submit", world.applicant_a)
    coord = make_browser()
    coord.login("coord@iuc.eu", PASSWORD)
    page = coord.get(f"/office/cases/{case.id}").get_data(as_text=True)
    assert "Declare eligible" in page and "Request information" in page
    version = db.session.get(Case, case.id).version
    resp = coord.post(f"/office/cases/{case.id}/act/declare_ineligible",
                      {"version": version, "declare_ineligible-reason": ""})
    assert resp.status_code == 400 and "Fill in “Reason”." in resp.get_data(as_text=True)
    resp = coord.post(f"/office/cases/{case.id}/act/declare_eligible", {"version": version})
    assert resp.status_code in (302, 303)
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "awaiting_pairing"
    # An applicant cannot reach the back office at all.
    other = make_browser()
    other.login("anna@lyon.fr", PASSWORD)
    assert other.get(f"/office/cases/{case.id}").status_code == 403


def _input_tag(body: str, field_id: str) -> str:
    found = re.search(rf'<(?:input|select|textarea)\b[^>]*\bid="{field_id}"[^>]*>', body)
    assert found, field_id
    return found.group(0)


def test_what_submitting_needs_is_marked_required_from_the_check_pages_rules(browser, world):
    case_id = _start(browser, world)
    case = db.session.get(Case, case_id)
    for section in ("organisation", "contact", "topics", "partnership", "resources",
                    "commitments"):
        body = browser.get(f"/my/cases/{case_id}/sections/{section}").get_data(as_text=True)
        needed = applications.required_fields(case, section)
        assert needed, section
        for name in needed:
            if name == "topics":  # a group of checkboxes: its legend says so
                assert re.search(r"Priority topics <span class=\"required\">\(required\)",
                                 body)
                continue
            tag = _input_tag(body, name)
            assert " required" in tag, (section, tag)
            if 'type="radio"' not in tag:
                assert 'aria-required="true"' in tag, (section, tag)
        # Nothing that submitting needs is called optional: its label (or, for radios, the
        # legend of the group) says it is required.
        for name in needed - {"topics"}:
            if 'type="radio"' in _input_tag(body, name):
                label = re.search(rf'<legend[^>]*>(.*?)</legend>(?:(?!</fieldset>).)*'
                                  rf'id="{name}"', body, re.S)
            else:
                label = re.search(rf'<label[^>]*for="{name}"[^>]*>(.*?)</label>', body, re.S)
            assert label, (section, name)
            assert "(optional)" not in label.group(1) and "(required)" in label.group(1)
    org = browser.get(f"/my/cases/{case_id}/sections/organisation").get_data(as_text=True)
    assert "(optional)" in re.search(r'<label[^>]*for="website"[^>]*>(.*?)</label>', org,
                                     re.S).group(1)
    # The markers and the check page read the same rules: every phrase the check page lists
    # for an empty application belongs to a field the form marks.
    problems = {s.key: set(applications.section_problems(case, s.key))
                for s in applications.sections_for(case)}
    marked = {str(r.missing) for s in problems for r in applications.requirements(case, s)
              if set(r.fields) <= applications.required_fields(case, s)}
    assert set().union(*problems.values()) <= marked


def test_saving_a_section_as_complete_names_what_is_missing_and_keeps_the_draft(browser,
                                                                               world):
    case_id = _start(browser, world)
    url = f"/my/cases/{case_id}/sections/organisation"
    browser.get(url)
    resp = browser.post(url, {"name": "Lyon", "kind": "city", "country": "",
                              "population": "", "website": "https://lyon.fr",
                              "action": "continue"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "There is a problem" in body
    assert '<a href="#country">Still missing: the country.</a>' in body
    assert '<a href="#population">Still missing: the population.</a>' in body
    assert "saved as a draft" in body
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    # What was typed is kept, in the page and in the application.
    assert 'value="https://lyon.fr"' in body and case.organisation.website == "https://lyon.fr"
    assert applications.section_problems(case, "organisation") == ["the country",
                                                                   "the population"]
    # A draft saves whatever is there, without a word about what is missing.
    browser.get(url)
    draft = browser.post(url, {"name": "Lyon", "kind": "city", "country": "FR",
                               "population": "", "version": case.version, "action": "draft"})
    assert draft.status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case_id).organisation.country == "FR"
    # A group gives its population member by member: the field is not required for it.
    browser.get(url)
    group = browser.post(url, {"name": "Lyon", "kind": "group", "country": "FR",
                               "population": "", "action": "continue"})
    assert group.status_code == 302
    page = browser.get(url).get_data(as_text=True)
    assert " required" not in _input_tag(page, "population")


def test_saving_the_declarations_as_complete_with_one_box_left_names_it(browser, world):
    case_id = _start(browser, world)
    url = f"/my/cases/{case_id}/sections/commitments"
    browser.get(url)
    case = db.session.get(Case, case_id)
    boxes = list(applications.section_answers(case, "commitments"))
    given = {name: "y" for name in boxes[:-1]}
    resp = browser.post(url, {**given, "action": "continue"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400, body[:500]
    assert f'<a href="#{boxes[-1]}">Still missing: every commitment declaration.</a>' in body
    # The boxes that were ticked are kept, in the application and on the page.
    db.session.expire_all()
    answers = applications.section_answers(db.session.get(Case, case_id), "commitments")
    assert [answers[name] for name in boxes] == [True] * (len(boxes) - 1) + [False]
    assert all(re.search(r"\bchecked\b", _input_tag(body, name)) for name in boxes[:-1])
