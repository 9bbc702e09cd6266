"""An information request that names the sections the applicant must revise: offered on the
case page as the application's own sections, kept with the request, told in the e-mail in the
applicant's language, shown on the applicant's case page (those sections open, the others
read-only) and in both timelines; unknown sections are refused."""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.factories import complete_application
from tests.integration.test_api import api, assert_problem, submitted  # noqa: F401 (fixture)
from webapp.db import db, utcnow
from webapp.errors import OperationError
from webapp.mail import delivery
from webapp.models import AuditEvent, Case, Notification
from webapp.operations import applications, cases
from webapp.operations.applications import SECTION_TITLES

pytestmark = pytest.mark.integration


def request_form(case: Case, sections=(), **extra) -> dict:
    due = (utcnow() + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    data = {"version": str(case.version), "request_information-message": "Please send more.",
            "request_information-response_deadline": due, **extra}
    if sections:
        data["request_information-sections"] = list(sections)
    return data


def fresh(case_id: int) -> Case:
    db.session.expire_all()
    return db.session.get(Case, case_id)


def test_the_case_page_offers_the_applications_own_sections(browser, world):
    case = submitted(world)
    browser.login(world.coordinator.email)
    body = browser.get(f"/office/cases/{case.id}").get_data(as_text=True)
    offered = re.findall(r'name="request_information-sections" value="([a-z_]+)"', body)
    # A single city has no group members to revise.
    assert offered == ["organisation", "contact", "topics", "partnership", "resources",
                       "commitments"]
    assert 'type="checkbox"' in body and "Sections to revise" in body
    assert "Tick none to let the applicant change any section." in body


def test_named_sections_are_kept_told_and_the_only_ones_open(app, browser, make_browser, world):
    world.applicant_a.locale = "fr"
    db.session.commit()
    case = submitted(world)
    browser.login(world.coordinator.email)
    browser.get(f"/office/cases/{case.id}")
    resp = browser.post(f"/office/cases/{case.id}/act/request_information",
                        request_form(case, ["contact", "resources"]))
    assert resp.status_code == 303
    case = fresh(case.id)
    assert case.state == "information_requested"
    assert case.flagged_sections == ["contact", "resources"]
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "request_information"))
    assert event.payload["sections"] == ["contact", "resources"]
    office = browser.get(f"/office/cases/{case.id}").get_data(as_text=True)
    assert "Sections to revise: Contact person, Resources committed" in office

    # The e-mail names them in the applicant's language.
    n = db.session.scalar(select(Notification).where(
        Notification.template == "information_requested"))
    assert delivery.deliver(n.id).status == "sent"
    [eml] = Path(app.config["MAIL_SINK_DIR"]).glob(f"notification-{n.id}@*.eml")
    mail = message_from_bytes(eml.read_bytes(), policy=policy.default)
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "- Personne de contact\n- Ressources engagées" in text
    assert "<li>Personne de contact</li><li>Ressources engagées</li>" in html

    # The applicant's page marks those two to revise; the others cannot be changed.
    applicant = make_browser()
    applicant.login(world.applicant_a.email)
    page = applicant.get(f"/my/cases/{case.id}").get_data(as_text=True)
    assert page.count(">À réviser<") == 2
    for key in ("contact", "resources"):
        assert f'href="/my/cases/{case.id}/sections/{key}" aria-describedby' in page
    assert f'href="/my/cases/{case.id}/sections/organisation" aria-describedby' not in page
    assert "Sections à réviser : Personne de contact, Ressources engagées" in page
    resp = applicant.post(f"/my/cases/{case.id}/sections/resources",
                          {"version": fresh(case.id).version, "action": "draft",
                           "resources_committed": "Three officers at 40% for 18 months."})
    assert resp.status_code == 302
    assert fresh(case.id).resources_committed == "Three officers at 40% for 18 months."
    with pytest.raises(OperationError):
        applications.save_section(case.id, world.applicant_a, "organisation",
                                  {"name": "Lyon", "kind": "city", "country": "France",
                                   "population": 1})


def test_no_section_ticked_leaves_every_section_open(browser, world):
    case = submitted(world)
    browser.login(world.coordinator.email)
    browser.get(f"/office/cases/{case.id}")
    assert browser.post(f"/office/cases/{case.id}/act/request_information",
                        request_form(case)).status_code == 303
    case = fresh(case.id)
    assert case.state == "information_requested" and case.flagged_sections == []
    saved = applications.save_section(case.id, world.applicant_a, "organisation", {
        "name": "Lyon Métropole", "kind": "city", "country": "France", "population": 522_000})
    assert saved.organisation.name == "Lyon Métropole"


