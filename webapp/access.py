"""Who may see which case: the object checks every route and query goes through.

Staff are scoped twice: by programme (a coordinator of IURC Latin America sees nothing of
another programme — it does not exist for them, 404) and, within it, by world region (a case
of another region is refused, 403). A coordinator with no programmes or no region works on
every programme or region; admins see everything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from flask import abort
from sqlalchemy import ColumnElement, Select, exists, or_, select
from sqlalchemy.orm import Session

from webapp.db import db
from webapp.errors import Forbidden, NotFound, OperationError
from webapp.models import Call, Case, CasePartner, PartnerCity, User, UserRole
from webapp.models.party import key_of
from workflows.engine import Actor, Role


def actor_for(user: User | None) -> Actor:
    """The engine's view of a person (None is the system)."""
    if user is None:
        return Actor(Role.SYSTEM)
    return Actor(Role(user.role), party=key_of(user), user_id=user.id)


def case_regions(case: Case) -> frozenset[str]:
    """The world regions a case belongs to: every partner's, else the preferred one."""
    partners = case.partners
    return frozenset(p.region for p in partners) if partners else frozenset({case.partner_region})


def in_region(case: Case, region: str) -> bool:
    """Whether a case is in ``region`` (any region when empty): a case with partners in two
    regions is in both, so neither region's coordinator loses sight of it."""
    return not region or region in case_regions(case)


def region_clause(region: str) -> ColumnElement[bool]:
    """``in_region`` in SQL, for a region given: a partner of the case is there, or the case
    has no partner and prefers it."""
    partner_there = (select(CasePartner.id)
                     .join(PartnerCity, CasePartner.partner_city_id == PartnerCity.id)
                     .where(CasePartner.case_id == Case.id, PartnerCity.region == region)
                     .exists())
    return or_(partner_there, Case.partner_city_id.is_(None) & (Case.partner_region == region))


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
        return in_region(case, user.region_scope)
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
        return q.where(region_clause(user.region_scope))
    if user.role == UserRole.APPLICANT:
        return q.where(Case.organisation_id == (user.organisation_id or -1))
    return q.where(exists().where(CasePartner.case_id == Case.id,
                                  CasePartner.partner_city_id == (user.partner_city_id or -1)))


class Denial(StrEnum):
    """Why a person may not see a case."""

    #: a coordinator's case of a programme outside their scope
    OTHER_PROGRAMME = "other_programme"
    #: staff's case of another world region, in a programme they work on
    OTHER_REGION = "other_region"
    #: an applicant's or a partner's case of another organisation or city
    NOT_THEIRS = "not_theirs"


def denial(user: User, case: Case) -> Denial | None:
    """Why ``user`` may not see ``case``; None when they may."""
    if can_view_case(user, case):
        return None
    if case_hidden(user, case):
        return Denial.OTHER_PROGRAMME
    return Denial.OTHER_REGION if user.is_staff else Denial.NOT_THEIRS


@dataclass(frozen=True)
class CasePolicy:
    """How a case someone may not see is answered: an HTTP status for each denial."""

    name: str
    statuses: Mapping[Denial, int]
    #: what the answer says when the case does not exist for the person
    not_found: str = "There is no such case."
    #: what it says when the case exists but is refused
    forbidden: str = "This case is outside the region you coordinate."

    def status(self, denial: Denial | None) -> int | None:
        """The status a denial is answered with; None when there is none."""
        return None if denial is None else self.statuses[denial]


#: What must not exist for the person is not found (another programme's case, another
#: organisation's or city's); a case of their programme in another region is forbidden, so
#: staff learn that it is a matter of region. Back office, cooperation, agreements, API.
SCOPED = CasePolicy("scoped", {Denial.OTHER_PROGRAMME: 404, Denial.OTHER_REGION: 403,
                               Denial.NOT_THEIRS: 404})
#: Every case not one's own does not exist, whoever asks: the applicant's portal.
HIDDEN = CasePolicy("hidden", dict.fromkeys(Denial, 404))


def refusal(user: User, case: Case, policy: CasePolicy = SCOPED) -> int | None:
    """The status a case ``user`` may not see is refused with under ``policy``; None when
    they may see it."""
    return policy.status(denial(user, case))


def load_case(case_id: int, user: User, *, policy: CasePolicy = SCOPED,
              session: Session | None = None, options: Sequence[Any] = ()) -> Case:
    """The case ``user`` may see, for operations and the API: a case there is none of, or
    one the policy hides, raises NotFound; one it refuses raises Forbidden."""
    case = (session or db.session).get(Case, case_id, options=list(options))
    status = 404 if case is None else refusal(user, case, policy)
    if status == 404 or case is None:
        raise NotFound(policy.not_found)
    if status:
        raise Forbidden(policy.forbidden)
    return case


def case_or_abort(case_id: int, *, policy: CasePolicy = SCOPED,
                  options: Sequence[Any] = ()) -> Case:
    """The case the signed-in person may see, for pages: refusals become the site's own
    404 and 403 pages."""
    from flask_login import current_user

    try:
        return load_case(case_id, current_user, policy=policy, options=options)
    except OperationError as exc:
        abort(exc.status)
