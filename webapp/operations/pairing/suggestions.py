"""Suggestions for one case."""

from __future__ import annotations

from dataclasses import dataclass, field

from webapp.access import can_view_case
from webapp.db import db
from webapp.errors import Forbidden, NotFound, Refused
from webapp.models import (
    Case,
    PartnerCity,
    User,
)
from webapp.operations import cases as case_ops
from webapp.operations import vocabulary
from webapp.operations.pairing.common import (
    PROPOSE,
    REMOVE_PARTNER,
)
from webapp.operations.pairing.pool import (
    allowed_regions,
    earlier_proposals,
    load_pool,
    partner_profile,
    proposal_blocker,
    proposing_transition,
    region_problem,
)
from workflows.language import guess_language
from workflows.pairing import Suggestion, suggest


@dataclass(frozen=True)
class MatchedSentences:
    """A sentence of the case's statement and one of the partner's that say much the same,
    each as written and with its language when it can be told (for the page's lang)."""

    mine: str
    mine_lang: str | None
    theirs: str
    theirs_lang: str | None
    percent: int


@dataclass(frozen=True)
class Reasons:
    """A suggestion as a page shows it: the partner, the score and why."""

    partner: PartnerCity
    score: float
    percent: int
    shared_topics: tuple[tuple[str, str], ...]  # (slug, label), rarest first
    matched_terms: tuple[str, ...]
    topic_score: float
    text_score: float
    ruled_out: bool = False  # proposed to this case before, or ruled out on the board
    semantic_score: float = 0.0
    matched_sentences: tuple[MatchedSentences, ...] = ()


def _language(sentence: str) -> str | None:
    lang = guess_language(sentence)
    return lang if lang != "en" else None  # the pages are in English already


def _reasons(s: Suggestion, partner: PartnerCity, ruled_out: bool = False) -> Reasons:
    labels = vocabulary.labels(db.session)
    sentences = tuple(
        MatchedSentences(p.mine, _language(p.mine), p.theirs, _language(p.theirs),
                         round(p.similarity * 100))
        for p in s.matched_sentences)
    return Reasons(partner=partner, score=s.score, percent=round(s.score * 100),
                   shared_topics=tuple((t, labels.get(t, t)) for t in s.shared_topics),
                   matched_terms=s.matched_terms, topic_score=s.topic_score,
                   text_score=s.text_score, ruled_out=ruled_out,
                   semantic_score=s.semantic_score, matched_sentences=sentences)


@dataclass
class CaseSuggestions:
    """What the suggestions page of one case shows."""

    case: Case
    regions: tuple[str, ...]
    blocker: str | None
    suggestions: list[Reasons] = field(default_factory=list)
    free_count: int = 0
    #: the proposed or paired partners, the lead first, each with its reasons
    partners: list[Reasons] = field(default_factory=list)
    #: what proposing fires now: the first proposal, or adding one more partner
    action: str = PROPOSE

    @property
    def current(self) -> Reasons | None:
        """The lead partner, with its reasons."""
        return self.partners[0] if self.partners else None


def suggestions_for(case_id: int, user: User, limit: int = 10) -> CaseSuggestions:
    """The best free partner cities for a case, in the regions it may be paired with."""
    session = db.session()
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("There is no such case.")
    if not user.is_staff or not can_view_case(user, case):
        raise Forbidden("This case is not yours to pair.")
    pool = load_pool(session, case.call)
    regions = allowed_regions(case, user)
    mine = {link.partner_city_id for link in case.partner_links}
    free = [p for p in pool.free(but_for=case.id) if p.region in regions and p.id not in mine]
    before = {p for _, p in earlier_proposals(session, [case.id])} - mine
    result = CaseSuggestions(case=case, regions=regions, blocker=proposal_blocker(case, user),
                             free_count=len(free), action=proposing_transition(case))
    me = pool.profiles[case.id]
    if result.blocker is None:
        found = suggest(me, [pool.partner_profiles[p.id] for p in free], pool.scorer,
                        limit=limit, regions=regions)
        result.suggestions = [_reasons(s, pool.partners[s.partner.key], s.partner.key in before)
                              for s in found]
    for partner_city in case.partners:
        partner = pool.partner_profiles.get(partner_city.id) or partner_profile(partner_city)
        result.partners.append(_reasons(pool.scorer.explain(me, partner), partner_city))
    return result


def propose(case_id: int, user: User, partner_city_id: int, *, expected_version: int | None,
            source_address: str = "") -> case_ops.Fired:
    """Propose one partner city for one case, kept to the regions the case may be paired in:
    the first proposal (``propose_pairing``), or one more partner for a pairing already
    proposed (``add_partner``)."""
    case = db.session.get(Case, case_id)
    partner = db.session.get(PartnerCity, partner_city_id)
    transition = PROPOSE
    if case is not None and can_view_case(user, case):
        transition = proposing_transition(case)
        problem = partner is not None and region_problem(case, partner, user)
        if problem:
            raise Refused("This partner city cannot be proposed for this case.", (problem,))
    return case_ops.fire(case_id, transition, user, {"partner_city_id": partner_city_id},
                         expected_version=expected_version, source_address=source_address)


def remove_partner(case_id: int, user: User, partner_city_id: int, *,
                   expected_version: int | None, source_address: str = "") -> case_ops.Fired:
    """Take one partner out of a proposed pairing before it is accepted; removing the only
    one sends the case back to those awaiting pairing."""
    return case_ops.fire(case_id, REMOVE_PARTNER, user, {"partner_city_id": partner_city_id},
                         expected_version=expected_version, source_address=source_address)


