"""The workflow engine: a declarative table of states and transitions, and a pure planner.

The engine decides; it never writes. Given a snapshot of a case (``CaseFacts``), an actor and
the time, it answers which transitions the actor may fire now, why the others are refused, and
what firing one does (the target state, the deadlines it starts and stops, the notifications it
sends, the hooks the operations layer must run). The operations layer applies that plan in one
database transaction.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from workflows.refusal import N_, Refusal, Term, refusal

if TYPE_CHECKING:
    from workflows.vocabulary import Vocabulary


class StateKind(enum.StrEnum):
    """What a state means, so automations never read meaning from a state's name."""

    DRAFT = "draft"  # the applicant is still writing
    REVIEW = "review"  # a coordinator must decide
    APPLICANT_ACTION = "applicant_action"  # the applicant must answer
    WAITING = "waiting"  # waiting for a match or for the parties
    ACTIVE = "active"  # cooperation running
    SUCCESS = "success"  # terminal, the case reached its goal
    CLOSED = "closed"  # terminal, the case ended without reaching its goal

    @property
    def terminal(self) -> bool:
        return self in (StateKind.SUCCESS, StateKind.CLOSED)


class Role(enum.StrEnum):
    """Who may fire a transition."""

    APPLICANT = "applicant"
    PARTNER = "partner"
    COORDINATOR = "coordinator"
    ADMIN = "admin"
    SYSTEM = "system"


class Purpose(enum.StrEnum):
    """What a transition is for, so the shell finds "the plan's submission" or "the
    signature" by asking the definition, never by a transition's or a guard's name. A
    definition gives each purpose to at most one transition."""

    SUBMIT_APPLICATION = "submit_application"
    REQUEST_INFORMATION = "ask_for_information"
    PROVIDE_INFORMATION = "answer_information_request"
    DECLARE_ELIGIBLE = "find_eligible"
    DECLARE_INELIGIBLE = "find_ineligible"
    SELECT = "select_after_scoring"  # needs the evaluators' scores
    REJECT = "reject_after_scoring"
    PROPOSE_PARTNER = "propose_partner"
    ACCEPT_PARTNER = "accept_partner"
    DECLINE_PARTNER = "decline_partner"
    ADD_PARTNER = "add_partner_city"  # one more partner beside those proposed
    REMOVE_PARTNER = "remove_partner_city"  # take one out before they all accepted
    CANCEL_PAIRING = "cancel_partnership"
    SIGN_AGREEMENT = "sign_agreement"
    CLOSE_COOPERATION = "end_cooperation_period"
    SUBMIT_PLAN = "submit_plan"
    APPROVE_PLAN = "approve_plan"
    REVISE_PLAN = "send_plan_back"
    WITHDRAW = "withdraw_application"
    TERMINATE = "end_cooperation_early"
    REOPEN = "reopen_case"


class Hook(enum.StrEnum):
    """The hooks the operations layer implements; definitions name them on a state (run on
    entering) or a transition (run before the move)."""

    RUN_ELIGIBILITY = "run_eligibility"  # store the automatic eligibility verdicts
    RESET_PAIRING = "reset_pairing"  # the pairing is void: forget acceptances and signatures
    GENERATE_AGREEMENT = "generate_agreement"  # render the agreement, version it, hash it
    START_COOPERATION = "start_cooperation"  # fix the start date, create the schedule
    START_FOLLOW_UP = "start_follow_up"  # open the follow-up report deadline
    STAMP_SUBMISSION = "stamp_submission"  # record when the application was submitted
    SET_PARTNER = "set_partner"  # attach the proposed partner to the case, as its lead
    ADD_PARTNER = "add_partner"  # attach one more partner to a proposed pairing
    FLAG_SECTIONS = "flag_sections"  # open the sections an information request names


class Anchor(enum.StrEnum):
    """What a deadline's due time is counted from."""

    ENTERED = "entered"  # the moment the case entered the state
    CALL_CLOSES = "call_closes"  # the call's closing time (or the case's extension)
    PAYLOAD = "payload"  # a time given by the actor, e.g. an information-request deadline


@dataclass(frozen=True)
class Reminder:
    """A reminder sent ``offset`` relative to a deadline's due time (negative = before)."""

    offset: timedelta
    to: tuple[str, ...]  # recipient groups: applicant, partner, parties, coordinator
    template: str
    unless_done_by: str | None = None  # a party fact that, when true for a recipient, skips it


