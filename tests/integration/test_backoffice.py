"""The coordinators' back office over HTTP and through its operations: the case list with its
filters, sorting, exports and bulk actions, the case page, the dashboard and the workflows."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import zipfile
from contextlib import contextmanager
from datetime import timedelta
from xml.etree import ElementTree

import pytest
from sqlalchemy import case as sql_case
from sqlalchemy import event, func, select

from tests.factories import complete_application
from webapp.db import db, utcnow
from webapp.models import (
    AuditEvent,
    CallExtension,
    Case,
    CasePartner,
    Comment,
    Deadline,
    Notification,
    Organisation,
    Topic,
)
from webapp.operations import applications, backoffice, caselist, cases
from webapp.operations.caselist import CaseFilters

pytestmark = pytest.mark.integration

LATAM = "Latin America and the Caribbean"
_serial = [0]


def add_case(world, name, *, country="FR", state="draft", region=LATAM, partner=None,
             topics=(), coordinator=None, submitted=None, updated=None, workflow="city-to-city",
             cooperation_start=None):
    """A case row in a given state, for reading tests (the operations tests move real ones)."""
    _serial[0] += 1
    org = Organisation(name=name, kind="city", country=country, population=200_000)
    now = utcnow()
    case = Case(reference=f"T-{_serial[0]:05d}", call_id=world.call.id, organisation=org,
                workflow=workflow, state=state, partner_region=region,
                partner_city_id=partner.id if partner else None,
                # The lead is the first of the case's partners, as pairing sets them.
                partner_links=[CasePartner(partner_city_id=partner.id)] if partner else [],
                coordinator_id=coordinator.id if coordinator else None, submitted_at=submitted,
                updated_at=updated or now, created_at=now, cooperation_start=cooperation_start,
                topics=[db.session.get(Topic, t) for t in topics])
    db.session.add(case)
    db.session.commit()
    return case


def refs(user, **filters):
    q = caselist.filtered_cases(user, CaseFilters(**filters), utcnow())
    return [c.reference for c, _health in db.session.execute(q)]


def listed(resp):
    """The references the list page shows, in order."""
    return re.findall(r'href="/office/cases/\d+">([^<]+)</a>', resp.get_data(as_text=True))


@contextmanager
def statements():
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


# -- the list ------------------------------------------------------------------------------

@pytest.fixture
def varied(world):
    """Cases that differ in every filtered attribute."""
    second_call = type(world.call)(programme=world.programme, slug="r2r", kind="region-to-region",
                                   title="Region call", partner_regions=["Asia"],
                                   opens_at=world.call.opens_at, closes_at=world.call.closes_at)
    db.session.add(second_call)
    db.session.commit()
    lyon = add_case(world, "Lyon Métropole", state="eligibility_review", topics=["smart-city"],
                    coordinator=world.coordinator, submitted=utcnow() - timedelta(days=3))
    porto = add_case(world, "Porto", country="PT", state="pairing_proposed",
                     partner=world.partner_city_asia, region=LATAM, topics=["urban-mobility"])
    graz = add_case(world, "Graz", country="AT", region="Asia",
                    submitted=utcnow() - timedelta(days=1))
    region = add_case(world, "Styria Region", country="AT", region="Asia",
                      workflow="region-to-region", state="scoring")
    region.call_id = second_call.id
    db.session.commit()
    return {"lyon": lyon.reference, "porto": porto.reference, "graz": graz.reference,
            "region": region.reference, "second_call": second_call.id}


def test_each_filter_narrows_the_list(world, varied):
    v = varied
    admin = world.admin
    assert sorted(refs(admin)) == sorted([v["lyon"], v["porto"], v["graz"], v["region"]])
    assert refs(admin, call_id=v["second_call"]) == [v["region"]]
    assert refs(admin, state="eligibility_review") == [v["lyon"]]
    # The partner city's region wins over the preferred one.
    assert sorted(refs(admin, region="Asia")) == sorted([v["porto"], v["graz"], v["region"]])
    assert refs(admin, region=LATAM) == [v["lyon"]]
    assert sorted(refs(admin, country="Austria")) == sorted([v["graz"], v["region"]])
    assert refs(admin, topic="urban-mobility") == [v["porto"]]
    assert refs(admin, coordinator=str(world.coordinator.id)) == [v["lyon"]]
    assert v["lyon"] not in refs(admin, coordinator="unassigned")
    assert len(refs(admin, coordinator="unassigned")) == 3
    assert len(refs(admin, health="on_track")) == 4 and refs(admin, health="at_risk") == []
    # Search finds the applicant's city, the partner city and the reference.
    assert refs(admin, search="métropole") == [v["lyon"]]
    assert refs(admin, search="yokohama") == [v["porto"]]
    assert refs(admin, search=v["graz"].lower()) == [v["graz"]]
    assert refs(admin, search="%") == []
    assert refs(admin, state="eligibility_review", country="Portugal") == []


def test_filters_over_http_keep_their_values_and_refuse_nonsense(browser, world, varied):
    browser.login(world.coordinator.email)
    resp = browser.get("/office/cases?country=AT&state=draft")
    assert resp.status_code == 200
    assert listed(resp) == [varied["graz"]]
    body = resp.get_data(as_text=True)
    assert re.search(r'<option selected value="AT">Austria|<option value="AT" selected>Austria',
                     body)
    resp = browser.get("/office/cases?state=not-a-state")
    assert resp.status_code == 400 and "There is a problem" in resp.get_data(as_text=True)


def test_sorting_by_each_column_both_ways(browser, world, varied):
    v = varied
    admin = world.admin
    by_ref = sorted([v["lyon"], v["porto"], v["graz"], v["region"]])
    assert refs(admin, sort="reference", descending=False) == by_ref
    assert refs(admin, sort="reference", descending=True) == by_ref[::-1]
    assert refs(admin, sort="organisation", descending=False) == [
        v["graz"], v["lyon"], v["porto"], v["region"]]
    # Submitted: newest first, unsubmitted last either way.
    assert refs(admin, sort="submitted", descending=True)[:2] == [v["graz"], v["lyon"]]
    assert refs(admin, sort="submitted", descending=False)[:2] == [v["lyon"], v["graz"]]
    # Status follows the workflow's order, not the alphabet.
    assert refs(admin, sort="state", descending=False)[0] == v["graz"]
    browser.login(world.coordinator.email)
    resp = browser.get("/office/cases?sort=organisation&dir=desc")
    assert listed(resp) == [v["region"], v["porto"], v["lyon"], v["graz"]]
    body = resp.get_data(as_text=True)
    assert re.search(r'aria-sort="descending">\s*<a[^>]*href="[^"]*sort=organisation[^"]*dir=asc',
                     body)
    assert body.count("aria-sort=") == 1


def test_pages_hold_the_page_size(browser, world):
    for i in range(30):
        add_case(world, f"City {i:02d}")
    browser.login(world.coordinator.email)
    first = listed(browser.get("/office/cases?sort=reference&dir=asc"))
    second = listed(browser.get("/office/cases?sort=reference&dir=asc&page=2"))
    assert len(first) == 25 and len(second) == 5 and not set(first) & set(second)
    assert len(listed(browser.get("/office/cases?size=50"))) == 30


def test_queries_per_list_page_do_not_grow_with_page_or_table_size(browser, world):
    topics = ["smart-city", "urban-mobility"]
    for i in range(5):
        add_case(world, f"Town {i:02d}", topics=topics, coordinator=world.coordinator,
                 partner=world.partner_city if i % 2 else None, state="pairing_proposed")
    browser.login(world.coordinator.email)

    def measure(size):
        db.session.remove()
        with statements() as seen:
            resp = browser.get(f"/office/cases?size={size}")
        assert resp.status_code == 200
        return len(seen), len(listed(resp))

    small = [measure(25), measure(50)]
    for i in range(5, 60):
        add_case(world, f"Town {i:02d}", topics=topics, coordinator=world.coordinator,
                 partner=world.partner_city if i % 2 else None, state="pairing_proposed")
    large = [measure(25), measure(50)]
    assert [rows for _, rows in small + large] == [5, 5, 25, 50]
    assert len({n for n, _ in small + large}) == 1, small + large


# -- health --------------------------------------------------------------------------------

def _overdue_deliverables(now):
    """A provider of the kind a feature plugs in: the oldest overdue due date of its rows."""
    oldest = (select(func.min(Deadline.due_at))
              .where(Deadline.case_id == Case.id, Deadline.kind == "health_probe",
                     Deadline.status == "open", Deadline.due_at < now)
              .correlate(Case).scalar_subquery())
    return sql_case((oldest < now - timedelta(days=30), 2), (oldest.is_not(None), 1), else_=0)


@pytest.fixture
def deliverables_health(monkeypatch):
    # The case list asks the wiring for its health providers; this one is added beside them.
    wired = caselist.listing.wiring()
    monkeypatch.setattr(caselist.listing, "wiring", lambda: dataclasses.replace(
        wired, health=(*wired.health, _overdue_deliverables)))


def test_health_filter_follows_what_the_providers_compute(browser, world, deliverables_health):
    fine = add_case(world, "Fine", state="cooperation_active")
    late = add_case(world, "Late", state="cooperation_active")
    lost = add_case(world, "Lost", state="cooperation_active")
    now = utcnow()
    for case, days in ((late, 5), (lost, 45), (fine, -10)):
        db.session.add(Deadline(case_id=case.id, kind="health_probe", label="Progress report",
                                due_at=now - timedelta(days=days)))
    db.session.commit()
    admin = world.admin
    assert refs(admin, health="at_risk") == [late.reference]
    assert refs(admin, health="off_track") == [lost.reference]
    assert refs(admin, health="on_track") == [fine.reference]
    browser.login(world.coordinator.email)
    body = browser.get("/office/cases?health=off_track").get_data(as_text=True)
    assert lost.reference in body and late.reference not in body and "Off track" in body


# -- exports -------------------------------------------------------------------------------

def test_csv_export_uses_the_filters_and_escapes_formulas(browser, world):
    add_case(world, '=HYPERLINK("x")', state="eligibility_review")
    add_case(world, "@SUM(1)", state="eligibility_review")
    add_case(world, "Plain city", state="draft")
    browser.login(world.coordinator.email)
    resp = browser.get("/office/cases/export.csv?state=eligibility_review&sort=organisation"
                       "&dir=asc")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Reference", "Call", "Applicant"]
    assert [r[2] for r in rows[1:]] == ['\'=HYPERLINK("x")', "'@SUM(1)"]
    assert all(r[6] == "Eligibility review" for r in rows[1:])
    # The country by name for people, and by its code for other programs.
    assert rows[0][4:6] == ["Country", "Country code"]
    assert all(r[4:6] == ["France", "FR"] for r in rows[1:])


def xlsx(browser, url):
    """The workbook's bytes; the response is closed so its temporary file is too."""
    with browser.client.get(url) as resp:
        assert resp.status_code == 200
        assert resp.mimetype.endswith("spreadsheetml.sheet")
        return resp.get_data()


