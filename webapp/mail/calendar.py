"""iCalendar files for deadlines, with UIDs that stay the same across updates, and the private
calendar feed of a person's cases."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from icalendar import Alarm, Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from webapp.access import visible_cases
from webapp.db import db, utcnow
from webapp.models import Case, Deadline, DeadlineStatus, User


def _identity(deadline: Deadline) -> tuple[int, str, int | None]:
    # What a deadline is about, whichever row now holds its date: a new signing period or a
    # revised deliverable is the same event moved, not a second one.
    return (deadline.case_id, deadline.kind, deadline.deliverable_id)


def deadline_uid(deadline: Deadline) -> str:
    """A UID per thing that is due (a case's deadline of one kind, or one deliverable), so
    calendars update the event when its date moves instead of adding another."""
    host = current_app.config["BASE_URL"].split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    case_id, kind, deliverable_id = _identity(deadline)
    what = f"deliverable-{deliverable_id}" if deliverable_id else kind.replace("_", "-")
    return f"case-{case_id}-{what}@{host or 'citypair'}"


def sequences(deadlines: Iterable[Deadline]) -> dict[int, int]:
    """The iCalendar SEQUENCE of each deadline: every earlier row of the same thing and every
    move of the date counts one, so the number only grows (RFC 5545, 3.8.7.4)."""
    deadlines = list(deadlines)
    if not deadlines:
        return {}
    rows = db.session.execute(select(
        Deadline.id, Deadline.case_id, Deadline.kind, Deadline.deliverable_id, Deadline.sequence)
        .where(Deadline.case_id.in_({d.case_id for d in deadlines}),
               Deadline.kind.in_({d.kind for d in deadlines}))
        .order_by(Deadline.id)).all()
    found: dict[int, int] = {}
    reached: dict[tuple[int, str, int | None], int] = {}
    for row in rows:
        key = (row.case_id, row.kind, row.deliverable_id)
        start = reached.get(key, -1) + 1
        found[row.id] = start + (row.sequence or 0)
        reached[key] = found[row.id]
    return {d.id: found[d.id] for d in deadlines}


def calendar(deadlines: Iterable[tuple[Deadline, Case]], name: str = "citypair",
             timezone: str | None = None) -> bytes:
    """An iCalendar document with one event (and a day-before alarm) per deadline, its times
    in the person's ``timezone`` (with the zone's definition) or, without one, in UTC."""
    deadlines = list(deadlines)
    sequence = sequences(d for d, _ in deadlines)
    cal = Calendar()
    cal.add("prodid", "-//citypair//deadlines//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    zone = ZoneInfo(timezone) if timezone and timezone != "UTC" else None
    if zone is not None:
        cal.add("x-wr-timezone", timezone)
    stamp = utcnow()
    days = []
    for deadline, case in deadlines:
        due = deadline.due_at.astimezone(zone) if zone is not None else deadline.due_at
        days.append(due.date())
        ev = Event()
        ev.add("uid", deadline_uid(deadline))
        ev.add("sequence", sequence[deadline.id])
        ev.add("summary", f"{case.reference}: {deadline.label}")
        ev.add("dtstart", due)
        ev.add("dtend", due + timedelta(minutes=30))
        # DTSTAMP is when this copy was made, so a moved deadline replaces the older copy.
        ev.add("dtstamp", stamp)
        ev.add("created", deadline.created_at)
        ev.add("description", f"{deadline.label} — {case.organisation.name} ({case.reference})")
        ev.add("status", "CANCELLED" if deadline.status == DeadlineStatus.CANCELLED
               else "CONFIRMED")
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", deadline.label)
        alarm.add("trigger", timedelta(days=-1))
        ev.add_component(alarm)
        cal.add_component(ev)
    if zone is not None and days:
        # The VTIMEZONE every TZID names, its rules over the years the events fall in.
        year = timedelta(days=366)
        cal.add_missing_timezones(first_date=min(days) - year, last_date=max(days) + year)
    return cal.to_ical()


def open_deadlines(user: User) -> list[tuple[Deadline, Case]]:
    """The open deadlines of the cases ``user`` may see, soonest first."""
    cases = visible_cases(user).with_only_columns(Case.id).scalar_subquery()
    rows = db.session.scalars(
        select(Deadline).where(Deadline.status == DeadlineStatus.OPEN, Deadline.case_id.in_(cases))
        .order_by(Deadline.due_at, Deadline.id))
    deadlines = list(rows)
    by_id = {c.id: c for c in db.session.scalars(
        select(Case).where(Case.id.in_({d.case_id for d in deadlines}))
        .options(joinedload(Case.organisation)))}
    return [(d, by_id[d.case_id]) for d in deadlines]


def feed(user: User) -> bytes:
    """The private calendar feed of ``user``: every open deadline of their cases."""
    return calendar(open_deadlines(user), name=f"citypair — {user.display_name}",
                    timezone=user.timezone)
