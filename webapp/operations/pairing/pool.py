"""Profiles, the pool of a call, and who may be proposed."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from webapp.models import (
    AuditEvent,
    Call,
    Case,
    PartnerCity,
    User,
)
from webapp.models.programme import WORLD_REGIONS
from webapp.operations import cases as case_ops
from webapp.operations.pairing.common import (
    ADD_PARTNER,
    PROPOSE,
)
from webapp.operations.pairing.embeddings import (
    statement_embeddings,
)
from workflows import get_workflow, workflows
from workflows import vocabulary as call_vocabulary
from workflows.engine import Purpose, Workflow
from workflows.pairing import Profile, Scorer


def case_profile(case: Case) -> Profile:
    """A case as the scorer sees it: its priority topics and its challenge statement."""
    return Profile(case.id, case.reference, frozenset(t.slug for t in case.topics),
                   case.challenge_statement or "", case.partner_region or "",
                   case.organisation.country if case.organisation else "")


def partner_profile(pc: PartnerCity) -> Profile:
    """A partner city as the scorer sees it."""
    return Profile(pc.id, pc.name, frozenset(t.slug for t in pc.topics),
                   pc.challenge_statement or "", pc.region, pc.country)


def proposing_states(wf: Workflow) -> list[str]:
    """The states from which a partner city may be proposed, read from the definition."""
    return wf.sources_of(PROPOSE)


def allowed_regions(case: Case, user: User | None = None) -> tuple[str, ...]:
    """The world regions a case's partner may come from: the preferred one when the call
    offers it, else every region the call offers; a scoped coordinator's region only."""
    offered = tuple(case.call.partner_regions or WORLD_REGIONS)
    regions = (case.partner_region,) if case.partner_region in offered else offered
    if user is not None and user.region_scope:
        regions = tuple(r for r in regions if r == user.region_scope)
    return regions


@dataclass
class Pool:
    """A call's profiles and the scorer fitted on them, with which partner cities are busy."""

    call: Call
    cases: dict[int, Case]
    partners: dict[int, PartnerCity]
    busy: dict[int, set[int]]  # partner city id -> the cases it is set on
    scorer: Scorer
    profiles: dict[int, Profile]  # case id -> profile
    partner_profiles: dict[int, Profile]  # partner city id -> profile

    def free(self, but_for: int | None = None) -> list[PartnerCity]:
        """Partner cities not in an active pairing of this call (``but_for`` a case's own)."""
        return sorted((p for p in self.partners.values()
                       if not self.busy.get(p.id, set()) - {but_for}), key=lambda p: p.name)


def load_pool(session: Session, call: Call) -> Pool:
    """Every case and offered partner of ``call`` in a constant number of queries: partners of
    the kind the call pairs with (cities or regions), in the regions and countries it offers."""
    cases = {c.id: c for c in session.scalars(
        select(Case).where(Case.call_id == call.id)
        .options(selectinload(Case.topics), selectinload(Case.organisation),
                 selectinload(Case.partner_links)))}
    q = select(PartnerCity).options(selectinload(PartnerCity.topics)).where(
        PartnerCity.kind == call_vocabulary(call.kind).partner_kind)
    if call.partner_regions:
        q = q.where(PartnerCity.region.in_(list(call.partner_regions)))
    if call.partner_countries:
        q = q.where(PartnerCity.country.in_(list(call.partner_countries)))
    partners = {p.id: p for p in session.scalars(q)}
    # The same rule as the proposal guard: a partner city set on another case of the call.
    busy: dict[int, set[int]] = {}
    released = set(case_ops.released_states(call.kind))
    for c in cases.values():
        if c.state not in released:
            for link in c.partner_links:
                busy.setdefault(link.partner_city_id, set()).add(c.id)
    profiles = {c.id: case_profile(c) for c in cases.values()}
    partner_profiles = {p.id: partner_profile(p) for p in partners.values()}
    scorer = Scorer([*profiles.values(), *partner_profiles.values()],
                    embeddings=statement_embeddings())
    return Pool(call, cases, partners, busy, scorer, profiles, partner_profiles)


def earlier_proposals(session: Session, case_ids: Collection[int]) -> set[tuple[int, int]]:
    """(case, partner city) pairs proposed before; a case back in the pool saw them fail."""
    if not case_ids:
        return set()
    pairs: set[tuple[int, int]] = set()
    for case_id, payload in session.execute(select(AuditEvent.case_id, AuditEvent.payload).where(
            AuditEvent.case_id.in_(list(case_ids)),
            AuditEvent.action.in_(sorted({wf.name_for(p) for wf in workflows().values()
                                          for p in (PROPOSE, ADD_PARTNER)
                                          if wf.for_purpose(p) is not None})))):
        partner_id = (payload or {}).get("partner_city_id")
        if str(partner_id or "").isdigit() and case_id is not None:
            pairs.add((case_id, int(partner_id)))
    return pairs


def region_problem(case: Case, partner: PartnerCity, user: User | None) -> str | None:
    """Why ``partner`` is outside the regions ``case`` may be paired in, or None."""
    regions = allowed_regions(case, user)
    if partner.region in regions:
        return None
    return (f"{partner.name} is in {partner.region}; {case.reference} may be paired in "
            f"{', '.join(regions) or 'none of your regions'}.")


def proposing_transition(case: Case) -> Purpose:
    """What proposing a partner fires on ``case`` now: the first proposal, or one more partner
    for a pairing already proposed."""
    if get_workflow(case.workflow).offers(case.state, ADD_PARTNER):
        return ADD_PARTNER
    return PROPOSE


def proposal_blocker(case: Case, user: User) -> str | None:
    """Why ``user`` cannot propose a partner for ``case`` now, or None when they can."""
    wf = get_workflow(case.workflow)
    t = wf.for_purpose(PROPOSE)
    if t is None:
        return "Cases of this call are not paired with partner cities."
    if proposing_transition(case) == ADD_PARTNER:
        return None if case_ops.actor(user).role in wf.for_purpose(ADD_PARTNER).roles else (
            "Your role does not allow proposing a partner.")
    if case_ops.actor(user).role not in t.roles:
        return "Your role does not allow proposing a partner."
    if case.state not in t.sources:
        waiting = " or ".join(wf.state(s).staff_label.lower() for s in t.sources)
        return (f"This case is {wf.state(case.state).staff_label.lower()}; a partner city can "
                f"be proposed only while it is {waiting}.")
    return None


