"""E-mail wording as admins keep it: save an override of a template in one language, or go
back to the shipped wording. Each change is audited with what the wording was before."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp import wording
from webapp.db import db, utcnow
from webapp.errors import Forbidden, NotFound, OperationError
from webapp.models import AuditEvent, MailWording, User, UserRole
from webapp.operations import audit

#: the audit actions of e-mail wording, which the wording page lists
WORDING_ACTIONS = ("save_wording", "reset_wording")


class WordingRefused(OperationError):
    """The wording cannot be saved; ``problems`` says why, by field (subject, body)."""

    def __init__(self, problems: dict[str, list[str]]):
        super().__init__(_("The wording cannot be saved yet."),
                         tuple(m for ms in problems.values() for m in ms))
        self.problems = problems


def _check(admin: User, template: str, locale: str) -> None:
    if admin.role != UserRole.ADMIN:
        raise Forbidden(_("Only an administrator can change the wording of e-mails."))
    if template not in wording.template_names() or locale not in wording.LANGUAGES:
        raise NotFound(_("There is no such e-mail."))


def _row(session: Session, template: str, locale: str) -> MailWording | None:
    return session.scalar(select(MailWording).where(MailWording.template == template,
                                                    MailWording.locale == locale))


def current(template: str, locale: str) -> MailWording | None:
    """The saved wording of ``template`` in ``locale``, if any."""
    return _row(db.session, template, locale)


def save(admin: User, template: str, locale: str, subject: str, body: str,
         source_address: str = "") -> MailWording:
    """Save an admin's wording; refused (WordingRefused) with an unknown variable, a required
    part left out, or a text the sandbox cannot render."""
    _check(admin, template, locale)
    subject, body = subject.strip(), body.strip()
    problems = wording.problems(template, subject, body)
    if problems:
        raise WordingRefused(problems)
    with db.transaction() as session:
        row = _row(session, template, locale)
        before = {"subject": row.subject, "body": row.body} if row else None
        if row is None:
            row = MailWording(template=template, locale=locale, subject=subject, body=body)
            session.add(row)
        row.subject, row.body = subject, body
        row.updated_at, row.updated_by_id = utcnow(), admin.id
        audit.record(session, "save_wording", admin, source_address=source_address,
                     payload={"template": template, "locale": locale, "before": before,
                              "after": {"subject": subject, "body": body}})
        return row


def reset(admin: User, template: str, locale: str, source_address: str = "") -> bool:
    """Go back to the shipped wording (delete the override); False when there was none."""
    _check(admin, template, locale)
    with db.transaction() as session:
        row = _row(session, template, locale)
        if row is None:
            return False
        audit.record(session, "reset_wording", admin, source_address=source_address,
                     payload={"template": template, "locale": locale,
                              "before": {"subject": row.subject, "body": row.body},
                              "after": None})
        session.delete(row)
        return True


def overridden() -> dict[str, list[str]]:
    """Template -> the languages it has an admin's wording in."""
    found: dict[str, list[str]] = {}
    for template, locale in db.session.execute(select(MailWording.template, MailWording.locale)
                                               .order_by(MailWording.locale)):
        found.setdefault(template, []).append(locale)
    return found


def history(template: str, locale: str) -> list[AuditEvent]:
    """The changes to this template's wording in this language, newest first."""
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.case_id.is_(None), AuditEvent.action.in_(WORDING_ACTIONS),
        AuditEvent.payload["template"].as_string() == template,
        AuditEvent.payload["locale"].as_string() == locale)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())))
