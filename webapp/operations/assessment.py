"""The assessment by evaluators: scores, their mean and spread, and conflicts of interest,
before a region-to-region application is selected and paired."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from webapp.db import db, utcnow
from webapp.errors import Refused
from webapp.models import (
    Case,
    ConflictOfInterest,
    Score,
    User,
)
from webapp.operations.cooperation.access import (
    _audit,
    _staff_case,
)
from workflows import get_workflow, scoring, vocabulary
from workflows.engine import Purpose, Workflow


def scoring_open(wf: Workflow, state: str) -> bool:
    """Whether the case is in the assessment step: the selection after scoring leaves it."""
    return wf.offers(state, Purpose.SELECT)


def has_scoring(wf: Workflow) -> bool:
    """Whether a workflow assesses applications with scores at all."""
    return wf.scores_applications


def min_evaluators(case: Case) -> int:
    """How many evaluators must score the case's application: the call's
    ``settings["min_evaluators"]``, else its kind's."""
    given = (case.call.settings or {}).get("min_evaluators")
    return int(given) if given else vocabulary(case.workflow).min_evaluators


def score_sets(session: Session, case_ids: Collection[int]) -> dict[int, dict[int, list[Score]]]:
    """Each case's scores by evaluator (user id), in one query."""
    found: dict[int, dict[int, list[Score]]] = {}
    if not case_ids:
        return found
    for s in session.scalars(select(Score).where(Score.case_id.in_(list(case_ids)))
                             .options(selectinload(Score.scored_by))
                             .order_by(Score.scored_by_id, Score.id)):
        found.setdefault(s.case_id, {}).setdefault(s.scored_by_id or 0, []).append(s)
    return found


def _evaluator(scores: list[Score]) -> str:
    who = scores[0].scored_by
    return who.display_name if who else f"evaluator {scores[0].scored_by_id or '?'}"


def assessment_of(case: Case, sets: Mapping[int, list[Score]]) -> scoring.Assessment:
    """The case's assessment from its score sets: means, spreads and what is missing."""
    words = vocabulary(case.workflow)
    return scoring.assess(words.criteria, words.total_threshold,
                          {_evaluator(scores): {s.criterion: s.score for s in scores}
                           for scores in sets.values()}, min_evaluators(case))


def assessments_for(session: Session, cases: Iterable[Case]) -> dict[int, scoring.Assessment]:
    """The assessment of every case that has scores (for a list page: one query)."""
    by_id = {c.id: c for c in cases}
    return {case_id: assessment_of(by_id[case_id], sets)
            for case_id, sets in score_sets(session, by_id).items()}


def conflicts(session: Session, case_id: int) -> list[ConflictOfInterest]:
    """The conflicts of interest declared on a case, oldest first."""
    return list(session.scalars(select(ConflictOfInterest)
                                .where(ConflictOfInterest.case_id == case_id)
                                .options(selectinload(ConflictOfInterest.evaluator))
                                .order_by(ConflictOfInterest.declared_at,
                                          ConflictOfInterest.id)))


def _conflicted(session: Session, case_id: int, user: User) -> bool:
    return session.scalar(select(ConflictOfInterest.id).where(
        ConflictOfInterest.case_id == case_id,
        ConflictOfInterest.evaluator_id == user.id)) is not None


def _scoring_case(session: Session, case_id: int, user: User) -> Case:
    case = _staff_case(session, case_id, user)
    if not scoring_open(get_workflow(case.workflow), case.state):
        raise Refused("Scores can change only while the application is being assessed.")
    return case


def save_scores(case_id: int, user: User, given: Mapping[str, tuple[int, str]], *,
                now: datetime | None = None) -> dict[str, Score]:
    """An evaluator scores an application on every criterion (0–5, with a comment), on their
    own: the scores of other evaluators are left as they are."""
    now = now or utcnow()
    with db.transaction() as session:
        case = _scoring_case(session, case_id, user)
        if _conflicted(session, case.id, user):
            raise Refused("You declared a conflict of interest in this application, so you "
                          "cannot score it.")
        words = vocabulary(case.workflow)
        keys = {c.key: c.label for c in words.criteria}
        unknown = set(given) - set(keys)
        bad = [keys[k] for k, (score, _) in given.items()
               if k in keys and not 0 <= score <= scoring.MAX_SCORE]
        if unknown or bad:
            raise Refused("Give each criterion a score from 0 to 5.", tuple(bad))
        stored = {s.criterion: s for s in session.scalars(select(Score).where(
            Score.case_id == case.id, Score.scored_by_id == user.id))}
        for key, (score, comment) in given.items():
            row = stored.get(key) or Score(case_id=case.id, criterion=key, scored_by_id=user.id)
            row.score, row.comment, row.scored_at = score, comment.strip(), now
            session.add(row)
            stored[key] = row
        _audit(session, case, user, "scores_saved",
               {k: v.score for k, v in stored.items()}, now)
        return stored


def declare_conflict(case_id: int, user: User, statement: str, *,
                     now: datetime | None = None) -> ConflictOfInterest:
    """An evaluator declares a conflict of interest in an application: it is recorded, any
    scores they gave it are withdrawn, and they can no longer score it."""
    now = now or utcnow()
    statement = statement.strip()
    with db.transaction() as session:
        case = _scoring_case(session, case_id, user)
        if not statement:
            raise Refused("Say what your interest in this application is.")
        if _conflicted(session, case.id, user):
            raise Refused("You have already declared a conflict of interest in this "
                          "application.")
        withdrawn = session.execute(delete(Score).where(
            Score.case_id == case.id, Score.scored_by_id == user.id)).rowcount or 0
        declared = ConflictOfInterest(case_id=case.id, evaluator_id=user.id,
                                      statement=statement, declared_at=now)
        session.add(declared)
        _audit(session, case, user, "conflict_declared",
               {"statement": statement, "scores_withdrawn": withdrawn}, now)
        session.flush()
        return declared