@dataclass(frozen=True)
class DeadlineSpec:
    """A deadline a state starts; it ends (met or cancelled) when the case leaves the state."""

    kind: str
    label: str
    anchor: Anchor
    after: timedelta = timedelta(0)
    payload_field: str | None = None
    reminders: tuple[Reminder, ...] = ()


#: the kind of every deliverable's deadline, which the cooperation's schedule starts
DELIVERABLE_DEADLINE = "deliverable"


@dataclass(frozen=True)
class Notify:
    """A notification a transition sends at once."""

    template: str
    to: tuple[str, ...]
    optional: bool = False  # optional mail may be switched off or batched by the recipient
    #: the kind of the deadline the mail announces (its date and calendar event go with it):
    #: one the target state starts, or a deliverable's
    deadline: str | None = None


@dataclass(frozen=True, kw_only=True)
class State:
    """One state of a case, with a label for staff, one for applicants, and its kind."""

    name: str
    kind: StateKind
    staff_label: str
    applicant_label: str
    stage: str  # the step of the progress bar this state belongs to
    future_label: str = ""  # shown before the case gets here
    deadlines: tuple[DeadlineSpec, ...] = ()
    on_enter: tuple[Hook, ...] = ()  # hooks the operations layer runs on entering
    editable_by_applicant: bool = False


class FieldSource(enum.StrEnum):
    """Who gives a transition's field; a request can never set a ``RECORDED`` one."""

    FORM = "form"  # the actor types it on the transition's form (or sends it to the API)
    SCREEN = "screen"  # the transition's own screen (or an API caller) sends it; no form field
    RECORDED = "recorded"  # the operations layer records it (a signature's id and hash)


#: the types a field may have; ``id`` is a positive whole number, ``choices`` a list of names
FIELD_TYPES = ("text", "datetime", "date", "id", "choices")

#: names the notification context and the e-mail layout give themselves, so no field may
#: take them and nothing a person types can stand in for them
RESERVED_FIELD_NAMES = frozenset({
    "case_id", "reference", "party", "transition", "from_state", "to_state", "actor",
    "partner", "staff_only", "action_url", "action_label", "recipient_name", "case",
    "case_url", "deadline", "notification", "url", "local",
})


@dataclass(frozen=True)
class Field:
    """Something given when firing a transition (a reason, a deadline, a partner city ...)."""

    name: str
    label: str
    #: one of FIELD_TYPES; a "choices" field is a list of names among those the operations
    #: layer offers for it (e.g. the application's sections)
    type: str = "text"
    required: bool = True
    hint: str = ""
    source: FieldSource = FieldSource.FORM


@dataclass(frozen=True, kw_only=True)
class Transition:
    """A named move from one of ``sources`` to ``target``.

    ``each_party`` transitions are fired once by every party (e.g. accepting a pairing); the
    case moves to ``target`` only when the last party has fired it.

    ``drops_party`` transitions take one partner out of a case that has several (the actor's
    own party, or the one the payload names as ``party``) without moving it; the case moves to
    ``target`` only when no partner would be left. When every party that stays has already
    done what an each-party transition out of the state waits for, the case moves on as that
    transition would have.
    """

    name: str
    purpose: Purpose | None = None  # what the shell asks the definition for
    sources: tuple[str, ...]
    target: str
    roles: tuple[Role, ...]
    label: str
    guards: tuple[str, ...] = ()
    fields: tuple[Field, ...] = ()
    notify: tuple[Notify, ...] = ()
    each_party: str | None = None  # the party fact recorded per party, e.g. "accepted_pairing"
    automatic: bool = False  # the system fires it by itself when its guards hold
    effects: tuple[Hook, ...] = ()  # hooks the operations layer runs before the move
    screen: str | None = None  # the dedicated page that fires it (agreement, plan, pairing)
    style: str = "primary"  # how a button shows it: primary, secondary, warning
    drops_party: bool = False  # with several partners, takes one out instead of moving

    @property
    def form_fields(self) -> tuple[Field, ...]:
        """The fields a person fills in on the transition's form."""
        return tuple(f for f in self.fields if f.source is FieldSource.FORM)

    @property
    def request_fields(self) -> tuple[Field, ...]:
        """The fields a request may carry: the form's and the screen's, never recorded ones."""
        return tuple(f for f in self.fields if f.source is not FieldSource.RECORDED)


