"""The call-wide draft board."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from webapp.access import can_view_case, visible_cases
from webapp.db import db, utcnow
from webapp.errors import Conflict, Forbidden, NotFound, Refused
from webapp.models import (
    Call,
    Case,
    PartnerCity,
    User,
)
from webapp.operations import cases as case_ops
from webapp.operations.pairing.common import (
    ADD_PARTNER,
    PROPOSE,
)
from webapp.operations.pairing.pool import (
    allowed_regions,
    earlier_proposals,
    load_pool,
    partner_profile,
    proposing_states,
    region_problem,
)
from webapp.operations.pairing.suggestions import (
    Reasons,
    _reasons,
)
from workflows import get_workflow
from workflows.pairing import Assignment, optimum


@dataclass(frozen=True)
class Candidate:
    """One partner city offered in a row of the board."""

    partner: PartnerCity
    score: float
    ruled_out: bool = False  # by the coordinator, or proposed to this case before


@dataclass
class BoardRow:
    """One case of the board: the optimum's partner, the candidates, the reasons."""

    case: Case
    candidates: list[Candidate]
    optimum_id: int | None  # the partner city the call-wide optimum proposes, if any
    waiting: bool  # the case can still take a proposal
    #: further partners the optimum proposes, when the call gives a case more than one
    extra_ids: list[int] = field(default_factory=list)
    reasons: dict[int, Reasons] = field(default_factory=dict)  # partner city id -> reasons


@dataclass
class Board:
    """The draft board of a call: one row per case waiting for a partner."""

    call: Call
    rows: list[BoardRow]
    free_count: int
    ruled_out: set[tuple[int, int]]
    total: float  # the optimum's total score


def _waiting_cases(session: Session, call: Call, user: User) -> list[Case]:
    states = proposing_states(get_workflow(call.kind))
    q = visible_cases(user).where(Case.call_id == call.id, Case.state.in_(states))
    return list(session.scalars(q.order_by(Case.reference)))


def board_for(call_id: int, user: User, *, ruled_out: Collection[tuple[int, int]] = (),
              case_ids: Collection[int] | None = None,
              chosen: Mapping[int, int | None] | None = None) -> Board:
    """The call-wide optimum as a draft board.

    Rows are the cases waiting for a partner that ``user`` may see (or the ``case_ids`` a
    submitted board named, so a case that changed meanwhile keeps its row); ``chosen`` adds
    the reasons of a coordinator's own choices. Pairs in ``ruled_out``, pairs proposed to a
    case before and partner cities outside a case's allowed regions are never the optimum.
    """
    session = db.session()
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound("There is no such call.")
    if not user.is_staff:
        raise Forbidden("Only the programme team pairs cases.")
    pool = load_pool(session, call)
    wf = get_workflow(call.kind)
    waiting_states = set(proposing_states(wf))
    if case_ids is None:
        rows_cases = [pool.cases[c.id] for c in _waiting_cases(session, call, user)]
    else:
        rows_cases = [pool.cases[i] for i in case_ids if i in pool.cases]
        if any(not can_view_case(user, c) for c in rows_cases):
            raise Forbidden("This board names a case that is not yours to pair.")
    waiting = [c for c in rows_cases if c.state in waiting_states]
    free = pool.free()
    forbidden = set(ruled_out) | earlier_proposals(session, [c.id for c in waiting])
    case_profiles = [pool.profiles[c.id] for c in waiting]
    partner_profiles = [pool.partner_profiles[p.id] for p in free]
    regions_of = {c.id: allowed_regions(c, user) for c in waiting}
    pairs = optimum(case_profiles, partner_profiles, pool.scorer, forbidden=forbidden,
                    regions_of=regions_of, max_per_case=call.max_partners_per_case)
    best: dict[int, Assignment] = {}
    extras: dict[int, list[int]] = {}
    for a in pairs:  # a case's best partner comes first: the lead
        if a.case.key in best:
            extras.setdefault(a.case.key, []).append(a.partner.key)
        else:
            best[a.case.key] = a
    scores = pool.scorer.matrix(case_profiles, partner_profiles) if waiting and free else None
    row_of = {c.id: i for i, c in enumerate(waiting)}
    rows: list[BoardRow] = []
    for case in rows_cases:
        candidates: list[Candidate] = []
        if scores is not None and case.id in row_of:
            i = row_of[case.id]
            # Every free partner the case may be paired with, the best first in each region:
            # a coordinator may choose one the scorer sees nothing in common with.
            allowed = [j for j, p in enumerate(free) if p.region in regions_of[case.id]]
            allowed.sort(key=lambda j: (free[j].region, -round(float(scores[i, j]), 12),
                                        free[j].name))
            candidates = [Candidate(free[j], float(scores[i, j]),
                                    (case.id, free[j].id) in forbidden) for j in allowed]
        optimum_pair = best.get(case.id)
        if optimum_pair is not None and all(c.partner.id != optimum_pair.partner.key
                                            for c in candidates):
            candidates.append(Candidate(pool.partners[optimum_pair.partner.key],
                                        optimum_pair.suggestion.score))
        row = BoardRow(case=case, candidates=candidates, waiting=case.id in row_of,
                       optimum_id=optimum_pair.partner.key if optimum_pair else None,
                       extra_ids=extras.get(case.id, []))
        wanted = {row.optimum_id, *row.extra_ids, (chosen or {}).get(case.id)} - {None}
        for partner_id in wanted:
            partner = pool.partners.get(partner_id) or session.get(PartnerCity, partner_id)
            if partner is None:
                continue
            if all(c.partner.id != partner_id for c in candidates):
                # A coordinator's choice outside the shortlist stays on the board as chosen.
                candidates.append(Candidate(partner, pool.scorer.score(
                    pool.profiles[case.id], partner_profile(partner)).score,
                    (case.id, partner_id) in forbidden))
            row.reasons[partner_id] = _reasons(
                pool.scorer.explain(pool.profiles[case.id], pool.partner_profiles.get(
                    partner_id) or partner_profile(partner)), partner,
                (case.id, partner_id) in forbidden)
        rows.append(row)
    return Board(call=call, rows=rows, free_count=len(free), ruled_out=set(ruled_out),
                 total=sum(a.suggestion.score for a in pairs))


