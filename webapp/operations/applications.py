"""Drafting an application: sections saved one at a time, nothing typed is ever lost."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.access import can_view_case
from webapp.db import db, utcnow
from webapp.errors import Conflict, Forbidden, NotFound, OperationError
from webapp.models import (
    AuditEvent,
    Call,
    Case,
    GroupMember,
    Organisation,
    Topic,
    User,
    UserRole,
)
from workflows import eligibility, get_workflow, workflows
from workflows.countries import COUNTRY_CODES, normalise_country
from workflows.engine import StateKind


@dataclass(frozen=True)
class Section:
    """One step of the application form."""

    key: str
    title: str
    groups_only: bool = False


SECTIONS: tuple[Section, ...] = (
    Section("organisation", "Your organisation"),
    Section("contact", "Contact person"),
    Section("members", "Group members", groups_only=True),
    Section("topics", "Priority topics and challenge"),
    Section("partnership", "Partner region and stakeholders"),
    Section("resources", "Resources committed"),
    Section("commitments", "Commitments"),
)
SECTION_TITLES = {s.key: s.title for s in SECTIONS}


def sections_for(case: Case) -> list[Section]:
    """The steps this application has (group members only for groups)."""
    is_group = case.organisation.kind == "group"
    return [s for s in SECTIONS if is_group or not s.groups_only]


def section_problems(case: Case, key: str) -> list[str]:
    """What is still missing in one section, as short phrases; empty when complete."""
    org = case.organisation
    problems: list[str] = []
    if key == "organisation":
        if not org.name.strip():
            problems.append(_("the organisation's name"))
        if not org.country:
            problems.append(_("the country"))
        if org.kind != "group" and not org.population:
            problems.append(_("the population"))
    elif key == "contact":
        if not case.contact_name.strip():
            problems.append(_("the contact's name"))
        if not case.contact_email.strip():
            problems.append(_("the contact's e-mail"))
    elif key == "members":
        if len(org.members) < 2:
            problems.append(_("at least two member municipalities"))
        if sum(1 for m in org.members if m.is_lead) != 1:
            problems.append(_("exactly one lead urban authority"))
        if any(m.population is None for m in org.members):
            problems.append(_("every member's population"))
        if any(not m.has_commitment for m in org.members if not m.is_lead):
            problems.append(_("every member's commitment"))
    elif key == "topics":
        if not 1 <= len(case.topics) <= 5:
            problems.append(_("one to five priority topics"))
        if len(case.challenge_statement.strip()) < 50:
            problems.append(_("a challenge statement of at least 50 characters"))
    elif key == "partnership":
        if not case.partner_region:
            problems.append(_("the preferred partner region"))
        if not case.stakeholders.strip():
            problems.append(_("the stakeholders you will involve"))
    elif key == "resources":
        if not case.resources_committed.strip():
            problems.append(_("the staff time and resources you commit"))
    elif key == "commitments":
        given = case.commitments or {}
        if not all(given.get(k) for k in eligibility.COMMITMENTS):
            problems.append(_("every commitment declaration"))
    return problems


def application_facts(case: Case) -> tuple[list[str], list[str]]:
    """(incomplete section titles, missing commitment labels) for the submit guards."""
    missing = [s.title for s in sections_for(case) if section_problems(case, s.key)]
    given = case.commitments or {}
    commitments = [label for k, label in eligibility.COMMITMENTS.items() if not given.get(k)]
    return missing, commitments


def _reference(call: Call, case: Case, now: datetime) -> str:
    # The flushed row id is unique without a second query, so parallel starts never collide.
    return f"{call.programme.slug.upper()}-{now.year}-{case.id:05d}"


def start_application(user: User, call_id: int, now: datetime | None = None) -> Case:
    """Open a draft for the user's organisation, or return the draft it already has."""
    from webapp.operations.cases import enter_state

    now = now or utcnow()
    if user.role != UserRole.APPLICANT or user.organisation_id is None:
        raise Forbidden(_("Only city staff with an organisation profile can apply."))
    with db.transaction() as session:
        call = session.get(Call, call_id)
        if call is None or not call.published or call.archived:
            raise NotFound(_("There is no such call."))
        wf = get_workflow(call.kind)
        existing = session.scalar(select(Case).where(
            Case.call_id == call.id, Case.organisation_id == user.organisation_id,
            Case.state == wf.initial))
        if existing:
            return existing
        if call.status(now) != "open":
            raise OperationError(_("This call is not open for applications."))
        case = Case(call=call, organisation_id=user.organisation_id, workflow=call.kind,
                    state=wf.initial, reference="pending", created_by_id=user.id,
                    created_at=now, state_entered_at=now, contact_name=user.name,
                    contact_email=user.email, commitments={})
        session.add(case)
        session.flush()
        case.reference = _reference(call, case, now)
        session.add(AuditEvent(case_id=case.id, at=now, actor_id=user.id, actor_role=user.role,
                               actor_label=user.display_name, action="start",
                               to_state=case.state))
        session.refresh(case, ["organisation", "call"])
        enter_state(session, wf, case, {}, now)
        return case