@dataclass
class CaseFacts:
    """What the guards may look at: a plain snapshot of one case, built by the operations layer.

    The engine never loads anything; everything a guard needs is here or in ``extra``.
    """

    state: str
    now: datetime
    call_opens_at: datetime | None = None
    call_closes_at: datetime | None = None
    extension_until: datetime | None = None
    missing_sections: list[str] = field(default_factory=list)
    missing_commitments: list[Any] = field(default_factory=list)  # labels or Refusals
    failed_rules: list[str] = field(default_factory=list)
    #: party keys, the applicant first, then each partner, e.g. ("applicant", "partner:3")
    parties: tuple[str, ...] = ()
    party_facts: dict[str, set[str]] = field(default_factory=dict)  # party -> facts done
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Actor:
    """Who fires a transition: a role and, for parties, which party they speak for."""

    role: Role
    party: str | None = None
    user_id: int | None = None


#: a guard says why it fails (one Refusal, or several sentences), or None when it holds
GuardFn = Callable[[CaseFacts, Mapping[str, Any]], "Refusal | tuple[Refusal, ...] | None"]


@dataclass(frozen=True)
class Guard:
    """A named precondition; ``check`` returns None when it holds, else the Refusal."""

    name: str
    check: GuardFn
    description: str
    #: judged on what the actor sends (a reason, a partner ...), so unknown before the form
    needs_input: bool = False
    #: the keys of ``CaseFacts.extra`` it reads, which the operations layer must provide
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Option:
    """One transition as seen by one actor now: allowed, or refused with reasons."""

    transition: Transition
    allowed: bool
    reasons: tuple[Refusal, ...] = ()


@dataclass(frozen=True)
class Effects:
    """What firing a transition does; the operations layer applies it in one transaction."""

    transition: Transition
    source: str
    target: str  # equals source when an each-party transition still waits for other parties
    moved: bool
    party_fact: tuple[str, str] | None  # (party, fact) recorded by an each-party transition
    deadlines_started: tuple[DeadlineSpec, ...]
    deadlines_ended: tuple[DeadlineSpec, ...]
    notifications: tuple[Notify, ...]
    hooks: tuple[Hook, ...]
    effects: tuple[Hook, ...] = ()
    dropped_party: str | None = None  # the partner a drops-party transition takes out


class TransitionRefused(Exception):
    """Raised when a transition may not be fired; ``reasons`` are for people."""

    def __init__(self, transition: str, reasons: Iterable[Refusal]):
        self.transition = transition
        self.reasons = tuple(reasons)
        super().__init__(f"{transition}: " + "; ".join(r.english for r in self.reasons))


class DefinitionError(Exception):
    """A workflow definition that cannot work (unreachable state, dead end, unknown name)."""


