"""The back office's deliverables across cases: due in the next 30 days, overdue and awaiting
review, with their filters, order, pages, the viewer's programme and region, and a constant
number of statements per page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.factories import user
from tests.integration.test_backoffice import add_case, statements
from tests.integration.test_cooperation import by_kind, cooperating
from tests.integration.test_dashboard_deliverables import asian_pair
from webapp.db import db, utcnow
from webapp.models import Call, Deadline, Deliverable, Programme, UserRole
from webapp.operations import backoffice, cases, cooperation, deliverable_list
from webapp.operations.deliverable_list import DeliverableFilters, Need

pytestmark = pytest.mark.integration

DAY = timedelta(days=1)
LATAM = "Latin America and the Caribbean"


def titles(resp) -> list[str]:
    """The deliverables a page lists, in order, as "reference: title"."""
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200, body[:2000]
    return [f"{ref}: {title}" for title, ref in re.findall(
        r'<td class="table__cell"><a href="/cooperation/cases/\d+/deliverables/\d+">([^<]+)</a>'
        r'</td>\s*<td class="table__cell"><a href="/office/cases/\d+">([^<]+)</a>', body)]


@pytest.fixture
def two_pairs(world):
    """Lyon (with Rosario, Latin America) and Porto (with Yokohama, Asia), 45 days into their
    cooperation: both work plans fall due in about two weeks. Lyon has handed its plan in;
    Porto's first report is made overdue; Lyon is the coordinator's."""
    start = utcnow() - 45 * DAY
    lyon = cooperating(world, start)
    porto = asian_pair(world, start)
    lyon_plan = by_kind(lyon.id)["work_plan", 1]
    cooperation.submit_deliverable(lyon.id, lyon_plan.id, world.applicant_a, note="Plan")
    porto_report = by_kind(porto.id)["progress_report", 1]
    porto_report.due_at = utcnow() - 3 * DAY
    backoffice.assign_coordinator(lyon.id, world.admin, world.coordinator.id)
    db.session.commit()
    return {"lyon": lyon, "porto": porto, "start": start}


def test_the_list_shows_what_falls_due_is_overdue_and_awaits_review(browser, world, two_pairs):
    lyon, porto = two_pairs["lyon"].reference, two_pairs["porto"].reference
    browser.login(world.coordinator.email)
    resp = browser.get("/office/deliverables")
    # Earliest due first: Porto's late report, then the two work plans.
    assert titles(resp) == [f"{porto}: Progress report 1 (months 1–6)",
                            f"{lyon}: Work plan", f"{porto}: Work plan"]
    body = resp.get_data(as_text=True)
    assert "3 deliverables" in body and "3 days late" in body
    assert "Awaiting review" in body and "Due soon" in body and "days left" in body
    assert titles(browser.get("/office/deliverables?need=overdue")) == [
        f"{porto}: Progress report 1 (months 1–6)"]
    assert titles(browser.get("/office/deliverables?need=review")) == [f"{lyon}: Work plan"]
    assert titles(browser.get("/office/deliverables?need=due_soon")) == [f"{porto}: Work plan"]
    # Latest due first.
    assert titles(browser.get("/office/deliverables?dir=desc"))[0] == f"{porto}: Work plan"


def test_filters_narrow_the_list_by_region_coordinator_and_call(browser, world, two_pairs):
    lyon, porto = two_pairs["lyon"].reference, two_pairs["porto"].reference
    browser.login(world.admin.email)
    assert {t.split(":")[0] for t in titles(browser.get(
        "/office/deliverables?region=Asia"))} == {porto}
    assert {t.split(":")[0] for t in titles(browser.get(
        f"/office/deliverables?coordinator={world.coordinator.id}"))} == {lyon}
    assert {t.split(":")[0] for t in titles(browser.get(
        "/office/deliverables?coordinator=unassigned"))} == {porto}
    other = Call(programme=world.programme, slug="other", kind="city-to-city",
                 title="Another call", opens_at=world.call.opens_at,
                 closes_at=world.call.closes_at)
    db.session.add(other)
    db.session.commit()
    assert len(titles(browser.get(f"/office/deliverables?call={world.call.id}"))) == 3
    empty = browser.get(f"/office/deliverables?call={other.id}")
    assert titles(empty) == [] and "No deliverable matches your filters." in \
        empty.get_data(as_text=True)
    # A value the filter does not offer is an error on the form, not an empty list.
    bad = browser.get("/office/deliverables?need=lost")
    assert bad.status_code == 400 and "Not a valid choice" in bad.get_data(as_text=True)


def test_each_coordinator_sees_the_deliverables_of_their_region_and_programme(
        browser, make_browser, world, two_pairs):
    lyon, porto = two_pairs["lyon"].reference, two_pairs["porto"].reference
    now = utcnow()

    def refs(person):
        page = deliverable_list.list_page(person, DeliverableFilters(), now)
        return {r.case.reference for r in page.rows}

    assert refs(world.coordinator_latam) == {lyon}
    assert refs(world.coordinator_asia) == {porto}
    elsewhere = Programme(slug="iurc", name="IURC Asia")
    db.session.add(elsewhere)
    scoped = user("iurc@iuc.eu", UserRole.COORDINATOR)
    scoped.programmes = [elsewhere]
    db.session.commit()
    assert refs(scoped) == set()
    browser.login("iurc@iuc.eu")
    page = browser.get("/office/deliverables").get_data(as_text=True)
    # Another programme's call is not even offered as a filter.
    assert world.call.title not in page and "No deliverable needs attention now." in page
    applicant = make_browser()
    applicant.login(world.applicant_a.email)
    assert applicant.get("/office/deliverables").status_code == 403


def test_a_case_that_ended_owes_nothing(world, two_pairs):
    porto = two_pairs["porto"]
    cases.fire(porto.id, "terminate", world.coordinator, {"reason": "The partner left."})
    rows = deliverable_list.list_page(world.admin, DeliverableFilters(), utcnow()).rows
    assert {r.case.id for r in rows} == {two_pairs["lyon"].id}
    assert [r.need for r in rows] == [Need.REVIEW]


def test_the_dashboard_figures_lead_to_the_list(browser, world, two_pairs):
    browser.login(world.coordinator.email)
    body = browser.get("/office/dashboard").get_data(as_text=True)
    assert 'href="/office/deliverables?need=due_soon"' in body
    assert 'href="/office/deliverables?need=overdue"' in body
    nav = browser.get("/office/cases").get_data(as_text=True)
    assert '<a class="nav__link" href="/office/deliverables">Deliverables</a>' in nav


def _owing(world, name: str, n: int) -> None:
    """A case owing ``n`` deliverables in the coming weeks, as rows (for reading tests)."""
    case = add_case(world, name, state="cooperation_active", partner=world.partner_city,
                    coordinator=world.coordinator, cooperation_start=utcnow() - 60 * DAY)
    now = utcnow()
    for i in range(n):
        d = Deliverable(case_id=case.id, kind="progress_report", sequence=i + 1,
                        title=f"Report {i + 1}", due_at=now + (i + 1) * DAY,
                        opens_at=now - DAY)
        db.session.add(d)
        db.session.flush()
        db.session.add(Deadline(case_id=case.id, kind="deliverable", label=d.title,
                                due_at=d.due_at, deliverable_id=d.id))
    db.session.commit()


def test_statements_per_page_do_not_grow_with_page_or_table_size(browser, world):
    for i in range(3):
        _owing(world, f"Town {i}", 2)
    browser.login(world.coordinator.email)

    def measure(size):
        db.session.remove()
        with statements() as seen:
            resp = browser.get(f"/office/deliverables?size={size}")
        return len(seen), len(titles(resp))

    small = [measure(25), measure(50)]
    for i in range(3, 12):
        _owing(world, f"Town {i}", 6)
    large = [measure(25), measure(50)]
    assert [rows for _, rows in small + large] == [6, 6, 25, 50]
    assert len({n for n, _ in small + large}) == 1, small + large
