"""The deliverable schedule of a cooperation (SPEC §8) and the health of a case.

Pure arithmetic: a start time and a call's rules in, deliverables with due dates out. Months are
calendar months (31 January + 1 month is the last day of February), as the agreements count them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from dateutil.relativedelta import relativedelta

from workflows.engine import DELIVERABLE_DEADLINE, Anchor, DeadlineSpec, Reminder
from workflows.vocabulary import Vocabulary


class DeliverableKind(enum.StrEnum):
    """What a deliverable is."""

    WORK_PLAN = "work_plan"
    PROGRESS_REPORT = "progress_report"
    DRAFT_LAP = "draft_lap"
    FINAL_LAP = "final_lap"
    FINAL_REPORT = "final_report"
    FOLLOW_UP_REPORT = "follow_up_report"


class DeliverableStatus(enum.StrEnum):
    """A deliverable's lifecycle; ``open`` is derived from the time and never stored."""

    SCHEDULED = "scheduled"
    OPEN = "open"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REVISION_REQUESTED = "revision_requested"


class Health(enum.StrEnum):
    """How a case is doing against its schedule."""

    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"


#: deliverables written in the structured report form
REPORT_KINDS = (DeliverableKind.PROGRESS_REPORT, DeliverableKind.FINAL_REPORT,
                DeliverableKind.FOLLOW_UP_REPORT)
#: deliverables that are versions of the plan
PLAN_KINDS = (DeliverableKind.DRAFT_LAP, DeliverableKind.FINAL_LAP)
#: stored statuses that mean the parties have handed the deliverable in
DONE = (DeliverableStatus.SUBMITTED, DeliverableStatus.ACCEPTED)
#: stored statuses that make a deliverable overdue once its due time has passed
AWAITED = (DeliverableStatus.SCHEDULED, DeliverableStatus.REVISION_REQUESTED)
#: overdue this long (or longer) puts a case off track; less puts it at risk
OFF_TRACK_AFTER = timedelta(days=30)


@dataclass(frozen=True)
class ScheduleRules:
    """A call's schedule: the defaults of SPEC §8, changed per call in its settings."""

    cooperation_months: int = 18
    report_interval_months: int = 6
    work_plan_month: int | None = 2
    #: None: no draft plan deliverable
    draft_plan_month: int | None = 12
    follow_up_months: int = 12
    #: a deliverable opens for submission this many days before it is due
    opens_days_before: int = 30
    #: reminders to the parties, in days relative to the due time (negative: before)
    reminder_days: tuple[int, ...] = (-14, -7, -1, 1)
    #: the coordinator is told this many days after the due time
    escalation_days: int = 14
    #: the final plan and final report open when the period ends and fall due this many days
    #: later, so that every reminder to hand them in comes while they can be handed in
    final_due_days: int = 30
    plan_name: str = "Local Action Plan"


def rules_for(words: Vocabulary, cooperation_months: int, report_interval_months: int,
              overrides: Mapping[str, Any] | None = None) -> ScheduleRules:
    """The schedule rules of a call whose kind speaks ``words``, with its
    ``settings["schedule"]`` applied.

    The draft plan falls after the kind's share of the cooperation: two thirds of a
    city-to-city cooperation (month 12 of 18), three quarters of a region-to-region one
    (month 9 of 12).
    """
    num, den = words.draft_plan_share
    draft = cooperation_months * num // den
    values: dict[str, Any] = {
        "cooperation_months": cooperation_months,
        "report_interval_months": report_interval_months,
        "draft_plan_month": draft if 0 < draft < cooperation_months else None,
        "plan_name": words.plan_name,
    }
    known = ScheduleRules.__dataclass_fields__
    for key, value in (overrides or {}).items():
        if key in known:
            values[key] = tuple(value) if key == "reminder_days" else value
    return ScheduleRules(**values)


@dataclass(frozen=True)
class PlannedDeliverable:
    """One deliverable of a schedule, with the times it opens and falls due."""

    kind: DeliverableKind
    sequence: int
    title: str
    month: int
    due_at: datetime
    opens_at: datetime
    #: a progress report of the regular rhythm (the guard of closing counts these)
    periodic: bool = False


def add_months(start: datetime, months: int) -> datetime:
    """``start`` plus calendar months; a day the month lacks becomes its last day."""
    return start + relativedelta(months=months)


def report_months(rules: ScheduleRules) -> list[int]:
    """The months at which periodic progress reports fall; the last one is at the end."""
    step = max(rules.report_interval_months, 1)
    months = list(range(step, rules.cooperation_months, step))
    return [*months, rules.cooperation_months]


def end_of_day(moment: datetime, zone: tzinfo | None) -> datetime:
    """The last minute of ``moment``'s day in ``zone`` (None: ``moment`` itself), so that
    something due "on 25 April" is due until that evening where the programme works."""
    if zone is None:
        return moment
    local = moment.astimezone(zone)
    return datetime.combine(local.date(), time(23, 59), tzinfo=zone)