def _xlsx_texts(data: bytes) -> tuple[list[str], str]:
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        names = book.namelist()
        xml = book.read("xl/worksheets/sheet1.xml").decode()
        if "xl/sharedStrings.xml" in names:
            xml += book.read("xl/sharedStrings.xml").decode()
    texts = []
    for part in re.findall(r"<(?:worksheet|sst)\b.*?</(?:worksheet|sst)>", xml, re.S):
        root = ElementTree.fromstring(part)
        texts += [el.text or "" for el in root.iter() if el.tag.endswith("}t")]
    return texts, xml


def test_xlsx_export_escapes_formulas_and_follows_the_filters(browser, world):
    add_case(world, '=HYPERLINK("x")', state="eligibility_review")
    add_case(world, "Plain city", state="draft")
    browser.login(world.coordinator.email)
    texts, xml = _xlsx_texts(xlsx(browser, "/office/cases/export.xlsx?state=eligibility_review"))
    assert '\'=HYPERLINK("x")' in texts
    assert "Plain city" not in texts and "Reference" in texts
    assert "<f>" not in xml  # no cell became a formula


# -- the case page -------------------------------------------------------------------------

def submitted_case(world, user=None, region=LATAM):
    case = applications.start_application(user or world.applicant_a, world.call.id)
    case = complete_application(db.session.get(Case, case.id), region=region)
    cases.fire(case.id, "submit", user or world.applicant_a)
    db.session.expire_all()
    return db.session.get(Case, case.id)


