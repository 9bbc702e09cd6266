"""Coordinators' bookkeeping on cases: comments, assignment, deadline extensions, and
actions applied to many cases at once (each in its own transaction)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.access import actor_for, can_view_case
from webapp.db import db, utcnow
from webapp.errors import Conflict, Forbidden, NotFound, OperationError, Refused
from webapp.mail import outbox
from webapp.models import (
    Call,
    CallExtension,
    Case,
    Comment,
    Deadline,
    DeadlineStatus,
    User,
    UserRole,
)
from webapp.operations import audit, cases
from webapp.operations.caselist import selected_cases
from webapp.operations.cases import move_deadline
from workflows import get_workflow, workflows
from workflows.engine import FieldSource, Role, StateKind, Transition


def _staff_case(session, case_id: int, user: User) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(_("There is no such case."))
    if not user.is_staff or not can_view_case(user, case):
        raise Forbidden(_("This case is not yours to manage."))
    return case


def _audit(session, case: Case, user: User, action: str, payload: dict) -> None:
    audit.record(session, action, user, case=case, payload=payload)


def add_comment(case_id: int, user: User, body: str, *, internal: bool) -> Comment:
    """A comment on a case; a shared one is e-mailed to the applicant."""
    body = body.strip()
    if not body:
        raise OperationError(_("Write a comment first."))
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
                raise OperationError(_("Choose a coordinator."))
            if not can_view_case(coordinator, case):
                raise OperationError(_("%(name)s works on another region.",
                                       name=coordinator.display_name))
        case.coordinator_id = coordinator_id
        case.updated_at = utcnow()
        _audit(session, case, user, "assign", {"coordinator_id": coordinator_id})
        return case


def grant_extension(call_id: int, organisation_id: int, until: datetime, reason: str,
                    user: User) -> CallExtension:
    """Let one named applicant submit after the call closed, until ``until``."""
    if not user.is_staff:
        raise Forbidden(_("Only coordinators grant extensions."))
    with db.transaction() as session:
        return _grant(session, call_id, organisation_id, until, reason, user)


def extend_case(case_id: int, user: User, until: datetime, reason: str) -> CallExtension:
    """Grant the applicant of a draft case an extension, recorded in the case's history."""
    reason = reason.strip()
    if not reason:
        raise OperationError(_("Give a reason for the extension."))
    if until <= utcnow():
        raise OperationError(_("An extension must end in the future."))
    with db.transaction() as session:
        case = _staff_case(session, case_id, user)
        if get_workflow(case.workflow).state(case.state).kind is not StateKind.DRAFT:
            raise OperationError(_("Only a draft can be given more time to submit."))
        ext = _grant(session, case.call_id, case.organisation_id, until, reason, user)
        case.updated_at = utcnow()
        _audit(session, case, user, "grant_extension",
               {"until": until.isoformat(), "reason": reason})
        return ext


def _grant(session: Session, call_id: int, organisation_id: int, until: datetime, reason: str,
           user: User) -> CallExtension:
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound(_("There is no such call."))
    if until <= call.closes_at:
        raise OperationError(_("An extension must end after the call closes."))
    ext = session.scalar(select(CallExtension).where(
        CallExtension.call_id == call_id, CallExtension.organisation_id == organisation_id))
    if ext is None:
        ext = CallExtension(call_id=call_id, organisation_id=organisation_id, until=until)
        session.add(ext)
    ext.until, ext.reason, ext.granted_by_id = until, reason.strip(), user.id
    # The draft's call-closing deadline follows the extension, and so do its reminders; the
    # applicant is told the new date, with the calendar event it replaces.
    for deadline, case in session.execute(select(Deadline, Case).join(Case).where(
            Case.call_id == call_id, Case.organisation_id == organisation_id,
            Deadline.kind == "call_closing", Deadline.status == DeadlineStatus.OPEN)).all():
        move_deadline(deadline, until)
        session.flush()
        for party, person in outbox.recipients(session, case, ("applicant",)):
            outbox.queue(session, template="extension_granted", user=person, case=case,
                         key=f"extension:{deadline.id}:{deadline.sequence}:{person.id}",
                         deadline_id=deadline.id,
                         context={"case_id": case.id, "reference": case.reference,
                                  "party": party, "until": until.isoformat()})
    return ext