def schedule(start: datetime, rules: ScheduleRules,
             zone: tzinfo | None = None) -> list[PlannedDeliverable]:
    """Every deliverable of a cooperation starting at ``start``, in the order they fall due.

    With ``zone``, each falls due at the end of its day there.
    """
    opens = timedelta(days=rules.opens_days_before)
    end = rules.cooperation_months

    def planned(kind: DeliverableKind, sequence: int, title: str, month: int,
                periodic: bool = False) -> PlannedDeliverable:
        due = end_of_day(add_months(start, month), zone)
        return PlannedDeliverable(kind, sequence, title, month, due, max(start, due - opens),
                                  periodic)

    items: list[PlannedDeliverable] = []
    if rules.work_plan_month and 0 < rules.work_plan_month <= end:
        items.append(planned(DeliverableKind.WORK_PLAN, 1, "Work plan", rules.work_plan_month))
    previous = 0
    for n, month in enumerate(report_months(rules), start=1):
        title = f"Progress report {n} (months {previous + 1}–{month})"
        items.append(planned(DeliverableKind.PROGRESS_REPORT, n, title, month, periodic=True))
        previous = month
    if rules.draft_plan_month and 0 < rules.draft_plan_month < end:
        items.append(planned(DeliverableKind.DRAFT_LAP, 1, f"Draft {rules.plan_name}",
                             rules.draft_plan_month))
    # The final plan and report are about the whole period: they open when it ends.
    ends = add_months(start, end)
    final_due = end_of_day(ends + timedelta(days=rules.final_due_days), zone)
    for kind, title in ((DeliverableKind.FINAL_LAP, _capitalised(rules.plan_name)),
                        (DeliverableKind.FINAL_REPORT, "Final report")):
        items.append(PlannedDeliverable(kind, 1, title, end, final_due, ends))
    order = list(DeliverableKind)
    return sorted(items, key=lambda d: (d.due_at, order.index(d.kind), d.sequence))


def follow_up(completed_at: datetime, rules: ScheduleRules,
              zone: tzinfo | None = None) -> PlannedDeliverable:
    """The follow-up report, due ``follow_up_months`` after the case is completed."""
    due = end_of_day(add_months(completed_at, rules.follow_up_months), zone)
    opens = max(completed_at, due - timedelta(days=rules.opens_days_before))
    return PlannedDeliverable(DeliverableKind.FOLLOW_UP_REPORT, 1, "Follow-up report",
                              rules.follow_up_months, due, opens)


def deadline_spec(title: str, rules: ScheduleRules,
                  open_for: timedelta | None = None) -> DeadlineSpec:
    """The deadline of one deliverable: reminders to the parties, then the coordinator.

    A deliverable ``open_for`` a time before its due time is not reminded of earlier than
    that: nobody is asked to hand in what cannot be handed in yet.
    """
    day = timedelta(days=1)
    reminders = tuple(Reminder(days * day, ("parties",), "reminder_deliverable")
                      for days in rules.reminder_days
                      if open_for is None or days * day >= -open_for)
    escalation = Reminder(rules.escalation_days * day, ("coordinator",),
                          "escalation_deliverable")
    return DeadlineSpec(kind=DELIVERABLE_DEADLINE, label=title, anchor=Anchor.ENTERED,
                        reminders=(*reminders, escalation))


def status_now(status: str, opens_at: datetime, now: datetime) -> DeliverableStatus:
    """The status people see: a scheduled deliverable is open from ``opens_at`` on."""
    if status == DeliverableStatus.SCHEDULED and now >= opens_at:
        return DeliverableStatus.OPEN
    return DeliverableStatus(status)


def is_overdue(status: str, due_at: datetime, now: datetime) -> bool:
    """Past its due time and not handed in (a revision asked for counts as not handed in)."""
    return status in AWAITED and now > due_at


def health(oldest_overdue_due_at: datetime | None, now: datetime) -> Health:
    """From the due time of the longest-overdue deliverable (None: nothing is overdue)."""
    if oldest_overdue_due_at is None or now <= oldest_overdue_due_at:
        return Health.ON_TRACK
    if now - oldest_overdue_due_at >= OFF_TRACK_AFTER:
        return Health.OFF_TRACK
    return Health.AT_RISK


def off_track_cutoff(now: datetime) -> datetime:
    """For SQL: a deliverable overdue since this time or earlier puts its case off track.

    With ``due < now`` for *at risk*, a query needs no date arithmetic of its own.
    """
    return now - OFF_TRACK_AFTER


#: the order of health from best to worst, as the case list's SQL counts it
SEVERITY: dict[Health, int] = {Health.ON_TRACK: 0, Health.AT_RISK: 1, Health.OFF_TRACK: 2}


def health_of(deliverables: Iterable[tuple[str, datetime]], now: datetime) -> Health:
    """The health of a case from its deliverables' (stored status, due time) pairs."""
    overdue = [due for status, due in deliverables if is_overdue(status, due, now)]
    return health(min(overdue) if overdue else None, now)


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]
