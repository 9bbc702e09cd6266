"""The dashboard's counts, kept as tallies by the transaction that changes what they count.

A case contributes one ``case`` tally (its call, region, workflow, state, whether it is
paired and cooperating, its latest eligibility decision), one ``topic`` tally per topic while
it is paired, and one ``deliverable`` tally per deliverable that is awaited or handed in (by
due day). Whenever a flush is about to change a case, its topics, its deliverables, their
deadlines or its decisions, the case's contribution as the database holds it is read; when
the transaction commits, the contribution is read again and the difference added to the
tallies, in the same transaction. The dashboard's cost follows the number of calls, regions,
topics and days, not of cases. Writers that bypass the ORM name the cases they are about to
change with ``touch``; ``check`` recomputes everything and reports drift.

A case is in the region of every partner (or, with none, the region it prefers), and makes
each of its contributions once per such region: in its lead partner's region under the kind
itself (``case``), in every further region under the kind with ``ALSO`` (``case:also``). So
a count over every region reads the plain kinds and sees each case once, a region's count
reads both in that region, and pairings per region read both everywhere.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    String,
    and_,
    bindparam,
    delete,
    event,
    exists,
    false,
    func,
    inspect,
    literal_column,
    select,
    true,
    union_all,
)
from sqlalchemy import case as case_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased, object_session
from sqlalchemy.sql.functions import FunctionElement

from webapp.models import (
    AuditEvent,
    Case,
    CasePartner,
    Deadline,
    DeadlineStatus,
    Deliverable,
    PartnerCity,
    Tally,
    case_topic,
)
from workflows import schedule, workflows

#: the tally's key columns, in the order the contribution queries give them
KEY = ("kind", "call_id", "region", "workflow", "state", "paired", "cooperating", "decision",
       "topic", "bucket", "due_on")
#: what a change to these attributes moves between tallies
_CASE_FIELDS = ("state", "workflow", "call_id", "partner_city_id", "partner_region",
                "cooperation_start", "topics", "partner_links")
_DELIVERABLE_FIELDS = ("status", "due_at", "submitted_at", "case_id")
_DEADLINE_FIELDS = ("status", "deliverable_id", "case_id")
_PARTNER_FIELDS = ("partner_city_id", "case_id")
#: the suffix of a kind counted in a case's further regions, beside its lead partner's
ALSO = ":also"
_BEFORE = "citypair_tallies_before"
_TOUCHED = "citypair_tallies_touched"
#: cases whose state alone has changed in the transaction, with the state each left
_MOVED = "citypair_tallies_moved"


class _utc_day(FunctionElement):
    """A timestamp's UTC day as ISO text (YYYY-MM-DD)."""

    type = String()
    inherit_cache = True


@compiles(_utc_day, "postgresql")
def _utc_day_pg(element, compiler, **kw):
    return f"to_char({compiler.process(element.clauses, **kw)} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


@compiles(_utc_day)
def _utc_day_default(element, compiler, **kw):
    # SQLite keeps naive UTC text: its day is the first ten characters.
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 10)"


def decisions() -> frozenset[str]:
    """The transition names that decide a case's eligibility, either way."""
    return _decisions(tuple(workflows()))


@cache
def _decisions(_kinds: tuple[str, ...]) -> frozenset[str]:
    # Worked out once per set of call kinds: every flush asks.
    from webapp.operations.caselist import eligibility_decisions

    positive, negative = eligibility_decisions()
    return frozenset(positive | negative)


def contributions(case_ids: Iterable[int] | None = None):
    """Every tally row the given cases (all cases: None) contribute, one row per contribution,
    in one statement: the key columns of ``KEY``; for given cases, with the parameter
    ``case_ids`` to bind."""
    return _contributions(case_ids is not None, decisions())


