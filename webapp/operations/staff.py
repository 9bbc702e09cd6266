"""Staff accounts: an admin invites coordinators and admins, changes their role and scope,
deactivates and reactivates them. Every change is one transaction with its audit event
(no case: ``case_id`` is empty, the person is in the payload).

The programme always keeps one active administrator: the last one can be neither demoted nor
deactivated, and the check holds under concurrent requests (the admins' rows are locked).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from webapp.db import db, utcnow
from webapp.errors import Forbidden, NotFound, OperationError
from webapp.mail import outbox
from webapp.models import AuditEvent, Programme, User, UserRole
from webapp.models.programme import WORLD_REGIONS
from webapp.operations import audit
from webapp.operations.accounts import find_user, make_token

STAFF_ROLES = (UserRole.COORDINATOR, UserRole.ADMIN)
#: the audit actions of staff administration, which a person's page lists
STAFF_ACTIONS = ("invite_staff", "change_role", "change_scope", "deactivate_staff",
                 "reactivate_staff", "resend_invitation")


@dataclass(frozen=True)
class Scope:
    """Where a coordinator works: programmes (none: every one) and a world region ('': all)."""

    programme_ids: tuple[int, ...] = ()
    region: str = ""


@dataclass(frozen=True)
class Invitation:
    """Who an admin invites, and as what."""

    email: str
    name: str
    role: str
    locale: str = "en"
    scope: Scope = field(default_factory=Scope)


def _admin(user: User) -> None:
    if user.role != UserRole.ADMIN:
        raise Forbidden(_("Only an administrator can manage staff accounts."))


def _person(session: Session, person_id: int) -> User:
    person = session.get(User, person_id)
    if person is None or not person.is_staff or person.erased_at is not None:
        raise NotFound(_("There is no such member of staff."))
    return person


def describe(person: User) -> dict[str, Any]:
    """What the audit trail keeps of a person's standing: role, scope and status."""
    return {"role": person.role, "programmes": [p.slug for p in person.programmes],
            "region": person.region_scope, "active": person.active}


def _audit(session: Session, admin: User, action: str, person: User, source_address: str,
           before: dict[str, Any] | None = None) -> None:
    payload: dict[str, Any] = {"person_id": person.id, "email": person.email,
                               "after": describe(person)}
    if before is not None:
        payload["before"] = before
    audit.record(session, action, admin, source_address=source_address, payload=payload)


def _programmes(session: Session, scope: Scope) -> list[Programme]:
    if scope.region and scope.region not in WORLD_REGIONS:
        raise OperationError(_("Choose one of the world regions, or every region."))
    wanted = set(scope.programme_ids)
    found = list(session.scalars(select(Programme).where(Programme.id.in_(wanted))
                                 .order_by(Programme.id))) if wanted else []
    if len(found) != len(wanted):
        raise OperationError(_("One of the programmes chosen does not exist any more."))
    return found


def _keep_an_admin(session: Session, person: User) -> None:
    """Refuse to take away the last active administrator."""
    if person.role != UserRole.ADMIN or not person.is_active:
        return
    # Every admin row is locked, in one order: of two admins demoting each other at the same
    # moment, the second waits for the first and then sees it has no one else left.
    admins = session.scalars(select(User.id).where(
        User.role == UserRole.ADMIN, User.active.is_(True), User.erased_at.is_(None))
        .order_by(User.id).with_for_update()).all()
    if not set(admins) - {person.id}:
        raise OperationError(_("%(name)s is the last active administrator. Make another person "
                               "an administrator first, so that someone can still manage "
                               "the programme.", name=person.display_name))


def _send_invitation(session: Session, admin: User, person: User, again: bool) -> None:
    key = f"invite:{person.id}" + (f":{utcnow().isoformat()}" if again else "")
    outbox.queue(session, key=key, template="invitation", user=person,
                 context={"token": make_token("invite", person),
                          "inviter": admin.display_name, "organisation": ""})


def invite(admin: User, invitation: Invitation, source_address: str = "") -> User:
    """Create a coordinator or admin account and e-mail its invitation link (valid 14 days);
    the person sets their name and password through it."""
    _admin(admin)
    email = invitation.email.strip().lower()
    if invitation.role not in STAFF_ROLES:
        raise OperationError(_("Invite a coordinator or an administrator."))
    with db.transaction() as session:
        existing = find_user(email)
        if existing is not None:
            if existing.is_staff:
                raise OperationError(_("%(email)s has a staff account already; change it on "
                                       "their page.", email=email))
            raise OperationError(_("%(email)s has an account as an applicant or a partner "
                                   "contact. Staff accounts are separate: invite another "
                                   "address.", email=email))
        programmes = _programmes(session, invitation.scope)
        coordinator = invitation.role == UserRole.COORDINATOR
        person = User(email=email, name=invitation.name.strip(), password_hash=None,
                      role=invitation.role, locale=invitation.locale, confirmed_at=utcnow(),
                      region_scope=invitation.scope.region if coordinator else "",
                      programmes=programmes if coordinator else [])
        session.add(person)
        session.flush()
        _audit(session, admin, "invite_staff", person, source_address)
        _send_invitation(session, admin, person, again=False)
        return person


