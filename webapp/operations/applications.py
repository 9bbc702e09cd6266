"""Drafting an application: sections saved one at a time, nothing typed is ever lost."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.access import can_view_case
from webapp.db import db, utcnow
from webapp.errors import Conflict, Forbidden, NotFound, OperationError
from webapp.models import (
    Call,
    Case,
    GroupMember,
    Organisation,
    Topic,
    User,
    UserRole,
)
from webapp.operations import audit
from webapp.operations import vocabulary as topic_vocabulary
from webapp.operations.accounts import check_name
from workflows import get_workflow, vocabulary, workflows
from workflows.countries import COUNTRY_CODES, normalise_country
from workflows.engine import StateKind
from workflows.refusal import Refusal, refusal


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


def section_choices(case: Case | None) -> list[tuple[str, str]]:
    """The sections an information request may name: the case's own (every section when
    several cases are asked at once), each with its title in the reader's language."""
    return [(s.key, _(s.title)) for s in (sections_for(case) if case is not None else SECTIONS)]


def section_title(key: str) -> str:
    """A section's title in the reader's language (its key when there is no such section)."""
    return _(SECTION_TITLES[key]) if key in SECTION_TITLES else key


def sections_for(case: Case) -> list[Section]:
    """The steps this application has (group members only for groups)."""
    is_group = case.organisation.kind == "group"
    return [s for s in SECTIONS if is_group or not s.groups_only]


@dataclass(frozen=True)
class Requirement:
    """One answer submitting needs: the form fields that give it, how the check page names it
    when it is missing, and when it is met (judged on the section's answers)."""

    section: str
    fields: tuple[str, ...]
    missing: Any  # a lazy phrase: "the country"
    met: Callable[[Mapping[str, Any]], bool]
    #: whether it applies to this application (a group gives no population of its own)
    applies: Callable[[Mapping[str, Any], Case], bool] = lambda answers, case: True
    #: every field of the section gives it (the commitments a call kind asks for)
    every_field: bool = False


def _text(name: str, least: int = 1) -> Callable[[Mapping[str, Any]], bool]:
    return lambda a: len(str(a.get(name) or "").strip()) >= least


def _members(a: Mapping[str, Any]) -> list[GroupMember]:
    return list(a.get("members") or [])


#: every answer submitting needs, per section: the check page, the submit guard and the form's
#: required markers all read this one table
REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement("organisation", ("name",), _l("the organisation's name"), _text("name")),
    Requirement("organisation", ("country",), _l("the country"),
                lambda a: a.get("country") in COUNTRY_CODES),
    Requirement("organisation", ("population",), _l("the population"),
                lambda a: bool(a.get("population")),
                applies=lambda a, case: a.get("kind") != "group"),
    Requirement("contact", ("contact_name",), _l("the contact's name"), _text("contact_name")),
    Requirement("contact", ("contact_email",), _l("the contact's e-mail"),
                _text("contact_email")),
    Requirement("members", (), _l("at least two member municipalities"),
                lambda a: len(_members(a)) >= 2),
    Requirement("members", (), _l("exactly one lead urban authority"),
                lambda a: sum(1 for m in _members(a) if m.is_lead) == 1),
    Requirement("members", (), _l("every member's population"),
                lambda a: all(m.population is not None for m in _members(a))),
    Requirement("members", (), _l("every member's commitment"),
                lambda a: all(m.has_commitment for m in _members(a) if not m.is_lead)),
    Requirement("topics", ("topics",), _l("one to five priority topics"),
                lambda a: 1 <= len(a.get("topics") or []) <= 5),
    Requirement("topics", ("challenge_statement",),
                _l("a challenge statement of at least 50 characters"),
                _text("challenge_statement", 50)),
    # A call that names no partner regions asks for no preference.
    Requirement("partnership", ("partner_region",), _l("the preferred partner region"),
                _text("partner_region"), applies=lambda a, case: bool(case.call.partner_regions)),
    Requirement("partnership", ("stakeholders",), _l("the stakeholders you will involve"),
                _text("stakeholders")),
    Requirement("resources", ("resources_committed",),
                _l("the staff time and resources you commit"), _text("resources_committed")),
    # The declarations a call asks for depend on its kind: every one the section holds.
    Requirement("commitments", (), _l("every commitment declaration"),
                lambda a: all(a.values()), every_field=True),
)