@pytest.mark.parametrize("sections", [["secret_section"], ["members"]])
def test_a_section_the_application_lacks_is_refused_and_nothing_changes(browser, world,
                                                                       sections):
    case = submitted(world)
    browser.login(world.coordinator.email)
    browser.get(f"/office/cases/{case.id}")
    resp = browser.post(f"/office/cases/{case.id}/act/request_information",
                        request_form(case, sections))
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert "There is a problem" in body and "not a valid choice" in body
    # What was typed is still there.
    assert "Please send more." in body
    case = fresh(case.id)
    assert case.state == "eligibility_review" and case.flagged_sections == []


def test_a_group_is_offered_its_members_section(browser, world):
    world.org_b.kind = "group"
    db.session.commit()
    case = applications.start_application(world.applicant_b, world.call.id)
    complete_application(db.session.get(Case, case.id))
    cases.fire(case.id, "submit", world.applicant_b)
    browser.login(world.coordinator.email)
    body = browser.get(f"/office/cases/{case.id}").get_data(as_text=True)
    assert 'name="request_information-sections" value="members"' in body
    resp = browser.post(f"/office/cases/{case.id}/act/request_information",
                        request_form(fresh(case.id), ["members"]))
    assert resp.status_code == 303 and fresh(case.id).flagged_sections == ["members"]


def test_the_api_takes_section_names_and_refuses_others(world, api):  # noqa: F811
    case = submitted(world)
    client = api(world.coordinator)
    listed = client.get(f"/api/v1/cases/{case.id}/transitions").get_json()
    [request] = [t for t in listed["transitions"] if t["name"] == "request_information"]
    [field] = [f for f in request["fields"] if f["name"] == "sections"]
    assert field["type"] == "choices" and field["required"] is False
    assert field["choices"] == [k for k in SECTION_TITLES if k != "members"]
    url = f"/api/v1/cases/{case.id}/transitions/request_information"
    payload = {"message": "Send it", "response_deadline": "2099-12-01T17:00:00+01:00"}
    body = assert_problem(client.post(url, {"expected_version": case.version, "payload": {
        **payload, "sections": ["budget"]}}), 422, "Unknown: budget")
    assert "sections" in body["errors"]["json"]["payload"]
    assert_problem(client.post(url, {"expected_version": case.version, "payload": {
        **payload, "sections": "contact"}}), 422, "list of names")
    # A section of another kind of application: refused by the transition, nothing kept.
    assert_problem(client.post(url, {"expected_version": case.version, "payload": {
        **payload, "sections": ["members"]}}), 422, "There is no section", "members")
    assert fresh(case.id).state == "eligibility_review"
    resp = client.post(url, {"expected_version": case.version,
                             "payload": {**payload, "sections": ["topics", "topics"]}})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert fresh(case.id).flagged_sections == ["topics"]


def test_every_choices_field_of_the_definitions_has_its_choices():
    from webapp.operations.cases import FIELD_CHOICES
    from workflows import workflows

    named = {f.name for wf in workflows().values() for t in wf.transitions for f in t.fields
             if f.type == "choices"}
    assert named == {"sections"} and named <= set(FIELD_CHOICES)


def test_the_timelines_name_the_response_deadline_in_the_readers_zone_and_language(
        browser, make_browser, world):
    world.applicant_a.locale, world.applicant_a.timezone = "fr", "Asia/Tokyo"
    db.session.commit()
    case = submitted(world)
    browser.login(world.coordinator.email)
    browser.get(f"/office/cases/{case.id}")
    assert browser.post(f"/office/cases/{case.id}/act/request_information",
                        request_form(case)).status_code == 303
    stored = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "request_information")).payload["response_deadline"]
    office = browser.get(f"/office/cases/{case.id}").get_data(as_text=True)
    assert "Message: Please send more." in office
    assert re.search(r"Response deadline: \w{3} \d+, \d{4}, [\d:]+\W?[AP]M \(", office)
    applicant = make_browser()
    applicant.login(world.applicant_a.email)
    page = applicant.get(f"/my/cases/{case.id}").get_data(as_text=True)
    # Stored in UTC as ISO 8601; shown in the reader's words, zone and language.
    assert stored not in office and stored not in page
    assert "Please send more." in page
    assert re.search(r"Date limite de réponse\W+\d+ \w+\.? \d{4}.*\(JST\)", page), \
        re.findall(r"(?:Message|Date limite)[^<]*", page)
