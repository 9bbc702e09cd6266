"""The demo is a programme in mid-flight: last year's call played through the real operations up
to now beside today's open calls, so the case list, the dashboard, the deliverables, the
agreements tracker, the pairing board and the outbox all show real cases on the first run;
its audit trail holds, its times are in the past, its old mail is settled, and loading it again
adds nothing."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select

from webapp.db import db, utcnow
from webapp.models import (
    AuditEvent,
    Call,
    Case,
    Deliverable,
    Notification,
    NotificationStatus,
    Signature,
    User,
)
from webapp.operations import audit, caselist
from webapp.operations.demo import HISTORY_CALL, MAIL_TAIL
from webapp.operations.lap import steps
from webapp.operations.setup import DEMO_PASSWORD, load_demo
from workflows import city_to_city
from workflows.engine import StateKind
from workflows.schedule import DeliverableStatus, is_overdue

pytestmark = pytest.mark.integration

WF = city_to_city.WORKFLOW
PLAN = steps(WF)
#: every stage a case of the demo stands at, read from the definition
STAGES = {
    "a draft": WF.initial,
    "an application in review": WF.transition("submit").target,
    "an information request": WF.transition("request_information").target,
    "an eligible case waiting for a partner": WF.transition("declare_eligible").target,
    "an ineligible case": WF.transition("declare_ineligible").target,
    "a pairing waiting for an answer": WF.transition("propose_pairing").target,
    "an agreement waiting for signatures": WF.transition("accept_pairing").target,
    "a cooperation": WF.transition("sign").target,
    "a plan sent back": PLAN.revise.target,
    "a plan in review": PLAN.submit.target,
    "a completed case": WF.states_of_kind(StateKind.SUCCESS)[0],
    "a withdrawn case": WF.transition("withdraw").target,
}


def text_of(resp) -> str:
    html = re.sub(r"<script.*?</script>|<style.*?</style>", " ", resp.get_data(as_text=True),
                  flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def totals() -> list[int]:
    return [db.session.scalar(select(func.count()).select_from(m)) for m in (
        Call, Case, User, AuditEvent, Notification, Deliverable, Signature)]


def test_the_demo_is_a_programme_in_mid_flight(app, browser, make_browser):
    started = utcnow()
    with app.test_request_context():  # the demo formats dates as people read them
        lines = list(load_demo())
    loaded = utcnow()
    assert any(line.startswith("last year's call") for line in lines), lines
    coordinator = db.session.scalar(select(User).where(
        User.email == "coordinator@citypair.demo"))

    # -- the case list has a case at every stage, as the coordinator filters it
    for what, state in STAGES.items():
        found = caselist.count_cases(coordinator, caselist.CaseFilters(state=state), loaded)
        assert found >= 1, f"no case is {what} ({state})"
    history = db.session.scalar(select(Call).where(Call.slug == HISTORY_CALL))
    assert history.status(loaded) == "closed"
    in_history = Counter(db.session.scalars(select(Case.state).where(
        Case.call_id == history.id)))
    assert 15 <= sum(in_history.values()) <= 25

    # -- cooperations in their 3rd, 10th and 17th months
    cooperating = db.session.scalars(select(Case).where(
        Case.state == STAGES["a cooperation"])).all()
    months = set()
    for case in cooperating:
        elapsed = relativedelta(loaded, case.cooperation_start)
        months.add(elapsed.years * 12 + elapsed.months + 1)
    assert {3, 10, 17} <= months, months

    # -- deliverables handed in on time and late, overdue, sent back and awaiting review
    delivered = db.session.scalars(select(Deliverable).join(Case).where(
        Case.state.in_([STAGES["a cooperation"], STAGES["a plan in review"]]))).all()
    handed = [d for d in delivered if d.submitted_at is not None]
    assert any(d.submitted_at <= d.due_at for d in handed)
    assert any(d.submitted_at > d.due_at for d in handed)
    assert any(is_overdue(d.status, d.due_at, loaded) for d in delivered)
    assert any(d.status == DeliverableStatus.REVISION_REQUESTED and d.due_at > loaded
               for d in delivered)
    assert any(d.status == DeliverableStatus.SUBMITTED for d in delivered)
    # an agreement one party has signed, and one nobody has yet
    signatures = Counter(db.session.scalars(select(Signature.case_id).join(
        Case, Case.id == Signature.case_id).where(
        Case.state == STAGES["an agreement waiting for signatures"])))
    waiting = db.session.scalars(select(Case.id).where(
        Case.state == STAGES["an agreement waiting for signatures"])).all()
    assert 1 in signatures.values() and any(signatures[c] == 0 for c in waiting)

    # -- the dashboard counts real cases
    figures = caselist.dashboard_figures(coordinator, loaded)
    assert figures.eligible and figures.ineligible and figures.agreements_waiting
    assert figures.active_cooperations >= 8
    assert figures.deliverables_due_soon and figures.deliverables_overdue
    assert 0 < figures.deliverables_on_time < figures.deliverables_handed_in

    # -- every step of the history happened in the past, in order, and its trail holds
    events = db.session.execute(select(AuditEvent.case_id, AuditEvent.at).order_by(
        AuditEvent.id)).all()
    assert all(at <= loaded for _, at in events)
    last: dict[int | None, object] = {}
    for case_id, at in events:
        assert last.get(case_id, at) <= at, case_id
        last[case_id] = at
    assert min(at for _, at in events) < started - relativedelta(months=20)
    for created, first in db.session.execute(select(User.created_at, func.min(AuditEvent.at))
                                             .join(AuditEvent, AuditEvent.actor_id == User.id)
                                             .group_by(User.id, User.created_at)):
        assert created <= first  # nobody acted before their account existed
    verified = audit.verify()
    assert verified.ok, verified.first
    assert verified.events == len(events)

    # -- the history's old mail is settled; a recent tail waits for the workers
    pending = db.session.scalars(select(Notification.created_at).where(
        Notification.status == NotificationStatus.PENDING)).all()
    assert pending and all(at >= started - MAIL_TAIL for at in pending)
    assert len(pending) < 40
    sent = db.session.scalar(select(func.count(Notification.id)).where(
        Notification.status == NotificationStatus.SENT, Notification.sent_at < started))
    assert sent > 200

    # -- the pages show it
    browser.login("coordinator@citypair.demo", DEMO_PASSWORD)
    page = text_of(browser.get("/office/dashboard"))
    assert "City-to-city cooperation: first round" in page and "Local Action Plan in review" \
        in page
    page = text_of(browser.get("/office/deliverables"))
    assert "Overdue" in page and "Awaiting review" in page and "Due soon" in page
    assert "Sevilla · Vitória" in page
    page = text_of(browser.get("/agreements/"))
    assert "Cases whose agreement awaits signatures: 2." in page and "Madrid" in page
    page = text_of(browser.get(f"/office/pairing/calls/{history.id}/board"))
    assert "2 cases waiting for a partner" in page and "Koriyama" in page
    page = text_of(browser.get("/office/outbox?status=sent"))
    assert re.search(r"\b\d{3} e-mails\b", page), page[:500]
    page = text_of(browser.get(f"/office/cases?state={STAGES['a cooperation']}"
                               "&health=off_track"))
    assert "Sevilla" in page and "Leuven" in page and "Mannheim" not in page
    # a partner contact of the demo follows its own cooperation
    partner = make_browser()
    partner.login("rosario@citypair.demo", DEMO_PASSWORD)
    genoa = next(c for c in cooperating if c.organisation.name == "Genoa")
    assert "Genoa with Rosario" in text_of(partner.get(f"/cooperation/cases/{genoa.id}"))
    assert "Cooperation under way" in text_of(partner.get("/my/"))

    # -- loading again adds nothing
    before = totals()
    with app.test_request_context():
        again = list(load_demo())
    assert not any(line.startswith("last year's call") for line in again)
    assert totals() == before
