"""What a request gives a transition: only the fields the transition declares reach the
operations layer, and nothing typed can stand in for the case's own facts in the e-mails or
the audit trail — through the portal, the back office and the API alike."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import complete_application
from tests.integration.test_api import api, paired  # noqa: F401  (api: the fixture)
from webapp.db import db
from webapp.mail import rendering
from webapp.models import AuditEvent, Case, Notification
from webapp.operations import applications, cases
from workflows.city_to_city import WORKFLOW
from workflows.engine import Field, Transition, Workflow

pytestmark = pytest.mark.integration

#: what a hostile form adds: the mail's own values, a link, a recorded field
FORGED = {"reference": "FORGED-REF", "actor": "Mallory", "case_id": "999",
          "transition": "approve_lap", "to_state": "completed", "party": "coordinator",
          "action_url": "https://evil.example/login", "staff_only": "1",
          "signature_id": "1", "plan_hash": "x", "note": "undeclared"}


def _submitted(world, user=None) -> Case:
    user = user or world.applicant_a
    case = applications.start_application(user, world.call.id)
    complete_application(db.session.get(Case, case.id))
    cases.fire(case.id, "submit", user)
    db.session.expire_all()
    return db.session.get(Case, case.id)


def _last_event(case: Case) -> AuditEvent:
    return db.session.scalar(select(AuditEvent).where(AuditEvent.case_id == case.id)
                             .order_by(AuditEvent.id.desc()).limit(1))


def _assert_clean(case: Case, action: str, template: str, expected: dict, actor: str) -> None:
    db.session.expire_all()
    event = _last_event(case)
    assert event.action == action
    assert event.payload == expected  # only what the transition declares is kept
    sent = list(db.session.scalars(select(Notification).where(
        Notification.case_id == case.id, Notification.template == template)))
    assert sent, f"no {template} mail"
    for n in sent:
        assert n.context["reference"] == case.reference
        assert n.context["actor"] == actor and n.context["case_id"] == case.id
        assert n.context["transition"] == action
        assert not {"action_url", "staff_only", "note", "signature_id"} & set(n.context)
        subject, text, html, _ = rendering.render(n)
        for forged in ("FORGED-REF", "Mallory", "evil.example"):
            assert forged not in subject + text + html, (n.template, forged)
        assert case.reference in subject + text


def test_the_portal_hands_on_only_declared_fields(app, world, browser):
    case = _submitted(world)
    browser.login(world.applicant_a.email)
    resp = browser.post(f"/my/cases/{case.id}/act/withdraw",
                        {"reason": "We merged with a neighbour.", "version": case.version,
                         **FORGED})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    assert db.session.get(Case, case.id).state == "withdrawn"
    _assert_clean(case, "withdraw", "case_withdrawn", {"reason": "We merged with a neighbour."},
                  world.applicant_a.display_name)


def test_the_portal_cannot_supply_what_the_agreement_screen_records(app, world, browser):
    case = paired(world)
    cases.fire(case.id, "accept_pairing", world.applicant_a)
    cases.fire(case.id, "accept_pairing", world.partner)
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "agreement_pending"
    browser.login(world.applicant_a.email)
    # A signature id in the form would have passed the "signature recorded" guard.
    browser.post(f"/my/cases/{case.id}/act/sign", {"signature_id": "1", "full_name": "X"})
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "agreement_pending"
    assert _last_event(case).action != "sign"


def test_the_back_office_hands_on_only_declared_fields(app, world, browser):
    case = _submitted(world)
    browser.login(world.coordinator.email)
    prefixed = {f"declare_ineligible-{k}": v for k, v in FORGED.items()}
    resp = browser.post(f"/office/cases/{case.id}/act/declare_ineligible",
                        {"declare_ineligible-reason": "Population below the threshold.",
                         "version": case.version, **FORGED, **prefixed})
    assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
    assert db.session.get(Case, case.id).state == "ineligible"
    _assert_clean(case, "declare_ineligible", "declared_ineligible",
                  {"reason": "Population below the threshold."},
                  world.coordinator.display_name)


def test_the_api_refuses_undeclared_fields_by_name(app, world, api):  # noqa: F811
    case = _submitted(world)
    base = f"/api/v1/cases/{case.id}/transitions/declare_ineligible"
    staff = api(world.coordinator)
    refused = staff.post(base, {"expected_version": case.version, "payload": {
        "reason": "Too small.", "reference": "FORGED-REF", "actor": "Mallory"}})
    assert refused.status_code == 422
    errors = refused.get_json()["errors"]["json"]["payload"]
    assert set(errors) == {"reference", "actor"} and "Unknown field" in errors["actor"][0]
    done = staff.post(base, {"expected_version": case.version, "payload": {"reason": "Too small."}})
    assert done.status_code == 200, done.get_data(as_text=True)
    _assert_clean(case, "declare_ineligible", "declared_ineligible", {"reason": "Too small."},
                  world.coordinator.display_name)


def test_the_api_cannot_supply_recorded_fields(app, world, api):  # noqa: F811
    case = _submitted(world)
    resp = api(world.applicant_a).post(
        f"/api/v1/cases/{case.id}/transitions/withdraw",
        {"expected_version": case.version, "payload": {"reason": "r", "signature_id": 1}})
    assert resp.status_code == 422
    assert "signature_id" in resp.get_json()["errors"]["json"]["payload"]


def test_operations_keep_only_declared_fields_whoever_calls(app, world):
    case = _submitted(world)
    cases.fire(case.id, "withdraw", world.applicant_a, {"reason": "Changed plans.", **FORGED})
    _assert_clean(case, "withdraw", "case_withdrawn", {"reason": "Changed plans."},
                  world.applicant_a.display_name)


def test_one_parser_types_and_checks_every_field():
    request_information = WORKFLOW.transition("request_information")
    parsed = cases.parse_payload(
        request_information, {"message": "  Send the letter. ", "response_deadline":
                              "2026-12-01T17:00", "sections": ["contact"], "reference": "x"},
        zone="Europe/Brussels")
    assert parsed["message"] == "Send the letter." and parsed["sections"] == ["contact"]
    assert parsed["response_deadline"].isoformat() == "2026-12-01T16:00:00+00:00"
    assert "reference" not in parsed
    with pytest.raises(cases.PayloadError) as refused:
        cases.parse_payload(request_information, {"response_deadline": "2026-12-01T17:00",
                                                  "sections": ["nope"], "message": "<b>x</b>"})
    assert set(refused.value.errors) == {"response_deadline", "sections", "message"}
    propose = WORKFLOW.transition("propose_pairing")
    assert cases.parse_payload(propose, {"partner_city_id": "12"}) == {"partner_city_id": 12}
    for bad in ("99999999999", "²", "-1", "0"):
        with pytest.raises(cases.PayloadError):
            cases.parse_payload(propose, {"partner_city_id": bad})


def test_a_definition_may_not_name_a_field_after_the_mails_own_values():
    t = Transition(name="x", sources=("draft",), target="done",
                   roles=WORKFLOW.transitions[0].roles, label="X",
                   fields=(Field("reference", "Reference"), Field("reason", "R", type="odd")))
    wf = Workflow(kind="t", title="t", initial="draft", states=(
        WORKFLOW.state("draft"), WORKFLOW.state("withdrawn")), transitions=(
        Transition(name="x", sources=("draft",), target="withdrawn", roles=t.roles, label="X",
                   fields=t.fields),),
        guards={}, hooks=frozenset())
    problems = wf.validate()
    assert any("'reference'" in p and "reserve" in p for p in problems), problems
    assert any("unknown type 'odd'" in p for p in problems), problems
