"""Personal data: a person's export, their erasure by an admin, and the retention rule.

Erasure keeps every decision and record a case needs and removes the person from it: their
name, e-mail address and network address are replaced by a stable pseudonym wherever they
appear (cases, signatures, comments, the audit trail and its payloads, e-mails), their account
is closed, their tokens revoked, their unsent mail dropped and the files they uploaded that no
case needs are deleted. The audit trail is append-only and kept as hash chains
(``webapp.models.audit``): erasure records the new digest of every event it rewrites in its
own chained event, retention deletes whole case chains and records their last hashes, so
``citypair audit verify`` passes after both. On PostgreSQL both go through functions owned by
the schema owner (``webapp.operations.audit``), the only way the application's role has to
change or delete an event.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import String, and_, cast, delete, false, func, or_, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from webapp.db import db, utcnow
from webapp.errors import NotFound, OperationError
from webapp.models import (
    Activity,
    Agreement,
    ApiToken,
    AuditEvent,
    Call,
    Case,
    Comment,
    ConflictOfInterest,
    Deliverable,
    Document,
    LapVersion,
    LocalActionPlan,
    MailingSubscriber,
    Notification,
    NotificationPreference,
    NotificationStatus,
    PartnerCity,
    PartyFact,
    Programme,
    Report,
    Score,
    Signature,
    User,
    UserRole,
    UserSession,
)
from webapp.operations import audit, tallies
from webapp.operations.documents import blob_path
from webapp.operations.tokens import end_tokens
from workflows import workflows
from workflows.engine import StateKind

# -- export ------------------------------------------------------------------------------

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


# -- erasure -----------------------------------------------------------------------------

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
        record = AuditEvent(
            case_id=None, at=now, actor_id=admin.id, actor_role=admin.role,
            actor_label=admin.display_name, source_address=source_address,
            action=audit.ERASURE,
            payload={"person_id": person.id, "pseudonym": alias, "cases": result.cases,
                     "signatures": result.signatures, "comments": result.comments,
                     "audit_events": result.audit_events,
                     "documents_deleted": result.documents_deleted,
                     "rewritten": {str(r.event_id): r.digest for r in rewrites}})
        session.add(record)
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


# -- retention ---------------------------------------------------------------------------


def _years_before(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


def programme_cutoffs(session: Session, now: datetime) -> dict[int, datetime]:
    """For each programme, the closing time before which its calls' unsuccessful applications
    are deleted: its own retention period, else ``RETENTION_YEARS``."""
    default = current_app.config["RETENTION_YEARS"]
    return {programme_id: _years_before(now, years or default)
            for programme_id, years in session.execute(
                select(Programme.id, Programme.retention_years))}


def unsuccessful_states() -> dict[str, list[str]]:
    """Per workflow, the states an unsuccessful application rests in: ended (a closed state:
    ineligible, not selected, withdrawn, terminated) or abandoned as a draft."""
    return {kind: wf.states_of_kind(StateKind.CLOSED, StateKind.DRAFT)
            for kind, wf in workflows().items()}


def expired_cases(session: Session, now: datetime, years: int | None, *,
                  lock: bool = False) -> list[Case]:
    """Unsuccessful applications whose call closed more than ``years`` years before ``now``
    (None: each programme's own retention period, else ``RETENTION_YEARS``).

    A case that got as far as a Partnership Agreement (or a cooperation) is a partnership
    record and is kept, even when it was later withdrawn or terminated.
    """
    if years is not None:
        closed_long_ago = Call.closes_at < _years_before(now, years)
    else:
        closed_long_ago = or_(false(), *(
            and_(Call.programme_id == programme_id, Call.closes_at < cutoff)
            for programme_id, cutoff in programme_cutoffs(session, now).items()))
    in_rest = or_(*(and_(Case.workflow == kind, Case.state.in_(states))
                    for kind, states in unsuccessful_states().items()))
    q = (select(Case).join(Call, Call.id == Case.call_id)
         .where(closed_long_ago, in_rest, Case.cooperation_start.is_(None),
                ~Case.id.in_(select(Agreement.case_id)))
         .order_by(Case.id))
    if lock:
        # A second run at the same moment waits, then finds these gone.
        q = q.with_for_update(of=Case)
    return list(session.scalars(q))


@dataclass
class Retention:
    """What the retention rule deleted (or would delete, on a dry run)."""

    cutoff: datetime
    cases: list[tuple[int, str, str]] = field(default_factory=list)  # id, reference, state
    #: programmes with a retention period of their own: slug -> (years, cutoff)
    programmes: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    documents: int = 0
    audit_events: int = 0
    notifications: int = 0
    files_deleted: list[str] = field(default_factory=list)
    dry_run: bool = False


def apply_retention(now: datetime | None = None, years: int | None = None, *,
                    dry_run: bool = False) -> Retention:
    """Delete the expired unsuccessful applications with everything that hangs off them, and
    record one audit event naming only how many went. A dry run changes nothing.

    Each programme keeps them for its own ``retention_years``, else ``RETENTION_YEARS``;
    ``years`` overrides both for this run.
    """
    now = now or utcnow()
    if years is not None and years < 1:
        raise OperationError("The retention period must be at least one year.")
    default = current_app.config["RETENTION_YEARS"] if years is None else years
    with db.transaction() as session:
        found = expired_cases(session, now, years, lock=not dry_run)
        result = Retention(_years_before(now, default), dry_run=dry_run)
        if years is None:
            result.programmes = {
                slug: (own, _years_before(now, own)) for slug, own in session.execute(
                    select(Programme.slug, Programme.retention_years).where(
                        Programme.retention_years.is_not(None)).order_by(Programme.slug))}
        result.cases = [(c.id, c.reference, c.state) for c in found]
        ids = [c.id for c in found]
        if not ids:
            return result

        def count(model: Any, column: Any) -> int:
            return session.scalar(select(func.count()).select_from(model)
                                  .where(column.in_(ids))) or 0

        result.documents = count(Document, Document.case_id)
        result.audit_events = count(AuditEvent, AuditEvent.case_id)
        result.notifications = count(Notification, Notification.case_id)
        if dry_run:
            return result
        shas = set(session.scalars(select(Document.sha256).where(Document.case_id.in_(ids))))
        session.expunge_all()
        # Recorded first, with the last hash of each case's chain: the cases' whole chains
        # go, and this record in the chain of events of no case says which and how far.
        record = AuditEvent(
            case_id=None, at=now, actor_role="system", actor_label="citypair",
            action="retention",
            payload={"cases_deleted": len(ids), "years": default,
                     "programme_years": {k: y for k, (y, _c) in result.programmes.items()},
                     "calls_closed_before": result.cutoff.isoformat(),
                     "documents": result.documents, "audit_events": result.audit_events,
                     "notifications": result.notifications, "case_ids": ids,
                     "chain_heads": audit.chain_heads(session, ids)})
        session.add(record)
        session.flush()
        tallies.touch(session, ids)  # the dashboard stops counting them in this transaction
        # The audit events first (their foreign key restricts); the rest cascades from the case.
        audit.retire_cases(session, record.id, ids)
        session.execute(delete(Document).where(Document.case_id.in_(ids)))
        session.execute(delete(Case).where(Case.id.in_(ids)))
        shared = set(session.scalars(select(Document.sha256).where(Document.sha256.in_(shas))))
        orphans = sorted(shas - shared)
    for sha in orphans:
        path: Path = blob_path(sha)
        if path.exists():
            path.unlink()
            result.files_deleted.append(str(path))
    return result
