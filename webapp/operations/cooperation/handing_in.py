"""Handing in and reviewing."""

from __future__ import annotations

from datetime import datetime
from typing import IO

from sqlalchemy.orm import Session

from webapp.db import db, utcnow
from webapp.errors import NotFound, Refused
from webapp.models import (
    Case,
    DeadlineStatus,
    Deliverable,
    User,
)
from webapp.operations import documents
from webapp.operations.cooperation.access import (
    _audit,
    _notify,
    _party_case,
    _staff_case,
)
from webapp.operations.cooperation.schedule import (
    _end_deliverable_deadlines,
    rules_for_call,
    start_deliverable_deadline,
)
from workflows import schedule
from workflows.schedule import DeliverableKind, DeliverableStatus


def _deliverable(session: Session, case: Case, deliverable_id: int) -> Deliverable:
    d = session.get(Deliverable, deliverable_id)
    if d is None or d.case_id != case.id:
        raise NotFound("There is no such deliverable.")
    return d


def can_hand_in(d: Deliverable, now: datetime) -> str | None:
    """None when the deliverable may be handed in now, else the reason why not."""
    if d.status in schedule.DONE:
        return "It is already handed in."
    if d.status == DeliverableStatus.SCHEDULED and now < d.opens_at:
        return f"It opens for submission on {d.opens_at:%d %B %Y}."
    return None


def mark_submitted(session: Session, case: Case, d: Deliverable, user: User,
                   now: datetime, *, check: bool = True) -> None:
    """Record a deliverable as handed in, stop its reminders and tell the coordinator.

    ``check=False`` is for a deliverable whose hand-in a workflow step has already judged.
    """
    reason = can_hand_in(d, now) if check else None
    if reason:
        raise Refused(f"{d.title} cannot be submitted now.", (reason,))
    d.status, d.submitted_at, d.submitted_by_id = DeliverableStatus.SUBMITTED.value, now, user.id
    _end_deliverable_deadlines(session, d, DeadlineStatus.MET, now)
    _audit(session, case, user, "deliverable_submitted",
           {"deliverable_id": d.id, "title": d.title}, now)
    _notify(session, case, "deliverable_submitted", ("coordinator",),
            f"deliverable:{d.id}:submitted:{now.isoformat()}",
            {"title": d.title, "deliverable_id": d.id}, optional=True)


def submit_deliverable(case_id: int, deliverable_id: int, user: User, *, note: str = "",
                       upload: IO[bytes] | None = None, filename: str = "",
                       now: datetime | None = None) -> Deliverable:
    """Hand in a document deliverable (the work plan): a file, a note, or both."""
    now = now or utcnow()
    with db.transaction() as session:
        case = _party_case(session, case_id, user)
        d = _deliverable(session, case, deliverable_id)
        if d.kind in schedule.REPORT_KINDS or d.kind in schedule.PLAN_KINDS:
            raise Refused(f"{d.title} is written in its own form.")
        if upload is None and not note.strip():
            raise Refused("Attach the document or write a summary.")
        if upload is not None:
            d.document = documents.store(session, upload, filename, kind=d.kind, user=user,
                                         case_id=case.id)
        d.note = note.strip()
        mark_submitted(session, case, d, user, now)
        return d


def review_deliverable(case_id: int, deliverable_id: int, user: User, *, accept: bool,
                       comments: str = "", resubmit_by: datetime | None = None,
                       now: datetime | None = None) -> Deliverable:
    """A coordinator accepts a handed-in deliverable, or asks for a revision by a new date."""
    now = now or utcnow()
    comments = comments.strip()
    with db.transaction() as session:
        case = _staff_case(session, case_id, user)
        d = _deliverable(session, case, deliverable_id)
        deadline = None
        if d.kind == DeliverableKind.FINAL_LAP:
            raise Refused("The final plan is approved or sent back with the case's own actions.")
        if d.status != DeliverableStatus.SUBMITTED:
            raise Refused(f"{d.title} is not waiting for a review.")
        d.reviewed_at, d.reviewed_by_id, d.review_comments = now, user.id, comments
        if accept:
            d.status, d.accepted_at = DeliverableStatus.ACCEPTED.value, now
            action, template = "deliverable_accepted", "deliverable_accepted"
        else:
            reasons = []
            if not comments:
                reasons.append("Say what should change.")
            if resubmit_by is None or resubmit_by <= now:
                reasons.append("Give a date in the future for the revised version.")
            if reasons:
                raise Refused("The revision cannot be requested yet.", tuple(reasons))
            assert resubmit_by is not None
            d.status, d.due_at = DeliverableStatus.REVISION_REQUESTED.value, resubmit_by
            deadline = start_deliverable_deadline(session, case, d, rules_for_call(case), now)
            session.flush()
            action, template = "deliverable_revision_requested", "deliverable_revision_requested"
        _audit(session, case, user, action,
               {"deliverable_id": d.id, "title": d.title, "comments": comments}, now)
        # An acceptance is news that may wait for a digest; a revision has a deadline.
        _notify(session, case, template, ("parties",), f"deliverable:{d.id}:{action}:"
                f"{now.isoformat()}", {"title": d.title, "deliverable_id": d.id,
                                       "comments": comments,
                                       "resubmit_by": d.due_at.isoformat()},
                optional=accept, deadline=deadline)
        return d