def test_case_page_shows_progress_actions_timeline_and_audit(browser, world):
    case = submitted_case(world)
    browser.login(world.coordinator.email)
    resp = browser.get(f"/office/cases/{case.id}")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert 'aria-current="step"' in body  # the progress bar marks the current stage
    assert "Declare eligible" in body and "Request information" in body
    assert "Submit application" in body  # the timeline
    assert "audit.csv" in body
    audit = browser.get(f"/office/cases/{case.id}/audit.csv")
    rows = list(csv.reader(io.StringIO(audit.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][1:] == list(caselist.AUDIT_HEADERS)[1:]
    assert rows[0][0] == "Time (Europe/Brussels)"
    assert [r[4] for r in rows[1:]] == ["start", "submit"]
    assert any(r[5] == "draft" and r[6] == "eligibility_review" for r in rows[1:])


def test_an_action_fired_from_the_case_page_moves_the_case(browser, world):
    case = submitted_case(world)
    browser.login(world.coordinator.email)
    browser.get(f"/office/cases/{case.id}")
    resp = browser.post(f"/office/cases/{case.id}/act/declare_ineligible",
                        {"version": case.version, "declare_ineligible-reason": ""})
    assert resp.status_code == 400 and "There is a problem" in resp.get_data(as_text=True)
    assert db.session.get(Case, case.id).state == "eligibility_review"
    resp = browser.post(f"/office/cases/{case.id}/act/declare_ineligible",
                        {"version": case.version, "declare_ineligible-reason": "Too small"})
    assert resp.status_code == 303
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "ineligible"


def test_internal_comments_stay_internal_and_shared_ones_reach_the_applicant(
        browser, make_browser, world):
    case = submitted_case(world)
    browser.login(world.coordinator.email)
    browser.get(f"/office/cases/{case.id}")
    resp = browser.post(f"/office/cases/{case.id}/comments", {"body": "", "visibility": "shared"})
    assert resp.status_code == 400 and "Write a comment." in resp.get_data(as_text=True)
    browser.post(f"/office/cases/{case.id}/comments",
                 {"body": "Budget looks thin, check with finance", "visibility": "internal"})
    browser.post(f"/office/cases/{case.id}/comments",
                 {"body": "Please send the council decision", "visibility": "shared"})
    staff_view = browser.get(f"/office/cases/{case.id}").get_data(as_text=True)
    assert "Budget looks thin" in staff_view and "Please send the council decision" in staff_view
    assert [c.internal for c in db.session.scalars(
        select(Comment).where(Comment.case_id == case.id).order_by(Comment.id))] == [True, False]
    mails = db.session.scalars(select(Notification).where(
        Notification.template == "comment_shared")).all()
    assert [m.to_email for m in mails] == ["anna@lyon.fr"]
    applicant = make_browser()
    applicant.login(world.applicant_a.email)
    mine = applicant.get(f"/my/cases/{case.id}")
    assert mine.status_code == 200
    text = mine.get_data(as_text=True)
    assert "Please send the council decision" in text
    assert "Budget looks thin" not in text


def test_assignment_offers_only_coordinators_who_can_see_the_case(browser, world):
    case = submitted_case(world)  # Latin America
    browser.login(world.coordinator.email)
    body = browser.get(f"/office/cases/{case.id}").get_data(as_text=True)
    assert world.coordinator_latam.name in body
    assert not re.search(rf'<option[^>]*value="{world.coordinator_asia.id}"', body)
    resp = browser.post(f"/office/cases/{case.id}/assign",
                        {"coordinator": str(world.coordinator_asia.id)})
    assert resp.status_code == 400
    resp = browser.post(f"/office/cases/{case.id}/assign",
                        {"coordinator": str(world.coordinator_latam.id)})
    assert resp.status_code == 303
    db.session.expire_all()
    assert db.session.get(Case, case.id).coordinator_id == world.coordinator_latam.id
    assert refs(world.admin, coordinator=str(world.coordinator_latam.id)) == [case.reference]
    assert db.session.scalar(select(AuditEvent.action).where(
        AuditEvent.case_id == case.id).order_by(AuditEvent.id.desc()).limit(1)) == "assign"


def test_extension_for_a_draft_after_the_call_closed(browser, world):
    case = applications.start_application(world.applicant_a, world.call.id)
    browser.login(world.coordinator.email)
    assert "Extended deadline" not in browser.get(f"/office/cases/{case.id}").get_data(
        as_text=True)  # the call is still open
    world.call.opens_at = utcnow() - timedelta(days=40)
    world.call.closes_at = utcnow() - timedelta(days=1)
    db.session.commit()
    body = browser.get(f"/office/cases/{case.id}").get_data(as_text=True)
    assert "Extended deadline" in body
    resp = browser.post(f"/office/cases/{case.id}/extension",
                        {"until": "", "reason": "Council meeting moved"})
    assert resp.status_code == 400
    until = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    resp = browser.post(f"/office/cases/{case.id}/extension",
                        {"until": until, "reason": "Council meeting moved"})
    assert resp.status_code == 303
    ext = db.session.scalar(select(CallExtension))
    assert ext.organisation_id == world.org_a.id and ext.reason == "Council meeting moved"
    assert ext.until > utcnow()
    assert db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "grant_extension")).case_id == case.id
    # The applicant can now submit late.
    complete_application(db.session.get(Case, case.id))
    assert cases.fire(case.id, "submit", world.applicant_a).target == "eligibility_review"