# -- actions on many cases -----------------------------------------------------------------

#: the most cases one bulk action handles
MAX_BULK = 200


def bulk_transitions(user: User) -> list[Transition]:
    """The transitions ``user`` may apply to many cases at once, one per name.

    Those whose fields are all optional, or a shared reason; not the ones a party fires, nor
    those that need a choice made for each case.
    """
    role = actor_for(user).role
    offered: dict[str, Transition] = {}
    for wf in workflows().values():
        for t in wf.transitions:
            if (role in t.roles and role is not Role.SYSTEM and not t.each_party
                    # a choice its own screen makes for each case (a partner) is not shared
                    and not any(f.source is FieldSource.SCREEN for f in t.fields)
                    and all(not f.required or f.name == "reason" for f in t.fields)):
                offered.setdefault(t.name, t)
    return list(offered.values())


@dataclass(frozen=True)
class BulkCheck:
    """Whether one selected case allows the action now, and why not."""

    case: Case
    allowed: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class BulkResult:
    """What happened to one case: done, refused (with reasons) or conflict."""

    case_id: int
    reference: str
    outcome: str
    message: str
    reasons: tuple[str, ...] = ()


def bulk_preview(user: User, case_ids: Sequence[int], transition: str,
                 payload: Mapping[str, Any] | None = None,
                 now: datetime | None = None) -> list[BulkCheck]:
    """For each selected case ``user`` may see: may ``transition`` be applied now, why not."""
    now = now or utcnow()
    session = db.session()
    actor = actor_for(user)
    checks = []
    for case in selected_cases(user, case_ids[:MAX_BULK]):
        wf = get_workflow(case.workflow)
        if not wf.has_transition(transition):
            checks.append(BulkCheck(case, False, (_("This call has no such action."),)))
            continue
        facts = cases.case_facts(session, case, now)
        option = next((o for o in wf.options(facts, actor, payload or {})
                       if o.transition.name == transition), None)
        if option is None:
            state = _(wf.state(case.state).staff_label).lower()
            checks.append(BulkCheck(case, False, (
                _("This is not possible while the case is %(state)s.", state=state),)))
        else:
            checks.append(BulkCheck(case, option.allowed, option.reasons))
    return checks


def bulk_fire(user: User, selection: Sequence[tuple[int, int | None]], transition: str,
              payload: Mapping[str, Any], *, source_address: str = "",
              now: datetime | None = None) -> list[BulkResult]:
    """Apply ``transition`` to each (case id, version seen) in its own transaction.

    One refusal or conflict does not stop the others; the result says what happened to each.
    """
    selection = list(selection)[:MAX_BULK]
    references = {c.id: c.reference for c in selected_cases(user, [i for i, _ in selection])}
    results = []
    for case_id, version in selection:
        reference = references.get(case_id, f"#{case_id}")
        if case_id not in references:
            results.append(BulkResult(case_id, reference, "refused", _("There is no such case.")))
            continue
        try:
            fired = cases.fire(case_id, transition, user, dict(payload),
                               expected_version=version, source_address=source_address,
                               now=now)
        except Conflict as exc:
            results.append(BulkResult(case_id, reference, "conflict", exc.message))
        except Refused as exc:
            results.append(BulkResult(case_id, reference, "refused", exc.message, exc.reasons))
        except OperationError as exc:
            results.append(BulkResult(case_id, reference, "refused", exc.message))
        else:
            wf = get_workflow(db.session.get(Case, case_id).workflow)
            state = _(wf.state(fired.target).staff_label)
            results.append(BulkResult(case_id, reference, "done",
                                      _("Now: %(state)s.", state=state)))
    return results
