"""Erasure by an admin: the person's name and addresses become a stable pseudonym everywhere."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import String, cast, delete, false, func, or_, select
from sqlalchemy.orm import Session

from webapp.db import db, utcnow
from webapp.errors import NotFound, OperationError
from webapp.models import (
    Activity,
    AuditEvent,
    Case,
    Comment,
    ConflictOfInterest,
    Deliverable,
    Document,
    MailingSubscriber,
    Notification,
    NotificationPreference,
    NotificationStatus,
    PartnerCity,
    Signature,
    User,
    UserRole,
    UserSession,
)
from webapp.operations import audit
from webapp.operations.documents import blob_path
from webapp.operations.privacy.export import _own_cases
from webapp.operations.tokens import end_tokens

ERASED = "Erased person"


def pseudonym(person_id: int) -> str:
    """The stable name an erased person gets everywhere, e.g. "Erased person #3f9a0c12"."""
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"person:{person_id}".encode(), hashlib.sha256).hexdigest()
    return f"{ERASED} #{digest[:8]}"


def pseudonym_email(person_id: int) -> str:
    """A unique address that can never receive mail, so the real one can register again."""
    return f"erased-{pseudonym(person_id).rsplit('#', 1)[1]}@erased.invalid"


class Scrubber:
    """Replaces a person's names and addresses in text and JSON by the pseudonym."""

    def __init__(self, strings: Iterable[str], replacement: str):
        # Longest first, so a full name goes before a first name it contains.
        self.strings = sorted({s.strip() for s in strings if len(s.strip()) >= 2},
                              key=len, reverse=True)
        self.replacement = replacement
        self.pattern = re.compile(
            "|".join(rf"(?<!\w){re.escape(s)}(?!\w)" for s in self.strings), re.IGNORECASE
        ) if self.strings else None

    def text(self, value: str) -> str:
        if not self.pattern or not value:
            return value
        return self.pattern.sub(self.replacement, value)

    def json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(v) for v in value]
        if isinstance(value, dict):
            return {k: self.json(v) for k, v in value.items()}
        return value

    def mentions(self, column: Any) -> Any:
        """A SQL filter for rows whose column (text or JSON) may contain one of the strings;
        the Python side then replaces only whole words."""
        text = func.lower(cast(column, String))
        forms = set()
        for s in self.strings:
            forms.add(s.lower())
            forms.add(json.dumps(s.lower())[1:-1])  # as stored in JSON with \\u escapes
        if not forms:
            return false()
        return or_(*(text.contains(f, autoescape=True) for f in sorted(forms)))


@dataclass
class Erasure:
    """What erasing a person changed, for the admin's confirmation page and the CLI."""

    person_id: int
    pseudonym: str
    cases: int = 0
    signatures: int = 0
    comments: int = 0
    audit_events: int = 0
    notifications_dropped: int = 0
    notifications_changed: int = 0
    tokens_revoked: int = 0
    documents_deleted: int = 0
    files_deleted: list[str] = field(default_factory=list)


def _needed_documents(session: Session, ids: list[int]) -> set[int]:
    """Of ``ids``, the documents a case record needs: those of a submitted case, a signature,
    a deliverable or an activity. A draft's files, or files of no case, are not needed."""
    if not ids:
        return set()
    needed = set(session.scalars(select(Document.id).join(Case, Case.id == Document.case_id)
                                 .where(Document.id.in_(ids), Case.submitted_at.is_not(None))))
    needed |= set(session.scalars(select(Signature.document_id).where(
        Signature.document_id.in_(ids))))
    needed |= set(session.scalars(select(Deliverable.document_id).where(
        Deliverable.document_id.in_(ids))))
    needed |= {d.id for a in session.scalars(select(Activity).join(Activity.documents)
                                             .where(Document.id.in_(ids)))
               for d in a.documents}
    return needed & set(ids)


