"""A person's own data, exported: their account, cases, contributions and mail, as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from webapp.db import db, utcnow
from webapp.errors import NotFound
from webapp.models import (
    Activity,
    ApiToken,
    AuditEvent,
    Case,
    Comment,
    ConflictOfInterest,
    Deliverable,
    Document,
    LapVersion,
    LocalActionPlan,
    MailingSubscriber,
    Notification,
    PartyFact,
    Report,
    Score,
    Signature,
    User,
    UserRole,
)

#: what a person did on a case, beyond comments, documents and signatures: (key, model, column)
_CONTRIBUTIONS = (
    ("actions_on_cases", PartyFact, PartyFact.user_id),
    ("deliverables_handed_in", Deliverable, Deliverable.submitted_by_id),
    ("deliverables_reviewed", Deliverable, Deliverable.reviewed_by_id),
    ("activities_recorded", Activity, Activity.created_by_id),
    ("reports_written", Report, Report.updated_by_id),
    ("action_plans_written", LocalActionPlan, LocalActionPlan.updated_by_id),
    ("action_plan_versions_submitted", LapVersion, LapVersion.submitted_by_id),
    ("scores_given", Score, Score.scored_by_id),
    ("conflicts_of_interest_declared", ConflictOfInterest, ConflictOfInterest.evaluator_id),
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _row(obj: Any, leave_out: Iterable[str] = ()) -> dict[str, Any]:
    """An object's columns as JSON-ready values."""
    skip = set(leave_out)
    return {a.key: _plain(getattr(obj, a.key)) for a in sa_inspect(obj).mapper.column_attrs
            if a.key not in skip}


def _own_cases(session: Session, person: User) -> list[Case]:
    """The cases a person applied for, is the contact of, or takes part in as a partner."""
    conditions = [Case.created_by_id == person.id,
                  func.lower(Case.contact_email) == person.email.lower(),
                  Case.id.in_(select(Signature.case_id).where(Signature.user_id == person.id)),
                  Case.id.in_(select(PartyFact.case_id).where(PartyFact.user_id == person.id))]
    if person.role == UserRole.APPLICANT and person.organisation_id is not None:
        conditions.append(Case.organisation_id == person.organisation_id)
    if person.role == UserRole.PARTNER and person.partner_city_id is not None:
        conditions.append(Case.partner_city_id == person.partner_city_id)
    return list(session.scalars(select(Case).where(or_(*conditions)).order_by(Case.id)))


def export_person(person_id: int) -> dict[str, Any]:
    """Everything held about one person, as one JSON-ready document."""
    session = db.session
    person = session.get(User, person_id)
    if person is None:
        raise NotFound("There is no such person.")
    references = dict(session.execute(select(Case.id, Case.reference)).all())

    def rows(model: Any, column: Any, leave_out: Iterable[str] = ()) -> list[dict[str, Any]]:
        found = session.scalars(select(model).where(column == person.id).order_by(model.id))
        out = []
        for obj in found:
            item = _row(obj, leave_out)
            if "case_id" in item:
                item["case_reference"] = references.get(item["case_id"])
            out.append(item)
        return out

    organisation = None
    if person.organisation is not None:
        organisation = _row(person.organisation)
        organisation["members"] = [_row(m) for m in person.organisation.members]
    partner_city = None
    if person.partner_city is not None:
        pc = person.partner_city
        partner_city = {"id": pc.id, "name": pc.name, "country": pc.country,
                        "region": pc.region,
                        "your_contact_entry": [c for c in pc.contacts or [] if isinstance(c, dict)
                                               and str(c.get("email", "")).lower()
                                               == person.email.lower()]}
    cases = []
    for case in _own_cases(session, person):
        item = _row(case)
        item["call"] = case.call.title
        item["organisation"] = case.organisation.name
        item["partner_city"] = case.partner_city.name if case.partner_city else None
        item["topics"] = [t.slug for t in case.topics]
        cases.append(item)
    data: dict[str, Any] = {
        "exported_at": utcnow().isoformat(),
        "about": "Everything citypair holds about you: your account, the cases you applied "
                 "for or take part in, and what you did on them.",
        "account": _row(person, leave_out=("password_hash",)),
        "organisation": organisation,
        "partner_city": partner_city,
        "preferences": {"notifications": person.notification_preference,
                        "language": person.locale, "time_zone": person.timezone},
        "cases": cases,
        "documents_uploaded": rows(Document, Document.uploaded_by_id),
        "signatures": rows(Signature, Signature.user_id),
        "comments": rows(Comment, Comment.author_id),
        "notifications": rows(Notification, Notification.user_id),
        "api_tokens": rows(ApiToken, ApiToken.user_id, leave_out=("token_hash",)),
        "audit_events": rows(AuditEvent, AuditEvent.actor_id),
        "mailing_list": [_row(sub, leave_out=("secret",)) for sub in session.scalars(
            select(MailingSubscriber).where(MailingSubscriber.email == person.email.casefold()))],
    }
    for key, model, column in _CONTRIBUTIONS:
        data[key] = rows(model, column)
    return data


def export_json(person_id: int) -> str:
    """The export as pretty-printed JSON text."""
    return json.dumps(export_person(person_id), indent=2, ensure_ascii=False, default=str)


