"""Who may see which case: the object checks every route and query goes through.

Staff are scoped twice: by programme (a coordinator of IURC Latin America sees nothing of
another programme — it does not exist for them, 404) and, within it, by world region (a case
of another region is refused, 403). A coordinator with no programmes or no region works on
every programme or region; admins see everything.
"""

from __future__ import annotations

from sqlalchemy import Select, exists, or_, select

from webapp.models import (
    APPLICANT_PARTY,
    Call,
    Case,
    CasePartner,
    PartnerCity,
    User,
    UserRole,
    partner_party,
)
from workflows.engine import Actor, Role


def actor_for(user: User | None) -> Actor:
    """The engine's view of a person (None is the system)."""
    if user is None:
        return Actor(Role.SYSTEM)
    role = Role(user.role)
    party = None
    if role is Role.APPLICANT:
        party = APPLICANT_PARTY
    elif role is Role.PARTNER and user.partner_city_id is not None:
        # Each partner city of a case is a party of its own: it accepts and signs for itself.
        party = partner_party(user.partner_city_id)
    return Actor(role, party=party, user_id=user.id)


def case_region(case: Case) -> str:
    """The world region a case belongs to: its partner city's, else the preferred one."""
    return case.partner_city.region if case.partner_city else case.partner_region


def programme_scope(user: User) -> frozenset[int] | None:
    """The programme ids a member of staff works on; None for every programme."""
    if user.role != UserRole.COORDINATOR or not user.programmes:
        return None
    return frozenset(p.id for p in user.programmes)


def sees_programme(user: User, programme_id: int | None) -> bool:
    """Whether ``programme_id`` exists for this member of staff at all."""
    scope = programme_scope(user)
    return scope is None or programme_id in scope


def case_hidden(user: User, case: Case) -> bool:
    """A case of a programme outside a coordinator's scope: shown as not found, not refused."""
    return user.role == UserRole.COORDINATOR and not sees_programme(user, case.call.programme_id)


def can_view_case(user: User, case: Case) -> bool:
    """Applicants see their organisation's cases, partners their pairings, coordinators their
    programmes' cases of their region, admins everything."""
    if user.role == UserRole.ADMIN:
        return True
    if user.role == UserRole.COORDINATOR:
        if case_hidden(user, case):
            return False
        return not user.region_scope or case_region(case) == user.region_scope
    if user.role == UserRole.APPLICANT:
        return user.organisation_id is not None and case.organisation_id == user.organisation_id
    if user.role == UserRole.PARTNER:
        # A partner city is set on a case only while it is proposed or paired.
        return user.partner_city_id is not None and any(
            link.partner_city_id == user.partner_city_id for link in case.partner_links)
    return False


def visible_calls(user: User) -> Select[tuple[Call]]:
    """A query of the calls a member of staff works on."""
    q = select(Call)
    scope = programme_scope(user)
    return q if scope is None else q.where(Call.programme_id.in_(scope))


def visible_cases(user: User) -> Select[tuple[Case]]:
    """A query of the cases ``user`` may see, for lists and exports."""
    q = select(Case)
    if user.role == UserRole.ADMIN:
        return q
    if user.role == UserRole.COORDINATOR:
        scope = programme_scope(user)
        if scope is not None:
            q = q.where(Case.call_id.in_(select(Call.id).where(Call.programme_id.in_(scope))))
        if not user.region_scope:
            return q
        return q.outerjoin(PartnerCity, Case.partner_city_id == PartnerCity.id).where(
            or_(PartnerCity.region == user.region_scope,
                (Case.partner_city_id.is_(None)) & (Case.partner_region == user.region_scope))
        )
    if user.role == UserRole.APPLICANT:
        return q.where(Case.organisation_id == (user.organisation_id or -1))
    return q.where(exists().where(CasePartner.case_id == Case.id,
                                  CasePartner.partner_city_id == (user.partner_city_id or -1)))



def refusal(user: User, case: Case) -> int | None:
    """How a case ``user`` may not see is refused: None when they may see it; 404 when it
    must not exist for them (another organisation's case, another programme's); 403 when
    it is staff's of another world region."""
    if can_view_case(user, case):
        return None
    return 403 if user.is_staff and not case_hidden(user, case) else 404