def editable_case(session: Session, case_id: int, user: User, section: str) -> Case:
    """The case, if ``user`` may edit ``section`` of it now."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(_("There is no such application."))
    if user.role != UserRole.APPLICANT or not can_view_case(user, case):
        raise Forbidden(_("This application is not yours to edit."))
    state = get_workflow(case.workflow).state(case.state)
    if not state.editable_by_applicant:
        raise OperationError(_("This application can no longer be changed."))
    if case.flagged_sections and section not in case.flagged_sections and case.submitted_at:
        raise OperationError(_("Only the sections named in the information request can be "
                             "changed now."))
    return case


def save_section(case_id: int, user: User, section: str, data: Mapping[str, Any], *,
                 expected_version: int | None = None, source_address: str = "") -> Case:
    """Save one step of the application as a draft, whatever its completeness."""
    if section not in SECTION_TITLES:
        raise NotFound(_("There is no such section."))
    with db.transaction() as session:
        case = editable_case(session, case_id, user, section)
        if expected_version is not None and case.version != expected_version:
            raise Conflict(_("This application was changed in another window or by a colleague. "
                           "Your answers are shown again; please check them and save."))
        _apply_section(session, case, section, data)
        if section not in case.sections_saved:
            case.sections_saved = [*case.sections_saved, section]
        case.updated_at = utcnow()
        session.add(AuditEvent(case_id=case.id, actor_id=user.id, actor_role=user.role,
                               actor_label=user.display_name, source_address=source_address,
                               action="save_section", from_state=case.state,
                               to_state=case.state, payload={"section": section}))
        session.flush()
        return case


def _apply_section(session: Session, case: Case, section: str, data: Mapping[str, Any]) -> None:
    if section == "organisation":
        if set_organisation(case.organisation, data):
            _refuse_while_judged(case.organisation_id, but=case.reference)
    elif section == "contact":
        for field in ("contact_name", "contact_title", "contact_email", "contact_phone"):
            setattr(case, field, (data.get(field) or "").strip())
    elif section == "topics":
        slugs = list(data.get("topics") or [])
        case.topics = list(session.scalars(select(Topic).where(Topic.slug.in_(slugs))))
        case.challenge_statement = (data.get("challenge_statement") or "").strip()
    elif section == "partnership":
        case.partner_region = data.get("partner_region") or ""
        case.stakeholders = (data.get("stakeholders") or "").strip()
    elif section == "resources":
        case.resources_committed = (data.get("resources_committed") or "").strip()
    elif section == "commitments":
        case.commitments = {k: bool(data.get(k)) for k in eligibility.COMMITMENTS}


# -- the organisation profile: one record that every application of the organisation shows ---

#: what the profile holds, in the order the audit trail lists it
PROFILE_FIELDS = ("name", "kind", "country", "population", "website")


def set_organisation(org: Organisation, data: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Write the organisation's details from a form's data; returns each change as
    [before, after]. The profile page and an application's organisation step both use it."""
    before = {f: getattr(org, f) for f in PROFILE_FIELDS}
    org.name = (data.get("name") or org.name).strip()
    org.kind = data.get("kind") or org.kind
    org.country = normalise_country(data.get("country", org.country) or "")
    org.population = data.get("population")
    org.website = (data.get("website") or "").strip()
    return {f: [before[f], getattr(org, f)] for f in PROFILE_FIELDS
            if before[f] != getattr(org, f)}


