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


def deadline_uid(deadline: Deadline) -> str:
    """A UID per deadline: calendars update the event instead of duplicating it."""
    host = current_app.config["BASE_URL"].split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return f"deadline-{deadline.id}@{host or 'citypair'}"


def calendar(deadlines: Iterable[tuple[Deadline, Case]], name: str = "citypair",
             timezone: str | None = None) -> bytes:
    """An iCalendar document with one event (and a day-before alarm) per deadline, its times
    in the person's ``timezone`` (with the zone's definition) or, without one, in UTC."""
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
