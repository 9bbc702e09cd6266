"""The programme and call pages as their staff read them: a form sent back unchanged records
nothing, histories say what changed in words, times follow the reader's zone and the
programme's, and numbers and topics read as people expect."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.integration.test_api import assert_problem, submitted, token
from tests.integration.test_calls_admin import LATAM, JsonApi
from webapp.db import db, utcnow
from webapp.models import AuditEvent, Call, Programme, Topic
from webapp.operations import calls as call_ops
from webapp.operations import cases, vocabulary

pytestmark = pytest.mark.integration


def events_of(call: Call) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.call_id == call.id))


def as_the_form_sends(call: Call) -> call_ops.CallData:
    """The call's values as its form shows them and sends them back: times to the minute, in
    the call's zone, without it."""
    data = call_ops.call_data(call)
    data.opens_at = call_ops.in_zone_naive(call.opens_at, call.timezone).replace(
        second=0, microsecond=0)
    data.closes_at = call_ops.in_zone_naive(call.closes_at, call.timezone).replace(
        second=0, microsecond=0)
    return data


def test_a_call_sent_back_unchanged_records_nothing(world):
    call = world.call
    call.summary = "EU cities apply.\n\nGroups are welcome."  # plain text, as loaded
    call.opens_at = call.opens_at.replace(second=51, microsecond=367289)
    db.session.commit()
    before = (call.version, call.opens_at, call.summary, events_of(call))
    saved = call_ops.update_call(call.id, world.admin, as_the_form_sends(call),
                                 expected_version=call.version)
    db.session.expire_all()
    saved = db.session.get(Call, saved.id)
    assert (saved.version, saved.opens_at, saved.summary, events_of(saved)) == before
    # A real change is still one, and only it is recorded.
    data = as_the_form_sends(saved)
    data.population_threshold = 150_000
    call_ops.update_call(call.id, world.admin, data, expected_version=saved.version)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.call_id == call.id)
                               .order_by(AuditEvent.id.desc())).first()
    assert set(event.payload["changes"]) == {"population_threshold"}


def test_a_calls_history_says_what_changed_in_words(world, browser):
    browser.login(world.admin.email)
    call = world.call
    data = as_the_form_sends(call)
    data.eligible_countries = [*call.eligible_countries, "GB"]
    data.closes_at = data.closes_at + timedelta(days=7)
    call = call_ops.update_call(call.id, world.admin, data, expected_version=call.version)
    page = browser.get(f"/office/calls/{call.id}").get_data(as_text=True)
    history = page[page.index("History"):]
    assert "Eligible countries: added United Kingdom" in history
    assert re.search(r"Closes: <del>[A-Z][a-z]{2} \d", history), history[:1500]
    # No stored form of a value: ISO times, country codes, Python lists.
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", history)
    assert "[&#39;" not in history and "closes at" not in history


def test_a_programmes_page_lists_each_change_before_and_after(world, browser):
    browser.login(world.admin.email)
    programme = world.programme
    programme.targets = {"city_partnerships": 10, "regional_partnerships": 4}
    db.session.commit()
    edit = f"/office/admin/programmes/{programme.id}/edit"
    browser.get(edit)
    resp = browser.post(edit, {"name": programme.name, "slug": programme.slug,
                               "timezone": "America/Toronto", "sender_name": "",
                               "city_partnerships": "12", "regional_partnerships": "4",
                               "retention_years": ""})
    assert resp.status_code == 302
    page = browser.get(edit).get_data(as_text=True)
    assert "Time zone: <del>Europe/Brussels</del> → <ins>America/Toronto</ins>" in page
    assert ("Targets: <del>City partnerships: 10, Regional partnerships: 4</del> → "
            "<ins>City partnerships: 12, Regional partnerships: 4</ins>") in page
    listing = browser.get("/office/admin/programmes/").get_data(as_text=True)
    assert "City partnerships: 12, Regional partnerships: 4" in listing
    assert "city_partnerships" not in listing


