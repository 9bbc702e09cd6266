"""The quick eligibility check: the engine's own rules that need no application yet.

Country, type of organisation and population can be judged from three answers; the other
rules (a group's lead and commitments, the declarations, the deadline, one application per
region) need the application itself, so the check lists them for later.
"""

from __future__ import annotations

from workflows import eligibility

#: the rules the quick check runs, by slug, in the engine's order
QUICK = ("country", "organisation_type", "population")

#: the rules checked only once an application is submitted
LATER: tuple[eligibility.Rule, ...] = tuple(r for r in eligibility.RULES if r.slug not in QUICK)


def run(applicant: eligibility.Applicant,
        call: eligibility.CallRules) -> list[eligibility.RuleResult]:
    """The results of the quick rules, exactly as the engine's rules give them."""
    return [rule.check(applicant, call) for rule in eligibility.RULES if rule.slug in QUICK]


def summary(results: list[eligibility.RuleResult]) -> eligibility.Verdict:
    """The verdict of the quick rules together (fail, needs review or pass)."""
    return eligibility.summary(results)
