"""Coordinators' bookkeeping on cases: comments, assignment, deadline extensions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from webapp.access import can_view_case
from webapp.db import db, utcnow
from webapp.errors import Forbidden, NotFound, OperationError
from webapp.models import (
    AuditEvent,
    Call,
    CallExtension,
    Case,
    Comment,
    Deadline,
    DeadlineStatus,
    User,
    UserRole,
)
from webapp.operations import outbox
from webapp.operations.cases import move_deadline


def _staff_case(session, case_id: int, user: User) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("There is no such case.")
    if not user.is_staff or not can_view_case(user, case):
        raise Forbidden("This case is not yours to manage.")
    return case


def _audit(session, case: Case, user: User, action: str, payload: dict) -> None:
    session.add(AuditEvent(case_id=case.id, actor_id=user.id, actor_role=user.role,
                           actor_label=user.display_name, action=action,
                           from_state=case.state, to_state=case.state, payload=payload))


def add_comment(case_id: int, user: User, body: str, *, internal: bool) -> Comment:
    """A comment on a case; a shared one is e-mailed to the applicant."""
    body = body.strip()
    if not body:
        raise OperationError("Write a comment first.")
    with db.transaction() as session:
        case = _staff_case(session, case_id, user)
        comment = Comment(case_id=case.id, author_id=user.id, body=body, internal=internal)
        session.add(comment)
        case.updated_at = utcnow()
        session.flush()
        _audit(session, case, user, "comment", {"comment_id": comment.id, "internal": internal})
        if not internal:
            for party, person in outbox.recipients(session, case, ("applicant",)):
                outbox.queue(session, key=f"comment:{comment.id}:{person.id}",
                             template="comment_shared", user=person, case=case, optional=True,
                             context={"reference": case.reference, "party": party,
                                      "comment": body, "actor": user.display_name})
        return comment


def assign_coordinator(case_id: int, user: User, coordinator_id: int | None) -> Case:
    """Make a coordinator responsible for a case (or nobody)."""
    with db.transaction() as session:
        case = _staff_case(session, case_id, user)
        if coordinator_id is not None:
            coordinator = session.get(User, coordinator_id)
            if coordinator is None or coordinator.role not in (UserRole.COORDINATOR,
                                                               UserRole.ADMIN):
                raise OperationError("Choose a coordinator.")
            if not can_view_case(coordinator, case):
                raise OperationError(f"{coordinator.display_name} works on another region.")
        case.coordinator_id = coordinator_id
        case.updated_at = utcnow()
        _audit(session, case, user, "assign", {"coordinator_id": coordinator_id})
        return case


def grant_extension(call_id: int, organisation_id: int, until: datetime, reason: str,
                    user: User) -> CallExtension:
    """Let one named applicant submit after the call closed, until ``until``."""
    if not user.is_staff:
        raise Forbidden("Only coordinators grant extensions.")
    with db.transaction() as session:
        call = session.get(Call, call_id)
        if call is None:
            raise NotFound("There is no such call.")
        if until <= call.closes_at:
            raise OperationError("An extension must end after the call closes.")
        ext = session.scalar(select(CallExtension).where(
            CallExtension.call_id == call_id, CallExtension.organisation_id == organisation_id))
        if ext is None:
            ext = CallExtension(call_id=call_id, organisation_id=organisation_id, until=until)
            session.add(ext)
        ext.until, ext.reason, ext.granted_by_id = until, reason.strip(), user.id
        # The draft's call-closing deadline follows the extension, and so do its reminders.
        for deadline in session.scalars(select(Deadline).join(Case).where(
                Case.call_id == call_id, Case.organisation_id == organisation_id,
                Deadline.kind == "call_closing", Deadline.status == DeadlineStatus.OPEN)):
            move_deadline(deadline, until)
        return ext
