"""Who may see which case: the object checks every route and query goes through."""

from __future__ import annotations

from sqlalchemy import Select, or_, select

from webapp.models import Case, PartnerCity, User, UserRole
from workflows.engine import Actor, Role


def actor_for(user: User | None) -> Actor:
    """The engine's view of a person (None is the system)."""
    if user is None:
        return Actor(Role.SYSTEM)
    role = Role(user.role)
    party = {Role.APPLICANT: "applicant", Role.PARTNER: "partner"}.get(role)
    return Actor(role, party=party, user_id=user.id)


def case_region(case: Case) -> str:
    """The world region a case belongs to: its partner city's, else the preferred one."""
    return case.partner_city.region if case.partner_city else case.partner_region


def can_view_case(user: User, case: Case) -> bool:
    """Applicants see their organisation's cases, partners their pairings, coordinators their
    region's, admins everything."""
    if user.role == UserRole.ADMIN:
        return True
    if user.role == UserRole.COORDINATOR:
        return not user.region_scope or case_region(case) == user.region_scope
    if user.role == UserRole.APPLICANT:
        return user.organisation_id is not None and case.organisation_id == user.organisation_id
    if user.role == UserRole.PARTNER:
        # A partner city is set on a case only while it is proposed or paired.
        return user.partner_city_id is not None and case.partner_city_id == user.partner_city_id
    return False


def visible_cases(user: User) -> Select[tuple[Case]]:
    """A query of the cases ``user`` may see, for lists and exports."""
    q = select(Case)
    if user.role == UserRole.ADMIN:
        return q
    if user.role == UserRole.COORDINATOR:
        if not user.region_scope:
            return q
        return q.outerjoin(PartnerCity, Case.partner_city_id == PartnerCity.id).where(
            or_(PartnerCity.region == user.region_scope,
                (Case.partner_city_id.is_(None)) & (Case.partner_region == user.region_scope))
        )
    if user.role == UserRole.APPLICANT:
        return q.where(Case.organisation_id == (user.organisation_id or -1))
    return q.where(Case.partner_city_id == (user.partner_city_id or -1))