def erasure_preview(person_id: int) -> dict[str, Any]:
    """What an erasure would touch, shown before the admin confirms."""
    session = db.session
    person = session.get(User, person_id)
    if person is None:
        raise NotFound("There is no such person.")
    uploads = list(session.scalars(select(Document.id).where(
        Document.uploaded_by_id == person.id)))
    needed = _needed_documents(session, uploads)
    return {"person": person, "pseudonym": pseudonym(person.id),
            "cases": len(_own_cases(session, person)),
            "signatures": session.scalar(select(func.count()).select_from(Signature)
                                         .where(Signature.user_id == person.id)),
            "comments": session.scalar(select(func.count()).select_from(Comment)
                                       .where(Comment.author_id == person.id)),
            "audit_events": session.scalar(select(func.count()).select_from(AuditEvent)
                                           .where(AuditEvent.actor_id == person.id)),
            "documents_kept": len(needed), "documents_deleted": len(uploads) - len(needed)}


def erase_person(person_id: int, admin: User, *, source_address: str = "",
                 now: datetime | None = None) -> Erasure:
    """Erase a person: pseudonymise them everywhere, close the account, delete the files no
    case needs. One transaction; the files leave the disk only after it commits."""
    now = now or utcnow()
    if admin.role != UserRole.ADMIN:
        raise OperationError("Only an administrator can erase a person.")
    if admin.id == person_id:
        raise OperationError("You cannot erase your own account; ask another administrator.")
    with db.transaction() as session:
        person = session.get(User, person_id)
        if person is None:
            raise NotFound("There is no such person.")
        if person.erased_at is not None:
            raise OperationError("This person has already been erased.")
        alias = pseudonym(person.id)
        result = Erasure(person.id, alias)
        email = person.email.lower()
        typed = set(session.scalars(select(Signature.full_name)
                                    .where(Signature.user_id == person.id)))
        scrub = Scrubber({person.name, email, *typed}, alias)
        # Their full names as typed: a contact or signatory with exactly one of these is them.
        names = {n.strip().lower() for n in {person.name, *typed} if n.strip()}

        # Cases where they are the contact person, and any text naming them.
        named = select(Case).where(or_(scrub.mentions(Case.contact_name),
                                       func.lower(Case.contact_email) == email))
        touched = {c.id: c for c in [*_own_cases(session, person), *session.scalars(named)]}
        for case in touched.values():
            changed = False
            if (case.contact_email.lower() == email
                    or case.contact_name.strip().lower() in names):
                case.contact_name, case.contact_title = alias, ""
                case.contact_email, case.contact_phone = "", ""
                changed = True
            for name in ("contact_name", "challenge_statement", "stakeholders",
                         "resources_committed"):
                clean = scrub.text(getattr(case, name))
                if clean != getattr(case, name):
                    setattr(case, name, clean)
                    changed = True
            result.cases += changed

        for sig in list(session.scalars(select(Signature).where(or_(
                Signature.user_id == person.id,
                func.lower(func.trim(Signature.full_name)).in_(sorted(names)))))):
            sig.full_name, sig.source_address = alias, ""
            result.signatures += 1

        for comment in list(session.scalars(select(Comment).where(or_(
                Comment.author_id == person.id, scrub.mentions(Comment.body))))):
            clean = scrub.text(comment.body)
            if clean != comment.body:
                comment.body = clean
            result.comments += 1

        # The audit events are rewritten last, once the erasure's own event records them.
        rewrites = [
            audit.pseudonymised(ev.id, alias if ev.actor_id == person.id
                                else scrub.text(ev.actor_label),
                                "" if ev.actor_id == person.id else ev.source_address,
                                scrub.json(ev.payload))
            for ev in session.scalars(select(AuditEvent).where(or_(
                AuditEvent.actor_id == person.id, scrub.mentions(AuditEvent.actor_label),
                scrub.mentions(AuditEvent.payload))).order_by(AuditEvent.id))]
        result.audit_events = len(rewrites)

        # Mail not yet sent to them is dropped; what was sent keeps its record, without them.
        unsent = (Notification.user_id == person.id,
                  Notification.status.in_([NotificationStatus.PENDING, NotificationStatus.DIGEST]))
        result.notifications_dropped = session.execute(
            delete(Notification).where(*unsent).execution_options(synchronize_session=False)
        ).rowcount or 0
        for n in list(session.scalars(select(Notification).where(or_(
                Notification.user_id == person.id, func.lower(Notification.to_email) == email,
                scrub.mentions(Notification.context), scrub.mentions(Notification.last_error))))):
            if n.user_id == person.id or n.to_email.lower() == email:
                n.to_email, n.to_name = "", alias
            n.context = scrub.json(n.context)
            n.last_error = scrub.text(n.last_error)
            result.notifications_changed += 1

        # A declared conflict of interest stays on record, without naming them.
        for conflict in list(session.scalars(select(ConflictOfInterest).where(
                scrub.mentions(ConflictOfInterest.statement)))):
            conflict.statement = scrub.text(conflict.statement)

        named = select(PartnerCity).where(scrub.mentions(PartnerCity.contacts))
        for pc in list(session.scalars(named)):
            pc.contacts = [
                {**c, "name": alias, "email": ""} if isinstance(c, dict) and str(
                    c.get("email", "")).lower() == email else scrub.json(c)
                for c in pc.contacts]

        session.execute(delete(MailingSubscriber).where(
            MailingSubscriber.email == person.email.casefold()))

        result.tokens_revoked = end_tokens(session, person, now, reason="erasure")
        session.execute(delete(UserSession).where(UserSession.user_id == person.id))

        uploads = list(session.scalars(select(Document).where(
            Document.uploaded_by_id == person.id)))
        needed = _needed_documents(session, [d.id for d in uploads])
        doomed = [d for d in uploads if d.id not in needed]
        shas = {d.sha256 for d in doomed}
        if doomed:
            session.execute(delete(Document).where(Document.id.in_([d.id for d in doomed]))
                            .execution_options(synchronize_session=False))
            for d in doomed:
                session.expunge(d)
        result.documents_deleted = len(doomed)
        # A blob shared with another upload stays for it.
        shared = set(session.scalars(select(Document.sha256).where(Document.sha256.in_(shas))))
        orphans = sorted(shas - shared)

        person.name = alias
        person.email = pseudonym_email(person.id)
        person.password_hash = None
        person.active = False
        person.erased_at = now
        person.confirmed_at = None
        person.auth_epoch += 1
        person.failed_logins = 0
        person.locked_until = None
        person.notification_preference = NotificationPreference.OFF

        # The erasure itself is recorded, naming only the pseudonym, with the new digest of
        # every audit event it rewrites: the trail still verifies, and says what changed.
        record = audit.record(
            session, audit.ERASURE, admin, at=now, source_address=source_address,
            payload={"person_id": person.id, "pseudonym": alias, "cases": result.cases,
                     "signatures": result.signatures, "comments": result.comments,
                     "audit_events": result.audit_events,
                     "documents_deleted": result.documents_deleted,
                     "rewritten": {str(r.event_id): r.digest for r in rewrites}})
        session.flush()
        audit.rewrite_personal_columns(session, record.id, rewrites)
    for sha in orphans:
        path = blob_path(sha)
        path.unlink(missing_ok=True)
        result.files_deleted.append(str(path))
    return result


def people(search: str = "", limit: int = 50) -> list[User]:
    """Accounts an admin can pick for erasure, by name or e-mail address."""
    q = select(User).where(User.erased_at.is_(None)).order_by(User.name, User.id).limit(limit)
    if search:
        q = q.where(or_(func.lower(User.name).contains(search.lower(), autoescape=True),
                        func.lower(User.email).contains(search.lower(), autoescape=True)))
    return list(db.session.scalars(q))


