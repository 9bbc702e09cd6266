"""Programmes: an administrator creates and changes them; every change is audited.

A programme (e.g. "IURC Latin America 2021–2023") carries its period, the time zone its calls
announce deadlines in, the name its e-mails come from, its targets and how long unsuccessful
applications are kept. The checks live here, once, for the pages and the API alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import available_timezones

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.access import programme_scope
from webapp.db import db, utcnow
from webapp.errors import Forbidden, Invalid, NotFound
from webapp.forms import has_control_characters
from webapp.models import AuditEvent, Programme, User, UserRole
from webapp.operations import audit
from workflows.refusal import N_, Refusal, refusal

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
DEFAULT_TIMEZONE = "Europe/Brussels"
#: the targets a programme can set: partnerships reached per kind of call
TARGET_KEYS = ("city_partnerships", "regional_partnerships")
MAX_TARGET = 10_000
MAX_RETENTION_YEARS = 50


@dataclass
class ProgrammeData:
    """What an administrator gives for a programme, from the form or the API."""

    name: str
    slug: str
    starts_on: date | None = None
    ends_on: date | None = None
    timezone: str = DEFAULT_TIMEZONE
    sender_name: str = ""
    #: e.g. {"city_partnerships": 10, "regional_partnerships": 10}; None or absent: no target
    targets: dict[str, int | None] = field(default_factory=dict)
    #: None: the installation's RETENTION_YEARS
    retention_years: int | None = None


def timezone_names() -> list[str]:
    """The IANA time zones a programme or call may work in, "Area/City" ones, sorted."""
    return sorted(z for z in available_timezones()
                  if "/" in z and not z.startswith(("Etc/", "SystemV/", "posix/", "right/")))


def timezone_problem(name: str) -> Refusal | None:
    """Why ``name`` is not a time zone, or None when it is one."""
    if not name:
        return refusal("missing", N_("Choose a time zone."))
    if name not in available_timezones():
        return refusal("not_a_timezone", N_(
            "“%(name)s” is not a time zone; use a name like Europe/Brussels."), name=name)
    return None


def programme_data(programme: Programme) -> ProgrammeData:
    """A programme's current values, as a form or an API change starts from."""
    return ProgrammeData(
        name=programme.name, slug=programme.slug, starts_on=programme.starts_on,
        ends_on=programme.ends_on, timezone=programme.timezone,
        sender_name=programme.sender_name,
        targets={k: (programme.targets or {}).get(k) for k in TARGET_KEYS},
        retention_years=programme.retention_years)


def check_programme(session: Session, data: ProgrammeData,
                    programme_id: int | None = None) -> dict[str, list[Refusal | str]]:
    """Every problem with ``data``, by field; empty when it can be saved."""
    errors: dict[str, list[Refusal | str]] = {}

    def add(name: str, message: Refusal | str) -> None:
        errors.setdefault(name, []).append(message)

    if not data.name.strip():
        add("name", "Enter the programme's name.")
    elif len(data.name.strip()) > 200:
        add("name", "Keep the name under 200 characters.")
    elif has_control_characters(data.name.strip()):
        add("name", "Remove the line breaks and other control characters from the name.")
    if not data.slug:
        add("slug", "Enter a short name for references, e.g. iurc-latam.")
    elif len(data.slug) > 40 or not SLUG.match(data.slug):
        add("slug", "Use up to 40 lower-case letters, digits and hyphens, e.g. iurc-latam.")
    elif session.scalar(select(Programme.id).where(
            Programme.slug == data.slug, Programme.id != (programme_id or -1))):
        add("slug", f"Another programme is already called “{data.slug}”.")
    if data.starts_on and data.ends_on and data.ends_on < data.starts_on:
        add("ends_on", "The programme must end after it starts.")
    problem = timezone_problem(data.timezone)
    if problem:
        add("timezone", problem)
    if len(data.sender_name) > 200:
        add("sender_name", "Keep the sender's name under 200 characters.")
    elif has_control_characters(data.sender_name) or any(c in data.sender_name
                                                          for c in "<>\"@"):
        add("sender_name", "The sender's name cannot contain line breaks, quotes, @ or angle "
                           "brackets.")
    unknown = sorted(set(data.targets) - set(TARGET_KEYS))
    if unknown:
        add("targets", f"Unknown targets: {', '.join(unknown)}; use {', '.join(TARGET_KEYS)}.")
    for key in TARGET_KEYS:
        goal = data.targets.get(key)
        if goal is not None and not 0 <= goal <= MAX_TARGET:
            add(key, f"A target is a whole number from 0 to {MAX_TARGET:,}.")
    if data.retention_years is not None and not \
            1 <= data.retention_years <= MAX_RETENTION_YEARS:
        add("retention_years", f"Keep unsuccessful applications from 1 to "
                               f"{MAX_RETENTION_YEARS} years, or leave it empty for the "
                               "installation's default.")
    return errors