def profile_locked_by(organisation_id: int) -> list[str]:
    """The references of the organisation's applications a coordinator is judging now: while
    there are any, the details they judge stay as they were submitted."""
    refs = []
    for kind, wf in workflows().items():
        refs += db.session.scalars(select(Case.reference).where(
            Case.organisation_id == organisation_id, Case.workflow == kind,
            Case.state.in_(wf.states_of_kind(StateKind.REVIEW))).order_by(Case.reference))
    return refs


def _refuse_while_judged(organisation_id: int, but: str = "") -> None:
    locked = [ref for ref in profile_locked_by(organisation_id) if ref != but]
    if locked:
        raise OperationError(_("Your organisation's details are being checked in application "
                               "%(refs)s. You can change them once it is decided, or when the "
                               "coordinators ask you to.", refs=", ".join(locked)))


def update_profile(user: User, data: Mapping[str, Any], *,
                   source_address: str = "") -> Organisation:
    """Change the applicant's organisation profile, between applications; audited with each
    change before and after. New applications start from it."""
    if user.role != UserRole.APPLICANT or user.organisation_id is None:
        raise Forbidden(_("Only city staff with an organisation profile can change it."))
    country = data.get("country") or ""
    if country and normalise_country(country) not in COUNTRY_CODES:
        raise OperationError(_("Choose a country from the list."))
    _refuse_while_judged(user.organisation_id)
    with db.transaction() as session:
        org = session.get(Organisation, user.organisation_id)
        changes = set_organisation(org, data)
        if changes:
            session.add(AuditEvent(case_id=None, actor_id=user.id, actor_role=user.role,
                                   actor_label=user.display_name, source_address=source_address,
                                   action="update_organisation",
                                   payload={"organisation_id": org.id, "changes": changes}))
        return org


def add_member(case_id: int, user: User, *, name: str, population: int | None, is_lead: bool,
               commitment_declared: bool, letter: IO[bytes] | None = None,
               letter_filename: str = "") -> GroupMember:
    """Add a municipality to the applicant group, with its commitment letter if given; a new
    lead replaces the old one. The letter and the member are stored together or not at all."""
    from webapp.operations import documents

    with db.transaction() as session:
        case = editable_case(session, case_id, user, "members")
        org = case.organisation
        doc = None
        if letter is not None:
            doc = documents.store(session, letter, letter_filename, kind="commitment_letter",
                                  user=user, case_id=case.id)
        if is_lead:
            for m in org.members:
                m.is_lead = False
        member = GroupMember(name=name.strip(), population=population, is_lead=is_lead,
                             commitment_declared=commitment_declared,
                             commitment_document_id=doc.id if doc else None)
        org.members.append(member)
        if "members" not in case.sections_saved:
            case.sections_saved = [*case.sections_saved, "members"]
        case.updated_at = utcnow()
        session.add(AuditEvent(case_id=case.id, actor_id=user.id, actor_role=user.role,
                               actor_label=user.display_name, action="add_member",
                               from_state=case.state, to_state=case.state,
                               payload={"member": member.name}))
        session.flush()
        return member


def remove_member(case_id: int, user: User, member_id: int) -> None:
    """Remove a municipality from the applicant group."""
    with db.transaction() as session:
        case = editable_case(session, case_id, user, "members")
        member = next((m for m in case.organisation.members if m.id == member_id), None)
        if member is None:
            raise NotFound(_("There is no such member."))
        case.organisation.members.remove(member)
        case.updated_at = utcnow()
        session.add(AuditEvent(case_id=case.id, actor_id=user.id, actor_role=user.role,
                               actor_label=user.display_name, action="remove_member",
                               from_state=case.state, to_state=case.state,
                               payload={"member": member.name}))
