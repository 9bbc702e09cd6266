"""The audit record of a change an administrator makes outside any case (staff, vocabulary,
e-mail wording): who, from where, what, and the before and after in the payload."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from webapp.db import utcnow
from webapp.models import AuditEvent, User


def record(session: Session, admin: User, action: str, source_address: str,
           **payload: Any) -> None:
    """Add the audit event of ``action`` to the transaction (its case is empty)."""
    session.add(AuditEvent(case_id=None, at=utcnow(), actor_id=admin.id, actor_role=admin.role,
                           actor_label=admin.display_name, source_address=source_address,
                           action=action, payload=payload))