@cache
def _contributions(of_some: bool, decided_by: frozenset[str]):
    # Built once: building this statement costs many times what running it does.
    ids = bindparam("case_ids", expanding=True) if of_some else None
    lead = aliased(PartnerCity)
    # Every region the case is in, once each: its partners' (the lead's too, should its link
    # be missing), else the one it prefers.
    linked = (select(CasePartner.case_id.label("case_id"), PartnerCity.region.label("region"))
              .join(PartnerCity, PartnerCity.id == CasePartner.partner_city_id))
    led = (select(Case.id.label("case_id"), PartnerCity.region.label("region"))
           .join(PartnerCity, PartnerCity.id == Case.partner_city_id))
    preferred = (select(Case.id.label("case_id"), Case.partner_region.label("region"))
                 .where(Case.partner_city_id.is_(None)))
    if ids is not None:
        linked = linked.where(CasePartner.case_id.in_(ids))
        led, preferred = led.where(Case.id.in_(ids)), preferred.where(Case.id.in_(ids))
    regions = linked.union(led, preferred).subquery("case_region")
    region = regions.c.region
    is_lead = region == func.coalesce(lead.region, Case.partner_region)

    def empty():
        return literal_column("''", String)

    def kind(name: str):
        return case_((is_lead, literal_column(f"'{name}'", String)),
                     else_=literal_column(f"'{name}{ALSO}'", String))

    def keyed(*columns: Any):
        return select(*(c.label(name) for c, name in zip(columns, KEY, strict=True)))

    def scoped(query):
        query = (query.join(regions, regions.c.case_id == Case.id)
                 .outerjoin(lead, lead.id == Case.partner_city_id))
        return query if ids is None else query.where(Case.id.in_(ids))

    decided = (select(AuditEvent.action).where(AuditEvent.case_id == Case.id,
                                               AuditEvent.action.in_(sorted(decided_by)))
               .order_by(AuditEvent.id.desc()).limit(1).scalar_subquery())
    cases = scoped(keyed(
        kind("case"), Case.call_id, region, Case.workflow, Case.state,
        case_((Case.partner_city_id.is_not(None), true()), else_=false()),
        case_((Case.cooperation_start.is_not(None), true()), else_=false()),
        func.coalesce(decided, ""), empty(), empty(), empty()))
    topics = scoped(keyed(
        kind("topic"), Case.call_id, region, Case.workflow, Case.state,
        true(), false(), empty(), case_topic.c.topic_slug, empty(), empty())
        .join(case_topic, case_topic.c.case_id == Case.id)
        .where(Case.partner_city_id.is_not(None)))
    handed_in = Deliverable.status.in_([s.value for s in schedule.DONE])
    awaited = and_(Deliverable.status.in_([s.value for s in schedule.AWAITED]), exists().where(
        Deadline.deliverable_id == Deliverable.id, Deadline.status == DeadlineStatus.OPEN))
    bucket = case_((awaited, "awaited"),
                   (and_(handed_in, Deliverable.submitted_at <= Deliverable.due_at), "on_time"),
                   (handed_in, "late"))
    deliverables = scoped(keyed(
        kind("deliverable"), Case.call_id, region, empty(), empty(),
        false(), false(), empty(), empty(), bucket, _utc_day(Deliverable.due_at))
        .select_from(Deliverable).join(Case, Case.id == Deliverable.case_id)
        .where(bucket.is_not(None)))
    return union_all(cases, topics, deliverables)


def _count(session: Session, case_ids: Iterable[int]) -> Counter[tuple[Any, ...]]:
    ids = set(case_ids)
    if not ids:
        return Counter()
    # On the connection, not the session: this runs inside a flush, which must not recurse.
    rows = session.connection().execute(contributions(ids), {"case_ids": sorted(ids)}).all()
    return Counter(_key(row) for row in rows)


def _key(row: Any) -> tuple[Any, ...]:
    values = list(row)
    values[5], values[6] = bool(values[5]), bool(values[6])
    return tuple(values)


def touch(session: Session, case_ids: Iterable[int]) -> None:
    """Before changing cases outside the ORM (a bulk update or delete), name them: their
    contributions are read now and settled when the transaction commits."""
    case_ids = set(case_ids)
    touched: set[int] = session.info.setdefault(_TOUCHED, set())
    before: Counter = session.info.setdefault(_BEFORE, Counter())
    moved: dict[int, str] = session.info.get(_MOVED, {})
    # A case that has only moved so far was counted before its move as it is now, but in
    # the state it left.
    for case_id in case_ids & set(moved):
        before.update(_in_state(_count(session, [case_id]), moved.pop(case_id)))
    fresh = case_ids - touched
    if fresh:
        before.update(_count(session, fresh))
        touched.update(fresh)


def _moved_only(session: Session, case: Case) -> None:
    """Note a case whose state alone changes: its contribution before is the one after, in
    the state it left, so it need not be read now."""
    touched: set[int] = session.info.setdefault(_TOUCHED, set())
    if case.id in touched:
        return
    touched.add(case.id)
    session.info.setdefault(_MOVED, {})[case.id] = inspect(case).attrs.state.history.deleted[0]


def _in_state(counted: Counter, state: str) -> Counter:
    """``counted`` with each case and topic row in ``state``; deliverable rows know none."""
    return Counter({(key[:4] + (state,) + key[5:] if key[4] else key): n
                    for key, n in counted.items()})


def _state_alone(obj: Case) -> bool:
    # Only the state moves: no partner, region, cooperation, topics or call change with it.
    state = inspect(obj)
    history = state.attrs.state.history
    return (len(history.deleted) == 1 and bool(history.deleted[0])
            and not _changed(obj, _CASE_FIELDS[1:]))


