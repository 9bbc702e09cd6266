"""What the operations layer runs for the names the workflow definitions give, assembled in
this one place: each hook's implementation, the facts guards read, the bookkeeping after every
transition, and what the case list and timeline add.

Nothing registers itself by being imported: ``wiring()`` builds the whole table the first time
it is asked (importing the feature modules then), so a bare ``import
webapp.operations.cases`` already fires transitions with every hook in place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from workflows.engine import Hook

if TYPE_CHECKING:
    from webapp.models import Case, User

#: a hook's implementation: (session, case, the transition's payload, now)
HookFn = Callable[["Session", "Case", Mapping[str, Any], datetime], None]
#: the bookkeeping every transition needs, whoever fired it
AfterTransition = Callable[["Session", "Case", str, "User | None", Mapping[str, Any],
                            datetime], None]


@dataclass(frozen=True)
class FactProvider:
    """Reads the facts named in ``provides`` (keys of ``CaseFacts.extra``) for a case; it is
    asked only when a guard ahead needs one of them (``Guard.needs``)."""

    provides: frozenset[str]
    read: Callable[[Session, Case, datetime, frozenset[str]], dict[str, Any]]


@dataclass(frozen=True)
class Wiring:
    #: each hook the definitions may name, with what runs for it, in order
    hooks: Mapping[Hook, tuple[HookFn, ...]]
    facts: tuple[FactProvider, ...]
    after_transition: tuple[AfterTransition, ...]
    #: SQL expressions of a case's health for the case list (0 on track ... 2 off track)
    health: tuple[Callable[[datetime], ColumnElement[int]], ...]
    #: items features add to a case's timeline: (case, staff) -> items
    timeline: tuple[Callable[[Case, bool], list[dict[str, Any]]], ...]


def _at(fn: Callable[[Session, Case, datetime], Any]) -> HookFn:
    """A hook from a function that needs no payload."""

    def run(session: Session, case: Case, payload: Mapping[str, Any], now: datetime) -> None:
        fn(session, case, now)

    run.__name__ = getattr(fn, "__name__", "hook")
    return run


def assemble() -> Wiring:
    """The whole wiring, from the modules that implement it."""
    from webapp.operations import agreements, cases, cooperation, lap

    return Wiring(
        hooks={
            Hook.STAMP_SUBMISSION: (cases.stamp_submission,),
            Hook.FLAG_SECTIONS: (cases.flag_sections,),
            Hook.SET_PARTNER: (cases.set_partner,),
            Hook.ADD_PARTNER: (cases.add_partner,),
            Hook.RESET_PAIRING: (cases.reset_pairing,),
            Hook.RUN_ELIGIBILITY: (_at(cases.run_eligibility),),
            Hook.START_COOPERATION: (cases.fix_cooperation_period,
                                     _at(cooperation.create_schedule)),
            Hook.GENERATE_AGREEMENT: (_at(agreements.generate),),
            Hook.START_FOLLOW_UP: (_at(cooperation.start_follow_up),),
        },
        facts=(
            FactProvider(frozenset({"missing_reports", "final_report_in"}),
                         cooperation.report_facts),
            FactProvider(frozenset({"plan_missing"}), cooperation.plan_facts),
            FactProvider(frozenset({"missing_scores", "scores_below_threshold"}),
                         cooperation.scoring_facts),
        ),
        after_transition=(lap.record_review,),
        health=(cooperation.health_severity,),
        timeline=(cooperation.timeline_items,),
    )


@cache
def wiring() -> Wiring:
    """The wiring, assembled once."""
    return assemble()
