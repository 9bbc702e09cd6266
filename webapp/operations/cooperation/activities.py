"""Activities."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from typing import IO, Any

from flask_babel import format_date, gettext, ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from webapp.db import db, utcnow
from webapp.errors import Refused
from webapp.models import (
    Activity,
    Case,
    User,
)
from webapp.operations import documents
from webapp.operations.cooperation.access import (
    _audit,
    _party_case,
)
from webapp.operations.cooperation.common import (
    ACTIVITY_TYPES,
    ATTACHMENT_TYPES,
    DIRECTIONS,
)


def log_activity(case_id: int, user: User, values: Mapping[str, Any], *,
                 attachments: Iterable[tuple[IO[bytes], str]] = (),
                 now: datetime | None = None) -> Activity:
    """Record an activity of the pair, with its attachments (PDF or pictures)."""
    now = now or utcnow()
    with db.transaction() as session:
        case = _party_case(session, case_id, user)
        if case.cooperation_start is None:
            raise Refused("Activities are logged once the cooperation has started.")
        if values.get("type") not in ACTIVITY_TYPES or \
                values.get("direction") not in DIRECTIONS:
            raise Refused("Choose the type of activity and its direction.")
        starts, ends = values["starts_on"], values.get("ends_on") or values["starts_on"]
        if ends < starts:
            raise Refused("The activity must end on or after the day it starts.")
        activity = Activity(
            case_id=case.id, type=values["type"], title=values["title"].strip(),
            starts_on=starts, ends_on=ends, place=(values.get("place") or "").strip(),
            direction=values["direction"], participants=values.get("participants") or 0,
            stakeholders=(values.get("stakeholders") or "").strip(),
            description=(values.get("description") or "").strip(), created_by_id=user.id,
            created_at=now)
        for stream, filename in attachments:
            activity.documents.append(documents.store(
                session, stream, filename, kind="activity", user=user, case_id=case.id,
                allowed=ATTACHMENT_TYPES))
        session.add(activity)
        session.flush()
        _audit(session, case, user, "activity_logged",
               {"activity_id": activity.id, "title": activity.title}, now)
        return activity


def activities(session: Session, case_id: int) -> list[Activity]:
    """The case's activities, the most recent first."""
    return list(session.scalars(select(Activity).where(Activity.case_id == case_id)
                                .options(selectinload(Activity.created_by),
                                         selectinload(Activity.documents))
                                .order_by(Activity.starts_on.desc(), Activity.id.desc())))


def date_range(starts: date, ends: date) -> str:
    """A day or a span of days, as people write them."""
    if starts == ends:
        return format_date(starts, "long")
    return f"{format_date(starts, 'long')} – {format_date(ends, 'long')}"


def timeline_items(case: Case, staff: bool) -> list[dict[str, Any]]:
    """The case's activities as items of its timeline, dated by the day they started."""
    items = []
    for a in activities(db.session, case.id):
        details = [date_range(a.starts_on, a.ends_on), a.place, gettext(DIRECTIONS[a.direction])]
        if a.participants:
            details.append(ngettext("%(num)s participant", "%(num)s participants",
                                    a.participants))
        items.append({
            "at": datetime.combine(a.starts_on, time(0), tzinfo=UTC),
            "when": date_range(a.starts_on, a.ends_on), "kind": "activity",
            "title": f"{gettext(ACTIVITY_TYPES[a.type])}: {a.title}",
            "body": " · ".join(p for p in details if p),
            "actor": a.created_by.display_name if a.created_by else "", "internal": False})
    return items