def resend_invitation(admin: User, person_id: int, source_address: str = "") -> User:
    """Send a person who has not accepted yet a new invitation link."""
    _admin(admin)
    with db.transaction() as session:
        person = _person(session, person_id)
        if person.password_hash is not None:
            raise OperationError(_("%(name)s has accepted the invitation already.",
                                   name=person.display_name))
        if not person.active:
            raise OperationError(_("Reactivate the account first."))
        _send_invitation(session, admin, person, again=True)
        _audit(session, admin, "resend_invitation", person, source_address)
        return person


def change_role(admin: User, person_id: int, role: str, source_address: str = "") -> User:
    """Make a coordinator an administrator or the other way round. Administrators see every
    programme and region, so a promotion clears the scope."""
    _admin(admin)
    if role not in STAFF_ROLES:
        raise OperationError(_("Choose coordinator or administrator."))
    with db.transaction() as session:
        person = _person(session, person_id)
        if person.role == role:
            raise OperationError(_("%(name)s has this role already.", name=person.display_name))
        before = describe(person)
        if role == UserRole.COORDINATOR:
            _keep_an_admin(session, person)
        else:
            person.programmes, person.region_scope = [], ""
        person.role = role
        _audit(session, admin, "change_role", person, source_address, before)
        return person


def change_scope(admin: User, person_id: int, scope: Scope, source_address: str = "") -> User:
    """Set the programmes (none: every one) and world region ('': all) a coordinator works on."""
    _admin(admin)
    with db.transaction() as session:
        person = _person(session, person_id)
        if person.role != UserRole.COORDINATOR:
            raise OperationError(_("Administrators work on every programme and region; only a "
                                   "coordinator has a scope."))
        before = describe(person)
        person.programmes = _programmes(session, scope)
        person.region_scope = scope.region
        if describe(person) != before:
            _audit(session, admin, "change_scope", person, source_address, before)
        return person


def deactivate(admin: User, person_id: int, source_address: str = "") -> User:
    """Close a staff account: they cannot sign in, their sessions and invitation link end and
    their API tokens stop working. Nothing they did is removed."""
    _admin(admin)
    with db.transaction() as session:
        person = _person(session, person_id)
        if not person.active:
            raise OperationError(_("%(name)s is deactivated already.", name=person.display_name))
        _keep_an_admin(session, person)
        before = describe(person)
        person.active = False
        person.auth_epoch += 1  # every open session and one-time link ends now
        _audit(session, admin, "deactivate_staff", person, source_address, before)
        return person


def reactivate(admin: User, person_id: int, source_address: str = "") -> User:
    """Open a deactivated staff account again; one who never accepted gets a new invitation."""
    _admin(admin)
    with db.transaction() as session:
        person = _person(session, person_id)
        if person.active:
            raise OperationError(_("%(name)s is active already.", name=person.display_name))
        before = describe(person)
        person.active = True
        person.failed_logins, person.locked_until = 0, None
        _audit(session, admin, "reactivate_staff", person, source_address, before)
        if person.password_hash is None:
            _send_invitation(session, admin, person, again=True)
        return person


# -- what the pages read ----------------------------------------------------------------------

def members() -> list[User]:
    """Every coordinator and administrator not erased: active ones first, then by name."""
    return list(db.session.scalars(
        select(User).where(User.role.in_(STAFF_ROLES), User.erased_at.is_(None))
        .options(selectinload(User.programmes))
        .order_by(User.active.desc(), User.name, User.id)))


def member(person_id: int) -> User:
    """One member of staff, for their page."""
    return _person(db.session, person_id)


def history(person_id: int) -> list[AuditEvent]:
    """The staff changes made to this person, newest first."""
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.case_id.is_(None), AuditEvent.action.in_(STAFF_ACTIONS),
        AuditEvent.payload["person_id"].as_integer() == person_id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())))


def programmes() -> list[Programme]:
    """Every programme, for the scope's choices."""
    return list(db.session.scalars(select(Programme).order_by(Programme.name, Programme.id)))


def status(person: User) -> str:
    """active, invited (no password yet) or deactivated."""
    if not person.active:
        return "deactivated"
    return "invited" if person.password_hash is None else "active"


def programme_names(person: User, every: str) -> str:
    """The programmes a person works on, or ``every`` when they are not narrowed."""
    names: Iterable[str] = (p.name for p in person.programmes)
    return ", ".join(names) or every