def _changed(obj: Any, fields: tuple[str, ...]) -> bool:
    state = inspect(obj)
    return any(state.attrs[f].history.has_changes() for f in fields if f in state.attrs)


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    ids: set[int] = set()
    moving: list[Case] = []
    for obj in session.dirty:
        if isinstance(obj, Case) and _changed(obj, _CASE_FIELDS):
            if _state_alone(obj):
                moving.append(obj)
            else:
                ids.add(obj.id)
        elif (isinstance(obj, Deliverable) and _changed(obj, _DELIVERABLE_FIELDS)) or (
                isinstance(obj, Deadline) and obj.deliverable_id
                and _changed(obj, _DEADLINE_FIELDS)) or (
                isinstance(obj, CasePartner) and _changed(obj, _PARTNER_FIELDS)):
            ids.add(obj.case_id)
    for obj in session.deleted:
        if isinstance(obj, Case):
            ids.add(obj.id)
        elif isinstance(obj, (CasePartner, Deliverable, Deadline)):
            ids.add(obj.case_id)
    new = [obj for obj in session.new if isinstance(obj, (Case, Deliverable, CasePartner))
           or (isinstance(obj, Deadline) and obj.deliverable_id)
           or (isinstance(obj, AuditEvent) and obj.case_id and obj.action in decisions())]
    for obj in new:
        case_id = obj.id if isinstance(obj, Case) else obj.case_id
        if case_id is None and not isinstance(obj, Case):
            # added through its case's relationship: an existing case is counted before it
            case_id = getattr(getattr(obj, "case", None), "id", None)
        if case_id is not None:
            ids.add(case_id)
        else:  # not yet flushed: its case is known once it is
            session.info.setdefault(_TOUCHED + ":new", []).append(obj)
    ids.discard(None)  # type: ignore[arg-type]
    if ids:
        touch(session, ids)
    for case in moving:
        if case.id not in ids:
            _moved_only(session, case)


@event.listens_for(Session, "before_commit")
def _settle(session: Session) -> None:
    # The commit's own flush comes after this hook: flush first, so its changes are seen.
    session.flush()
    if _TOUCHED not in session.info and _TOUCHED + ":new" not in session.info:
        return
    touched: set[int] = session.info.pop(_TOUCHED, set())
    before: Counter = session.info.pop(_BEFORE, Counter())
    moved: dict[int, str] = session.info.pop(_MOVED, {})
    for obj in session.info.pop(_TOUCHED + ":new", []):
        case_id = obj.id if isinstance(obj, Case) else obj.case_id
        if case_id is not None and object_session(obj) is session:
            touched.add(case_id)
    after = _count(session, touched - set(moved))
    # The cases that have only moved: one count gives both sides, grouped by the state left.
    for state in set(moved.values()):
        counted = _count(session, [i for i, left in moved.items() if left == state])
        after.update(counted)
        before.update(_in_state(counted, state))
    after.subtract(before)
    add(session, {k: n for k, n in after.items() if n})


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    for key in (_TOUCHED, _BEFORE, _MOVED, _TOUCHED + ":new"):
        session.info.pop(key, None)


_UPSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def add(session: Session, delta: dict[tuple[Any, ...], int]) -> None:
    """Add ``delta`` (counts by key) to the tallies in one statement; keys in a fixed order,
    so two transactions lock shared rows in the same order and never deadlock."""
    if not delta:
        return
    rows = [{**dict(zip(KEY, key, strict=True)), "n": n}
            for key, n in sorted(delta.items(), key=lambda kv: repr(kv[0]))]
    session.connection().execute(_upsert(session.get_bind().dialect.name), rows)


@cache
def _upsert(dialect: str):
    # Built once per dialect, as the contributions' statement is.
    insert = _UPSERTS[dialect](Tally.__table__)
    return insert.on_conflict_do_update(index_elements=list(KEY),
                                        set_={"n": Tally.__table__.c.n + insert.excluded.n})


def recount(session: Session) -> Counter[tuple[Any, ...]]:
    """Every tally as recounted from the cases, grouped in the database."""
    found = contributions().subquery()
    rows = session.execute(select(*found.c, func.count()).group_by(*found.c)).all()
    return Counter({_key(row[:-1]): row[-1] for row in rows})


def stored(session: Session) -> Counter[tuple[Any, ...]]:
    """The tallies as kept, the empty ones left out."""
    rows = session.execute(select(*(Tally.__table__.c[k] for k in KEY), Tally.n)
                           .where(Tally.n != 0)).all()
    return Counter({_key(row[:-1]): row[-1] for row in rows})


@dataclass
class Drift:
    """A tally whose kept count differs from the recount."""

    key: dict[str, Any]
    kept: int
    counted: int


def check(session: Session, fix: bool = False) -> list[Drift]:
    """Recount every tally and compare; with ``fix``, replace the kept ones by the recount."""
    counted, kept = recount(session), stored(session)
    drift = [Drift(dict(zip(KEY, key, strict=True)), kept.get(key, 0), counted.get(key, 0))
             for key in sorted(set(counted) | set(kept), key=repr)
             if counted.get(key, 0) != kept.get(key, 0)]
    if fix and drift:
        rebuild(session, counted)
    return drift


def rebuild(session: Session, counted: Counter | None = None) -> None:
    """Replace every tally by the recount (a migration's first fill, a repair)."""
    counted = recount(session) if counted is None else counted
    session.execute(delete(Tally))
    if counted:
        session.execute(Tally.__table__.insert(),
                        [{**dict(zip(KEY, key, strict=True)), "n": n}
                         for key, n in counted.items()])
