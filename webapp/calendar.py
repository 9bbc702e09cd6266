"""iCalendar files for deadlines, with UIDs that stay the same across updates."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from flask import current_app
from icalendar import Alarm, Calendar, Event

from webapp.models import Case, Deadline


def deadline_uid(deadline: Deadline) -> str:
    """A UID per deadline: calendars update the event instead of duplicating it."""
    host = current_app.config["BASE_URL"].split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return f"deadline-{deadline.id}@{host or 'citypair'}"


def calendar(deadlines: Iterable[tuple[Deadline, Case]], name: str = "citypair") -> bytes:
    """An iCalendar document with one event (and a day-before alarm) per deadline."""
    cal = Calendar()
    cal.add("prodid", "-//citypair//deadlines//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    for deadline, case in deadlines:
        ev = Event()
        ev.add("uid", deadline_uid(deadline))
        ev.add("summary", f"{case.reference}: {deadline.label}")
        ev.add("dtstart", deadline.due_at)
        ev.add("dtend", deadline.due_at + timedelta(minutes=30))
        ev.add("dtstamp", deadline.created_at)
        ev.add("description", f"{deadline.label} — {case.organisation.name} ({case.reference})")
        ev.add("status", "CANCELLED" if deadline.status == "cancelled" else "CONFIRMED")
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", deadline.label)
        alarm.add("trigger", timedelta(days=-1))
        ev.add_component(alarm)
        cal.add_component(ev)
    return cal.to_ical()
