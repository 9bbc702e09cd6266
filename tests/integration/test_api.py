"""The JSON API over HTTP: tokens, visibility, transitions, problems, and the public feed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from werkzeug.exceptions import TooManyRequests

from tests.factories import complete_application
from webapp.api import problems
from webapp.db import db, utcnow
from webapp.models import ApiToken, AuditEvent, Call, Case, Deadline, Deliverable
from webapp.operations import applications, cases, tokens

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"


def token(user) -> str:
    return tokens.create_token(user, "test script").secret


class Api:
    """The test client speaking JSON with a bearer token."""

    def __init__(self, client, secret: str | None):
        self.client = client
        self.headers = {"Authorization": f"Bearer {secret}"} if secret else {}

    def get(self, url, **kw):
        return self.client.get(url, headers=self.headers, **kw)

    def post(self, url, body=None, **kw):
        return self.client.post(url, headers=self.headers, json=body, **kw)


@pytest.fixture
def api(app):
    return lambda user=None: Api(app.test_client(), token(user) if user else None)


def submitted(world, user=None) -> Case:
    case = applications.start_application(user or world.applicant_a, world.call.id)
    case = complete_application(db.session.get(Case, case.id))
    cases.fire(case.id, "submit", user or world.applicant_a)
    db.session.expire_all()
    return db.session.get(Case, case.id)


def paired(world) -> Case:
    case = submitted(world)
    cases.fire(case.id, "declare_eligible", world.coordinator)
    cases.fire(case.id, "propose_pairing", world.coordinator,
               {"partner_city_id": world.partner_city.id})
    db.session.expire_all()
    return db.session.get(Case, case.id)


def assert_problem(resp, status, *words):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == PROBLEM
    body = resp.get_json(force=True)
    assert body["status"] == status and body["title"] and body["type"]
    for word in words:
        assert word in json.dumps(body), body
    return body


# -- authentication ------------------------------------------------------------------------

def test_missing_unknown_and_revoked_tokens_are_401_problems(app, world, api):
    body = assert_problem(api().get("/api/v1/cases"), 401, "Bearer cp_")
    assert body["detail"].startswith("Send your personal API token")
    resp = Api(app.test_client(), "cp_not-a-real-token").get("/api/v1/cases")
    assert_problem(resp, 401, "not valid")
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    new = tokens.create_token(world.applicant_a, "laptop")
    client = Api(app.test_client(), new.secret)
    assert client.get("/api/v1/cases").status_code == 200
    tokens.revoke_token(world.applicant_a, new.token.id)
    assert_problem(client.get("/api/v1/cases"), 401)


def test_a_token_is_stored_only_as_its_hash_and_records_its_use(app, world, api):
    new = tokens.create_token(world.coordinator, "report script")
    assert new.secret.startswith("cp_") and len(new.secret) > 40
    row = db.session.get(ApiToken, new.token.id)
    assert row.prefix == new.secret[:8] and row.last_used_at is None
    assert new.secret not in (row.token_hash, row.prefix, row.name)
    assert row.token_hash == tokens.token_hash(new.secret)
    Api(app.test_client(), new.secret).get("/api/v1/calls")
    db.session.expire_all()
    assert db.session.get(ApiToken, new.token.id).last_used_at is not None


def test_a_closed_account_s_token_stops_working(app, world):
    secret = token(world.applicant_a)
    world.applicant_a.active = False
    db.session.commit()
    assert_problem(Api(app.test_client(), secret).get("/api/v1/cases"), 401)


# -- calls ---------------------------------------------------------------------------------

def test_calls_hide_unpublished_ones_from_applicants(world, api):
    hidden = Call(programme=world.programme, slug="draft-call", kind="city-to-city",
                  title="Draft call", published=False, opens_at=utcnow(),
                  closes_at=utcnow() + timedelta(days=30))
    db.session.add(hidden)
    db.session.commit()
    applicant, staff = api(world.applicant_a), api(world.coordinator)
    listed = applicant.get("/api/v1/calls").get_json()["items"]
    assert [c["slug"] for c in listed] == ["c2c"] and listed[0]["status"] == "open"
    assert {c["slug"] for c in staff.get("/api/v1/calls").get_json()["items"]} == \
        {"c2c", "draft-call"}
    assert_problem(applicant.get(f"/api/v1/calls/{hidden.id}"), 404)
    call = staff.get(f"/api/v1/calls/{world.call.id}").get_json()
    assert call["population_threshold"] == 100_000 and call["kind"] == "city-to-city"


# -- cases ---------------------------------------------------------------------------------

def test_case_list_shows_only_what_the_token_s_owner_may_see(world, api):
    mine = submitted(world)
    theirs = submitted(world, world.applicant_b)
    ids = lambda resp: {c["id"] for c in resp.get_json()["items"]}  # noqa: E731
    assert ids(api(world.applicant_a).get("/api/v1/cases")) == {mine.id}
    assert ids(api(world.applicant_b).get("/api/v1/cases")) == {theirs.id}
    assert ids(api(world.admin).get("/api/v1/cases")) == {mine.id, theirs.id}
    assert ids(api(world.partner).get("/api/v1/cases")) == set()
    page = api(world.admin).get("/api/v1/cases?q=lyon").get_json()
    assert [c["reference"] for c in page["items"]] == [mine.reference]
    assert page["total"] == 1 and page["pages"] == 1
    assert page["items"][0]["organisation"]["name"] == "Lyon"


def test_case_list_filters_and_pages(world, api):
    lyon = submitted(world)
    submitted(world, world.applicant_b)
    admin = api(world.admin)
    by = lambda q: [c["id"] for c in admin.get(f"/api/v1/cases?{q}").get_json()["items"]]  # noqa
    assert by("country=France") == [lyon.id]
    assert by("topic=smart-city") and by("topic=water") == []
    assert len(by("region=Latin America and the Caribbean")) == 2
    assert by("state=draft") == []
    first = admin.get("/api/v1/cases?page_size=1&page=1").get_json()
    second = admin.get("/api/v1/cases?page_size=1&page=2").get_json()
    assert first["pages"] == 2 and first["total"] == 2
    assert first["items"][0]["id"] != second["items"][0]["id"]


def test_page_size_over_100_is_a_validation_problem(world, api):
    body = assert_problem(api(world.admin).get("/api/v1/cases?page_size=101"), 422)
    assert "page_size" in body["errors"]["query"]
    assert body["type"] == problems.INVALID_REQUEST


def test_case_detail_has_state_version_and_eligibility(world, api):
    case = submitted(world)
    body = api(world.applicant_a).get(f"/api/v1/cases/{case.id}").get_json()
    assert body["state"] == "eligibility_review" and body["version"] == case.version
    assert body["state_label"] == "Submitted — eligibility being checked"
    assert [r["rule"] for r in body["eligibility_results"]][0] == "country"
    assert {r["verdict"] for r in body["eligibility_results"]} == {"pass"}
    staff = api(world.coordinator).get(f"/api/v1/cases/{case.id}").get_json()
    assert staff["state_label"] == "Eligibility review"


def test_another_organisation_s_case_is_404_and_another_region_403(world, api):
    case = submitted(world)
    assert_problem(api(world.applicant_b).get(f"/api/v1/cases/{case.id}"), 404,
                   "There is no such case")
    assert_problem(api(world.coordinator_asia).get(f"/api/v1/cases/{case.id}"), 403, "region")
    assert_problem(api(world.applicant_a).get("/api/v1/cases/999999"), 404)


def test_transitions_now_with_reasons_and_fields(world, api):
    case = submitted(world)
    body = api(world.coordinator).get(f"/api/v1/cases/{case.id}/transitions").get_json()
    assert body["version"] == case.version and body["state"] == "eligibility_review"
    options = {t["name"]: t for t in body["transitions"]}
    assert set(options) == {"declare_eligible", "declare_ineligible", "request_information"}
    assert all(t["allowed"] for t in options.values())
    fields = {f["name"]: f for f in options["request_information"]["fields"]}
    assert fields["response_deadline"]["type"] == "datetime"
    assert fields["message"]["required"] is True
    # The applicant can only withdraw now.
    mine = api(world.applicant_a).get(f"/api/v1/cases/{case.id}/transitions").get_json()
    assert [t["name"] for t in mine["transitions"]] == ["withdraw"]


def test_refused_transitions_list_their_reasons(world, api):
    case = applications.start_application(world.applicant_a, world.call.id)
    client = api(world.applicant_a)
    listed = client.get(f"/api/v1/cases/{case.id}/transitions").get_json()["transitions"]
    submit = next(t for t in listed if t["name"] == "submit")
    assert submit["allowed"] is False
    assert any("Complete these sections first" in r for r in submit["reasons"])
    resp = client.post(f"/api/v1/cases/{case.id}/transitions/submit",
                       {"expected_version": case.version})
    body = assert_problem(resp, 422, "Complete these sections first")
    assert body["type"] == problems.TRANSITION_REFUSED and len(body["reasons"]) >= 2


# -- firing transitions --------------------------------------------------------------------

def test_firing_moves_the_case_and_returns_the_new_version(world, api):
    case = submitted(world)
    case_id, version = case.id, case.version
    resp = api(world.coordinator).post(f"/api/v1/cases/{case_id}/transitions/declare_eligible",
                                       {"expected_version": version, "payload": {}})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    assert case.state == "awaiting_pairing" and case.version > version
    assert body == {"case_id": case_id, "transition": "declare_eligible",
                    "source": "eligibility_review", "target": "awaiting_pairing",
                    "moved": True, "version": case.version}
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "declare_eligible"))
    assert event.actor_id == world.coordinator.id and event.source_address == "127.0.0.1"


def test_a_stale_version_is_a_409_conflict(world, api):
    case = submitted(world)
    client = api(world.coordinator)
    url = f"/api/v1/cases/{case.id}/transitions/declare_ineligible"
    body = assert_problem(client.post(url, {"expected_version": case.version - 1,
                                            "payload": {"reason": "Too small"}}), 409,
                          "Someone else changed this case")
    assert body["type"] == problems.STALE_VERSION
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "eligibility_review"


def test_datetimes_must_be_iso_8601_with_an_offset(world, api):
    case = submitted(world)
    client = api(world.coordinator)
    url = f"/api/v1/cases/{case.id}/transitions/request_information"
    naive = (utcnow() + timedelta(days=10)).replace(tzinfo=None).isoformat()
    body = assert_problem(client.post(url, {"expected_version": case.version, "payload": {
        "message": "Send the council decision", "response_deadline": naive}}), 422, "offset")
    assert "response_deadline" in body["errors"]["json"]["payload"]
    assert_problem(client.post(url, {"expected_version": case.version, "payload": {
        "message": "Send it", "response_deadline": "next tuesday"}}), 422, "ISO 8601")
    due = "2099-12-01T17:00:00+01:00"
    resp = client.post(url, {"expected_version": case.version,
                             "payload": {"message": "Send the council decision",
                                         "response_deadline": due, "sections": ["resources"]}})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.state == "information_requested" and case.flagged_sections == ["resources"]
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "request_information"))
    assert event.payload["response_deadline"] == "2099-12-01T16:00:00+00:00"
    # The answer's deadline (and its reminders) start from the parsed time, as on the page.
    deadline = db.session.scalar(select(Deadline).where(Deadline.case_id == case.id,
                                                        Deadline.status == "open"))
    assert deadline.due_at == datetime(2099, 12, 1, 16, tzinfo=UTC)


def test_bad_bodies_are_400_or_422_problems_naming_the_field(app, world, api):
    case = submitted(world)
    client = api(world.coordinator)
    url = f"/api/v1/cases/{case.id}/transitions/declare_ineligible"
    resp = client.client.post(url, data="{not json", headers={
        **client.headers, "Content-Type": "application/json"})
    body = assert_problem(resp, 400, "not valid JSON")
    assert body["errors"]
    body = assert_problem(client.post(url, {"payload": {"reason": "x"}}), 422)
    assert "expected_version" in body["errors"]["json"]
    body = assert_problem(client.post(url, {"expected_version": case.version,
                                            "payload": {"reason": "<script>x</script>"}}), 422)
    assert "angle brackets" in body["errors"]["json"]["payload"]["reason"][0]
    body = assert_problem(client.post(url, {"expected_version": case.version,
                                            "payload": {"colour": "red"}}), 422, "Unknown field")
    assert_problem(client.post(url, {"expected_version": case.version, "payload": {},
                                     "extra": 1}), 422)
    assert_problem(client.post(url, {"expected_version": case.version, "payload": {}}), 422,
                   "Please give: Reason.")


def test_role_and_transition_name_are_checked_before_firing(world, api):
    case = submitted(world)
    client = api(world.applicant_a)
    assert_problem(client.post(f"/api/v1/cases/{case.id}/transitions/declare_eligible",
                               {"expected_version": case.version}), 403, "Declare eligible")
    assert_problem(client.post(f"/api/v1/cases/{case.id}/transitions/fly_to_the_moon",
                               {"expected_version": case.version}), 404)
    assert_problem(api(world.applicant_b).post(
        f"/api/v1/cases/{case.id}/transitions/withdraw",
        {"expected_version": case.version, "payload": {"reason": "mine now"}}), 404)
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "eligibility_review"


def test_pairing_proposal_and_acceptance_through_the_api(world, api):
    case = submitted(world)
    staff = api(world.coordinator)
    base = f"/api/v1/cases/{case.id}/transitions"
    version = staff.post(f"{base}/declare_eligible",
                         {"expected_version": case.version}).get_json()["version"]
    resp = staff.post(f"{base}/propose_pairing", {"expected_version": version, "payload": {
        "partner_city_id": world.partner_city.id}})
    assert resp.get_json()["target"] == "pairing_proposed"
    first = api(world.applicant_a).post(f"{base}/accept_pairing",
                                        {"expected_version": resp.get_json()["version"]})
    assert first.get_json()["moved"] is False
    last = api(world.partner).post(f"{base}/accept_pairing",
                                   {"expected_version": first.get_json()["version"]})
    assert last.get_json()["moved"] is True and last.get_json()["target"] == "agreement_pending"
    assert_problem(staff.post(f"{base}/propose_pairing", {"expected_version": 1, "payload": {
        "partner_city_id": "7"}}), 422, "positive whole number")


# -- audit, pairings, deliverables, public -------------------------------------------------

def test_audit_export_is_for_staff_of_the_region(world, api):
    case = submitted(world)
    assert_problem(api(world.applicant_a).get(f"/api/v1/cases/{case.id}/audit"), 403)
    assert_problem(api(world.coordinator_asia).get(f"/api/v1/cases/{case.id}/audit"), 403)
    body = api(world.coordinator_latam).get(f"/api/v1/cases/{case.id}/audit").get_json()
    assert [e["action"] for e in body["items"]] == ["start", "submit"]
    assert body["items"][1]["to_state"] == "eligibility_review"
    assert body["reference"] == case.reference


def test_pairings_are_the_visible_cases_with_a_partner_city(world, api):
    case = paired(world)
    submitted(world, world.applicant_b)
    rows = api(world.partner).get("/api/v1/pairings").get_json()
    assert [p["case_id"] for p in rows["items"]] == [case.id]
    assert rows["items"][0]["partner_city"]["name"] == "Rosario"
    assert api(world.applicant_b).get("/api/v1/pairings").get_json()["items"] == []
    admin = api(world.admin)
    assert admin.get("/api/v1/pairings?region=Asia").get_json()["total"] == 0
    assert admin.get("/api/v1/pairings?region=Latin America and the Caribbean"
                     ).get_json()["total"] == 1


def test_deliverables_of_visible_cases_only(world, api):
    case = paired(world)
    now = utcnow()
    db.session.add_all([
        Deliverable(case_id=case.id, kind="work_plan", title="Work plan",
                    opens_at=now - timedelta(days=40), due_at=now - timedelta(days=10)),
        Deliverable(case_id=case.id, kind="progress_report", title="Progress report 1",
                    opens_at=now, due_at=now + timedelta(days=60), periodic=True),
    ])
    db.session.commit()
    body = api(world.applicant_a).get("/api/v1/deliverables").get_json()
    assert [d["kind"] for d in body["items"]] == ["work_plan", "progress_report"]
    assert [d["overdue"] for d in body["items"]] == [True, False]
    assert body["items"][0]["reference"] == case.reference
    assert api(world.applicant_b).get("/api/v1/deliverables").get_json()["total"] == 0
    assert api(world.coordinator_asia).get("/api/v1/deliverables").get_json()["total"] == 0
    assert api(world.partner).get(
        f"/api/v1/deliverables?case={case.id}&status=scheduled").get_json()["total"] == 2


def test_public_pairings_need_no_token_and_include_history(world, api):
    anonymous = api()
    body = anonymous.get("/api/v1/public/pairings").get_json()
    history = [p for p in body["items"] if p["source"] == "history"]
    assert len(history) == 55 and body["total"] == 55
    assert {"eu_city": "Agii Anargiri-Kamatero", "partner_city": "Zhengzhou"}.items() <= \
        history[0].items()
    asia = anonymous.get("/api/v1/public/pairings?region=Asia").get_json()["items"]
    assert asia and {p["partner_region"] for p in asia} == {"Asia"}
    mobility = anonymous.get("/api/v1/public/pairings?topic=MOBILITY").get_json()["items"]
    assert mobility and all(any("mobility" in t for t in p["topics"]) for p in mobility)
    case = paired(world)
    case.cooperation_start = utcnow()
    db.session.commit()
    current = [p for p in anonymous.get("/api/v1/public/pairings").get_json()["items"]
               if p["source"] == "current"]
    assert current == [{"source": "current", "eu_city": "Lyon", "eu_country": "FR",
                        "partner_city": "Rosario", "partner_country": "AR",
                        "partner_region": "Latin America and the Caribbean",
                        "partners": [{"name": "Rosario", "country": "AR",
                                      "region": "Latin America and the Caribbean"}],
                        "topics": [t.label for t in case.topics],
                        "cooperation_start": utcnow().date().isoformat()}]


def test_an_applicant_token_reads_no_other_organisation_s_case_anywhere(app, world, api):
    case = paired(world)
    client = api(world.applicant_b)
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        if "case_id" in rule.arguments:
            url = rule.rule.replace("<int:case_id>", str(case.id)).replace("<name>", "withdraw")
            if "POST" in rule.methods:
                resp = client.post(url, {"expected_version": case.version,
                                         "payload": {"reason": "take over"}})
            else:
                resp = client.get(url)
            assert resp.status_code in (403, 404), (url, resp.status_code)
            checked += 1
        elif "GET" in rule.methods and not rule.arguments:
            text = client.get(rule.rule).get_data(as_text=True)
            assert case.reference not in text, rule.rule
            checked += 1
    assert checked >= 8
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "pairing_proposed"


# -- errors as problems --------------------------------------------------------------------

def test_unknown_addresses_and_methods_are_problems(world, api):
    client = api(world.admin)
    assert_problem(client.get("/api/v1/nothing-here"), 404)
    resp = client.client.delete("/api/v1/cases", headers=client.headers)
    assert_problem(resp, 405)


def test_too_many_requests_is_a_problem_too(app):
    with app.test_request_context("/api/v1/cases"):
        resp = problems.from_http_exception(TooManyRequests())
    assert resp.status_code == 429 and resp.mimetype == PROBLEM
    assert "wait a minute" in resp.get_json(force=True)["detail"]


def test_flask_smorest_s_handler_speaks_problems_on_the_api_only(app):
    api_ext = app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    with app.test_request_context("/api/v1/cases"):
        resp = api_ext.handle_http_exception(TooManyRequests())
        assert resp.mimetype == PROBLEM and resp.status_code == 429
    with app.test_request_context("/my/"):
        assert isinstance(api_ext.handle_http_exception(TooManyRequests()), TooManyRequests)


def test_the_openapi_document_describes_every_operation(app, world):
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    assert doc["openapi"] == "3.0.3" and doc["info"]["title"] == "citypair API"
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path in ("/api/v1/calls", "/api/v1/cases", "/api/v1/cases/{case_id}",
                 "/api/v1/cases/{case_id}/transitions", "/api/v1/cases/{case_id}/audit",
                 "/api/v1/cases/{case_id}/transitions/{name}", "/api/v1/pairings",
                 "/api/v1/deliverables", "/api/v1/public/pairings"):
        assert path in doc["paths"], path
    assert doc["paths"]["/api/v1/public/pairings"]["get"]["security"] == []
    problem = doc["components"]["responses"]["NOT_FOUND"]["content"]
    assert list(problem) == [PROBLEM]