def section_answers(case: Case, key: str) -> dict[str, Any]:
    """What the application holds for one section, keyed by the section form's field names."""
    org = case.organisation
    if key == "organisation":
        return {"name": org.name, "kind": org.kind, "country": org.country,
                "population": org.population, "website": org.website}
    if key == "members":
        return {"members": list(org.members)}
    if key == "topics":
        return {"topics": [t.slug for t in case.topics],
                "challenge_statement": case.challenge_statement}
    if key == "commitments":
        given = case.commitments or {}
        return {c.key: bool(given.get(c.key)) for c in vocabulary(case.workflow).commitments}
    return {f: getattr(case, f) for f in SECTION_FIELDS.get(key, ())}


#: the case's own columns each simple section edits
SECTION_FIELDS = {
    "contact": ("contact_name", "contact_title", "contact_email", "contact_phone"),
    "partnership": ("partner_region", "stakeholders"),
    "resources": ("resources_committed",),
}


def requirements(case: Case, key: str,
                 answers: Mapping[str, Any] | None = None) -> list[Requirement]:
    """The requirements of one section that apply to this application (judged on ``answers``,
    by default what the application holds)."""
    answers = section_answers(case, key) if answers is None else answers
    return [r for r in REQUIREMENTS if r.section == key and r.applies(answers, case)]


def unmet(case: Case, key: str) -> list[Requirement]:
    """The requirements of one section the application does not meet yet."""
    answers = section_answers(case, key)
    return [r for r in requirements(case, key, answers) if not r.met(answers)]


def required_fields(case: Case, key: str, answers: Mapping[str, Any] | None = None) -> set[str]:
    """The form fields of one section that submitting needs: the form marks them required."""
    answers = section_answers(case, key) if answers is None else answers
    return {f for r in requirements(case, key, answers)
            for f in (tuple(answers) if r.every_field else r.fields)}


def section_problems(case: Case, key: str) -> list[str]:
    """What is still missing in one section, as short phrases; empty when complete."""
    return [str(r.missing) for r in unmet(case, key)]


def application_facts(case: Case) -> tuple[list[str], list[Refusal]]:
    """(incomplete section titles, missing commitments) for the submit guards; a commitment
    is its label with the cooperation's length, said in the reader's language."""
    missing = [s.title for s in sections_for(case) if section_problems(case, s.key)]
    given = case.commitments or {}
    months = case.call.cooperation_months
    commitments = [refusal(c.key, c.label, n=months)
                   for c in vocabulary(case.workflow).commitments if not given.get(c.key)]
    return missing, commitments


def open_calls_by_kind(kinds: Iterable[str], now: datetime) -> dict[str, Call]:
    """For each call kind asked for, the open published call that closes last (the one an
    eligibility verdict pointing to that kind links to)."""
    wanted = {k for k in kinds if k}
    if not wanted:
        return {}
    found: dict[str, Call] = {}
    for call in db.session.scalars(select(Call).where(
            Call.kind.in_(wanted), Call.published.is_(True), Call.archived.is_(False),
            Call.opens_at <= now, Call.closes_at >= now).order_by(Call.closes_at)):
        found[call.kind] = call
    return found


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
        audit.record(session, "start", user, case=case, at=now, from_state="")
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
        audit.record(session, "save_section", user, case=case, source_address=source_address,
                     payload={"section": section})
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
        # Retired topics are not offered; one the case has already may stay.
        slugs, _refused = topic_vocabulary.choose(session, data.get("topics") or [],
                                                  keep=case.topics)
        case.topics = list(session.scalars(select(Topic).where(Topic.slug.in_(slugs))))
        case.challenge_statement = (data.get("challenge_statement") or "").strip()
    elif section == "partnership":
        case.partner_region = data.get("partner_region") or ""
        case.stakeholders = (data.get("stakeholders") or "").strip()
    elif section == "resources":
        case.resources_committed = (data.get("resources_committed") or "").strip()
    elif section == "commitments":
        case.commitments = {c.key: bool(data.get(c.key))
                            for c in vocabulary(case.workflow).commitments}


# -- the organisation profile: one record that every application of the organisation shows ---

#: what the profile holds, in the order the audit trail lists it
PROFILE_FIELDS = ("name", "kind", "country", "population", "website")


def set_organisation(org: Organisation, data: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Write the organisation's details from a form's data; returns each change as
    [before, after]. The profile page and an application's organisation step both use it."""
    before = {f: getattr(org, f) for f in PROFILE_FIELDS}
    org.name = check_name(data.get("name") or org.name)
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
            audit.record(session, "update_organisation", user, source_address=source_address,
                         payload={"organisation_id": org.id, "changes": changes})
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
        audit.record(session, "add_member", user, case=case, payload={"member": member.name})
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
        audit.record(session, "remove_member", user, case=case, payload={"member": member.name})
