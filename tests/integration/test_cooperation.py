"""Eighteen months of cooperation on SQLite and PostgreSQL: the deliverable schedule and its
reminders, activities, shared reports, closing the period, the Local Action Plan and the
region-to-region scoring."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests.factories import complete_application, sign_agreement
from webapp.db import db, utcnow
from webapp.errors import Forbidden, Refused
from webapp.models import (
    AuditEvent,
    Case,
    Deadline,
    Deliverable,
    LapVersion,
    Notification,
    Reminder,
    Report,
)
from webapp.operations import applications, cases, cooperation, reminders
from webapp.operations import lap as plan_ops
from webapp.views import case_timeline
from workflows.schedule import add_months, end_of_day

BRUSSELS = ZoneInfo("Europe/Brussels")

pytestmark = pytest.mark.integration

DAY = timedelta(days=1)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def cooperating(world, start=None) -> Case:
    """A case of applicant A paired with Rosario, both signed at ``start``."""
    case = applications.start_application(world.applicant_a, world.call.id)
    complete_application(db.session.get(Case, case.id))
    cases.fire(case.id, "submit", world.applicant_a)
    cases.fire(case.id, "declare_eligible", world.coordinator)
    cases.fire(case.id, "propose_pairing", world.coordinator,
               {"partner_city_id": world.partner_city.id})
    cases.fire(case.id, "accept_pairing", world.applicant_a)
    cases.fire(case.id, "accept_pairing", world.partner)
    start = start or utcnow()
    sign_agreement(case.id, world.applicant_a, now=start)
    sign_agreement(case.id, world.partner, now=start)
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.state == "cooperation_active"
    return case


def by_kind(case_id: int) -> dict[tuple[str, int], Deliverable]:
    db.session.expire_all()
    return {(d.kind, d.sequence): d for d in cooperation.deliverables(db.session, case_id)}


def report_values(**overrides):
    values = {"period_start": date(2025, 1, 1), "period_end": date(2025, 6, 30),
              "achievements": "Two study tours and a joint mobility workshop.",
              "difficulties": "Visas took long.", "next_steps": "A pilot bus lane.",
              "lap_progress": "The stakeholder group met twice.", "indicators": "",
              "activity_ids": []}
    values.update(overrides)
    return values


def hand_in_report(case, d, user, now):
    report = cooperation.report_for(db.session, d)
    cooperation.save_report(case.id, d.id, user, report_values(),
                            expected_version=report.version if report else 0, submit=True,
                            now=now)


COMPLETE_PLAN = {
    "summary": {"summary": "Clean buses for Lyon.", "priority": "Urban mobility"},
    "context": {"context": "A growing metropolis.", "baseline": "12% of trips by bus."},
    "vision": {"vision": "Clean air for all.", "objectives": "Double bus trips by 2030."},
    "stakeholders": {"rows": [
        {"member": "Ana", "organisation": "Transport office", "sector": "public_administration"},
        {"member": "Luc", "organisation": "University of Lyon", "sector": "academia"},
        {"member": "Marc", "organisation": "Chamber of commerce", "sector": "business"},
        {"member": "", "organisation": "Métropole de Lyon", "sector": "other_government"},
        {"member": "Inès", "organisation": "Residents' council", "sector": "civil_society"}]},
    "actions": {"rows": [{"title": "Bus lanes", "objective": "Faster buses",
                          "lead": "Transport office", "cost": 400000, "funding_source": "ERDF"}]},
    "pilots": {"rows": [{"title": "Electric line 4", "timeframe": "Twelve months",
                         "budget": 250000, "funding_sources": "City budget",
                         "financing_model": "Leasing", "expected_results": "One electric line"}]},
    "indicators": {"rows": [{"name": "Bus share", "baseline": "12%", "target": "24%",
                             "source": "Survey", "frequency": "Yearly"}]},
    "alignment": {"sdgs": "SDG 11.2 sustainable transport.", "sdg_topics": ["sdg-11"],
                  "new_urban_agenda": "Sustainable mobility.",
                  "urban_agenda_eu": "The Urban Mobility partnership.",
                  "sendai": "Buses that run in floods.", "paris": "Fewer emissions."},
    "learned": {"learned": "Rosario's bus rapid transit planning."},
}


def write_plan(case, user, plan=COMPLETE_PLAN, now=None):
    for key, values in plan.items():
        working = plan_ops.get_plan(db.session, case.id)
        revision = (working.revisions or {}).get(key, 0) if working else 0
        plan_ops.save_section(case.id, user, key, values, expected_revision=revision, now=now)
        db.session.expire_all()


# -- the schedule ----------------------------------------------------------------------------

def test_cooperation_start_creates_deliverables_with_deadlines_and_reminders(world):
    start = utcnow()
    case = cooperating(world, start)
    assert case.cooperation_ends_at == add_months(start, 18)
    found = by_kind(case.id)
    assert sorted(found) == [("draft_lap", 1), ("final_lap", 1), ("final_report", 1),
                             ("progress_report", 1), ("progress_report", 2),
                             ("progress_report", 3), ("work_plan", 1)]
    # Each falls due at the end of its day in Brussels, the call's working zone.
    assert found["work_plan", 1].due_at == end_of_day(add_months(start, 2), BRUSSELS)
    assert found["progress_report", 3].due_at == end_of_day(add_months(start, 18), BRUSSELS)
    assert [found["progress_report", n].periodic for n in (1, 2, 3)] == [True, True, True]
    assert found["progress_report", 1].opens_at == found["progress_report", 1].due_at - 30 * DAY
    deadlines = db.session.scalars(select(Deadline).where(
        Deadline.case_id == case.id, Deadline.kind == "deliverable")).all()
    assert {d.deliverable_id for d in deadlines} == {d.id for d in found.values()}
    report = next(d for d in deadlines if d.deliverable_id == found["progress_report", 1].id)
    assert report.due_at == found["progress_report", 1].due_at
    assert report.label == found["progress_report", 1].title
    assert sorted((r.offset_minutes // 1440, tuple(r.recipients), r.template)
                  for r in report.reminders) == [
        (-14, ("parties",), "reminder_deliverable"), (-7, ("parties",), "reminder_deliverable"),
        (-1, ("parties",), "reminder_deliverable"), (1, ("parties",), "reminder_deliverable"),
        (14, ("coordinator",), "escalation_deliverable")]
    # Starting twice (a re-entered state) never schedules twice.
    with db.transaction() as session:
        cooperation.create_schedule(session, session.get(Case, case.id), start)
    assert db.session.scalar(select(func.count(Deliverable.id)).where(
        Deliverable.case_id == case.id)) == 7


def test_the_sweep_reminds_both_parties_then_escalates_to_the_coordinator(world):
    start = utcnow()
    case = cooperating(world, start)
    work_plan = by_kind(case.id)["work_plan", 1]
    reminders.sweep(now=work_plan.due_at - 14 * DAY + 60 * DAY / 1440)
    sent = db.session.scalars(select(Notification).where(
        Notification.template == "reminder_deliverable")).all()
    assert {n.to_email for n in sent} == {"anna@lyon.fr", "rosa@rosario.ar"}
    reminders.sweep(now=work_plan.due_at + 15 * DAY)
    escalations = db.session.scalars(select(Notification).where(
        Notification.template == "escalation_deliverable")).all()
    # Every coordinator whose region covers the case; the Asia team is not bothered.
    assert {n.to_email for n in escalations} == {"coord@iuc.eu", "latam@iuc.eu"}
    assert all(n.context["reference"] == case.reference for n in escalations)


def test_handing_in_ends_the_deadline_so_later_reminders_are_not_sent(world):
    start = utcnow() - 45 * DAY
    case = cooperating(world, start)
    work_plan = by_kind(case.id)["work_plan", 1]
    with pytest.raises(Refused, match="Attach the document or write a summary"):
        cooperation.submit_deliverable(case.id, work_plan.id, world.applicant_a)
    cooperation.submit_deliverable(case.id, work_plan.id, world.partner,
                                   upload=io.BytesIO(PDF), filename="work plan.pdf",
                                   note="Our joint work plan")
    db.session.expire_all()
    work_plan = db.session.get(Deliverable, work_plan.id)
    assert work_plan.status == "submitted" and work_plan.document.kind == "work_plan"
    deadline = db.session.scalar(select(Deadline).where(
        Deadline.deliverable_id == work_plan.id))
    assert deadline.status == "met"
    assert {r.outcome for r in deadline.reminders} == {"cancelled"}
    assert db.session.scalar(select(Notification).where(
        Notification.template == "deliverable_submitted")).to_email == "coord@iuc.eu"
    report = reminders.sweep(now=work_plan.due_at + 20 * DAY)
    assert db.session.scalar(select(func.count(Notification.id)).where(
        Notification.template.in_(["reminder_deliverable", "escalation_deliverable"]),
        Notification.deadline_id == deadline.id)) == 0
    assert report.transitions == 0


def test_a_progress_report_cannot_be_handed_in_before_it_opens(world):
    start = utcnow()
    case = cooperating(world, start)
    report = by_kind(case.id)["progress_report", 1]
    with pytest.raises(Refused) as exc:
        cooperation.save_report(case.id, report.id, world.applicant_a, report_values(),
                                expected_version=0, submit=True, now=start + 10 * DAY)
    assert exc.value.reasons[0].startswith("It opens for submission on")
    # Nothing half-written: the refused submission saved no draft either.
    assert cooperation.report_for(db.session, report) is None


def test_a_kickoff_date_moves_what_is_still_to_be_handed_in(world):
    signed = utcnow()
    case = cooperating(world, signed)
    signed_due = by_kind(case.id)["work_plan", 1].due_at
    kickoff = signed + 20 * DAY
    cooperation.set_kickoff(case.id, world.coordinator, kickoff)
    after = by_kind(case.id)
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.cooperation_start == kickoff
    assert case.cooperation_ends_at == add_months(kickoff, 18)
    work_plan = after["work_plan", 1]
    assert work_plan.due_at == end_of_day(add_months(kickoff, 2), BRUSSELS)
    assert work_plan.due_at > signed_due
    deadline = db.session.scalar(select(Deadline).where(
        Deadline.deliverable_id == work_plan.id))
    assert deadline.due_at == work_plan.due_at
    assert sorted(r.scheduled_at - deadline.due_at for r in deadline.reminders) == \
        [-14 * DAY, -7 * DAY, -DAY, DAY, 14 * DAY]
    with pytest.raises(Forbidden):
        cooperation.set_kickoff(case.id, world.applicant_a, kickoff)


def test_a_kickoff_before_the_last_signature_or_years_later_is_refused_beside_the_field(
        world, browser):
    signed = datetime(2030, 3, 10, 10, 0, tzinfo=UTC)
    case = cooperating(world, signed)
    browser.login(world.coordinator.email)
    url = f"/cooperation/cases/{case.id}"
    browser.get(url)
    early = browser.post(f"{url}/kickoff", {"kickoff": "2030-03-09"})
    body = early.get_data(as_text=True)
    assert early.status_code == 400 and "There is a problem" in body
    assert "The kickoff cannot be before the last signature of the agreement " \
           "(March 10, 2030)." in body
    assert 'value="2030-03-09"' in body  # what was typed stays in the field
    late = browser.post(f"{url}/kickoff", {"kickoff": "2031-03-11"})
    assert late.status_code == 400
    assert "within a year of the last signature: by March 10, 2031 at the latest" in \
        late.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Case, case.id).cooperation_start == signed
    # The day of the last signature and a year later are both fine.
    assert browser.post(f"{url}/kickoff", {"kickoff": "2031-03-10"}).status_code == 303
    assert browser.post(f"{url}/kickoff", {"kickoff": "2030-03-10"}).status_code == 303
    with pytest.raises(Refused):
        cooperation.set_kickoff(case.id, world.coordinator, signed - 2 * DAY)


def test_deliverable_mails_name_the_deliverable_and_link_to_it(app, world):
    from pathlib import Path

    from webapp.mail import delivery

    case = cooperating(world, utcnow() - 45 * DAY)
    d = by_kind(case.id)["work_plan", 1]
    cooperation.submit_deliverable(case.id, d.id, world.partner, note="Joint work plan")
    cooperation.review_deliverable(case.id, d.id, world.coordinator, accept=False,
                                   comments="Add a timeline per action.",
                                   resubmit_by=utcnow() + 10 * DAY)
    link = f"/cooperation/cases/{case.id}/deliverables/{d.id}"
    for template, to, expected in (
            ("deliverable_submitted", "coord@iuc.eu", "Lyon has submitted"),
            ("deliverable_revision_requested", "rosa@rosario.ar", "Add a timeline per action.")):
        n = db.session.scalar(select(Notification).where(Notification.template == template,
                                                         Notification.to_email == to))
        assert delivery.deliver(n.id).status == "sent"
        [sent] = Path(app.config["MAIL_SINK_DIR"]).glob(f"notification-{n.id}@*.eml")
        text = sent.read_text()
        assert "Work plan" in text and expected in text and link in text
    cooperation.submit_deliverable(case.id, d.id, world.applicant_a, note="With a timeline")
    cooperation.review_deliverable(case.id, d.id, world.coordinator, accept=True)
    accepted = db.session.scalar(select(Notification).where(
        Notification.template == "deliverable_accepted",
        Notification.to_email == "anna@lyon.fr"))
    assert accepted.optional and delivery.deliver(accepted.id).status == "sent"


# -- activities ------------------------------------------------------------------------------

def test_both_parties_log_activities_that_show_on_the_timeline(app, world):
    case = cooperating(world)
    cooperation.log_activity(case.id, world.applicant_a, {
        "type": "study_tour", "title": "Study tour to Rosario", "starts_on": date(2026, 3, 2),
        "ends_on": date(2026, 3, 6), "place": "Rosario", "direction": "eu_to_partner",
        "participants": 8, "stakeholders": "Transport office", "description": "Bus depots"},
        attachments=[(io.BytesIO(PDF), "agenda.pdf")])
    cooperation.log_activity(case.id, world.partner, {
        "type": "webinar", "title": "Data for bus planning", "starts_on": date(2026, 4, 1),
        "direction": "online"})
    with pytest.raises(Refused, match="end on or after"):
        cooperation.log_activity(case.id, world.partner, {
            "type": "webinar", "title": "Backwards", "starts_on": date(2026, 4, 2),
            "ends_on": date(2026, 4, 1), "direction": "online"})
    db.session.expire_all()
    found = cooperation.activities(db.session, case.id)
    assert [a.title for a in found] == ["Data for bus planning", "Study tour to Rosario"]
    assert found[1].documents[0].filename == "agenda.pdf"
    assert found[0].ends_on == date(2026, 4, 1)
    case = db.session.get(Case, case.id)
    with app.test_request_context():
        items = [i for i in case_timeline(case, staff=False) if i["kind"] == "activity"]
    assert [i["title"] for i in items] == ["Webinar: Data for bus planning",
                                           "Study tour: Study tour to Rosario"]
    assert "8 participants" in items[1]["body"] and "Rosario" in items[1]["body"]
    assert items[1]["actor"] == world.applicant_a.display_name


def test_activities_wait_for_the_cooperation(world):
    case = applications.start_application(world.applicant_a, world.call.id)
    with pytest.raises(Refused, match="once the cooperation has started"):
        cooperation.log_activity(case.id, world.applicant_a, {
            "type": "webinar", "title": "Too early", "starts_on": date(2026, 1, 1),
            "direction": "online"})


# -- reports ---------------------------------------------------------------------------------

def test_both_parties_write_one_report_and_a_stale_save_is_refused(world, dispatched):
    start = utcnow()
    case = cooperating(world, start)
    d = by_kind(case.id)["progress_report", 1]
    in_period = start + 160 * DAY
    activity = cooperation.log_activity(case.id, world.partner, {
        "type": "seminar", "title": "Mobility seminar", "starts_on": date(2026, 1, 10),
        "direction": "partner_to_eu"})
    first = cooperation.save_report(case.id, d.id, world.applicant_a,
                                    report_values(next_steps=""), expected_version=0,
                                    now=in_period)
    assert first.version == 1
    second = cooperation.save_report(
        case.id, d.id, world.partner, report_values(next_steps="", lap_progress="Rosario: "
                                                    "a bus priority study.",
                                                    activity_ids=[activity.id]),
        expected_version=1, now=in_period)
    assert second.version == 2
    # Anna still has version 1 in her form: her save is refused, nothing is lost.
    with pytest.raises(cooperation.ReportConflict) as exc:
        cooperation.save_report(case.id, d.id, world.applicant_a, report_values(),
                                expected_version=1, now=in_period)
    assert exc.value.version == 2 and exc.value.saved_by == world.partner.display_name
    assert "saved this report while you were editing it" in exc.value.message
    db.session.expire_all()
    stored = db.session.get(Report, second.id)
    assert stored.lap_progress.startswith("Rosario") and \
        [a.title for a in stored.activities] == ["Mobility seminar"]
    # Submitting an incomplete report says what is missing.
    with pytest.raises(Refused) as refused:
        cooperation.save_report(case.id, d.id, world.applicant_a,
                                report_values(next_steps="", lap_progress=""),
                                expected_version=2, submit=True, now=in_period)
    assert refused.value.reasons == ("Describe the next steps.",
                                     "Describe the progress on the plan.")
    cooperation.save_report(case.id, d.id, world.applicant_a, report_values(),
                            expected_version=2, submit=True, now=in_period)
    d = db.session.get(Deliverable, d.id)
    assert d.status == "submitted" and d.submitted_by_id == world.applicant_a.id
    with pytest.raises(Refused, match="handed in"):
        cooperation.save_report(case.id, d.id, world.partner, report_values(),
                                expected_version=3, now=in_period)

    # The coordinator asks for a revision by a new date; the parties are told.
    with pytest.raises(Refused) as refused:
        cooperation.review_deliverable(case.id, d.id, world.coordinator, accept=False,
                                       now=in_period)
    assert refused.value.reasons == ("Say what should change.",
                                     "Give a date in the future for the revised version.")
    again_by = in_period + 20 * DAY
    cooperation.review_deliverable(case.id, d.id, world.coordinator, accept=False,
                                   comments="Add the indicators.", resubmit_by=again_by,
                                   now=in_period)
    db.session.expire_all()
    d = db.session.get(Deliverable, d.id)
    assert d.status == "revision_requested" and d.due_at == again_by
    revision_deadline = db.session.scalar(select(Deadline).where(
        Deadline.deliverable_id == d.id, Deadline.status == "open"))
    assert revision_deadline.due_at == again_by
    mails = db.session.scalars(select(Notification).where(
        Notification.template == "deliverable_revision_requested")).all()
    assert {m.to_email for m in mails} == {"anna@lyon.fr", "rosa@rosario.ar"}
    assert mails[0].context["comments"] == "Add the indicators."

    cooperation.save_report(case.id, d.id, world.partner,
                            report_values(indicators="Bus share 13%"), expected_version=3,
                            submit=True, now=in_period + DAY)
    cooperation.review_deliverable(case.id, d.id, world.coordinator, accept=True,
                                   now=in_period + 2 * DAY)
    db.session.expire_all()
    d = db.session.get(Deliverable, d.id)
    assert d.status == "accepted" and d.accepted_at is not None
    assert db.session.scalar(select(Deadline.status).where(
        Deadline.id == revision_deadline.id)) == "met"
    actions = list(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.case_id == case.id, AuditEvent.action.like("deliverable_%"))
        .order_by(AuditEvent.id)))
    assert actions == ["deliverable_submitted", "deliverable_revision_requested",
                       "deliverable_submitted", "deliverable_accepted"]


# -- closing the cooperation period ----------------------------------------------------------

def test_closing_waits_for_month_18_and_every_report_then_the_sweep_fires_it(world):
    start = utcnow() - 30 * DAY
    case = cooperating(world, start)
    found = by_kind(case.id)
    with pytest.raises(Refused) as exc:
        cases.fire(case.id, "close_cooperation", world.coordinator, now=start + 365 * DAY)
    assert exc.value.reasons[0].startswith("The cooperation period runs until")
    assert exc.value.reasons[1] == (
        "These progress reports are not yet submitted: " + ", ".join(
            found["progress_report", n].title for n in (1, 2, 3)) + ".")

    after_end = case.cooperation_ends_at + DAY
    reminders.sweep(now=after_end)
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "cooperation_active"

    for n in (1, 2, 3):
        d = found["progress_report", n]
        hand_in_report(case, d, world.applicant_a, d.due_at - DAY)
    with pytest.raises(Refused) as exc:
        cases.fire(case.id, "close_cooperation", world.coordinator,
                   now=case.cooperation_ends_at - DAY)
    assert len(exc.value.reasons) == 1

    assert reminders.sweep(now=after_end).transitions == 1
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "lap_submission"
    closing = db.session.scalar(select(AuditEvent).where(
        AuditEvent.case_id == case.id, AuditEvent.action == "close_cooperation"))
    assert closing.actor_role == "system"
    # The final plan and final report deadlines outlive the state that started them.
    final = found["final_report", 1]
    assert db.session.scalar(select(Deadline.status).where(
        Deadline.deliverable_id == final.id)) == "open"


def test_the_final_plan_is_handed_in_when_the_period_ends_and_reminded_of_only_then(world):
    case = cooperating(world, utcnow() - 30 * DAY)
    ends = case.cooperation_ends_at
    found = by_kind(case.id)
    final_lap, final_report = found["final_lap", 1], found["final_report", 1]
    for d in (final_lap, final_report):
        assert d.opens_at == ends and d.due_at > ends + 29 * DAY
        scheduled = db.session.scalars(select(Reminder.scheduled_at).join(
            Deadline, Deadline.id == Reminder.deadline_id).where(
            Deadline.deliverable_id == d.id)).all()
        assert scheduled and min(scheduled) >= ends
    for n in (1, 2, 3):
        d = found["progress_report", n]
        hand_in_report(case, d, world.applicant_a, d.due_at - DAY)
    write_plan(case, world.applicant_a)
    # A fortnight, a week and a day before the period ends: no "final plan due" mail.
    for days in (14, 7, 1):
        reminders.sweep(now=ends - days * DAY)
    assert db.session.scalar(select(func.count(Notification.id)).where(
        Notification.deadline_id.in_(select(Deadline.id).where(
            Deadline.deliverable_id.in_([final_lap.id, final_report.id]))))) == 0
    before = ends - timedelta(minutes=1)
    with pytest.raises(Refused) as exc:
        plan_ops.submit(case.id, world.applicant_a, now=before)
    assert exc.value.reasons[0].startswith("The cooperation period runs until")
    with pytest.raises(Refused, match="cannot be submitted now"):
        hand_in_report(case, final_report, world.applicant_a, before)
    # The moment it ends, with no sweep run since: the report, then the plan.
    after = ends + timedelta(minutes=1)
    hand_in_report(case, final_report, world.applicant_a, after)
    plan_ops.submit(case.id, world.applicant_a, now=after)
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "lap_review"
    assert by_kind(case.id)["final_lap", 1].status == "submitted"


def test_terminating_a_case_cancels_every_deliverable_reminder(world):
    case = cooperating(world)
    cases.fire(case.id, "terminate", world.coordinator, {"reason": "The partner left."})
    statuses = set(db.session.scalars(select(Deadline.status).where(
        Deadline.case_id == case.id, Deadline.kind == "deliverable")))
    assert statuses == {"cancelled"}
    assert db.session.scalar(select(func.count(Reminder.id)).where(
        Reminder.case_id == case.id, Reminder.done_at.is_(None))) == 0
    assert cooperation.health_for_cases(db.session, [case.id], utcnow() + 900 * DAY) == {}


# -- the Local Action Plan -------------------------------------------------------------------

def to_plan_submission(world):
    """A case whose 18 months ended a month ago, its periodic reports in, now closed."""
    case = cooperating(world, add_months(utcnow(), -19))
    found = by_kind(case.id)
    for n in (1, 2, 3):
        d = found["progress_report", n]
        hand_in_report(case, d, world.applicant_a, d.due_at - DAY)
    cases.fire(case.id, "close_cooperation", world.coordinator)
    db.session.expire_all()
    return db.session.get(Case, case.id), found


def test_plan_drafts_completeness_freezing_revision_and_approval(world, dispatched):
    case, found = to_plan_submission(world)
    # The draft plan is sent for comments during the cooperation: here, late.
    write_plan(case, world.applicant_a, {"summary": COMPLETE_PLAN["summary"]})
    with pytest.raises(Refused) as exc:
        plan_ops.submit(case.id, world.applicant_a)
    reasons = exc.value.reasons
    assert reasons[0].startswith("The plan is not complete: Context and baseline; Vision and "
                                 "objectives; Local stakeholder group; Actions;")
    assert reasons[1] == "The final report is not yet submitted."
    # The partner city may read the plan but not write the applicant's.
    with pytest.raises(Refused, match="Only the cooperating city"):
        plan_ops.save_section(case.id, world.partner, "learned", {"learned": "x"},
                              expected_revision=0)
    # Two people saving the same section: the second is told.
    with pytest.raises(plan_ops.SectionConflict):
        plan_ops.save_section(case.id, world.applicant_a, "summary",
                              {"summary": "Other", "priority": "x"}, expected_revision=0)

    write_plan(case, world.applicant_a)
    hand_in_report(case, found["final_report", 1], world.applicant_a, utcnow())
    version = plan_ops.submit(case.id, world.applicant_a, expected_version=None)
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.state == "lap_review" and version.number == 1 and version.purpose == "final"
    frozen = db.session.get(LapVersion, version.id)
    assert frozen.content["summary"]["summary"] == "Clean buses for Lyon."
    assert len(frozen.sha256) == 64
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "submit_lap"))
    assert audit.payload == {"plan_version": 1, "plan_hash": frozen.sha256}
    assert by_kind(case.id)["final_lap", 1].status == "submitted"
    with pytest.raises(Refused, match="being reviewed"):
        plan_ops.save_section(case.id, world.applicant_a, "learned", {"learned": "x"},
                              expected_revision=1)

    # Sent back with comments and a new deadline.
    with pytest.raises(Refused) as exc:
        plan_ops.review(case.id, world.coordinator, approve=False)
    assert "Please give: What should change?." in exc.value.reasons
    new_deadline = utcnow() + 30 * DAY
    plan_ops.review(case.id, world.coordinator, approve=False,
                    comments="Add a pilot on cycling.", response_deadline=new_deadline)
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "lap_submission"
    final_lap = by_kind(case.id)["final_lap", 1]
    assert final_lap.status == "revision_requested" and final_lap.due_at == new_deadline
    # Later edits start a new draft; the frozen version never changes.
    plan_ops.save_section(case.id, world.applicant_a, "learned",
                          {"learned": "Cycling lanes from Rosario."}, expected_revision=1)
    db.session.expire_all()
    assert plan_ops.get_plan(db.session, case.id).draft_number == 2
    assert db.session.get(LapVersion, version.id).content["learned"]["learned"] == \
        "Rosario's bus rapid transit planning."
    second = plan_ops.submit(case.id, world.applicant_a)
    assert second.number == 2 and second.sha256 != frozen.sha256

    plan_ops.review(case.id, world.coordinator, approve=True)
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.state == "completed"
    found = by_kind(case.id)
    assert found["final_lap", 1].status == "accepted"
    follow_up = found["follow_up_report", 1]
    completed_at = db.session.scalar(select(AuditEvent.at).where(
        AuditEvent.action == "approve_lap"))
    assert follow_up.due_at == end_of_day(add_months(completed_at, 12), BRUSSELS)
    assert db.session.scalar(select(Deadline.status).where(
        Deadline.deliverable_id == follow_up.id)) == "open"
    outcomes = plan_ops.outcomes(db.session, case, plan_ops.versions(db.session, case.id))
    assert outcomes[version.id].outcome == "revision_requested"
    assert outcomes[version.id].comments == "Add a pilot on cycling."
    assert outcomes[second.id].outcome == "approved"


def test_approving_through_the_case_page_also_completes_the_deliverables(world):
    case, found = to_plan_submission(world)
    write_plan(case, world.applicant_a)
    hand_in_report(case, found["final_report", 1], world.applicant_a, utcnow())
    plan_ops.submit(case.id, world.applicant_a)
    cases.fire(case.id, "approve_lap", world.coordinator)
    found = by_kind(case.id)
    assert found["final_lap", 1].status == "accepted"
    assert ("follow_up_report", 1) in found
    # What was never handed in stops reminding once the case is completed.
    assert db.session.scalar(select(Deadline.status).where(
        Deadline.deliverable_id == found["work_plan", 1].id)) == "cancelled"


def test_a_revision_fired_outside_the_plan_page_reopens_the_final_plan(world):
    case, found = to_plan_submission(world)
    write_plan(case, world.applicant_a)
    hand_in_report(case, found["final_report", 1], world.applicant_a, utcnow())
    plan_ops.submit(case.id, world.applicant_a)
    new_deadline = utcnow() + 21 * DAY
    # The API and bulk actions fire the transition itself, not the plan page's review.
    cases.fire(case.id, "request_lap_revision", world.coordinator,
               {"comments": "Budget the pilot.", "response_deadline": new_deadline})
    final_lap = by_kind(case.id)["final_lap", 1]
    assert final_lap.status == "revision_requested" and final_lap.due_at == new_deadline
    assert final_lap.review_comments == "Budget the pilot."
    assert final_lap.reviewed_by_id == world.coordinator.id
    assert db.session.scalar(select(Deadline.status).where(
        Deadline.deliverable_id == final_lap.id, Deadline.due_at == new_deadline)) == "open"


# -- case health -----------------------------------------------------------------------------

def test_health_of_many_cases_in_one_query(world, app):
    start = utcnow()
    case = cooperating(world, start)
    draft = applications.start_application(world.applicant_b, world.call.id)
    due = by_kind(case.id)["work_plan", 1].due_at
    assert cooperation.health_for_cases(db.session, [case.id, draft.id], due) == \
        {case.id: "on_track"}
    assert cooperation.health_for_cases(db.session, [case.id], due + DAY) == \
        {case.id: "at_risk"}
    assert cooperation.health_for_cases(db.session, [case.id], due + 30 * DAY) == \
        {case.id: "off_track"}

    statements = []
    from sqlalchemy import event

    def count(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        cooperation.health_for_cases(db.session, [case.id, draft.id], due + DAY)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 1
    # The case list's SQL expression agrees with it.
    expression = cooperation.health_severity(due + 30 * DAY)
    rows = dict(db.session.execute(select(Case.id, expression)).all())
    assert rows == {case.id: 2, draft.id: 0}
    assert db.session.execute(select(cooperation.health_severity(due + DAY))
                              .where(Case.id == case.id)).scalar() == 1
    # The coordinators' case list filters by it.
    from webapp.operations.caselist import CaseFilters, filtered_cases

    off_track = db.session.scalars(filtered_cases(
        world.coordinator, CaseFilters(health="off_track"), due + 30 * DAY)).all()
    assert [c.id for c in off_track] == [case.id]


# -- the region-to-region assessment ---------------------------------------------------------

def region_case_in_scoring(world) -> Case:
    from tests.factories import user
    from webapp.models import Call, Organisation

    now = utcnow()
    call = Call(programme=world.programme, slug="r2r", kind="region-to-region",
                title="Region-to-region call", partner_regions=["Latin America and the Caribbean"],
                allowed_org_types=["region"], population_threshold=0, cooperation_months=12,
                opens_at=now - 5 * DAY, closes_at=now + 20 * DAY)
    silesia = Organisation(name="Silesia", kind="region", country="PL", population=4_400_000)
    db.session.add_all([call, silesia])
    db.session.flush()
    applicant = user("piotr@slaskie.pl", organisation=silesia)
    db.session.commit()
    case = applications.start_application(applicant, call.id)
    complete_application(db.session.get(Case, case.id))
    cases.fire(case.id, "submit", applicant)
    cases.fire(case.id, "declare_eligible", world.coordinator)
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.state == "scoring"
    return case


SCORES_OK = {"smart_specialisation": (4, "Clear RIS3 priorities"),
             "joint_projects": (3, "Two ideas"), "business_opportunities": (2, "")}


def test_selection_needs_two_evaluators_and_the_thresholds_on_their_means(world):
    case = region_case_in_scoring(world)
    with pytest.raises(Refused) as exc:
        cases.fire(case.id, "select", world.coordinator)
    assert exc.value.reasons == ("2 evaluators must score the application; 0 have so far.",)
    cooperation.save_scores(case.id, world.coordinator, SCORES_OK)
    # One evaluator's scores, however good, are not enough.
    with pytest.raises(Refused) as exc:
        cases.fire(case.id, "select", world.coordinator, {"override_reason": "Urgent"})
    assert exc.value.reasons == ("2 evaluators must score the application; 1 has so far.",)
    # The second scores on their own: the first's scores stay as they were.
    cooperation.save_scores(case.id, world.coordinator_latam, {
        "smart_specialisation": (4, ""), "joint_projects": (2, "Vague"),
        "business_opportunities": (2, "")})
    sets = cooperation.score_sets(db.session, [case.id])[case.id]
    assert {uid: {x.criterion: x.score for x in rows} for uid, rows in sets.items()} == {
        world.coordinator.id: {"smart_specialisation": 4, "joint_projects": 3,
                               "business_opportunities": 2},
        world.coordinator_latam.id: {"smart_specialisation": 4, "joint_projects": 2,
                                     "business_opportunities": 2}}
    found = cooperation.assessment_of(case, sets)
    assert found.criteria["joint_projects"].mean == 2.5
    assert found.criteria["joint_projects"].spread == 1
    assert (found.total.mean, found.total.spread) == (8.5, 1)
    with pytest.raises(Refused) as exc:
        cases.fire(case.id, "select", world.coordinator)
    assert exc.value.reasons[0] == (
        "The mean scores are below the threshold: Potential to leverage joint new projects "
        "(mean 2.5 of 5, at least 3 needed), the total (mean 8.5 of 15, at least 9 needed). "
        "Give an override reason to select the application anyway.")
    with pytest.raises(Refused, match="from 0 to 5"):
        cooperation.save_scores(case.id, world.coordinator, {"joint_projects": (6, "")})
    cooperation.save_scores(case.id, world.coordinator_latam, {"joint_projects": (3, "Two")})
    fired = cases.fire(case.id, "select", world.coordinator)
    assert fired.target == "awaiting_pairing"
    with pytest.raises(Refused, match="only while the application is being assessed"):
        cooperation.save_scores(case.id, world.coordinator, {"joint_projects": (5, "")})
    audit = db.session.scalars(select(AuditEvent.payload).where(
        AuditEvent.case_id == case.id, AuditEvent.action == "scores_saved")).all()
    assert audit[-1] == {"smart_specialisation": 4, "joint_projects": 3,
                         "business_opportunities": 2}


def test_a_call_sets_its_own_minimum_of_evaluators(world):
    case = region_case_in_scoring(world)
    case.call.settings = {"min_evaluators": 3}
    db.session.commit()
    for person in (world.coordinator, world.coordinator_latam):
        cooperation.save_scores(case.id, person, SCORES_OK)
    with pytest.raises(Refused) as exc:
        cases.fire(case.id, "select", world.coordinator)
    assert exc.value.reasons == ("3 evaluators must score the application; 2 have so far.",)
    cooperation.save_scores(case.id, world.admin, SCORES_OK)
    assert cases.fire(case.id, "select", world.coordinator).target == "awaiting_pairing"


def test_a_conflicted_evaluator_cannot_score_and_the_conflict_is_recorded(world):
    case = region_case_in_scoring(world)
    cooperation.save_scores(case.id, world.admin, SCORES_OK)
    with pytest.raises(Refused, match="Say what your interest"):
        cooperation.declare_conflict(case.id, world.admin, "  ")
    declared = cooperation.declare_conflict(case.id, world.admin,
                                            "I chaired Silesia's innovation council.")
    assert declared.evaluator_id == world.admin.id
    # The scores given before the declaration no longer count.
    assert world.admin.id not in cooperation.score_sets(db.session, [case.id]).get(case.id, {})
    with pytest.raises(Refused, match="cannot score it"):
        cooperation.save_scores(case.id, world.admin, SCORES_OK)
    with pytest.raises(Refused, match="already declared"):
        cooperation.declare_conflict(case.id, world.admin, "Again.")
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.case_id == case.id, AuditEvent.action == "conflict_declared"))
    assert event.actor_id == world.admin.id and event.payload == {
        "statement": "I chaired Silesia's innovation council.", "scores_withdrawn": 3}
    assert [c.statement for c in cooperation.conflicts(db.session, case.id)] == [
        "I chaired Silesia's innovation council."]
    # The two others still make the minimum.
    for person in (world.coordinator, world.coordinator_latam):
        cooperation.save_scores(case.id, person, SCORES_OK)
    assert cases.fire(case.id, "select", world.coordinator).target == "awaiting_pairing"


def test_scoring_is_for_coordinators_of_the_region(world):
    case = region_case_in_scoring(world)
    with pytest.raises(Forbidden):
        cooperation.save_scores(case.id, world.coordinator_asia, {"joint_projects": (3, "")})
    applicant = db.session.scalar(select(Case).where(Case.id == case.id)).created_by_id
    from webapp.models import User

    with pytest.raises(Forbidden):
        cooperation.save_scores(case.id, db.session.get(User, applicant),
                                {"joint_projects": (3, "")})


def test_the_demo_has_a_region_applicant_waiting_to_be_scored(app):
    from webapp.models import User
    from webapp.operations.setup import load_region_demo

    lines = list(load_region_demo())
    assert lines == []  # the region demo needs the programme the main demo creates
    from webapp.operations.setup import load_demo

    with app.test_request_context():  # the demo formats dates as people read them
        lines = list(load_demo())
    assert any("silesia@citypair.demo" in line for line in lines)
    silesia = db.session.scalar(select(User).where(User.email == "silesia@citypair.demo"))
    case = db.session.scalar(select(Case).where(
        Case.organisation_id == silesia.organisation_id))
    assert case.workflow == "region-to-region" and case.state == "scoring"
    assert case.organisation.kind == "region"
    from webapp.models import PartnerCity

    regions = set(db.session.scalars(select(PartnerCity.name).where(
        PartnerCity.name.in_(["Paraná", "Magallanes", "Tierra del Fuego"]))))
    assert regions == {"Paraná", "Magallanes", "Tierra del Fuego"}
    # Loading again adds nothing.
    with app.test_request_context():
        again = list(load_demo())
    assert not any("silesia" in line for line in again)
    assert db.session.scalar(select(func.count(Case.id)).where(
        Case.workflow == "region-to-region")) == 1


# -- the pages -------------------------------------------------------------------------------

def pages(case, found):
    report = found["progress_report", 1]
    return [f"/cooperation/cases/{case.id}",
            f"/cooperation/cases/{case.id}/deliverables/{found['work_plan', 1].id}",
            f"/cooperation/cases/{case.id}/activities",
            f"/cooperation/cases/{case.id}/reports",
            f"/cooperation/cases/{case.id}/reports/{report.id}",
            f"/cooperation/cases/{case.id}/plan"]


def test_every_page_renders_for_both_parties_and_the_coordinator(world, make_browser):
    case = cooperating(world, add_months(utcnow(), -7))
    found = by_kind(case.id)
    for email in ("anna@lyon.fr", "rosa@rosario.ar", "coord@iuc.eu"):
        b = make_browser()
        b.login(email)
        for url in pages(case, found):
            resp = b.get(url)
            assert resp.status_code == 200, (email, url)
            body = resp.get_data(as_text=True)
            assert case.reference in body and 'style="' not in body and "<script>" not in body
    b = make_browser()
    b.login("anna@lyon.fr")
    body = b.get(f"/cooperation/cases/{case.id}").get_data(as_text=True)
    assert "Progress report 1 (months 1–6)" in body and "Overdue" in body
    for section in ("summary", "stakeholders", "actions", "pilots", "funding", "indicators",
                    "learned"):
        page = b.get(f"/cooperation/cases/{case.id}/plan/sections/{section}")
        assert page.status_code == 200, section
    alignment = b.get(f"/cooperation/cases/{case.id}/plan/sections/alignment")
    assert "Sustainable Development Goals the plan serves" in alignment.get_data(as_text=True)
    assert 'value="sdg-11"' in alignment.get_data(as_text=True)
    for kind in (("progress_report", 2), ("final_lap", 1)):
        page = b.get(f"/cooperation/cases/{case.id}/deliverables/{found[kind].id}")
        assert page.status_code == 200 and found[kind].title in page.get_data(as_text=True)
    assert b.get(f"/cooperation/cases/{case.id}/activities/new").status_code == 200
    # The city-to-city call has no scoring.
    coordinator = make_browser()
    coordinator.login("coord@iuc.eu")
    assert coordinator.get(f"/cooperation/cases/{case.id}/scoring").status_code == 404


def test_another_organisation_gets_404_and_another_region_403_on_every_page(world,
                                                                           make_browser):
    case = cooperating(world, add_months(utcnow(), -7))
    found = by_kind(case.id)
    report = found["progress_report", 1]
    posts = [f"/cooperation/cases/{case.id}/deliverables/{found['work_plan', 1].id}",
             f"/cooperation/cases/{case.id}/deliverables/{report.id}/review",
             f"/cooperation/cases/{case.id}/activities/new",
             f"/cooperation/cases/{case.id}/reports/{report.id}",
             f"/cooperation/cases/{case.id}/plan/sections/summary",
             f"/cooperation/cases/{case.id}/plan/draft",
             f"/cooperation/cases/{case.id}/plan/submit",
             f"/cooperation/cases/{case.id}/plan/review",
             f"/cooperation/cases/{case.id}/kickoff",
             f"/cooperation/cases/{case.id}/scoring"]
    gets = [*pages(case, found), f"/cooperation/cases/{case.id}/activities/new",
            f"/cooperation/cases/{case.id}/plan/sections/summary",
            f"/cooperation/cases/{case.id}/plan/versions/1",
            f"/cooperation/cases/{case.id}/plan/versions/1.pdf",
            f"/cooperation/cases/{case.id}/scoring"]
    other = make_browser()
    other.login("bruno@porto.pt")
    for url in gets:
        assert other.get(url).status_code == 404, url
    for url in posts:
        assert other.post(url, {"action": "save"}).status_code == 404, url
    asia = make_browser()
    asia.login("asia@iuc.eu")
    for url in gets[:6]:
        assert asia.get(url).status_code == 403, url
    assert db.session.scalar(select(func.count(Report.id))) == 0


def test_two_partners_editing_one_report_over_http(world, make_browser):
    case = cooperating(world, add_months(utcnow(), -7))
    report = by_kind(case.id)["progress_report", 1]
    url = f"/cooperation/cases/{case.id}/reports/{report.id}"
    anna, rosa = make_browser(), make_browser()
    anna.login("anna@lyon.fr")
    rosa.login("rosa@rosario.ar")
    assert 'name="version" type="hidden" value="0"' in anna.get(url).get_data(as_text=True)
    rosa.get(url)
    form = {"version": "0", "period_start": "2025-01-01", "period_end": "2025-06-30",
            "achievements": "Anna's achievements", "action": "save"}
    assert anna.post(url, form).status_code == 303
    stale = rosa.post(url, {**form, "achievements": "Rosa's achievements"})
    body = stale.get_data(as_text=True)
    assert stale.status_code == 409
    assert "saved this report while you were editing it" in body
    assert "Rosa&#39;s achievements" in body and "Anna&#39;s achievements" in body
    # Saving again from the re-rendered form overwrites knowingly.
    again = rosa.post(url, {**form, "version": "1", "achievements": "Rosa's achievements"})
    assert again.status_code == 303
    submit = anna.post(url, {**form, "version": "2", "achievements": "Both",
                             "action": "submit"})
    assert submit.status_code == 400
    assert "Describe the next steps." in submit.get_data(as_text=True)
    done = anna.post(url, {**form, "version": "2", "achievements": "Both",
                           "next_steps": "Pilot", "lap_progress": "Group formed",
                           "action": "submit"})
    assert done.status_code == 303
    assert db.session.get(Deliverable, report.id).status == "submitted"


def test_plan_rows_are_added_and_removed_without_javascript(world, browser):
    case = cooperating(world, add_months(utcnow(), -7))
    url = f"/cooperation/cases/{case.id}/plan/sections/stakeholders"
    browser.login("anna@lyon.fr")
    page = browser.get(url).get_data(as_text=True)
    assert 'name="rows-0-member"' in page and 'name="rows-1-member"' not in page
    resp = browser.post(url, {"revision": "0", "rows-0-member": "Ana",
                              "rows-0-organisation": "Transport office",
                              "rows-0-sector": "public_administration", "action": "add_row"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("add=1")
    page = browser.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'value="Ana"' in page and 'name="rows-1-member"' in page
    assert "Include each of these sectors: Business; Research and academia; Other level of " \
           "government; Local community and civil society." in page
    resp = browser.post(url, {"revision": "1", "rows-0-member": "Ana",
                              "rows-0-sector": "public_administration",
                              "rows-1-member": "Luc", "rows-1-sector": "academia",
                              "action": "add_row"})
    assert resp.status_code == 303
    resp = browser.post(url, {"revision": "2", "rows-0-member": "Ana",
                              "rows-0-sector": "public_administration", "rows-0-remove": "y",
                              "rows-1-member": "Luc", "rows-1-sector": "academia",
                              "rows-2-member": "", "action": "save"})
    assert resp.status_code == 303
    content = plan_ops.get_plan(db.session, case.id).content
    assert content["stakeholders"]["rows"] == [
        {"member": "Luc", "organisation": "", "sector": "academia"}]
    # A stale revision is refused and what was typed stays in the form.
    stale = browser.post(url, {"revision": "1", "rows-0-member": "Zoé",
                               "rows-0-sector": "business", "action": "save"})
    assert stale.status_code == 409 and 'value="Zoé"' in stale.get_data(as_text=True)
    bad = browser.post(f"/cooperation/cases/{case.id}/plan/sections/actions",
                       {"revision": "0", "rows-0-title": "Lanes", "rows-0-cost": "lots",
                        "action": "save"})
    assert bad.status_code == 400 and "Enter an amount in whole euros." in \
        bad.get_data(as_text=True)


def test_work_plan_hand_in_and_review_over_http(world, make_browser):
    case = cooperating(world, utcnow() - 45 * DAY)
    d = by_kind(case.id)["work_plan", 1]
    url = f"/cooperation/cases/{case.id}/deliverables/{d.id}"
    rosa = make_browser()
    rosa.login("rosa@rosario.ar")
    rosa.get(url)
    not_pdf = rosa.post(url, {"note": "", "document": (io.BytesIO(b"hello"), "plan.pdf")},
                        content_type="multipart/form-data")
    assert not_pdf.status_code == 400 and "must be a PDF" in not_pdf.get_data(as_text=True)
    resp = rosa.post(url, {"note": "Joint work plan",
                           "document": (io.BytesIO(PDF), "work-plan.pdf")},
                     content_type="multipart/form-data")
    assert resp.status_code == 303
    db.session.expire_all()
    d = db.session.get(Deliverable, d.id)
    download = rosa.get(f"/cooperation/cases/{case.id}/documents/{d.document_id}")
    assert download.status_code == 200 and download.data == PDF
    download.close()
    coordinator = make_browser()
    coordinator.login("coord@iuc.eu")
    coordinator.get(url)
    bad = coordinator.post(url + "/review", {"decision": "revise", "comments": ""})
    assert bad.status_code == 400 and "Say what should change." in bad.get_data(as_text=True)
    assert rosa.post(url + "/review", {"decision": "accept"}).status_code == 403
    ok = coordinator.post(url + "/review", {"decision": "accept", "comments": "Good."})
    assert ok.status_code == 303
    assert db.session.get(Deliverable, d.id).status == "accepted"


def test_activity_form_over_http(world, browser):
    case = cooperating(world, add_months(utcnow(), -2))
    url = f"/cooperation/cases/{case.id}/activities/new"
    browser.login("anna@lyon.fr")
    browser.get(url)
    bad = browser.post(url, {"type": "", "title": "Visit", "starts_on": "2026-03-05",
                             "ends_on": "2026-03-01"})
    body = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "The last day must be on or after the first day." in body
    assert 'value="Visit"' in body
    ok = browser.post(url, {"type": "staff_exchange", "title": "Planners' exchange",
                            "starts_on": "2026-03-01", "ends_on": "2026-03-05",
                            "place": "Lyon", "direction": "partner_to_eu",
                            "participants": "4",
                            "attachments": (io.BytesIO(PDF), "programme.pdf")},
                      content_type="multipart/form-data")
    assert ok.status_code == 303
    page = browser.get(f"/cooperation/cases/{case.id}/activities").get_data(as_text=True)
    assert "Staff exchange: Planners&#39; exchange" in page and "programme.pdf" in page


def test_plan_submission_review_and_pdf_over_http(world, make_browser):
    case, found = to_plan_submission(world)
    write_plan(case, world.applicant_a)
    hand_in_report(case, found["final_report", 1], world.applicant_a, utcnow())
    anna = make_browser()
    anna.login("anna@lyon.fr")
    page = anna.get(f"/cooperation/cases/{case.id}/plan").get_data(as_text=True)
    assert "Submit the Local Action Plan" in page
    resp = anna.post(f"/cooperation/cases/{case.id}/plan/submit",
                     {"version": str(db.session.get(Case, case.id).version)})
    assert resp.status_code == 303
    page = anna.get(f"/cooperation/cases/{case.id}/plan").get_data(as_text=True)
    assert "Version 1" in page and "Waiting for review" in page
    pdf = anna.client.get(f"/cooperation/cases/{case.id}/plan/versions/1.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Clean buses for Lyon." in text and "Bus lanes" in text
    assert db.session.scalar(select(LapVersion.sha256)) in text.replace("\n", "")
    coordinator = make_browser()
    coordinator.login("coord@iuc.eu")
    coordinator.get(f"/cooperation/cases/{case.id}/plan")
    resp = coordinator.post(f"/cooperation/cases/{case.id}/plan/review",
                            {"decision": "approve"})
    assert resp.status_code == 303
    assert db.session.get(Case, case.id).state == "completed"
    page = coordinator.get(f"/cooperation/cases/{case.id}/plan/versions/1")
    assert page.status_code == 200 and "Approved" in page.get_data(as_text=True)


def test_scoring_page_over_http(world, make_browser):
    case = region_case_in_scoring(world)
    coordinator = make_browser()
    coordinator.login("coord@iuc.eu")
    url = f"/cooperation/cases/{case.id}/scoring"
    page = coordinator.get(url).get_data(as_text=True)
    assert "2 evaluators must score the application; 0 have so far." in page
    bad = coordinator.post(url, {"smart_specialisation_score": "4"})
    assert bad.status_code == 400
    assert "Score “Potential to leverage joint new projects” from 0 to 5." in \
        bad.get_data(as_text=True)
    ok = coordinator.post(url, {"smart_specialisation_score": "4", "joint_projects_score": "3",
                                "business_opportunities_score": "2",
                                "joint_projects_comment": "Two project ideas"})
    assert ok.status_code == 303
    page = coordinator.get(url).get_data(as_text=True)
    assert "1 has so far." in page
    latam = make_browser()
    latam.login("latam@iuc.eu")
    ok = latam.post(url, {"smart_specialisation_score": "2", "joint_projects_score": "5",
                          "business_opportunities_score": "2"})
    assert ok.status_code == 303
    page = coordinator.get(url).get_data(as_text=True)
    assert "Every mean score meets its threshold" in page
    assert "Scores of 2 evaluators: mean and spread (highest minus lowest)" in page
    # The mean and the spread of each criterion and of the total, then each one's score.
    assert re.search(r"Support for a smart-specialisation strategy \(RIS3\)</th>\s*"
                     r"<td[^>]*>3</td>\s*<td[^>]*>3</td>\s*<td[^>]*>2</td>", page)
    assert re.search(r"Total</th>\s*<td[^>]*>9</td>\s*<td[^>]*>9</td>\s*<td[^>]*>0</td>",
                     page)
    conflict = latam.post(url + "/conflict", {"statement": ""})
    assert conflict.status_code == 400 and "Say what your interest" in \
        conflict.get_data(as_text=True)
    assert latam.post(url + "/conflict", {"statement": "My sister leads the cluster."}) \
        .status_code == 303
    page = coordinator.get(url).get_data(as_text=True)
    assert "1 has so far." in page and "My sister leads the cluster." in page
    case_page = coordinator.get(f"/office/cases/{case.id}").get_data(as_text=True)
    assert "Conflicts of interest declared by:" in case_page
    applicant = make_browser()
    applicant.login("piotr@slaskie.pl")
    assert applicant.get(url).status_code == 403