@dataclass
class Workflow:
    """A workflow definition: states, transitions and the guards they name."""

    kind: str
    title: str
    initial: str
    states: tuple[State, ...]
    transitions: tuple[Transition, ...]
    guards: Mapping[str, Guard]
    hooks: frozenset[Hook] = frozenset()
    #: what this kind of call calls things and asks for; every shipped definition has one
    vocabulary: Vocabulary | None = None
    _by_name: dict[str, State] = field(init=False, repr=False)
    _transitions: dict[str, Transition] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name = {s.name: s for s in self.states}
        self._transitions = {t.name: t for t in self.transitions}

    # -- lookups -------------------------------------------------------------------------
    def state(self, name: str) -> State:
        """The state called ``name``; KeyError for an undeclared one."""
        return self._by_name[name]

    def transition(self, name: str) -> Transition:
        """The transition called ``name``; KeyError for an undeclared one."""
        return self._transitions[name]

    def has_state(self, name: str) -> bool:
        return name in self._by_name

    def has_transition(self, name: str) -> bool:
        return name in self._transitions

    def for_purpose(self, purpose: Purpose) -> Transition | None:
        """The transition declared for ``purpose``, or None when this kind has none."""
        return next((t for t in self.transitions if t.purpose is purpose), None)

    def name_for(self, transition: str | Purpose) -> str:
        """A transition's name, given it or its purpose (an undeclared purpose stays as it is,
        naming no transition)."""
        if isinstance(transition, Purpose):
            found = self.for_purpose(transition)
            return found.name if found else transition.value
        return transition

    def serves(self, transition: str, *purposes: Purpose) -> bool:
        """Whether the transition called ``transition`` is declared for one of ``purposes``."""
        t = self._transitions.get(transition)
        return t is not None and t.purpose in purposes

    def offers(self, state: str, purpose: Purpose) -> bool:
        """Whether the transition for ``purpose`` leaves ``state``."""
        found = self.for_purpose(purpose)
        return found is not None and state in found.sources

    def sources_of(self, *purposes: Purpose) -> list[str]:
        """The states the transitions for ``purposes`` leave, in declaration order."""
        sources = {s for p in purposes if (t := self.for_purpose(p)) for s in t.sources}
        return [s.name for s in self.states if s.name in sources]

    def targets_of(self, *purposes: Purpose) -> list[str]:
        """The states the transitions for ``purposes`` lead to, in declaration order."""
        targets = {t.target for p in purposes if (t := self.for_purpose(p))}
        return [s.name for s in self.states if s.name in targets]

    def states_entering(self, hook: Hook) -> list[str]:
        """The states that run ``hook`` on entering."""
        return [s.name for s in self.states if hook in s.on_enter]

    def facts_needed(self, state: str) -> set[str]:
        """The facts the guards of the ways out of ``state`` read."""
        return {n for t in self.outgoing(state) for g in t.guards if g in self.guards
                for n in self.guards[g].needs}

    @property
    def scores_applications(self) -> bool:
        """Whether evaluators score applications before one is selected."""
        return self.for_purpose(Purpose.SELECT) is not None

    def stages(self) -> list[str]:
        """The progress-bar steps, in declaration order, without terminal failure states."""
        seen: list[str] = []
        for s in self.states:
            if s.kind is not StateKind.CLOSED and s.stage not in seen:
                seen.append(s.stage)
        return seen

    def outgoing(self, state: str) -> list[Transition]:
        return [t for t in self.transitions if state in t.sources]

    def states_of_kind(self, *kinds: StateKind) -> list[str]:
        return [s.name for s in self.states if s.kind in kinds]

    # -- planning ------------------------------------------------------------------------
    def options(
        self, facts: CaseFacts, actor: Actor, payload: Mapping[str, Any] | None = None
    ) -> list[Option]:
        """Every transition leaving the current state that this actor's role may fire.

        Each comes with ``allowed`` and, when refused, every failed guard's reason, so a
        screen can show a disabled button with its explanation. Without a payload, guards that
        judge the actor's input are left for the moment the form is sent.
        """
        skip_input = payload is None
        result = []
        for t in self.outgoing(facts.state):
            if actor.role not in t.roles:
                continue
            result.append(Option(t, *self._check(t, facts, actor, payload or {}, skip_input)))
        return result

    def _check(
        self, t: Transition, facts: CaseFacts, actor: Actor, payload: Mapping[str, Any],
        skip_input: bool = False,
    ) -> tuple[bool, tuple[Refusal, ...]]:
        reasons: list[Refusal] = []
        if t.each_party:
            if actor.role is not Role.SYSTEM and actor.party not in facts.parties:
                reasons.append(refusal("not_a_party",
                                       N_("Only a party to this pairing can do this.")))
            elif t.each_party in facts.party_facts.get(actor.party or "", set()):
                reasons.append(refusal("already_done", N_(
                    "You have already done this; waiting for the other party.")))
        for name in t.guards:
            if skip_input and self.guards[name].needs_input:
                continue
            reason = self.guards[name].check(facts, payload)
            if isinstance(reason, tuple):
                reasons.extend(reason)
            elif reason:
                reasons.append(reason)
        return (not reasons, tuple(reasons))

    def missing_fields(self, t: Transition, payload: Mapping[str, Any]) -> list[str]:
        """Labels of the required fields the payload leaves empty."""
        return [
            f.label
            for f in t.fields
            if f.required and str(payload.get(f.name) or "").strip() == ""
        ]

    def plan(
        self,
        facts: CaseFacts,
        actor: Actor,
        transition: str,
        payload: Mapping[str, Any] | None = None,
    ) -> Effects:
        """The effects of ``actor`` firing ``transition`` now, or TransitionRefused."""
        payload = payload or {}
        if not self.has_transition(transition):
            raise TransitionRefused(transition, [refusal(
                "no_such_action", N_("There is no action called %(action)s."),
                action=repr(transition))])
        t = self.transition(transition)
        if facts.state not in t.sources:
            current = self.state(facts.state)
            raise TransitionRefused(transition, [refusal(
                "wrong_state", N_("This is not possible now: the case is at “%(state)s”."),
                state=Term(current.staff_label))])
        if actor.role not in t.roles:
            raise TransitionRefused(transition, [refusal(
                "role_not_allowed", N_("Your role does not allow this action."))])
        missing = self.missing_fields(t, payload)
        if missing:
            raise TransitionRefused(transition, [
                refusal("field_missing", N_("Please give: %(field)s."), field=Term(label))
                for label in missing])
        allowed, reasons = self._check(t, facts, actor, payload)
        if not allowed:
            raise TransitionRefused(transition, reasons)

        if t.drops_party:
            named = payload.get("party")
            dropped = named or actor.party
            partners = facts.parties[1:]
            if named and named not in partners:
                raise TransitionRefused(transition, ["That partner is not part of this "
                                                     "pairing."])
            if dropped in partners and len(partners) > 1:
                return self._drop(t, facts, dropped)

        party_fact = None
        moved = True
        if t.each_party:
            party = actor.party or ""
            party_fact = (party, t.each_party)
            others = [
                p
                for p in facts.parties
                if p != party and t.each_party not in facts.party_facts.get(p, set())
            ]
            moved = not others
        source = self.state(facts.state)
        if not moved:
            return Effects(t, source.name, source.name, False, party_fact, (), (), (), (),
                           t.effects)
        target = self.state(t.target)
        reentering = target.name == source.name
        return Effects(
            transition=t,
            source=source.name,
            target=target.name,
            moved=True,
            party_fact=party_fact,
            deadlines_started=target.deadlines,
            deadlines_ended=source.deadlines,
            notifications=t.notify,
            hooks=() if reentering and not target.on_enter else target.on_enter,
            effects=t.effects,
        )

    def _drop(self, t: Transition, facts: CaseFacts, dropped: str) -> Effects:
        source = self.state(facts.state)
        staying = [p for p in facts.parties if p != dropped]
        for done in self.outgoing(facts.state):
            # The one who left was the last the others waited for: they go on without it.
            if done.each_party and all(done.each_party in facts.party_facts.get(p, set())
                                       for p in staying):
                target = self.state(done.target)
                return Effects(t, source.name, target.name, True, None, target.deadlines,
                               source.deadlines, t.notify + done.notify, target.on_enter,
                               t.effects, dropped_party=dropped)
        return Effects(t, source.name, source.name, False, None, (), (), t.notify, (),
                       t.effects, dropped_party=dropped)

    def automatic_due(self, facts: CaseFacts) -> Transition | None:
        """The first automatic transition out of the current state whose guards hold now."""
        system = Actor(Role.SYSTEM)
        for t in self.outgoing(facts.state):
            if t.automatic and Role.SYSTEM in t.roles and self._check(t, facts, system, {})[0]:
                return t
        return None

    # -- validation and rendering --------------------------------------------------------
    def validate(self, templates: Iterable[str] | None = None) -> list[str]:
        """Every problem with this definition, as sentences; empty when it is sound.

        Checks: unique names, the initial state exists, every transition names declared
        states, guards and roles, every state is reachable from the initial one, every
        non-terminal state has an exit and no terminal state has one (re-opening excepted,
        which must be an admin's), every on-enter hook is known, and, given the set of
        e-mail template names, every notification and reminder names an existing template.
        """
        problems: list[str] = []
        names = [s.name for s in self.states]
        for dup in {n for n in names if names.count(n) > 1}:
            problems.append(f"state {dup!r} is declared twice")
        tnames = [t.name for t in self.transitions]
        for dup in {n for n in tnames if tnames.count(n) > 1}:
            problems.append(f"transition {dup!r} is declared twice")
        purposes = [t.purpose for t in self.transitions if t.purpose is not None]
        for dup in {p for p in purposes if purposes.count(p) > 1}:
            problems.append(f"purpose {dup.value!r} is given to more than one transition")
        if self.initial not in self._by_name:
            problems.append(f"initial state {self.initial!r} is not declared")
        for t in self.transitions:
            for s in (*t.sources, t.target):
                if s not in self._by_name:
                    problems.append(f"transition {t.name!r} names undeclared state {s!r}")
            for g in t.guards:
                if g not in self.guards:
                    problems.append(f"transition {t.name!r} names unknown guard {g!r}")
            if not t.roles:
                problems.append(f"transition {t.name!r} allows no role")
            for h in t.effects:
                if h not in self.hooks:
                    problems.append(f"transition {t.name!r} names unknown hook {h!r}")
            if t.automatic and Role.SYSTEM not in t.roles:
                problems.append(f"automatic transition {t.name!r} must allow the system role")
            fnames = [f.name for f in t.fields]
            for f in t.fields:
                if fnames.count(f.name) > 1:
                    problems.append(f"transition {t.name!r} declares field {f.name!r} twice")
                if f.name in RESERVED_FIELD_NAMES:
                    problems.append(f"transition {t.name!r} field {f.name!r} takes a name the "
                                    "notifications reserve")
                if f.type not in FIELD_TYPES:
                    problems.append(f"transition {t.name!r} field {f.name!r} has unknown type "
                                    f"{f.type!r}")
        reachable = {self.initial}
        frontier = [self.initial]
        while frontier:
            current = frontier.pop()
            for t in self.outgoing(current):
                if t.target not in reachable:
                    reachable.add(t.target)
                    frontier.append(t.target)
        for s in self.states:
            if s.name not in reachable:
                problems.append(f"state {s.name!r} cannot be reached from {self.initial!r}")
            exits = self.outgoing(s.name)
            if not s.kind.terminal and not exits:
                problems.append(f"state {s.name!r} is not terminal and has no way out")
            if s.kind.terminal:
                for t in exits:
                    if t.roles != (Role.ADMIN,):
                        problems.append(f"terminal state {s.name!r} has exit {t.name!r} "
                                        "that is not an admin's")
            for h in s.on_enter:
                if h not in self.hooks:
                    problems.append(f"state {s.name!r} names unknown hook {h!r}")
        for t in self.transitions:
            started = {d.kind for d in self.state(t.target).deadlines} \
                if t.target in self._by_name else set()
            for n in t.notify:
                if n.deadline and n.deadline not in started | {DELIVERABLE_DEADLINE}:
                    problems.append(f"transition {t.name!r} announces deadline {n.deadline!r}, "
                                    f"which state {t.target!r} does not start")
        problems += self._vocabulary_problems()
        if templates is not None:
            known = set(templates)
            for tpl, where in self._templates():
                if tpl not in known:
                    problems.append(f"{where} names missing e-mail template {tpl!r}")
        return problems

    def _vocabulary_problems(self) -> list[str]:
        words = self.vocabulary
        if words is None:
            return ["the definition declares no vocabulary"]
        problems = []
        if self.scores_applications and not words.criteria:
            problems.append("the definition scores applications but its vocabulary has no "
                            "criteria")
        for c in words.criteria:
            if not 0 <= c.threshold <= 5:
                problems.append(f"criterion {c.key!r} has a threshold outside 0–5")
        if words.min_evaluators < 1:
            problems.append("at least one evaluator must score an application")
        keys = [c.key for c in words.commitments]
        if len(set(keys)) != len(keys) or not keys:
            problems.append("the commitments must be named once each, at least one")
        return problems

    def _templates(self) -> Iterable[tuple[str, str]]:
        for t in self.transitions:
            for n in t.notify:
                yield n.template, f"transition {t.name!r}"
        for s in self.states:
            for d in s.deadlines:
                for r in d.reminders:
                    yield r.template, f"deadline {d.kind!r} of state {s.name!r}"

    def templates(self) -> set[str]:
        """Every e-mail template name this definition uses."""
        return {tpl for tpl, _ in self._templates()}

    def mermaid(self) -> str:
        """The definition as a Mermaid ``stateDiagram-v2``, one line per transition."""
        lines = ["stateDiagram-v2", f"    %% {self.title}"]
        for s in self.states:
            lines.append(f'    state "{s.staff_label}" as {s.name}')
        lines.append(f"    [*] --> {self.initial}")
        for t in self.transitions:
            roles = "/".join(r.value for r in t.roles)
            for src in t.sources:
                lines.append(f"    {src} --> {t.target}: {t.name} ({roles})")
        for s in self.states:
            if s.kind.terminal:
                lines.append(f"    {s.name} --> [*]")
        return "\n".join(lines) + "\n"


def deadline_due(
    spec: DeadlineSpec,
    entered_at: datetime,
    call_closes_at: datetime | None,
    payload: Mapping[str, Any],
) -> datetime | None:
    """When a deadline of ``spec`` falls for a case that entered its state at ``entered_at``."""
    if spec.anchor is Anchor.ENTERED:
        return entered_at + spec.after
    if spec.anchor is Anchor.CALL_CLOSES:
        return None if call_closes_at is None else call_closes_at + spec.after
    value = payload.get(spec.payload_field or "")
    return value + spec.after if isinstance(value, datetime) else None