# -- bulk actions --------------------------------------------------------------------------

def test_bulk_action_confirms_the_selection_then_reports_on_each_case(browser, world):
    ready = submitted_case(world)
    draft = applications.start_application(world.applicant_b, world.call.id)
    browser.login(world.coordinator.email)
    browser.get("/office/cases")
    resp = browser.post("/office/cases/bulk", {"transition": "declare_ineligible",
                                               "case": [ready.id, draft.id]})
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert ready.reference in body and draft.reference in body
    assert body.count(">Possible<") == 1 and body.count(">Not possible<") == 1
    assert "This is not possible while the case is draft." in body
    # Nothing changed yet.
    db.session.expire_all()
    assert db.session.get(Case, ready.id).state == "eligibility_review"
    selection = re.findall(r'name="selection" value="([^"]+)"', body)
    assert sorted(selection) == sorted([f"{ready.id}:{ready.version}",
                                        f"{draft.id}:{draft.version}"])
    resp = browser.post("/office/cases/bulk/apply", {"transition": "declare_ineligible",
                                                     "selection": selection})
    assert resp.status_code == 400 and "There is a problem" in resp.get_data(as_text=True)
    resp = browser.post("/office/cases/bulk/apply", {
        "transition": "declare_ineligible", "selection": selection,
        "declare_ineligible-reason": "Outside the programme's scope"})
    assert resp.status_code == 200
    report = resp.get_data(as_text=True)
    assert ">Done<" in report and ">Refused<" in report
    assert "This is not possible now: the case is at “Draft”." in report
    db.session.expire_all()
    assert db.session.get(Case, ready.id).state == "ineligible"
    assert db.session.get(Case, draft.id).state == "draft"


