"""Properties of the planner over every workflow definition, on random cases, actors and
payloads: random single plans, and random walks that follow what the planner allows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from workflows import workflows
from workflows.engine import Actor, CaseFacts, Effects, Role, TransitionRefused, Workflow
from workflows.refusal import Refusal

pytestmark = pytest.mark.unit

WORKFLOWS = workflows()
KINDS = sorted(WORKFLOWS)
BASE = datetime(2026, 6, 1, 12, tzinfo=UTC)
REGIONS = ("Asia", "Latin America and the Caribbean", "North America")

times = st.builds(lambda hours: BASE + timedelta(hours=hours),
                  st.integers(min_value=-24 * 800, max_value=24 * 800))
maybe_time = st.none() | times
words = st.lists(st.sampled_from(["Contact person", "Commitments", "Topics", "Budget",
                                  "Population", "Country"]), max_size=2, unique=True)
# Empty text, blank text and real text: the engine must treat the first two alike.
texts = st.sampled_from(["", "   ", "Because the council decided so.", "ok"])


@st.composite
def partner(draw) -> dict[str, Any] | None:
    if draw(st.booleans()):
        return None
    return {"id": draw(st.integers(1, 9)), "name": "Rosario",
            "region": draw(st.sampled_from(REGIONS)), "busy": draw(st.booleans())}


@st.composite
def payloads(draw, wf: Workflow) -> dict[str, Any]:
    names = sorted({f.name for t in wf.transitions for f in t.fields} | {"override_reason"})
    payload: dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from(names), unique=True)):
        payload[name] = draw(times if name.endswith("deadline") else texts)
    if draw(st.booleans()):
        payload["partner"] = draw(partner())
    return payload


@st.composite
def facts(draw, wf: Workflow, state: str | None = None,
          party_facts: dict[str, set[str]] | None = None) -> CaseFacts:
    each_party = sorted({t.each_party for t in wf.transitions if t.each_party})
    parties = draw(st.sampled_from([("applicant",), ("applicant", "partner")]))
    if party_facts is None:
        party_facts = {p: set(draw(st.lists(st.sampled_from(each_party), unique=True)))
                       for p in draw(st.lists(st.sampled_from(["applicant", "partner"]),
                                              unique=True))}
    now = draw(times)
    return CaseFacts(
        state=state or draw(st.sampled_from([s.name for s in wf.states])),
        now=now,
        call_opens_at=draw(maybe_time),
        call_closes_at=draw(maybe_time),
        extension_until=draw(maybe_time),
        missing_sections=draw(words),
        missing_commitments=draw(words),
        failed_rules=draw(words),
        parties=parties,
        party_facts={k: set(v) for k, v in party_facts.items()},
        extra={
            "call_partner_regions": draw(st.lists(st.sampled_from(REGIONS), unique=True)),
            "cooperation_ends_at": draw(maybe_time),
            "missing_reports": draw(words),
            "plan_missing": draw(words),
            "final_report_in": draw(st.booleans()),
            # each missing score is a refusal of its own, as workflows.scoring gives them
            "missing_scores": [Refusal("score_missing", w) for w in draw(words)],
            "scores_below_threshold": draw(words),
        },
    )


actors = st.builds(Actor, st.sampled_from(list(Role)),
                   st.sampled_from([None, "applicant", "partner", "someone-else"]))


def transition_names(wf: Workflow):
    return st.sampled_from([t.name for t in wf.transitions] + ["teleport", ""])


def check_plan(wf: Workflow, f: CaseFacts, actor: Actor, name: str,
               payload: dict[str, Any]) -> Effects | None:
    """Plan, and hold the planner to every property; the effects, or None when refused."""
    declared = {s.name for s in wf.states}
    try:
        effects = wf.plan(f, actor, name, payload)
    except TransitionRefused as refused:
        assert refused.reasons and all(isinstance(r, Refusal) and str(r) for r in refused.reasons)
        return None
    t = wf.transition(name)
    # Only a declared transition from this state, by one of its roles, with its fields.
    assert f.state in t.sources and actor.role in t.roles
    assert not wf.missing_fields(t, payload)
    assert effects.source == f.state
    assert effects.target in declared
    # Effects never come with a failing guard: judge every guard here, independently.
    failing = [g for g in t.guards if wf.guards[g].check(f, payload)]
    assert not failing, f"{name} planned although {failing} fail"
    if wf.state(f.state).kind.terminal:
        assert t.roles == (Role.ADMIN,) and actor.role is Role.ADMIN, \
            f"{name} leaves terminal {f.state}"
    if t.each_party:
        assert actor.party in f.parties or actor.role is Role.SYSTEM
        assert t.each_party not in f.party_facts.get(actor.party or "", set())
        assert effects.party_fact == (actor.party or "", t.each_party)
        others_done = all(t.each_party in f.party_facts.get(p, set())
                          for p in f.parties if p != actor.party)
        # The case moves exactly when this was the last party to act.
        assert effects.moved == others_done
    if effects.moved:
        assert effects.target == t.target
        assert effects.deadlines_started == wf.state(t.target).deadlines
        assert effects.deadlines_ended == wf.state(f.state).deadlines
        assert effects.notifications == t.notify
    else:
        assert t.each_party and effects.target == f.state and not effects.notifications
        assert not effects.deadlines_started and not effects.hooks
    return effects


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_plan_keeps_the_planner_s_promises(kind, data):
    wf = WORKFLOWS[kind]
    f = data.draw(facts(wf))
    # Mostly transitions that leave the drawn state, so guards get judged, not just sources.
    leaving = [t.name for t in wf.outgoing(f.state)]
    name = data.draw(st.sampled_from(leaving) if leaving and data.draw(st.booleans())
                     else transition_names(wf))
    check_plan(wf, f, data.draw(actors), name, data.draw(payloads(wf)))


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_options_agree_with_plan(kind, data):
    wf = WORKFLOWS[kind]
    f = data.draw(facts(wf))
    actor = data.draw(actors)
    payload = data.draw(payloads(wf))
    for option in wf.options(f, actor, payload):
        assert f.state in option.transition.sources and actor.role in option.transition.roles
        planned = check_plan(wf, f, actor, option.transition.name, payload)
        if planned is not None:
            assert option.allowed, f"{option.transition.name} planned but shown as refused"
        elif option.allowed:
            # Only a missing field can refuse what the options call allowed.
            assert wf.missing_fields(option.transition, payload)
        else:
            assert option.reasons


class RandomWalk(RuleBasedStateMachine):
    """A case walked through a definition by random people with random facts."""

    def __init__(self) -> None:
        super().__init__()
        self.wf: Workflow = WORKFLOWS[KINDS[0]]
        self.state = self.wf.initial
        self.party_facts: dict[str, set[str]] = {}
        self.visited: list[str] = []

    @initialize(kind=st.sampled_from(KINDS))
    def choose(self, kind: str) -> None:
        self.wf = WORKFLOWS[kind]
        self.state = self.wf.initial
        self.visited = [self.state]

    @rule(data=st.data())
    def act(self, data) -> None:
        wf = self.wf
        f = data.draw(facts(wf, self.state, self.party_facts))
        leaving = [t.name for t in wf.outgoing(self.state)]
        name = data.draw(st.sampled_from(leaving) if leaving else transition_names(wf))
        effects = check_plan(wf, f, data.draw(actors), name, data.draw(payloads(wf)))
        if effects is None:
            return
        if effects.party_fact:
            party, fact = effects.party_fact
            self.party_facts.setdefault(party, set()).add(fact)
        if effects.moved:
            self.state = effects.target
            self.visited.append(self.state)
            # Entering a state where the pairing is void forgets every party's acts.
            if "reset_pairing" in effects.hooks:
                self.party_facts = {}

    @invariant()
    def the_case_is_always_in_a_declared_state(self) -> None:
        assert self.state in {s.name for s in self.wf.states}


RandomWalk.TestCase.settings = settings(max_examples=40, stateful_step_count=40, deadline=None,
                                        suppress_health_check=[HealthCheck.too_slow])
TestRandomWalk = RandomWalk.TestCase


def test_random_walks_can_reach_the_end():
    """The walk is not vacuous: a guided walk through the city-to-city definition completes."""
    wf = WORKFLOWS["city-to-city"]
    good = CaseFacts(state="draft", now=BASE, parties=("applicant", "partner"),
                     extra={"cooperation_ends_at": BASE - timedelta(days=1),
                            "final_report_in": True})
    staff, applicant = Actor(Role.COORDINATOR), Actor(Role.APPLICANT, "applicant")
    partner_actor = Actor(Role.PARTNER, "partner")
    steps = [("submit", applicant, {}), ("declare_eligible", staff, {}),
             ("propose_pairing", staff, {"partner": {"id": 1, "name": "Rosario",
                                                     "region": "Asia", "busy": False}}),
             ("accept_pairing", applicant, {}), ("accept_pairing", partner_actor, {}),
             ("sign", partner_actor, {"signature_id": 1}),
             ("sign", applicant, {"signature_id": 2}),
             ("close_cooperation", staff, {}),
             ("submit_lap", applicant, {"plan_hash": "frozen"}),
             ("approve_lap", staff, {})]
    for name, actor, payload in steps:
        effects = check_plan(wf, good, actor, name, payload)
        assert effects is not None, name
        if effects.party_fact:
            good.party_facts.setdefault(effects.party_fact[0], set()).add(effects.party_fact[1])
        if effects.moved:
            good.state = effects.target
            good.party_facts = {} if "reset_pairing" in effects.hooks else good.party_facts
    assert good.state == "completed"
    assert check_plan(wf, good, Actor(Role.ADMIN), "withdraw", {"reason": "x"}) is None
