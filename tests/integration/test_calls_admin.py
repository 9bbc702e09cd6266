"""Programmes and calls run from the browser and the API: every operation, its refusals, the
rule-change policy, and another programme's coordinator finding nothing (404)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import complete_application, user
from tests.integration.test_api import Api, assert_problem, submitted, token
from webapp.db import db, utcnow
from webapp.errors import Conflict, Forbidden, Invalid, NotFound, OperationError, Refused
from webapp.models import (
    AuditEvent,
    Call,
    Case,
    Deadline,
    EligibilityResult,
    Notification,
    Organisation,
    Programme,
    UserRole,
)
from webapp.operations import applications, cases
from webapp.operations import calls as call_ops
from webapp.operations import programmes as programme_ops
from workflows.countries import EU_MEMBER_STATES

pytestmark = pytest.mark.integration

LATAM = "Latin America and the Caribbean"


def call_data(world, **changes) -> call_ops.CallData:
    now = utcnow()
    data = call_ops.CallData(
        programme_id=world.programme.id, kind="city-to-city", title="IURC city call 2027",
        summary="Cities apply.\n\nSecond paragraph <script>alert(1)</script>",
        partner_regions=[LATAM], opens_at=now + timedelta(days=10),
        closes_at=now + timedelta(days=70))
    for key, value in changes.items():
        setattr(data, key, value)
    return data


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def outsider(world):
    """A coordinator of another programme only."""
    other = Programme(slug="iurc-na", name="IURC North America 2024–2025")
    person = user("na-only@iuc.eu", UserRole.COORDINATOR, programmes=[other])
    db.session.commit()
    return person


def invalid(fn, *args, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(Invalid) as exc:
        fn(*args, **kwargs)
    return exc.value.errors


# -- programmes ------------------------------------------------------------------------------

def test_an_admin_creates_and_changes_a_programme_and_both_are_audited(world):
    data = programme_ops.ProgrammeData(
        name="IURC Latin America 2021–2023", slug="iurc-latam", starts_on=date(2021, 1, 1),
        ends_on=date(2023, 12, 31), timezone="America/Sao_Paulo", sender_name="IURC LatAm",
        targets={"city_partnerships": 12, "regional_partnerships": None}, retention_years=3)
    programme = programme_ops.create_programme(world.admin, data)
    assert (programme.timezone, programme.targets, programme.retention_years) == (
        "America/Sao_Paulo", {"city_partnerships": 12}, 3)
    data.name, data.retention_years = "IURC Latin America", None
    programme_ops.update_programme(programme.id, world.admin, data)
    [changed, created] = programme_ops.audit_history(programme.id)
    assert created.action == "create_programme" and created.case_id is None
    assert changed.payload["changes"] == {"name": ["IURC Latin America 2021–2023",
                                                   "IURC Latin America"],
                                          "retention_years": [3, None]}
    with pytest.raises(Forbidden):
        programme_ops.create_programme(world.coordinator, data)


def test_a_programme_name_stays_on_one_line(world):
    errors = invalid(programme_ops.create_programme, world.admin, programme_ops.ProgrammeData(
        name="IURC\tAsia", slug="iurc-asia", sender_name="IURC\x00Asia"))
    assert errors == {
        "name": ["Remove the line breaks and other control characters from the name."],
        "sender_name": ["The sender's name cannot contain line breaks, quotes, @ or angle "
                        "brackets."]}


def test_programme_refusals_name_each_problem_and_save_nothing(world):
    before = count(Programme)
    errors = invalid(programme_ops.create_programme, world.admin, programme_ops.ProgrammeData(
        name=" ", slug="iuc", starts_on=date(2024, 1, 1), ends_on=date(2023, 1, 1),
        timezone="Mars/Olympus", sender_name="IURC\nBcc: x@y.z",
        targets={"city_partnerships": -1, "other": 3}, retention_years=0))
    assert errors == {
        "name": ["Enter the programme's name."],
        "slug": ["Another programme is already called “iuc”."],
        "ends_on": ["The programme must end after it starts."],
        "timezone": ["“Mars/Olympus” is not a time zone; use a name like Europe/Brussels."],
        "sender_name": ["The sender's name cannot contain line breaks, quotes, @ or angle "
                        "brackets."],
        "targets": ["Unknown targets: other; use city_partnerships, regional_partnerships."],
        "city_partnerships": ["A target is a whole number from 0 to 10,000."],
        "retention_years": ["Keep unsuccessful applications from 1 to 50 years, or leave it "
                            "empty for the installation's default."]}
    assert count(Programme) == before


def test_programme_pages_are_for_admins_and_keep_what_was_typed(world, browser, make_browser):
    coordinator = make_browser()
    coordinator.login(world.coordinator.email)
    assert coordinator.get("/office/admin/programmes/").status_code == 403
    browser.login(world.admin.email)
    assert "International Urban Cooperation" in browser.get(
        "/office/admin/programmes/").get_data(as_text=True)
    browser.get("/office/admin/programmes/new")
    form = {"name": "IURC Asia", "slug": "Not A Slug", "starts_on": "2025-01-01",
            "ends_on": "2024-01-01", "timezone": "Asia/Tokyo", "sender_name": "IURC Asia",
            "city_partnerships": "lots", "regional_partnerships": "", "retention_years": ""}
    resp = browser.post("/office/admin/programmes/new", form)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "There is a problem" in page
    assert "The programme must end after it starts." in page
    assert 'value="IURC Asia"' in page and 'value="lots"' in page
    resp = browser.post("/office/admin/programmes/new",
                        {**form, "slug": "iurc-asia", "ends_on": "2027-12-31",
                         "city_partnerships": "8"})
    assert resp.status_code == 302
    programme = db.session.scalar(select(Programme).where(Programme.slug == "iurc-asia"))
    assert programme.targets == {"city_partnerships": 8} and programme.timezone == "Asia/Tokyo"
    edit = f"/office/admin/programmes/{programme.id}/edit"
    assert 'value="iurc-asia"' in browser.get(edit).get_data(as_text=True)
    resp = browser.post(edit, {**form, "slug": "iurc-asia", "ends_on": "2027-12-31",
                               "city_partnerships": "9", "retention_years": "2"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Programme, programme.id).retention_years == 2
    assert browser.get("/office/admin/programmes/999999/edit").status_code == 404


# -- creating and checking a call ---------------------------------------------------------

def test_a_coordinator_creates_a_draft_call_audited_with_its_parameters(world):
    call = call_ops.create_call(world.coordinator, call_data(
        world, eligible_countries=[*EU_MEMBER_STATES, "gb"], partner_countries=["ar", "BR"],
        schedule={"work_plan_month": 3, "reminder_days": [-10, -2]}))
    assert (call.published, call.slug, call.version) == (False, "iurc-city-call-2027", 1)
    assert call.status(utcnow()) == "draft"
    assert call.eligible_countries[-1] == "GB" and call.partner_countries == ["AR", "BR"]
    # Rich text keeps paragraphs and loses scripts.
    assert call.summary == "<p>Cities apply.</p><p>Second paragraph </p>"
    assert call.settings == {"schedule": {"work_plan_month": 3, "reminder_days": [-10, -2]}}
    [event] = call_ops.history(call.id)
    assert (event.action, event.case_id, event.call_id) == ("create_call", None, call.id)
    assert event.payload["changes"]["title"] == [None, "IURC city call 2027"]


def test_local_times_are_read_in_the_calls_zone(world):
    call = call_ops.create_call(world.coordinator, call_data(
        world, timezone="America/Toronto", opens_at=datetime(2027, 1, 10, 9, 0),
        closes_at=datetime(2027, 7, 10, 17, 0)))
    assert call.opens_at == datetime(2027, 1, 10, 14, 0, tzinfo=UTC)  # EST, UTC-5
    assert call.closes_at == datetime(2027, 7, 10, 21, 0, tzinfo=UTC)  # EDT, UTC-4
    assert call.timezone == "America/Toronto"


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"closes_at": "opens"}, "closes_at", "The call must close after it opens."),
    ({"partner_regions": []}, "partner_regions", "Offer at least one partner region."),
    ({"partner_regions": ["Mars"]}, "partner_regions", "“Mars” is not a world region"),
    ({"population_threshold": 0}, "population_threshold",
     "The population threshold must be a whole number above 0"),
    ({"population_threshold": -5}, "population_threshold",
     "The population threshold must be a whole number above 0"),
    ({"eligible_countries": ["FR", "France", "XX"]}, "eligible_countries",
     "“France” is not an ISO 3166-1 country code (two letters, e.g. FR); did you mean FR?"),
    ({"eligible_countries": []}, "eligible_countries", "Name at least one eligible country."),
    ({"partner_countries": ["ZZ"]}, "partner_countries", "“ZZ” is not an ISO 3166-1"),
    ({"cooperation_months": 4, "report_interval_months": 6}, "cooperation_months",
     "The cooperation (4 months) cannot be shorter than the report interval (6 months)."),
    ({"schedule": {"work_plan_month": 19}}, "work_plan_month",
     "Give a month from 1 to 18 of the 18-month cooperation."),
    ({"schedule": {"reminder_days": [-120, 1]}}, "reminder_days",
     "Each reminder falls from 90 days before to 90 days after the due date."),
    ({"schedule": {"opens_days_before": 400}}, "opens_days_before",
     "Give a whole number from 0 to 180."),
    ({"kind": "city-to-moon"}, "kind", "Choose the kind of call"),
    ({"timezone": "Europe/Atlantis"}, "timezone", "“Europe/Atlantis” is not a time zone"),
    ({"slug": "c2c"}, "slug", "Another call already has the address “c2c”."),
    ({"title": ""}, "title", "Enter the call's title."),
    ({"allowed_org_types": ["city", "town"]}, "allowed_org_types",
     "“town” is not a type of organisation"),
    # A call narrows its kind's applicant types, never widens them.
    ({"allowed_org_types": ["city", "region"]}, "allowed_org_types",
     "IUC city-to-city cooperation accepts only city or municipality and group of "
     "municipalities, not “region”."),
    ({"title": "IURC call\r\nBcc: x@y.z"}, "title",
     "Remove the line breaks and other control characters from the title."),
    ({"max_partners_per_case": 0}, "max_partners_per_case",
     "Give the most partners per case as a whole number from 1 to 5."),
    ({"max_partners_per_case": 6}, "max_partners_per_case",
     "Give the most partners per case as a whole number from 1 to 5."),
    ({"max_partners_per_case": None}, "max_partners_per_case",
     "Give the most partners per case as a whole number from 1 to 5."),
])
def test_each_bad_parameter_is_named_and_nothing_is_saved(world, changes, field, message):
    data = call_data(world, **changes)
    if changes.get("closes_at") == "opens":
        data.closes_at = data.opens_at
    before = count(Call), count(AuditEvent)
    errors = invalid(call_ops.create_call, world.coordinator, data)
    assert any(message in m for m in errors.get(field, [])), errors
    assert (count(Call), count(AuditEvent)) == before


def test_a_call_of_another_programme_does_not_exist_for_its_outsider(world):
    stranger = outsider(world)
    errors = invalid(call_ops.create_call, stranger, call_data(world))
    assert errors == {"programme_id": ["Choose one of your programmes."]}
    with pytest.raises(NotFound):
        call_ops.call_for(db.session, stranger, world.call.id)
    for action in (call_ops.publish_call, call_ops.close_call, call_ops.archive_call,
                   call_ops.clone_call):
        with pytest.raises(NotFound):
            action(world.call.id, stranger, expected_version=world.call.version)
    assert call_ops.calls_for(stranger) == []
    with pytest.raises(Forbidden):
        call_ops.create_call(world.applicant_a, call_data(world))


# -- changing a call ------------------------------------------------------------------------

def test_a_change_is_audited_before_and_after_and_a_stale_one_is_refused(world):
    call = world.call
    data = call_ops.call_data(call)
    data.title, data.closes_at = "City-to-city call, extended", call.closes_at + timedelta(days=7)
    changed = call_ops.update_call(call.id, world.coordinator, data, expected_version=1)
    assert changed.version == 2
    [event] = call_ops.history(call.id)
    assert event.action == "update_call"
    assert event.payload["changes"]["title"] == ["City-to-city call",
                                                 "City-to-city call, extended"]
    assert set(event.payload["changes"]) == {"title", "closes_at"}
    with pytest.raises(Conflict):
        call_ops.update_call(call.id, world.coordinator, data, expected_version=1)
    # Saving the same values again records nothing.
    call_ops.update_call(call.id, world.coordinator, data, expected_version=2)
    assert len(call_ops.history(call.id)) == 1


def test_a_call_with_applications_keeps_its_kind_and_programme(world):
    applications.start_application(world.applicant_a, world.call.id)
    other = Programme(slug="other", name="Other")
    db.session.add(other)
    db.session.commit()
    data = call_ops.call_data(world.call)
    data.kind, data.programme_id = "region-to-region", other.id
    errors = invalid(call_ops.update_call, world.call.id, world.admin, data, expected_version=1)
    assert errors["kind"] == ["This call has applications following the workflow of IUC "
                              "city-to-city cooperation; its kind cannot change."]
    assert errors["programme_id"] == ["This call has applications; it stays in its programme."]


def test_changing_who_may_apply_judges_the_cases_in_review_again(world):
    in_review = submitted(world)
    assert in_review.eligibility_summary == "pass"
    graz = Organisation(name="Graz", kind="city", country="AT", population=290_000)
    db.session.add(graz)
    draft = applications.start_application(user("eva@graz.at", organisation=graz),
                                           world.call.id)
    paired_case = submitted(world, world.applicant_b)
    cases.fire(paired_case.id, "declare_eligible", world.coordinator)
    version = in_review.version

    data = call_ops.call_data(world.call)
    data.eligible_countries = ["ES", "IT"]  # France is out
    call_ops.update_call(world.call.id, world.coordinator, data, expected_version=1)

    db.session.expire_all()
    judged = db.session.get(Case, in_review.id)
    assert judged.eligibility_summary == "fail" and judged.version > version
    country = db.session.scalar(select(EligibilityResult).where(
        EligibilityResult.case_id == judged.id, EligibilityResult.rule == "country"))
    assert country.verdict == "fail"
    assert "France is not among this call's eligible countries (Italy and Spain)" in \
        country.message
    rerun = db.session.scalar(select(AuditEvent).where(
        AuditEvent.case_id == judged.id, AuditEvent.action == "rerun_eligibility"))
    assert rerun.payload["verdict_before"] == "pass" and rerun.payload["verdict_after"] == "fail"
    assert rerun.payload["rules"]["eligible_countries"][1] == ["ES", "IT"]
    [event] = call_ops.history(world.call.id)
    assert event.payload["eligibility_rerun"] == [judged.reference]
    # A draft is judged when it is submitted; a case already declared eligible keeps its verdict.
    assert db.session.get(Case, draft.id).eligibility_summary == ""
    assert db.session.get(Case, paired_case.id).eligibility_summary == "pass"


# -- publish, close early, archive, clone ---------------------------------------------------

def test_publish_close_and_archive_follow_the_calls_status(world, browser):
    call = call_ops.create_call(world.coordinator, call_data(
        world, opens_at=utcnow() - timedelta(days=1)))
    assert call.slug not in browser.get("/calls").get_data(as_text=True)
    call_ops.publish_call(call.id, world.coordinator, expected_version=1)
    with pytest.raises(OperationError, match="close it before archiving"):
        call_ops.archive_call(call.id, world.coordinator, expected_version=2)
    assert call.slug in browser.get("/calls").get_data(as_text=True)
    with pytest.raises(OperationError, match="already published"):
        call_ops.publish_call(call.id, world.coordinator, expected_version=2)
    closed = call_ops.close_call(call.id, world.coordinator, expected_version=2)
    assert closed.closes_at <= utcnow() and closed.status(utcnow()) == "closed"
    with pytest.raises(OperationError, match="Only an open call can be closed early"):
        call_ops.close_call(call.id, world.coordinator, expected_version=3)
    call_ops.archive_call(call.id, world.coordinator, expected_version=3)
    assert call.slug not in browser.get("/calls").get_data(as_text=True)
    assert [e.action for e in call_ops.history(call.id)] == [
        "archive_call", "close_call", "publish_call", "create_call"]
    late = call_ops.create_call(world.coordinator, call_data(
        world, title="Too late", opens_at=utcnow() - timedelta(days=9),
        closes_at=utcnow() - timedelta(days=1)))
    with pytest.raises(OperationError, match="closing time has passed"):
        call_ops.publish_call(late.id, world.coordinator, expected_version=1)


def test_closing_early_refuses_drafts_and_stops_their_closing_reminders(world):
    draft = complete_application(applications.start_application(world.applicant_a,
                                                                world.call.id))
    deadline = db.session.scalar(select(Deadline).where(Deadline.case_id == draft.id,
                                                        Deadline.kind == "call_closing"))
    assert deadline.due_at == world.call.closes_at
    now = utcnow()
    call_ops.close_call(world.call.id, world.coordinator, expected_version=1, now=now)
    db.session.expire_all()
    deadline = db.session.get(Deadline, deadline.id)
    assert deadline.due_at == now
    assert all(r.done_at is not None and r.outcome == "cancelled" for r in deadline.reminders)
    with pytest.raises(Refused):
        cases.fire(draft.id, "submit", world.applicant_a)
    [event] = call_ops.history(world.call.id)
    assert event.action == "close_call" and event.payload["changes"]["closes_at"][1] == \
        now.isoformat()


def test_next_years_call_in_one_step(world):
    source = call_ops.create_call(world.coordinator, call_data(
        world, title="IURC call 2025–2026", slug="iurc-2025", partner_countries=["AR"],
        schedule={"reminder_days": [-3]}, max_partners_per_case=3))
    clone = call_ops.clone_call(source.id, world.coordinator, expected_version=1)
    assert (clone.title, clone.slug) == ("IURC call 2026–2027", "iurc-2026")
    assert clone.opens_at.year == source.opens_at.year + 1
    assert (clone.opens_at.month, clone.opens_at.day) == (source.opens_at.month,
                                                          source.opens_at.day)
    assert clone.closes_at - clone.opens_at >= timedelta(days=59)
    assert (clone.published, clone.archived, clone.programme_id) == (False, False,
                                                                     source.programme_id)
    assert (clone.partner_countries, clone.settings) == (["AR"], source.settings)
    assert clone.max_partners_per_case == 3
    [event] = call_ops.history(clone.id)
    assert event.action == "clone_call" and event.payload["from_call"] == "iurc-2025"
    again = call_ops.clone_call(source.id, world.coordinator, expected_version=1)
    assert again.slug == "iurc-2026-2"
    # A title without a year gets next year's.
    plain = call_ops.clone_call(world.call.id, world.admin, expected_version=1)
    year = world.call.opens_at.year + 1
    assert (plain.title, plain.slug) == (f"City-to-city call ({year})", f"c2c-{year}")


# -- pages ----------------------------------------------------------------------------------

def test_the_call_form_keeps_what_was_typed_and_shows_the_operations_messages(world, browser):
    browser.login(world.coordinator.email)
    browser.get("/office/calls/new")
    form = {"programme_id": str(world.programme.id), "kind": "city-to-city",
            "title": "IURC call 2027", "summary": "Hello", "partner_regions": [LATAM],
            "opens_at": "2027-03-01T09:00", "closes_at": "2027-02-01T17:00",
            "timezone": "Europe/Brussels", "population_threshold": "0", "eu27": "y",
            "eligible_countries": ["GB"], "allowed_org_types": ["city", "group"],
            "cooperation_months": "18", "report_interval_months": "6",
            "reminder_days": "-7, soon", "max_partners_per_case": "9"}
    new = browser.get("/office/calls/new").get_data(as_text=True)
    assert re.search(r'name="max_partners_per_case"[^>]*value="1"', new)  # one-to-one
    resp = browser.post("/office/calls/new", form)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "There is a problem" in page
    assert "Give whole numbers of days separated by commas" in page
    assert "Give the most partners per case as a whole number from 1 to 5." in page
    assert re.search(r'name="max_partners_per_case"[^>]*value="9"', page)
    form["max_partners_per_case"] = "2"
    resp = browser.post("/office/calls/new", {**form, "reminder_days": "-7, -1"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "The call must close after it opens." in page
    assert "The population threshold must be a whole number above 0" in page
    assert 'value="IURC call 2027"' in page and 'value="2027-02-01T17:00"' in page
    assert count(Call) == 1
    resp = browser.post("/office/calls/new", {**form, "reminder_days": "-7, -1",
                                              "closes_at": "2027-06-01T17:00",
                                              "population_threshold": "50000"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    call = db.session.scalar(select(Call).where(Call.slug == "iurc-call-2027"))
    assert call.eligible_countries == [*EU_MEMBER_STATES, "GB"]
    assert call.opens_at == datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
    assert call.settings["schedule"] == {"reminder_days": [-7, -1]}
    detail = browser.get(f"/office/calls/{call.id}").get_data(as_text=True)
    assert "Draft" in detail and "The 27 EU member states, and United Kingdom" in detail
    assert call.max_partners_per_case == 2 and "Up to 2 partners each" in detail
    preview = browser.get(f"/office/calls/{call.id}/preview").get_data(as_text=True)
    assert "This is how the public will see this call once it is published." in preview
    assert "United Kingdom" in preview and "Start your application" not in preview
    assert browser.get(f"/calls/{call.slug}").status_code == 404  # not published yet
    edit = browser.get(f"/office/calls/{call.id}/edit").get_data(as_text=True)
    assert 'value="2027-03-01T09:00"' in edit and 'value="-7, -1"' in edit
    resp = browser.post(f"/office/calls/{call.id}/publish", {"version": "1"})
    assert resp.status_code == 302
    assert browser.get(f"/calls/{call.slug}").status_code == 200


def test_a_stale_edit_shows_the_call_as_it_is_now(world, browser):
    browser.login(world.coordinator.email)
    page = browser.get(f"/office/calls/{world.call.id}/edit").get_data(as_text=True)
    assert re.search(r'<input[^>]*name="version"[^>]*value="1"', page), \
        "the form carries the version it shows"
    call_ops.close_call(world.call.id, world.admin, expected_version=1)
    resp = browser.post(f"/office/calls/{world.call.id}/edit", {
        "version": "1", "programme_id": str(world.programme.id), "kind": "city-to-city",
        "title": "Mine", "partner_regions": [LATAM], "opens_at": "2026-01-01T09:00",
        "closes_at": "2030-01-01T09:00", "timezone": "Europe/Brussels",
        "population_threshold": "100000", "eu27": "y", "allowed_org_types": ["city"],
        "cooperation_months": "18", "report_interval_months": "6"})
    assert resp.status_code == 409
    assert "Someone changed this call since you opened it" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Call, world.call.id).title == "City-to-city call"


def test_another_programmes_coordinator_finds_no_page_of_its_calls(world, make_browser):
    stranger = outsider(world)
    them = make_browser()
    them.login(stranger.email)
    for url in ("", "/edit", "/preview"):
        assert them.get(f"/office/calls/{world.call.id}{url}").status_code == 404
    for action in ("publish", "close", "archive", "clone"):
        assert them.post(f"/office/calls/{world.call.id}/{action}",
                         {"version": "1"}).status_code == 404
    assert world.call.title not in them.get("/office/calls/").get_data(as_text=True)
    assert count(Call) == 1 and db.session.get(Call, world.call.id).version == 1
    # Nor do its pairing board and its name in the back office's lists and filters.
    assert them.get(f"/office/pairing/calls/{world.call.id}/board").status_code == 404
    for page in ("/office/pairing/", "/office/cases"):
        assert world.call.title not in them.get(page).get_data(as_text=True), page


# -- the API ----------------------------------------------------------------------------------

class JsonApi(Api):
    def patch(self, url, body=None, **kw):
        return self.client.patch(url, headers=self.headers, json=body, **kw)


@pytest.fixture
def api(app):
    return lambda person=None: JsonApi(app.test_client(), token(person) if person else None)


def test_api_creates_changes_and_publishes_calls_with_the_forms_checks(world, api):
    client = api(world.coordinator)
    body = {"programme_id": world.programme.id, "kind": "city-to-city", "title": "API call 2027",
            "partner_regions": [LATAM], "opens_at": "2027-03-01T09:00:00",
            "closes_at": "2027-02-01T09:00:00", "population_threshold": 0,
            "eligible_countries": ["France"]}
    problem = assert_problem(client.post("/api/v1/calls", body), 422)
    errors = problem["errors"]["json"]
    # The same messages the form shows, from the same checks.
    assert errors == invalid(call_ops.create_call, world.coordinator,
                             call_ops.CallData(**{**body, "opens_at": datetime(2027, 3, 1, 9),
                                                  "closes_at": datetime(2027, 2, 1, 9)}))
    assert "The call must close after it opens." in errors["closes_at"]
    resp = client.post("/api/v1/calls", {**body, "closes_at": "2027-06-01T17:00:00+02:00",
                                         "population_threshold": 150000,
                                         "eligible_countries": ["FR", "ES"],
                                         "schedule": {"reminder_days": [-5]}})
    assert resp.status_code == 201, resp.get_json()
    made = resp.get_json()
    assert (made["status"], made["slug"], made["version"]) == ("draft", "api-call-2027", 1)
    assert made["opens_at"].startswith("2027-03-01T08:00") and made["schedule"] == {
        "reminder_days": [-5]}
    assert_problem(client.patch(f"/api/v1/calls/{made['id']}", {"title": "x"}), 422,
                   "expected_version")
    assert_problem(client.patch(f"/api/v1/calls/{made['id']}",
                                {"expected_version": 7, "title": "Late"}), 409)
    assert made["max_partners_per_case"] == 1
    assert_problem(client.patch(f"/api/v1/calls/{made['id']}",
                                {"expected_version": 1, "max_partners_per_case": 8}), 422,
                   "from 1 to 5")
    resp = client.patch(f"/api/v1/calls/{made['id']}", {"expected_version": 1,
                                                        "population_threshold": 90000,
                                                        "max_partners_per_case": 2})
    assert resp.status_code == 200 and resp.get_json()["population_threshold"] == 90000
    assert resp.get_json()["max_partners_per_case"] == 2
    assert resp.get_json()["title"] == "API call 2027"  # what is not sent stays
    published = client.post(f"/api/v1/calls/{made['id']}/publish", {"expected_version": 2})
    assert published.status_code == 200 and published.get_json()["status"] == "scheduled"
    clone = client.post(f"/api/v1/calls/{made['id']}/clone", {"expected_version": 3})
    assert clone.status_code == 201 and clone.get_json()["slug"] == "api-call-2028"
    assert_problem(client.post(f"/api/v1/calls/{made['id']}/archive", {"expected_version": 3}),
                   400, "close it before archiving")


def test_api_call_writes_are_refused_as_the_pages_refuse_them(world, api):
    stranger = outsider(world)
    assert_problem(api(world.applicant_a).post("/api/v1/calls", {"title": "x"}), 403)
    assert_problem(api(world.applicant_a).patch(f"/api/v1/calls/{world.call.id}",
                                                {"expected_version": 1}), 403)
    them = api(stranger)
    assert_problem(them.get(f"/api/v1/calls/{world.call.id}"), 404)
    assert_problem(them.patch(f"/api/v1/calls/{world.call.id}", {"expected_version": 1}), 404)
    assert_problem(them.post(f"/api/v1/calls/{world.call.id}/close", {"expected_version": 1}),
                   404)
    assert them.get("/api/v1/calls").get_json()["items"] == []
    assert_problem(them.post("/api/v1/calls", {"programme_id": world.programme.id}), 422,
                   "Choose one of your programmes.")
    assert_problem(api().post("/api/v1/calls", {}), 401)
    # Applicants still read the published calls.
    assert [c["id"] for c in api(world.applicant_a).get("/api/v1/calls").get_json()[
        "items"]] == [world.call.id]


def test_api_programmes_for_admins(world, api):
    admin = api(world.admin)
    assert_problem(admin.post("/api/v1/programmes", {"name": "IURC Asia", "slug": "Bad slug",
                                                     "timezone": "Nowhere"}), 422,
                   "Use up to 40 lower-case letters", "is not a time zone")
    resp = admin.post("/api/v1/programmes", {"name": "IURC Asia", "slug": "iurc-asia",
                                             "timezone": "Asia/Tokyo",
                                             "targets": {"city_partnerships": 5}})
    assert resp.status_code == 201, resp.get_json()
    made = resp.get_json()
    resp = admin.patch(f"/api/v1/programmes/{made['id']}", {"sender_name": "IURC Asia"})
    assert resp.get_json()["sender_name"] == "IURC Asia"
    assert resp.get_json()["targets"] == {"city_partnerships": 5}
    assert_problem(api(world.coordinator).post("/api/v1/programmes", {"name": "x"}), 403)
    assert_problem(api(world.coordinator).patch(f"/api/v1/programmes/{made['id']}", {}), 403)
    assert {p["slug"] for p in api(world.coordinator).get("/api/v1/programmes").get_json()[
        "items"]} == {"iuc", "iurc-asia"}
    stranger = outsider(world)
    assert [p["slug"] for p in api(stranger).get("/api/v1/programmes").get_json()[
        "items"]] == ["iurc-na"]
    assert_problem(api(stranger).get(f"/api/v1/programmes/{world.programme.id}"), 404)
    spec = api().get("/api/v1/openapi.json").get_json()
    assert {"post", "get"} <= set(spec["paths"]["/api/v1/programmes"])
    assert "patch" in spec["paths"]["/api/v1/calls/{call_id}"]
    assert "/api/v1/calls/{call_id}/clone" in spec["paths"]


# -- what a programme's settings drive ------------------------------------------------------

def test_the_programmes_sender_name_signs_its_mail(app, world):
    from webapp.mail.rendering import build_message

    world.programme.sender_name = "IURC Latin America"
    db.session.commit()
    case = submitted(world)
    n = db.session.scalar(select(Notification).where(Notification.case_id == case.id))
    message = build_message(n)
    assert message["From"].startswith("IURC Latin America <")
    assert message["From"].endswith("<no-reply@citypair.local>") or "@" in message["From"]
    world.programme.sender_name = ""
    db.session.commit()
    assert build_message(n)["From"] == app.config["MAIL_FROM"]


def test_retention_follows_each_programmes_own_period(app, world):
    from webapp.operations.privacy import apply_retention

    now = utcnow()
    short = Programme(slug="short", name="Short memory", retention_years=2)
    old_call = Call(programme=short, slug="old-short", kind="city-to-city", title="Old",
                    opens_at=now - timedelta(days=4 * 365), closes_at=now - timedelta(
                        days=3 * 365))
    same_age = Call(programme=world.programme, slug="old-default", kind="city-to-city",
                    title="Old too", opens_at=old_call.opens_at, closes_at=old_call.closes_at)
    db.session.add_all([short, old_call, same_age])
    db.session.flush()
    for call, ref in ((old_call, "S-1"), (same_age, "D-1")):
        db.session.add(Case(reference=ref, call_id=call.id, organisation_id=world.org_a.id,
                            workflow="city-to-city", state="ineligible"))
    db.session.commit()
    result = apply_retention(now=now)
    assert [r for _i, r, _s in result.cases] == ["S-1"]  # 3 years > 2; the default is 5
    assert result.programmes == {"short": (2, result.programmes["short"][1])}
    assert apply_retention(now=now, years=1).cases[0][1] == "D-1"


def test_the_dashboard_counts_targets_of_the_viewers_programmes(world, make_browser):
    stranger = outsider(world)
    world.programme.targets = {"city_partnerships": 7}
    db.session.commit()
    them = make_browser()
    them.login(stranger.email)
    page = them.get("/office/dashboard").get_data(as_text=True)
    assert "International Urban Cooperation" not in page
    mine = make_browser()
    mine.login(world.coordinator.email)
    assert "0 of 7" in mine.get("/office/dashboard").get_data(as_text=True)
