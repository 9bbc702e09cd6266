"""The dashboard's figures: read from the tallies the transactions keep, so their cost follows
the number of calls, regions, topics and days, not of cases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy import case as sql_case

from webapp.access import programme_scope, visible_cases
from webapp.db import db, utcnow
from webapp.i18n import region_name
from webapp.models import (
    Call,
    Case,
    Deadline,
    DeadlineStatus,
    Deliverable,
    Programme,
    Tally,
    Topic,
    User,
)
from webapp.operations.caselist.listing import state_order
from webapp.operations.tallies import ALSO
from workflows import schedule, vocabularies, workflows
from workflows.engine import Hook, Purpose, Role, StateKind, Workflow

#: what the programme targets are called, by their key
TARGET_LABELS = {"city_partnerships": _l("City partnerships"),
                 "regional_partnerships": _l("Regional partnerships")}


def target_kinds() -> dict[str, str]:
    """Which calls' cooperations count toward a programme target, by the target's key (each
    call kind's vocabulary names its target)."""
    return {words.programme_target: kind for kind, words in vocabularies().items()}


@dataclass
class Target:
    """Progress toward one of a programme's targets."""

    programme: str
    label: str
    reached: int
    target: int

    @property
    def percent(self) -> int:
        return min(round(100 * self.reached / self.target), 100) if self.target else 100


@dataclass
class Figures:
    """What the dashboard shows, all counted over the cases the viewer may see."""

    #: (call title, state label, count) rows, calls in title order, states in workflow order
    per_call_state: list[tuple[str, str, int]]
    #: (call title, total) per call
    per_call: list[tuple[str, int]]
    eligible: int
    ineligible: int
    pairings_per_region: list[tuple[str, int]]
    pairings_per_topic: list[tuple[str, int]]
    agreements_waiting: int
    active_cooperations: int
    targets: list[Target]
    #: deliverables still awaited that fall due within ``DUE_SOON`` / are past their due time
    deliverables_due_soon: int = 0
    deliverables_overdue: int = 0
    #: deliverables handed in (submitted or accepted), and those handed in by their due time
    deliverables_handed_in: int = 0
    deliverables_on_time: int = 0

    @property
    def decided(self) -> int:
        return self.eligible + self.ineligible

    @property
    def on_time_rate(self) -> int | None:
        """Handed in by the due time ÷ handed in, in percent; None before any hand-in."""
        if not self.deliverables_handed_in:
            return None
        return round(100 * self.deliverables_on_time / self.deliverables_handed_in)

    @property
    def eligibility_rate(self) -> int | None:
        """Eligible ÷ decided, in percent; None before any decision."""
        return round(100 * self.eligible / self.decided) if self.decided else None


def _states_where(test: Callable[[Workflow, Any], bool]) -> list[str]:
    return sorted({s.name for wf in workflows().values() for s in wf.states if test(wf, s)})


def eligibility_decisions() -> tuple[set[str], set[str]]:
    """The transition names that declare a case eligible, and those that declare it not.

    A decision is a coordinator's move out of a state that runs the eligibility rules on
    entering; it is negative when it closes the case, and no decision when it asks the
    applicant for something. (An applicant withdrawing decides nothing.)
    """
    positive: set[str] = set()
    negative: set[str] = set()
    for wf in workflows().values():
        checks = set(wf.states_entering(Hook.RUN_ELIGIBILITY))
        for t in wf.transitions:
            if not checks.intersection(t.sources) or Role.COORDINATOR not in t.roles:
                continue
            kind = wf.state(t.target).kind
            if kind is StateKind.CLOSED:
                negative.add(t.name)
            elif kind is not StateKind.APPLICANT_ACTION and t.target not in checks:
                positive.add(t.name)
    return positive, negative


#: how far ahead the dashboard counts deliverables as falling due soon
DUE_SOON = timedelta(days=30)


def deliverable_figures(scope: Select[Any], now: datetime) -> tuple[int, int, int, int]:
    """(due soon, overdue, handed in, handed in on time) over the deliverables of the cases
    in ``scope``, in one statement.

    A deliverable is awaited while its deadline is open: one a closed or completed case no
    longer owes (its deadline cancelled) is neither due nor overdue.
    """
    awaited = _awaited()
    handed_in = Deliverable.status.in_([s.value for s in schedule.DONE])
    row = db.session.execute(select(
        _counted(and_(awaited, Deliverable.due_at >= now, Deliverable.due_at < now + DUE_SOON)),
        _counted(and_(awaited, Deliverable.due_at < now)),
        _counted(handed_in),
        _counted(and_(handed_in, Deliverable.submitted_at <= Deliverable.due_at)),
    ).where(Deliverable.case_id.in_(scope.with_only_columns(Case.id)))).one()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


def _awaited() -> ColumnElement[bool]:
    return and_(Deliverable.status.in_([s.value for s in schedule.AWAITED]), exists().where(
        Deadline.deliverable_id == Deliverable.id, Deadline.status == DeadlineStatus.OPEN))


def _counted(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(sql_case((condition, 1), else_=0)), 0)


def _region_scoped(user: User) -> bool:
    return bool(user.region_scope) and user.role == "coordinator"


def _tally_scope(user: User, kind: str, *,
                 every_region: bool = False) -> list[ColumnElement[bool]]:
    """The ``kind`` tallies of the cases ``user`` may see: their programmes' calls, their
    region. A case counts once: in its lead partner's region, or in the one region a
    coordinator sees it in; ``every_region`` counts it in each of its regions."""
    where: list[ColumnElement[bool]] = []
    programmes = programme_scope(user)
    if programmes is not None:
        where.append(Tally.call_id.in_(select(Call.id).where(Call.programme_id.in_(programmes))))
    if _region_scoped(user):
        where.append(Tally.region == user.region_scope)
    if _region_scoped(user) or every_region:
        where.append(Tally.kind.in_([kind, kind + ALSO]))
    else:
        where.append(Tally.kind == kind)
    return where


def _day_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _tallied_deliverables(user: User, now: datetime) -> tuple[int, int, int, int]:
    """``deliverable_figures`` from the tallies by due day; the two days a boundary cuts
    (today, and the day 30 days ahead) are counted exactly, from their own deliverables."""
    today, last = _day_start(now), _day_start(now + DUE_SOON)
    day = Tally.due_on

    def summed(bucket: str, condition: ColumnElement[bool] | None = None):
        test = Tally.bucket == bucket if condition is None else and_(Tally.bucket == bucket,
                                                                     condition)
        return _counted_n(test)

    row = db.session.execute(select(
        summed("awaited", and_(day > today.date().isoformat(),
                               day < last.date().isoformat())),
        summed("awaited", day < today.date().isoformat()),
        summed("on_time"), summed("late"))
        .where(*_tally_scope(user, "deliverable"))).one()
    due_soon, overdue, on_time, late = (int(v) for v in row)
    awaited = _awaited()
    cut = [and_(Deliverable.due_at >= today, Deliverable.due_at < today + timedelta(days=1))]
    if last > today:
        cut.append(and_(Deliverable.due_at >= last, Deliverable.due_at < last + timedelta(days=1)))
    edge = db.session.execute(select(
        _counted(and_(Deliverable.due_at >= now, Deliverable.due_at < now + DUE_SOON)),
        _counted(Deliverable.due_at < now))
        .where(awaited, or_(*cut), Deliverable.case_id.in_(
            visible_cases(user).with_only_columns(Case.id)))).one()
    return (due_soon + int(edge[0]), overdue + int(edge[1]), on_time + late, on_time)


def _counted_n(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(sql_case((condition, Tally.n), else_=0)), 0)


def dashboard_figures(user: User, now: datetime | None = None) -> Figures:
    """Every dashboard figure from the tallies, in a fixed number of statements whose cost
    follows the calls, regions, topics and days, not the cases."""
    now = now or utcnow()
    wfs = workflows()
    order = state_order()
    # Every region's case tallies: a pairing counts in each of its regions, the rest once.
    rows = db.session.execute(
        select(Tally.kind, Tally.call_id, Call.title, Call.programme_id, Call.kind,
               Tally.workflow, Tally.state, Tally.paired, Tally.cooperating, Tally.decision,
               Tally.region, func.sum(Tally.n))
        .join(Call, Call.id == Tally.call_id)
        .where(Tally.n != 0, *_tally_scope(user, "case", every_region=True))
        .group_by(Tally.kind, Tally.call_id, Call.title, Call.programme_id, Call.kind,
                  Tally.workflow, Tally.state, Tally.paired, Tally.cooperating,
                  Tally.decision, Tally.region)).all()
    scoped = _region_scoped(user)
    paired = set(_states_where(lambda wf, s: s.kind is not StateKind.CLOSED
                               and s.kind is not StateKind.DRAFT))
    by_call_state: dict[tuple[int, str, str, str], int] = {}
    states: dict[str, int] = {}
    decisions: dict[str, int] = {}
    regions: dict[str, int] = {}
    reached: dict[tuple[int, str], int] = {}
    for tally_kind, call_id, title, programme_id, kind, workflow, state, is_paired, \
            cooperating, decision, region, n in rows:
        if is_paired and state in paired:
            regions[region] = regions.get(region, 0) + n
        if tally_kind != "case" and not scoped:
            continue  # the case counted in its lead partner's region
        by_call_state[(call_id, title, workflow, state)] = \
            by_call_state.get((call_id, title, workflow, state), 0) + n
        states[state] = states.get(state, 0) + n
        if decision:
            decisions[decision] = decisions.get(decision, 0) + n
        if cooperating:
            reached[(programme_id, kind)] = reached.get((programme_id, kind), 0) + n
    ordered = sorted(by_call_state.items(),
                     key=lambda kv: (kv[0][1], kv[0][0], order.get(kv[0][3], len(order))))
    per_call_state = [(title, _(wfs[kind].state(state).staff_label), n)
                      for (_id, title, kind, state), n in ordered if n]
    per_call: dict[tuple[int, str], int] = {}
    for (call_id, title, _kind, _state), n in ordered:
        if n:
            per_call[(call_id, title)] = per_call.get((call_id, title), 0) + n

    positive, negative = eligibility_decisions()
    per_topic = db.session.execute(
        select(Tally.topic, func.sum(Tally.n))
        .where(Tally.state.in_(sorted(paired)), *_tally_scope(user, "topic"))
        .group_by(Tally.topic).having(func.sum(Tally.n) > 0)
        .order_by(func.sum(Tally.n).desc(), Tally.topic)).all()
    # Each topic named in the reader's language.
    topic_labels = {t.slug: t.label for t in db.session.scalars(
        select(Topic).where(Topic.slug.in_([slug for slug, _n in per_topic])))}

    agreement_states = _states_where(lambda wf, s: wf.offers(s.name, Purpose.SIGN_AGREEMENT))
    active_states = _states_where(lambda wf, s: s.kind is StateKind.ACTIVE)
    due_soon, overdue, handed_in, on_time = _tallied_deliverables(user, now)

    return Figures(
        per_call_state=per_call_state,
        per_call=[(title, n) for (_id, title), n in per_call.items()],
        eligible=sum(n for a, n in decisions.items() if a in positive),
        ineligible=sum(n for a, n in decisions.items() if a in negative),
        pairings_per_region=sorted(((region_name(r), n) for r, n in regions.items() if n),
                                   key=lambda rn: (-rn[1], rn[0])),
        pairings_per_topic=[(topic_labels.get(t, t), int(n)) for t, n in per_topic],
        agreements_waiting=sum(states.get(s, 0) for s in agreement_states),
        active_cooperations=sum(states.get(s, 0) for s in active_states),
        targets=_targets(reached, programme_scope(user)),
        deliverables_due_soon=due_soon,
        deliverables_overdue=overdue,
        deliverables_handed_in=handed_in,
        deliverables_on_time=on_time,
    )


def _targets(reached: dict[tuple[int, str], int],
             programmes: frozenset[int] | None) -> list[Target]:
    """Each programme's targets (those the viewer works on) and how far its cases got: a case
    reached cooperation once its start date is set, whatever happened after (``reached`` by
    programme and kind of call)."""
    targets = []
    named = target_kinds()
    q = select(Programme).order_by(Programme.name)
    if programmes is not None:
        q = q.where(Programme.id.in_(programmes))
    for programme in db.session.scalars(q):
        goals = programme.targets or current_app.config["PROGRAMME_TARGETS"]
        for key, goal in sorted(goals.items()):
            kind = named.get(key, key)
            if kind not in workflows() or not isinstance(goal, int):
                continue
            label = str(TARGET_LABELS.get(key, key.replace("_", " ").capitalize())) \
                if key in named else _(workflows()[kind].title)
            targets.append(Target(programme.name, label, reached.get((programme.id, kind), 0),
                                  goal))
    return targets