class BoardRefused(Refused):
    """At least one proposal of a board was refused; nothing was written.

    ``errors`` maps a case id to the reasons its row shows.
    """

    def __init__(self, errors: dict[int, list[str]]):
        count = len(errors)
        super().__init__(f"No proposal was made: {count} row{'s' if count != 1 else ''} "
                         f"need{'s' if count == 1 else ''} another look.",
                         tuple(r for rs in errors.values() for r in rs))
        self.errors = errors


@dataclass(frozen=True)
class BoardChoice:
    """A coordinator's choice for one row of the board."""

    case_id: int
    partner_city_id: int
    version: int | None


def propose_board(call_id: int, user: User, choices: Iterable[BoardChoice], *,
                  source_address: str = "", now: datetime | None = None) -> int:
    """Create every proposal of a board in one transaction, or none; the count made.

    A case may be named more than once: its first choice is the proposal, the others join
    it as further partners. A partner chosen twice, a case that changed since the board was
    drawn (its version) or any refusal of the engine aborts everything with the reasons for
    each row.
    """
    now = now or utcnow()
    choices = list(choices)
    if not user.is_staff:
        raise Forbidden("Only the programme team pairs cases.")
    if not choices:
        raise Refused("Choose a partner city for at least one case.")
    errors: dict[int, list[str]] = {}
    twice = {p for p, n in Counter(c.partner_city_id for c in choices).items() if n > 1}
    proposed: set[int] = set()
    try:
        with db.transaction() as session:
            loaded = {c.id: c for c in session.scalars(
                select(Case).where(Case.id.in_([c.case_id for c in choices])))}
            partners = {p.id: p for p in session.scalars(select(PartnerCity).where(
                PartnerCity.id.in_([c.partner_city_id for c in choices])))}
            for choice in choices:
                case = loaded.get(choice.case_id)
                if case is None or case.call_id != call_id:
                    raise NotFound("The board names a case that is not in this call.")
                if not can_view_case(user, case):
                    raise Forbidden(f"{case.reference} is not yours to pair.")
                if choice.partner_city_id in twice:
                    others = [loaded[c.case_id].reference for c in choices
                              if c.partner_city_id == choice.partner_city_id
                              and c.case_id != case.id and c.case_id in loaded]
                    errors.setdefault(case.id, []).append(
                        f"{_name(partners, choice.partner_city_id)} is also "
                        f"chosen for {', '.join(others) or case.reference}; a partner city "
                        "takes one case.")
                    continue
                further = case.id in proposed
                proposed.add(case.id)
                if not further and choice.version is not None and case.version != choice.version:
                    state = get_workflow(case.workflow).state(case.state).staff_label.lower()
                    errors.setdefault(case.id, []).append(
                        f"{case.reference} changed since the board was drawn (it is now "
                        f"{state}); check it and choose again.")
                    continue
                partner = partners.get(choice.partner_city_id)
                problem = partner and region_problem(case, partner, user)
                if problem:
                    errors.setdefault(case.id, []).append(problem)
                    continue
                try:
                    case_ops.apply(session, case, ADD_PARTNER if further else PROPOSE, user,
                                   {"partner_city_id": choice.partner_city_id},
                                   source_address=source_address, now=now)
                except Refused as exc:
                    errors.setdefault(case.id, []).extend(exc.reasons or (exc.message,))
            if errors:
                raise BoardRefused(errors)
            session.flush()
    except StaleDataError as exc:
        raise Conflict("Someone else changed one of these cases at the same moment. "
                       "Nothing was proposed; please look at the board again.") from exc
    return len(choices)


def _name(partners: Mapping[int, PartnerCity], partner_id: int) -> str:
    partner = partners.get(partner_id)
    return partner.name if partner else "This partner city"