def _admin(user: User) -> None:
    if user.role != UserRole.ADMIN:
        raise Forbidden("Only administrators create and change programmes.")


def _values(data: ProgrammeData) -> dict[str, Any]:
    return {"name": data.name.strip(), "slug": data.slug, "starts_on": data.starts_on,
            "ends_on": data.ends_on, "timezone": data.timezone,
            "sender_name": data.sender_name.strip(),
            "targets": {k: v for k, v in data.targets.items() if v is not None},
            "retention_years": data.retention_years}


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


def _audit(session: Session, user: User, action: str, programme: Programme,
           changes: dict[str, Any], source_address: str) -> None:
    audit.record(session, action, user, source_address=source_address,
                 payload={"programme_id": programme.id, "programme": programme.slug,
                          "changes": changes})


def create_programme(user: User, data: ProgrammeData, *, source_address: str = "") -> Programme:
    """Create a programme (administrators only); Invalid names every problem."""
    _admin(user)
    with db.transaction() as session:
        errors = check_programme(session, data)
        if errors:
            raise Invalid(errors)
        values = _values(data)
        programme = Programme(**values, created_at=utcnow())
        session.add(programme)
        session.flush()
        _audit(session, user, "create_programme", programme,
               {k: [None, v] for k, v in _jsonable(values).items()}, source_address)
        return programme


def update_programme(programme_id: int, user: User, data: ProgrammeData, *,
                     source_address: str = "") -> Programme:
    """Change a programme (administrators only), recording each change before and after."""
    _admin(user)
    with db.transaction() as session:
        programme = session.get(Programme, programme_id)
        if programme is None:
            raise NotFound("There is no such programme.")
        errors = check_programme(session, data, programme.id)
        if errors:
            raise Invalid(errors)
        before = _jsonable(_values(programme_data(programme)))
        after = _jsonable(_values(data))
        changes = {k: [before[k], v] for k, v in after.items() if before[k] != v}
        if changes:
            for key, value in _values(data).items():
                setattr(programme, key, value)
            _audit(session, user, "update_programme", programme, changes, source_address)
        return programme


def programmes_for(user: User) -> list[Programme]:
    """The programmes a member of staff works on (every one for admins and unscoped staff)."""
    q = select(Programme).order_by(Programme.starts_on.desc().nulls_last(),
                                   func.lower(Programme.name))
    scope = programme_scope(user)
    if scope is not None:
        q = q.where(Programme.id.in_(scope))
    return list(db.session.scalars(q))


def programme_for(user: User, programme_id: int) -> Programme:
    """A programme ``user`` works on; NotFound otherwise (another programme does not exist)."""
    programme = db.session.get(Programme, programme_id)
    scope = programme_scope(user) if user.is_staff else frozenset()
    if programme is None or (scope is not None and programme.id not in scope):
        raise NotFound("There is no such programme.")
    return programme


def audit_history(programme_id: int) -> list[AuditEvent]:
    """The programme's own audit events, newest first."""
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.case_id.is_(None), AuditEvent.action.in_(("create_programme",
                                                             "update_programme")))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()))
    return [e for e in events if (e.payload or {}).get("programme_id") == programme_id]