def test_bulk_without_a_selection_or_an_action_says_what_is_missing(browser, world):
    browser.login(world.coordinator.email)
    browser.get("/office/cases")
    resp = browser.post("/office/cases/bulk", {"transition": "declare_eligible"})
    assert resp.status_code == 400 and "Select at least one case." in resp.get_data(as_text=True)
    resp = browser.post("/office/cases/bulk", {"transition": "", "case": ["1"]})
    assert resp.status_code == 400 and "Choose an action." in resp.get_data(as_text=True)
    resp = browser.post("/office/cases/bulk", {"transition": "declare_eligible",
                                               "case": [str(i) for i in range(1, 300)]})
    assert resp.status_code == 400 and "Select at most 200 cases" in resp.get_data(as_text=True)


def test_bulk_apply_reports_a_conflict_when_a_case_changed_meanwhile(world):
    first = submitted_case(world)
    second = submitted_case(world, user=world.applicant_b)
    stale = second.version
    backoffice.add_comment(second.id, world.coordinator, "Looking at it", internal=True)
    results = backoffice.bulk_fire(world.coordinator, [(first.id, first.version),
                                                       (second.id, stale)],
                                   "declare_eligible", {})
    assert [(r.reference, r.outcome) for r in results] == [
        (first.reference, "done"), (second.reference, "conflict")]


