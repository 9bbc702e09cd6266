"""The dashboard's deliverable figures on a small world whose due, overdue and on-time
deliverables are known: due in the next 30 days, overdue, the on-time rate, per region, and
the programme targets from the settings when a programme sets none."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import event

from tests.factories import complete_application, sign_agreement, user
from tests.integration.test_cooperation import by_kind, cooperating, hand_in_report
from webapp.access import visible_cases
from webapp.db import db, utcnow
from webapp.models import Case, UserRole
from webapp.operations import applications, caselist, cases, cooperation

DAY = timedelta(days=1)


def asian_pair(world, start) -> Case:
    """Applicant B paired with Yokohama, both signed at ``start``."""
    partner = user("yuki@yokohama.jp", UserRole.PARTNER, partner_city=world.partner_city_asia)
    db.session.commit()
    case = applications.start_application(world.applicant_b, world.call.id)
    complete_application(db.session.get(Case, case.id), region="Asia")
    cases.fire(case.id, "submit", world.applicant_b)
    cases.fire(case.id, "declare_eligible", world.coordinator)
    cases.fire(case.id, "propose_pairing", world.coordinator,
               {"partner_city_id": world.partner_city_asia.id})
    cases.fire(case.id, "accept_pairing", world.applicant_b)
    cases.fire(case.id, "accept_pairing", partner)
    sign_agreement(case.id, world.applicant_b, now=start)
    sign_agreement(case.id, partner, now=start)
    db.session.expire_all()
    return db.session.get(Case, case.id)


def figures_at(person, now):
    f = caselist.dashboard_figures(person, now)
    return (f.deliverables_due_soon, f.deliverables_overdue, f.deliverables_handed_in,
            f.deliverables_on_time, f.on_time_rate)


def test_due_overdue_and_on_time_deliverables(world, browser):
    start = utcnow() - 45 * DAY
    lyon = cooperating(world, start)
    porto = asian_pair(world, start)
    found, asian = by_kind(lyon.id), by_kind(porto.id)
    work_plan, report = found["work_plan", 1], found["progress_report", 1]
    # Both work plans fall due about two months in: within 30 days of day 40.
    assert figures_at(world.coordinator, start + 40 * DAY) == (2, 0, 0, 0, None)
    browser.login(world.coordinator.email)
    body = browser.get("/office/dashboard").get_data(as_text=True)
    due = re.search(r'key-figure__value">(\d+)</p>\s*<p class="key-figure__label">Due in the '
                    r'next 30 days', body)
    assert due and due.group(1) == "2"
    assert "Handed in on time" in body and "0 of 0 handed in by their due date" in body

    # Porto hands its work plan in on time, then its cooperation ends early.
    cooperation.submit_deliverable(porto.id, asian["work_plan", 1].id, world.applicant_b,
                                   note="Plan", now=asian["work_plan", 1].due_at - 2 * DAY)
    cases.fire(porto.id, "terminate", world.coordinator, {"reason": "The partner left."},
               now=start + 100 * DAY)
    # Lyon hands the work plan in three days late and the first report a day early.
    cooperation.submit_deliverable(lyon.id, work_plan.id, world.partner, note="Plan",
                                   now=work_plan.due_at + 3 * DAY)
    hand_in_report(lyon, report, world.applicant_a, report.due_at - DAY)

    # Ten days before month 12 the draft plan and the second report fall due soon.
    month_12 = found["progress_report", 2].due_at
    assert found["draft_lap", 1].due_at == month_12
    assert figures_at(world.coordinator, month_12 - 10 * DAY) == (2, 0, 3, 2, 67)
    # Two days after, both are overdue; Porto's, ended with its case, are not counted.
    assert figures_at(world.coordinator, month_12 + 2 * DAY) == (0, 2, 3, 2, 67)
    # A coordinator for Asia sees Porto's case only: one work plan, on time.
    assert figures_at(world.coordinator_asia, month_12 + 2 * DAY) == (0, 0, 1, 1, 100)

    # A report sent back for revision is awaited again, by its new date.
    cooperation.review_deliverable(lyon.id, report.id, world.coordinator, accept=False,
                                   comments="Add the indicators.",
                                   resubmit_by=month_12 + 20 * DAY, now=month_12 + DAY)
    assert figures_at(world.coordinator, month_12 + 2 * DAY) == (1, 2, 2, 1, 50)


def test_targets_come_from_the_settings_when_the_programme_sets_none(world, app):
    assert not world.programme.targets
    cooperating(world)
    app.config["PROGRAMME_TARGETS"] = {"city_partnerships": 4}
    try:
        figures = caselist.dashboard_figures(world.coordinator)
    finally:
        app.config["PROGRAMME_TARGETS"] = {"city_partnerships": 10,
                                           "regional_partnerships": 10}
    [target] = figures.targets
    assert (target.label, target.reached, target.target, target.percent) == \
        ("City partnerships", 1, 4, 25)
    world.programme.targets = {"regional_partnerships": 2}
    db.session.commit()
    [own] = caselist.dashboard_figures(world.coordinator).targets
    assert (own.label, own.reached, own.target) == ("Regional partnerships", 0, 2)


def test_the_deliverable_figures_are_one_statement_whatever_the_cases(world):
    cooperating(world, utcnow() - 45 * DAY)
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement)

    scope = visible_cases(world.coordinator)
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert caselist.deliverable_figures(scope, utcnow())[0] == 1
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(seen) == 1
