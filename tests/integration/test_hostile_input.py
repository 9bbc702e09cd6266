"""The forms survive hostile input: oversized, empty, unicode-heavy, NUL bytes, markup.

Whatever arrives, the answer is a 4xx or the form again with a message, never a 5xx, and the
script never comes back unescaped in any page.
"""

from __future__ import annotations

import pytest

from tests.factories import complete_application
from webapp.db import db
from webapp.models import Case
from webapp.operations import applications, cases, tokens
from workflows import get_workflow

pytestmark = pytest.mark.integration

SCRIPT = "<script>alert(1)</script>"
HOSTILE = {
    "oversized": "A" * 100_000,
    "empty": "",
    "rtl": "\u202eكتابة من اليمين إلى اليسار\u202c שלום",
    "emoji": "🏙️🤝🌍 👩🏽‍💼" * 20,
    "combining": "Z\u0335\u0321\u0322a\u0336\u031b\u0358l\u0337\u0334g\u0338o" * 30,
    "nul": "before\x00after",
    "script": SCRIPT,
    "attribute": '"><img src=x onerror=alert(1)>',
}
#: what a reply may be: the form again (200/400), a redirect, or a refusal of the size
ANSWERS = {200, 302, 303, 400, 413, 422}


def check(resp, what: str) -> str:
    body = resp.get_data(as_text=True)
    assert resp.status_code < 500, f"{what}: {resp.status_code}"
    assert resp.status_code in ANSWERS, f"{what}: {resp.status_code}"
    assert SCRIPT not in body, f"{what} sent the script back unescaped"
    assert "<img src=x onerror" not in body, f"{what} sent markup back unescaped"
    return body


def helpful(body: str, what: str) -> None:
    assert "There is a problem" in body or "error" in body.lower(), \
        f"{what}: no message says what is wrong"


def test_account_forms(browser, world):
    for name, value in HOSTILE.items():
        account_forms(browser, name, value)


def account_forms(browser, name: str, value: str) -> None:
    browser.get("/account/register")
    body = check(browser.post("/account/register", {
        "name": value, "email": value, "organisation_name": value, "organisation_kind": value,
        "country": value, "password": value, "confirm": value, "privacy": value}),
        f"register ({name})")
    helpful(body, f"register ({name})")
    # Everything right but the free text: the account is made, or the text is refused.
    check(browser.post("/account/register", {
        "name": value, "email": f"{name}@city.eu", "organisation_name": value,
        "organisation_kind": "city", "country": "FR", "password": "long enough pw",
        "confirm": "long enough pw", "privacy": "y"}), f"register with {name} names")
    browser.get("/account/login")
    body = check(browser.post("/account/login", {"email": value, "password": value}),
                 f"login ({name})")
    helpful(body, f"login ({name})")
    browser.get("/account/forgot")
    body = check(browser.post("/account/forgot", {"email": value}), f"forgot ({name})")
    helpful(body, f"forgot ({name})")


def test_application_sections(browser, world):
    case = applications.start_application(world.applicant_a, world.call.id)
    browser.login(world.applicant_a.email)
    for name, value in HOSTILE.items():
        application_sections(browser, case.id, name, value)


def application_sections(browser, case_id: int, name: str, value: str) -> None:
    base = f"/my/cases/{case_id}/sections"
    fields = {
        "organisation": ["name", "kind", "country", "population", "website"],
        "contact": ["contact_name", "contact_title", "contact_email", "contact_phone"],
        "topics": ["topics", "challenge_statement"],
        "partnership": ["partner_region", "stakeholders"],
        "resources": ["resources_committed"],
        "commitments": ["cooperate_18_months", "develop_lap"],
    }
    for section, names in fields.items():
        browser.get(f"{base}/{section}")
        body = check(browser.post(f"{base}/{section}",
                                  {**{f: value for f in names}, "action": "draft"}),
                     f"section {section} ({name})")
        page = check(browser.get(f"{base}/{section}"), f"section {section} again ({name})")
        assert page
        if name in ("oversized", "script", "attribute") and section != "commitments":
            helpful(body, f"section {section} ({name})")
    check(browser.get(f"/my/cases/{case_id}"), f"case page ({name})")
    check(browser.get(f"/my/cases/{case_id}/check"), f"check page ({name})")


def test_transition_forms_on_the_coordinator_case_page(browser, make_browser, world):
    browser.login(world.coordinator.email)
    portal = make_browser()
    portal.login(world.applicant_a.email)
    for name, value in HOSTILE.items():
        transition_forms(world, browser, portal, name, value)


def transition_forms(world, browser, portal, name: str, value: str) -> None:
    wf = get_workflow("city-to-city")
    for transition in ("declare_ineligible", "request_information", "declare_eligible"):
        draft = applications.start_application(world.applicant_a, world.call.id)
        case = complete_application(db.session.get(Case, draft.id))
        cases.fire(case.id, "submit", world.applicant_a)
        db.session.expire_all()
        case = db.session.get(Case, case.id)
        browser.get(f"/office/cases/{case.id}")
        data = {f"{transition}-{f.name}": value for f in wf.transition(transition).fields}
        body = check(browser.post(f"/office/cases/{case.id}/act/{transition}",
                                  {"version": case.version, **data}),
                     f"{transition} ({name})")
        if name in ("oversized", "script", "attribute") and data:
            helpful(body, f"{transition} ({name})")
        check(browser.get(f"/office/cases/{case.id}"), f"case page after {transition} ({name})")
        check(portal.get(f"/my/cases/{case.id}"), f"portal after {transition} ({name})")
        # Close the case so the next one is the organisation's only live application.
        db.session.expire_all()
        if db.session.get(Case, case.id).state not in ("ineligible", "withdrawn"):
            cases.fire(case.id, "withdraw", world.applicant_a, {"reason": "next test"})


def test_nul_characters_and_huge_ids_never_reach_the_database(app, browser, world):
    assert browser.get("/calls/c2c%00").status_code == 400
    assert browser.get("/my/cases/99999999999999999999").status_code == 404
    browser.get("/account/login")
    assert browser.post("/account/login", {"email": "a\x00@b.eu", "password": "x"}
                        ).status_code == 400
    secret = tokens.create_token(world.admin, "fuzz").secret
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    resp = client.get("/api/v1/cases?q=lyon%00", headers=headers)
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json"
    resp = client.get(f"/api/v1/cases/{2**31}", headers=headers)
    assert resp.status_code == 404 and resp.mimetype == "application/problem+json"
    assert client.get(f"/api/v1/cases?call={2**40}", headers=headers).status_code == 422
