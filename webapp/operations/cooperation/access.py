"""Access."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from webapp.access import load_case
from webapp.errors import Forbidden, Refused
from webapp.mail import outbox
from webapp.models import (
    Case,
    Deadline,
    User,
)
from webapp.models.party import is_party
from webapp.operations import audit
from workflows import get_workflow
from workflows.engine import StateKind


def _party_case(session: Session, case_id: int, user: User) -> Case:
    case = load_case(case_id, user, session=session)
    if not is_party(user):
        raise Forbidden("Only the partners of the cooperation can do this.")
    _require_live(case)
    return case


def _staff_case(session: Session, case_id: int, user: User) -> Case:
    case = load_case(case_id, user, session=session)
    if not user.is_staff:
        raise Forbidden("Only coordinators can do this.")
    return case


def _require_live(case: Case) -> None:
    if get_workflow(case.workflow).state(case.state).kind is StateKind.CLOSED:
        raise Refused("This case has ended; nothing can be added to it.")


def _audit(session: Session, case: Case, user: User | None, action: str,
           payload: dict[str, Any], now: datetime) -> None:
    audit.record(session, action, user, case=case, at=now, payload=payload)
    case.updated_at = now


def _notify(session: Session, case: Case, template: str, groups: tuple[str, ...],
            key: str, context: dict[str, Any], optional: bool = False,
            deadline: Deadline | None = None) -> None:
    for party, person in outbox.recipients(session, case, groups):
        outbox.queue(session, key=f"{key}:{person.id}", template=template, user=person,
                     case=case, optional=optional, deadline_id=deadline.id if deadline else None,
                     context={"case_id": case.id, "reference": case.reference,
                              **outbox.party_context(party), **context})