def test_bulk_offers_only_actions_without_per_case_answers(world):
    names = {t.name for t in backoffice.bulk_transitions(world.coordinator)}
    assert {"declare_eligible", "declare_ineligible", "terminate", "approve_lap"} <= names
    assert not names & {"request_information", "propose_pairing", "submit", "sign", "reopen"}
    assert "reopen" in {t.name for t in backoffice.bulk_transitions(world.admin)}


# -- region scope --------------------------------------------------------------------------

def test_asia_coordinator_cannot_see_latin_america(browser, world):
    latam = submitted_case(world, region=LATAM)
    asia = submitted_case(world, user=world.applicant_b, region="Asia")
    browser.login(world.coordinator_asia.email)
    assert browser.get(f"/office/cases/{latam.id}").status_code == 403
    assert browser.get(f"/office/cases/{latam.id}/audit.csv").status_code == 403
    assert browser.get(f"/office/cases/{asia.id}").status_code == 200
    assert listed(browser.get("/office/cases")) == [asia.reference]
    exported = browser.get("/office/cases/export.csv").get_data(as_text=True)
    assert asia.reference in exported and latam.reference not in exported
    texts, _xml = _xlsx_texts(xlsx(browser, "/office/cases/export.xlsx"))
    assert asia.reference in texts and latam.reference not in texts
    browser.get("/office/cases")
    resp = browser.post("/office/cases/bulk", {"transition": "declare_eligible",
                                               "case": [latam.id, asia.id]})
    assert latam.reference not in resp.get_data(as_text=True)
    results = backoffice.bulk_fire(world.coordinator_asia, [(latam.id, None)],
                                   "declare_eligible", {})
    assert results[0].outcome == "refused" and results[0].reference == f"#{latam.id}"
    db.session.expire_all()
    assert db.session.get(Case, latam.id).state == "eligibility_review"


# -- dashboard and workflows ---------------------------------------------------------------

