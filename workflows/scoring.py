"""The assessment of an application by several evaluators (SPEC §4, region-to-region call).

Each evaluator scores every criterion from 0 to 5 on their own; the assessment is the mean of
their scores per criterion and in total, with the spread (highest minus lowest) that shows
where they disagree. An application is ready for a decision once enough evaluators have scored
it, and it meets the call's bar when every mean reaches its threshold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from workflows.refusal import N_, Refusal, Term, refusal
from workflows.vocabulary import Criterion

MAX_SCORE = 5


@dataclass(frozen=True)
class Tally:
    """The scores given on one criterion (or their totals): mean, spread and how many."""

    mean: float | None
    spread: int | None
    count: int

    @staticmethod
    def of(values: Sequence[int]) -> Tally:
        if not values:
            return Tally(None, None, 0)
        return Tally(sum(values) / len(values), max(values) - min(values), len(values))


@dataclass(frozen=True)
class Assessment:
    """Where the scoring of one application stands."""

    criteria: dict[str, Tally]
    total: Tally
    #: evaluators who scored every criterion
    evaluators: int
    min_evaluators: int
    #: what must still happen before a decision, as sentences said in the reader's language
    missing: list[Refusal]
    #: the means below their threshold, as phrases said in the reader's language
    below: list[Refusal]

    @property
    def ready(self) -> bool:
        return not self.missing


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def assess(criteria: Sequence[Criterion], total_threshold: float,
           score_sets: Mapping[str, Mapping[str, int]], min_evaluators: int) -> Assessment:
    """The assessment from each evaluator's scores (evaluator name -> {criterion: score}).

    Only complete score sets count: an evaluator who left a criterion out is named instead.
    """
    keys = [c.key for c in criteria]
    complete = {who: s for who, s in score_sets.items() if all(k in s for k in keys)}
    missing: list[Refusal] = []
    partial = sorted(who for who in score_sets if who not in complete)
    if partial:
        missing.append(refusal("scores_partial", N_("Not every criterion is scored by "
                                                    "%(evaluators)s."),
                               evaluators=", ".join(partial)))
    if len(complete) < min_evaluators:
        done = len(complete)
        missing.append(refusal("too_few_evaluators", N_(
            "%(needed)s evaluators must score the application; %(done)s has so far.")
            if done == 1 else N_(
            "%(needed)s evaluators must score the application; %(done)s have so far."),
            needed=min_evaluators, done=done))
    tallies = {c.key: Tally.of([s[c.key] for s in complete.values()]) for c in criteria}
    total = Tally.of([sum(s[k] for k in keys) for s in complete.values()])
    below: list[Refusal] = []
    if complete:
        for c in criteria:
            mean = tallies[c.key].mean or 0
            if mean < c.threshold:
                below.append(refusal("criterion_below_threshold", N_(
                    "%(criterion)s (mean %(mean)s of %(max)s, at least %(threshold)s needed)"),
                    criterion=Term(c.label), mean=_number(mean), max=MAX_SCORE,
                    threshold=_number(c.threshold)))
        if (total.mean or 0) < total_threshold:
            below.append(refusal("total_below_threshold", N_(
                "the total (mean %(mean)s of %(max)s, at least %(threshold)s needed)"),
                mean=_number(total.mean or 0), max=MAX_SCORE * len(criteria),
                threshold=_number(total_threshold)))
    return Assessment(tallies, total, len(complete), min_evaluators, missing, below)
