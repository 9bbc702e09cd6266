"""What a call kind calls things and what it asks for, declared with its workflow definition.

Pages, e-mails, forms and rules ask a case's definition (``get_workflow(kind).vocabulary``)
what its plan, agreement and partners are called, which organisations may apply, which
commitments they give, what the plan is made of and how applications are scored, instead of
testing the call kind's name. Every label is English and translated where it is shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from workflows.lap import PlanDefinition


@dataclass(frozen=True)
class Commitment:
    """A declaration an applicant gives; ``%(n)s`` in the label is the cooperation length."""

    key: str
    label: str

    def text(self, months: int) -> str:
        """The label with the call's cooperation length filled in (English)."""
        return self.label % {"n": months} if "%(n)s" in self.label else self.label


@dataclass(frozen=True)
class Criterion:
    """A selection criterion scored 0–5; ``threshold`` is the lowest acceptable mean."""

    key: str
    label: str
    threshold: float


@dataclass(frozen=True)
class Vocabulary:
    """The words and the asks of one call kind."""

    #: what applies: "city" or "region"
    applicant_noun: str
    #: who may apply, in a sentence: "a city, a municipality or a group of municipalities"
    applicant_description: str
    #: said where an organisation chooses its type: who applies elsewhere
    applicant_hint: str
    #: the organisation types the kind accepts (a call may narrow them)
    applicant_types: tuple[str, ...]
    #: how a sentence names a call of this kind, e.g. "a region-to-region call"
    call_name: str
    #: which partners it pairs with: the ``kind`` of a partner (city or region)
    partner_kind: str
    #: "partner city" in a sentence, "Partner city" as a heading
    partner_noun: str
    partner_title: str
    #: "Local Action Plan" in a sentence, and as a heading or a link
    plan_name: str
    plan_title: str
    agreement_name: str
    commitments: tuple[Commitment, ...]
    plan: PlanDefinition
    #: organisation types a coordinator judges (e.g. metropolitan bodies)
    review_types: tuple[str, ...] = ()
    #: the selection criteria and the lowest acceptable mean total (none: no scoring)
    criteria: tuple[Criterion, ...] = ()
    total_threshold: float = 0
    #: how many evaluators must score an application before it is selected (per call too)
    min_evaluators: int = 2
    #: the key of the programme target its cooperations count toward (Programme.targets)
    programme_target: str = ""
    #: the draft plan falls due after this share of the cooperation (numerator, denominator)
    draft_plan_share: tuple[int, int] = (2, 3)

    def commitment_labels(self, months: int) -> dict[str, str]:
        """The commitments by key, with the cooperation length in their text (English)."""
        return {c.key: c.text(months) for c in self.commitments}

    def criterion(self, key: str) -> Criterion | None:
        """The criterion called ``key``, or None."""
        return next((c for c in self.criteria if c.key == key), None)


def referrals(vocabularies: Mapping[str, Vocabulary], kind: str) -> dict[str, tuple[str, str]]:
    """For a call of ``kind``: each organisation type another kind accepts, with that kind and
    how a sentence names its calls, so a refusal can point to the right call."""
    found: dict[str, tuple[str, str]] = {}
    for other, words in vocabularies.items():
        if other == kind:
            continue
        for org_type in (*words.applicant_types, *words.review_types):
            own = vocabularies[kind]
            if org_type not in (*own.applicant_types, *own.review_types):
                found.setdefault(org_type, (other, words.call_name))
    return found
