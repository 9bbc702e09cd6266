"""The deliverable schedule and case health: calendar-month arithmetic and the 30-day edge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workflows import vocabulary
from workflows.schedule import (
    DeliverableKind,
    DeliverableStatus,
    Health,
    ScheduleRules,
    add_months,
    deadline_spec,
    end_of_day,
    follow_up,
    health,
    health_of,
    is_overdue,
    off_track_cutoff,
    report_months,
    rules_for,
    schedule,
    status_now,
)

pytestmark = pytest.mark.unit

CITY = vocabulary("city-to-city")
REGION = vocabulary("region-to-region")


def at(y, m, d, h=10):
    return datetime(y, m, d, h, tzinfo=UTC)


@pytest.mark.parametrize(("start", "months", "expected"), [
    (at(2025, 1, 31), 1, at(2025, 2, 28)),
    (at(2024, 1, 31), 1, at(2024, 2, 29)),
    (at(2024, 2, 29), 12, at(2025, 2, 28)),
    (at(2024, 2, 29), 48, at(2028, 2, 29)),
    (at(2025, 8, 31), 6, at(2026, 2, 28)),
    (at(2027, 8, 31), 6, at(2028, 2, 29)),
    (at(2025, 3, 15), 18, at(2026, 9, 15)),
    (at(2025, 10, 31), 1, at(2025, 11, 30)),
])
def test_calendar_months_keep_the_day_or_take_the_last_day_of_the_month(start, months, expected):
    assert add_months(start, months) == expected


def test_default_eighteen_month_schedule():
    start = at(2025, 8, 31)
    items = schedule(start, rules_for(CITY, 18, 6))
    got = [(d.kind, d.sequence, d.month, d.periodic) for d in items]
    assert got == [
        (DeliverableKind.WORK_PLAN, 1, 2, False),
        (DeliverableKind.PROGRESS_REPORT, 1, 6, True),
        (DeliverableKind.PROGRESS_REPORT, 2, 12, True),
        (DeliverableKind.DRAFT_LAP, 1, 12, False),
        (DeliverableKind.PROGRESS_REPORT, 3, 18, True),
        (DeliverableKind.FINAL_LAP, 1, 18, False),
        (DeliverableKind.FINAL_REPORT, 1, 18, False),
    ]
    by_kind = {(d.kind, d.sequence): d for d in items}
    # 31 August + 2 months = 31 October; + 6 months = 28 February; + 18 months = 28 February.
    assert by_kind[DeliverableKind.WORK_PLAN, 1].due_at == at(2025, 10, 31)
    assert by_kind[DeliverableKind.PROGRESS_REPORT, 1].due_at == at(2026, 2, 28)
    # The final plan and report open when the 18 months end and are due 30 days later.
    assert by_kind[DeliverableKind.FINAL_REPORT, 1].opens_at == at(2027, 2, 28)
    assert by_kind[DeliverableKind.FINAL_REPORT, 1].due_at == at(2027, 3, 30)
    assert by_kind[DeliverableKind.FINAL_LAP, 1].opens_at == at(2027, 2, 28)
    assert by_kind[DeliverableKind.PROGRESS_REPORT, 2].title == "Progress report 2 (months 7–12)"
    assert by_kind[DeliverableKind.FINAL_LAP, 1].title == "Local Action Plan"
    assert by_kind[DeliverableKind.DRAFT_LAP, 1].title == "Draft Local Action Plan"
    # Each opens 30 days before it is due, but never before the cooperation starts.
    report = by_kind[DeliverableKind.PROGRESS_REPORT, 1]
    assert report.opens_at == report.due_at - timedelta(days=30)
    assert by_kind[DeliverableKind.WORK_PLAN, 1].opens_at == at(2025, 10, 1)


def test_default_twelve_month_region_schedule_has_a_roadmap_draft_at_month_nine():
    items = schedule(at(2025, 1, 31), rules_for(REGION, 12, 6))
    got = [(d.kind, d.month) for d in items]
    assert got == [
        (DeliverableKind.WORK_PLAN, 2), (DeliverableKind.PROGRESS_REPORT, 6),
        (DeliverableKind.DRAFT_LAP, 9), (DeliverableKind.PROGRESS_REPORT, 12),
        (DeliverableKind.FINAL_LAP, 12), (DeliverableKind.FINAL_REPORT, 12),
    ]
    assert items[0].due_at == at(2025, 3, 31)
    assert items[2].title == "Draft joint regional innovation roadmap"
    assert items[4].title == "Joint regional innovation roadmap"
    assert [d.sequence for d in items if d.periodic] == [1, 2]


def test_a_call_changes_its_schedule_in_its_settings():
    rules = rules_for(CITY, 24, 6, {"work_plan_month": 3, "draft_plan_month": None,
                                              "reminder_days": [-10, 2], "unknown": 1})
    items = schedule(at(2025, 1, 1), rules)
    kinds = [d.kind for d in items]
    assert DeliverableKind.DRAFT_LAP not in kinds
    assert [d.month for d in items if d.periodic] == [6, 12, 18, 24]
    assert items[0].month == 3
    spec = deadline_spec("Work plan", rules)
    assert [r.offset.days for r in spec.reminders] == [-10, 2, 14]
    assert spec.reminders[-1].to == ("coordinator",)
    assert spec.reminders[-1].template == "escalation_deliverable"


def test_an_interval_that_does_not_divide_the_period_ends_with_a_report_at_the_end():
    assert report_months(ScheduleRules(cooperation_months=20, report_interval_months=6)) == \
        [6, 12, 18, 20]
    assert report_months(ScheduleRules(cooperation_months=18, report_interval_months=6)) == \
        [6, 12, 18]


def test_deadline_reminders_follow_the_programme_rules():
    spec = deadline_spec("Progress report 1", rules_for(CITY, 18, 6))
    assert spec.kind == "deliverable" and spec.label == "Progress report 1"
    assert [(r.offset.days, r.to, r.template) for r in spec.reminders] == [
        (-14, ("parties",), "reminder_deliverable"), (-7, ("parties",), "reminder_deliverable"),
        (-1, ("parties",), "reminder_deliverable"), (1, ("parties",), "reminder_deliverable"),
        (14, ("coordinator",), "escalation_deliverable")]


def test_follow_up_report_is_due_twelve_months_after_completion():
    item = follow_up(at(2024, 2, 29), rules_for(CITY, 18, 6))
    assert item.kind == DeliverableKind.FOLLOW_UP_REPORT and item.due_at == at(2025, 2, 28)
    assert item.opens_at == at(2025, 1, 29)


def test_open_is_derived_from_the_time():
    opens = at(2025, 5, 1)
    assert status_now("scheduled", opens, opens - timedelta(seconds=1)) == "scheduled"
    assert status_now("scheduled", opens, opens) == DeliverableStatus.OPEN
    assert status_now("submitted", opens, opens) == DeliverableStatus.SUBMITTED


def test_overdue_means_past_due_and_not_handed_in():
    due = at(2025, 6, 1)
    later = due + timedelta(minutes=1)
    assert not is_overdue("scheduled", due, due)
    assert is_overdue("scheduled", due, later)
    assert is_overdue("revision_requested", due, later)
    assert not is_overdue("submitted", due, later)
    assert not is_overdue("accepted", due, later)


def test_health_at_the_thirty_day_edge():
    due = at(2025, 6, 1)
    assert health(None, due) == Health.ON_TRACK
    assert health(due, due) == Health.ON_TRACK
    assert health(due, due + timedelta(seconds=1)) == Health.AT_RISK
    assert health(due, due + timedelta(days=30) - timedelta(seconds=1)) == Health.AT_RISK
    assert health(due, due + timedelta(days=30)) == Health.OFF_TRACK
    assert health(due, due + timedelta(days=200)) == Health.OFF_TRACK


def test_health_of_a_case_looks_at_the_longest_overdue_deliverable():
    now = at(2025, 9, 1)
    deliverables = [("submitted", now - timedelta(days=90)),
                    ("scheduled", now - timedelta(days=10)),
                    ("scheduled", now + timedelta(days=10))]
    assert health_of(deliverables, now) == Health.AT_RISK
    deliverables.append(("revision_requested", now - timedelta(days=31)))
    assert health_of(deliverables, now) == Health.OFF_TRACK
    assert health_of([("accepted", now - timedelta(days=90))], now) == Health.ON_TRACK


def test_the_sql_cutoff_agrees_with_the_pure_rule():
    now = at(2025, 9, 1)
    cutoff = off_track_cutoff(now)
    assert health(cutoff, now) == Health.OFF_TRACK
    assert health(cutoff + timedelta(seconds=1), now) == Health.AT_RISK


def test_with_the_programme_zone_a_deliverable_is_due_at_the_end_of_its_day_there():
    from zoneinfo import ZoneInfo

    brussels = ZoneInfo("Europe/Brussels")
    # Signed at 23:30 UTC on 31 July: already 1 August in Brussels.
    start = datetime(2025, 7, 31, 23, 30, tzinfo=UTC)
    items = schedule(start, rules_for(CITY, 18, 6), brussels)
    assert items[0].due_at == datetime(2025, 10, 1, 23, 59, tzinfo=brussels)
    assert end_of_day(at(2025, 1, 15), None) == at(2025, 1, 15)
    assert end_of_day(at(2025, 1, 15), brussels) == datetime(2025, 1, 15, 23, 59,
                                                               tzinfo=brussels)
    item = follow_up(at(2026, 3, 10), rules_for(CITY, 18, 6), brussels)
    assert item.due_at == datetime(2027, 3, 10, 23, 59, tzinfo=brussels)