def test_a_new_call_starts_in_its_programmes_time_zone(world, browser, app):
    tokyo = Programme(slug="iurc-asia", name="IURC Asia", timezone="Asia/Tokyo")
    db.session.add(tokyo)
    db.session.commit()
    client = JsonApi(app.test_client(), token(world.admin))
    resp = client.post("/api/v1/calls", {
        "programme_id": tokyo.id, "kind": "city-to-city", "title": "Asia call 2027",
        "partner_regions": ["Asia"], "opens_at": "2027-03-01T09:00:00",
        "closes_at": "2027-06-01T17:00:00"})
    assert resp.status_code == 201, resp.get_json()
    made = resp.get_json()
    # Typed times are read in the programme's zone (Tokyo, UTC+9), as the call keeps it.
    assert made["timezone"] == "Asia/Tokyo" and made["opens_at"].startswith("2027-03-01T00:00")
    assert_problem(client.post("/api/v1/calls", {
        "programme_id": tokyo.id, "kind": "city-to-city", "title": "Bad zone",
        "partner_regions": ["Asia"], "opens_at": "2027-03-01T09:00:00",
        "closes_at": "2027-06-01T17:00:00", "timezone": "Mars/Base"}), 422, "timezone")

    # The form, with no programme chosen yet, leaves the zone to the programme chosen.
    browser.login(world.admin.email)
    page = browser.get("/office/calls/new").get_data(as_text=True)
    assert re.search(r'<option selected value="">The programme’s time zone</option>', page) \
        or re.search(r'<option value="" selected>The programme’s time zone</option>', page), \
        re.findall(r"<option[^>]*>The programme[^<]*</option>", page)
    resp = browser.post("/office/calls/new", {
        "programme_id": str(tokyo.id), "kind": "city-to-city", "title": "Asia call 2028",
        "partner_regions": ["Asia"], "opens_at": "2028-03-01T09:00",
        "closes_at": "2028-06-01T17:00", "timezone": "", "population_threshold": "100000",
        "eu27": "y", "allowed_org_types": ["city"], "cooperation_months": "18",
        "report_interval_months": "6"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    call = db.session.scalar(select(Call).where(Call.slug == "asia-call-2028"))
    assert call.timezone == "Asia/Tokyo" and call.opens_at.hour == 0


def test_call_times_are_also_shown_in_the_readers_zone(world, browser):
    world.admin.timezone = "America/Toronto"
    db.session.commit()
    browser.login(world.admin.email)
    listing = browser.get("/office/calls/").get_data(as_text=True)
    assert "(EST)" in listing and "(CET)" not in listing
    detail = browser.get(f"/office/calls/{world.call.id}").get_data(as_text=True)
    assert re.search(r"\(CET\); your time: [^<]*\(EST\)", detail), detail[:3000]


def test_a_signed_in_reader_of_a_call_sees_their_own_zone_not_the_browsers(world, browser):
    world.applicant_a.timezone = "Europe/Brussels"
    db.session.commit()
    visitor = browser.get(f"/calls/{world.call.slug}").get_data(as_text=True)
    assert "data-local-time" in visitor  # the script adds the browser's zone for visitors
    browser.login(world.applicant_a.email)
    page = browser.get(f"/calls/{world.call.slug}").get_data(as_text=True)
    assert "data-local-time" not in page


def test_a_number_field_says_what_to_type(world, browser):
    browser.login(world.admin.email)
    browser.get("/office/admin/programmes/new")
    resp = browser.post("/office/admin/programmes/new", {
        "name": "IURC Asia", "slug": "iurc-asia", "timezone": "Asia/Tokyo",
        "city_partnerships": "ten"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "Enter a whole number." in page
    assert "Not a valid integer value." not in page
    assert 'type="text"' in page and 'value="ten"' in page


def test_the_goals_are_listed_in_their_numbers_order(world):
    db.session.add_all(Topic(slug=f"goal-{n}", family="sdg", label_en=f"Goal {n} of the test")
                       for n in (11, 2, 10, 1))
    db.session.commit()
    goals = [t.slug for t in vocabulary.offered(db.session) if t.slug.startswith("goal-")]
    assert goals == ["goal-1", "goal-2", "goal-10", "goal-11"]


def test_the_call_form_offers_countries_as_one_list_each(world, browser):
    browser.login(world.admin.email)
    page = browser.get(f"/office/calls/{world.call.id}/edit").get_data(as_text=True)
    for name in ("partner_countries", "eligible_countries"):
        assert re.search(rf'<select[^>]*multiple[^>]*name="{name}"|'
                         rf'<select[^>]*name="{name}"[^>]*multiple', page), name
        assert f'type="checkbox" id="{name}-1"' not in page
    assert page.count('type="checkbox"') < 20
    assert LATAM in page


def test_a_cases_timeline_shows_its_verdict_before_and_after_a_change_of_rules(world, browser):
    in_review = submitted(world)
    cases.fire(in_review.id, "request_information", world.coordinator,
               {"message": "Send the council's decision.",
                "response_deadline": utcnow() + timedelta(days=10)})
    data = call_ops.call_data(world.call)
    data.eligible_countries = ["ES", "IT"]  # France is out
    call_ops.update_call(world.call.id, world.admin, data, expected_version=world.call.version)
    browser.login(world.coordinator.email)
    page = browser.get(f"/office/cases/{in_review.id}").get_data(as_text=True)
    assert "Eligibility rules run again" in page
    assert "Eligibility rules: passed → a rule failed" in page
    # The request's deadline reads as a time, not as stored.
    assert "Response deadline: " in page
    assert not re.search(r"Response deadline: \d{4}-\d\d-\d\dT", page)