def test_dashboard_figures_on_a_small_world(browser, world):
    world.programme.targets = {"city_partnerships": 10, "regional_partnerships": 10}
    db.session.commit()
    eligible = submitted_case(world)
    cases.fire(eligible.id, "declare_eligible", world.coordinator)
    refused = submitted_case(world, user=world.applicant_b)
    cases.fire(refused.id, "declare_ineligible", world.coordinator, {"reason": "Region"})
    add_case(world, "Rosario pair", state="agreement_pending", partner=world.partner_city,
             topics=["smart-city"])
    add_case(world, "Yokohama pair", state="cooperation_active",
             partner=world.partner_city_asia, topics=["smart-city", "urban-mobility"],
             cooperation_start=utcnow(), region="Asia")
    add_case(world, "Ended pair", state="terminated", partner=world.partner_city,
             cooperation_start=utcnow() - timedelta(days=400))

    assert caselist.eligibility_decisions() == ({"declare_eligible"}, {"declare_ineligible"})
    figures = caselist.dashboard_figures(world.coordinator)
    assert sum(n for _, n in figures.per_call) == 5
    assert ("City-to-city call", "Awaiting pairing", 1) not in figures.per_call_state
    assert ("City-to-city call", "Eligible — awaiting pairing", 1) in figures.per_call_state
    assert (figures.eligible, figures.ineligible, figures.eligibility_rate) == (1, 1, 50)
    assert dict(figures.pairings_per_region) == {LATAM: 1, "Asia": 1}
    assert figures.pairings_per_topic == [("Smart city and digital transition", 2),
                                          ("Urban mobility and transport", 1)]
    assert figures.agreements_waiting == 1 and figures.active_cooperations == 1
    city = next(t for t in figures.targets if t.label == "City partnerships")
    assert (city.reached, city.target, city.percent) == (2, 10, 20)

    asia = caselist.dashboard_figures(world.coordinator_asia)
    assert sum(n for _, n in asia.per_call) == 1
    assert asia.active_cooperations == 1 and asia.agreements_waiting == 0
    assert asia.decided == 0 and asia.eligibility_rate is None

    browser.login(world.coordinator.email)
    body = browser.get("/office/dashboard").get_data(as_text=True)
    assert "50 %" in body and "Agreements waiting for signature" in body
    assert "2 of 10" in body


def test_dashboard_queries_do_not_grow_with_the_cases(browser, world):
    browser.login(world.coordinator.email)

    def measure():
        db.session.remove()
        with statements() as seen:
            assert browser.get("/office/dashboard").status_code == 200
        return len(seen)

    add_case(world, "One", state="cooperation_active", partner=world.partner_city,
             topics=["smart-city"], cooperation_start=utcnow())
    before = measure()
    for i in range(20):
        add_case(world, f"More {i}", state="cooperation_active", partner=world.partner_city,
                 topics=["smart-city", "urban-mobility"], cooperation_start=utcnow())
    assert measure() == before


def test_workflow_page_shows_every_definition(browser, world):
    browser.login(world.coordinator.email)
    resp = browser.get("/office/workflows")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert body.count("stateDiagram-v2") == 2
    assert "eligibility_review --&gt; awaiting_pairing: declare_eligible" in body
    assert "Every failed eligibility rule has an override reason" in body
    assert "Eligible — awaiting pairing" in body and "Selected — awaiting pairing" in body
    # Each definition is drawn, and its tables (folded below) describe it at length.
    for kind in ("city-to-city", "region-to-region"):
        assert 'role="img" viewBox=' in body
        assert f'aria-details="wf-{kind}-tables"' in body
        assert f'<details class="details" id="wf-{kind}-tables">' in body
    assert body.count("<svg xmlns") == 2
    assert body.index("<svg xmlns") < body.index("stateDiagram-v2")


def test_applicants_cannot_open_the_back_office(browser, world):
    browser.login(world.applicant_a.email)
    for url in ("/office/cases", "/office/dashboard", "/office/workflows",
                "/office/cases/export.csv"):
        assert browser.get(url).status_code == 403
