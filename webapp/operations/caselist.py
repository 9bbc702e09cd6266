"""The coordinators' case list: one filter function for the list and its exports, the health
of each case, the cases picked for a bulk action, and the dashboard's figures.

Every read here is one SQL statement whatever the page or table size: related rows are joined
or loaded in one extra statement, and health is a SQL expression, never a per-row lookup.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, Any
from zoneinfo import ZoneInfo

import xlsxwriter
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, String, and_, exists, func, literal, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import aliased, joinedload, selectinload

from webapp.access import programme_scope, region_clause, visible_calls, visible_cases
from webapp.db import db, utcnow
from webapp.i18n import country_name, reader_locale, region_name
from webapp.models import (
    AuditEvent,
    Call,
    Case,
    CasePartner,
    Deadline,
    DeadlineStatus,
    Deliverable,
    Organisation,
    PartnerCity,
    Programme,
    Tally,
    Topic,
    User,
)
from webapp.models.programme import WORLD_REGIONS
from webapp.operations.tallies import ALSO
from webapp.operations.wiring import wiring
from workflows import schedule, vocabularies, workflows
from workflows.countries import EU_MEMBER_STATES, countries_by_name, normalise_country
from workflows.engine import Hook, Purpose, Role, StateKind, Workflow

#: the health a case can have, from best to worst, with the label people read
HEALTH_LABELS: dict[str, str] = {"on_track": _l("On track"), "at_risk": _l("At risk"),
                                 "off_track": _l("Off track")}
#: what the programme targets are called, by their key
TARGET_LABELS = {"city_partnerships": _l("City partnerships"),
                 "regional_partnerships": _l("Regional partnerships")}

#: Each health provider of the wiring returns a SQL expression correlated to ``Case``: 0 on
#: track, 1 at risk, 2 off track (NULL counts as 0). A case's health is the worst any provider
#: gives it, so a provider adds a subquery to the one statement instead of a query per row.

SORTS = ("reference", "organisation", "state", "updated", "submitted")
UNASSIGNED = "unassigned"
PARTNER = aliased(PartnerCity, name="listed_partner")


@dataclass(frozen=True)
class CaseFilters:
    """What narrows and orders the case list; empty values do not filter."""

    call_id: int | None = None
    state: str = ""
    region: str = ""
    country: str = ""
    topic: str = ""
    #: "", "unassigned" or a coordinator's id as text
    coordinator: str = ""
    health: str = ""
    #: part of the applicant's or partner's city name, or of the reference
    search: str = ""
    sort: str = "updated"
    descending: bool = True


@dataclass
class CasePage:
    """One page of the filtered list: each case with its health."""

    rows: list[tuple[Case, str]]
    total: int
    page: int
    page_size: int
    pages: int = field(init=False)

    def __post_init__(self) -> None:
        self.pages = max((self.total + self.page_size - 1) // self.page_size, 1)


def health_expression(now: datetime) -> ColumnElement[str]:
    """The health of ``Case`` as a SQL expression: the worst any provider computes."""
    severities = [func.coalesce(fn(now), 0) for fn in wiring().health]
    if not severities:
        return literal("on_track", String)
    return sql_case(
        (or_(*(s >= 2 for s in severities)), "off_track"),
        (or_(*(s >= 1 for s in severities)), "at_risk"),
        else_="on_track",
    )


def state_order() -> dict[str, int]:
    """Every state name by its place in the workflows (city-to-city first), for sorting."""
    order: dict[str, int] = {}
    for wf in workflows().values():
        for s in wf.states:
            order.setdefault(s.name, len(order))
    return order


def _sort_key(filters: CaseFilters) -> list[Any]:
    column: Any
    if filters.sort == "state":
        order = state_order()
        column = sql_case(order, value=Case.state, else_=len(order))
    else:
        column = {"reference": Case.reference, "organisation": func.lower(Organisation.name),
                  "submitted": Case.submitted_at}.get(filters.sort, Case.updated_at)
    direction = column.desc() if filters.descending else column.asc()
    # Unsubmitted drafts go last either way; the id keeps pages stable.
    nulls_last = [Case.submitted_at.is_(None)] if filters.sort == "submitted" else []
    tie = Case.id.desc() if filters.descending else Case.id.asc()
    return [*nulls_last, direction, tie]


def filtered_cases(user: User, filters: CaseFilters, now: datetime, *,
                   narrow: bool = False) -> Select[Any]:
    """The cases ``user`` may see that match ``filters``, each with its health, in order.

    The list and both exports use this one statement; ``narrow`` leaves out the health and
    every join that neither a filter nor the order needs, for counting and finding a page.
    """
    q = visible_cases(user)
    if not narrow:
        q = q.add_columns(health_expression(now).label("health"))
    if not narrow or filters.country or filters.search or filters.sort == "organisation":
        q = q.join(Organisation, Case.organisation_id == Organisation.id)
    if filters.call_id:
        q = q.where(Case.call_id == filters.call_id)
    if filters.state:
        q = q.where(Case.state == filters.state)
    if filters.region:
        q = q.where(region_clause(filters.region))
    if filters.country:
        q = q.where(Organisation.country == normalise_country(filters.country))
    if filters.topic:
        q = q.where(Case.topics.any(Topic.slug == filters.topic))
    if filters.coordinator == UNASSIGNED:
        q = q.where(Case.coordinator_id.is_(None))
    elif filters.coordinator.isdigit():
        q = q.where(Case.coordinator_id == int(filters.coordinator))
    if filters.health:
        q = q.where(health_expression(now) == filters.health)
    if filters.search:
        term = filters.search.lower()
        q = q.where(or_(func.lower(Organisation.name).contains(term, autoescape=True),
                        _partner_named(term),
                        func.lower(Case.reference).contains(term, autoescape=True)))
    return q.order_by(*_sort_key(filters))


def _partner_named(term: str) -> ColumnElement[bool]:
    # Any partner of the case, not only the lead, is found by its name.
    return (select(CasePartner.id).join(PartnerCity, CasePartner.partner_city_id == PartnerCity.id)
            .where(CasePartner.case_id == Case.id,
                   func.lower(PartnerCity.name).contains(term, autoescape=True)).exists())


def _with_related(q: Select[Any]) -> Select[Any]:
    return q.options(joinedload(Case.organisation), joinedload(Case.call),
                     joinedload(Case.partner_city), joinedload(Case.coordinator),
                     selectinload(Case.partner_links).joinedload(CasePartner.partner_city),
                     selectinload(Case.topics))


def count_cases(user: User, filters: CaseFilters, now: datetime) -> int:
    """How many cases match, in one statement."""
    q = filtered_cases(user, filters, now, narrow=True).order_by(None).with_only_columns(Case.id)
    return db.session.scalar(select(func.count()).select_from(q.subquery())) or 0


def list_page(user: User, filters: CaseFilters, now: datetime, *, page: int = 1,
              page_size: int = 25) -> CasePage:
    """One page of the filtered list in four statements: count, the page's ids, its rows,
    their topics."""
    total = count_cases(user, filters, now)
    pages = max((total + page_size - 1) // page_size, 1)
    page = min(max(page, 1), pages)
    # The ids first: skipping to a far page reads the sort index alone, and the health and
    # the related rows are worked out for the page's cases only.
    ids = db.session.scalars(filtered_cases(user, filters, now, narrow=True)
                             .with_only_columns(Case.id)
                             .limit(page_size).offset((page - 1) * page_size)).all()
    result = db.session.execute(_with_related(
        filtered_cases(user, filters, now).where(Case.id.in_(ids)))) if ids else []
    rows = [(c, h) for c, h in result]
    return CasePage(rows=rows, total=total, page=page, page_size=page_size)


def selected_cases(user: User, case_ids: Sequence[int]) -> list[Case]:
    """The cases among ``case_ids`` that ``user`` may see, in reference order."""
    if not case_ids:
        return []
    q = _with_related(visible_cases(user).where(Case.id.in_(list(case_ids))))
    return list(db.session.scalars(q.order_by(Case.reference)).unique())


# -- exports -------------------------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """Text a spreadsheet will not run: a leading = + - @ tab or CR gets a quote before it."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


#: the exports' column titles, in the reader's language like the values below them
EXPORT_HEADERS = (_l("Reference"), _l("Call"), _l("Applicant"), _l("Type"), _l("Country"),
                  _l("Country code"), _l("Status"), _l("Region"), _l("Partner city"),
                  _l("Topics"), _l("Responsible coordinator"), _l("Health"), _l("Submitted"),
                  _l("Last change"))
_TIME_COLUMNS = (12, 13)


def _headers(headers: Sequence[str], time_columns: Sequence[int], tz: str) -> list[str]:
    """Column titles, the time columns saying in which zone their times are."""
    return [f"{h} ({tz})" if i in time_columns else str(h) for i, h in enumerate(headers)]


def export_rows(user: User, filters: CaseFilters, now: datetime,
                tz: str) -> Iterator[list[Any]]:
    """The filtered list as rows of plain values, read in batches (times in ``tz``)."""
    zone = ZoneInfo(tz)
    wfs = workflows()
    q = _with_related(filtered_cases(user, filters, now)).execution_options(yield_per=500)
    for case, health in db.session.execute(q):
        yield [
            case.reference, case.call.title, case.organisation.name, case.organisation.kind,
            country_name(case.organisation.country), case.organisation.country,
            _(wfs[case.workflow].state(case.state).staff_label),
            "; ".join(dict.fromkeys(p.region for p in case.partners)) or case.partner_region,
            "; ".join(p.name for p in case.partners),
            "; ".join(t.label for t in case.topics),
            case.coordinator.display_name if case.coordinator else "",
            str(HEALTH_LABELS.get(health, health)),
            case.submitted_at.astimezone(zone) if case.submitted_at else None,
            case.updated_at.astimezone(zone),
        ]


def csv_lines(headers: Sequence[str], rows: Iterator[Sequence[Any]]) -> Iterator[str]:
    """CSV text a line at a time (for a streamed response), cells made spreadsheet-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(cells: Sequence[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([spreadsheet_safe(_text(c)) for c in cells])
        return buffer.getvalue()

    # The byte-order mark makes spreadsheet programs read the file as UTF-8.
    yield "\ufeff" + line(headers)
    for row in rows:
        yield line(row)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    return str(value)


def xlsx_file(headers: Sequence[str], rows: Iterator[Sequence[Any]], *, sheet: str,
              time_columns: Sequence[int] = ()) -> IO[bytes]:
    """An XLSX workbook written row by row (constant memory), rewound for sending."""
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    book = xlsxwriter.Workbook(out, {"constant_memory": True, "remove_timezone": True})
    ws = book.add_worksheet(sheet[:31])
    bold = book.add_format({"bold": True})
    when = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for col, title in enumerate(headers):
        ws.write_string(0, col, title, bold)
    ws.freeze_panes(1, 0)
    for r, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            if value is None:
                continue
            if col in time_columns and isinstance(value, datetime):
                ws.write_datetime(r, col, value, when)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                ws.write_number(r, col, value)
            else:
                # write_string, never write(): a string must not become a formula.
                ws.write_string(r, col, spreadsheet_safe(str(value)))
    book.close()
    out.seek(0)
    return out


def cases_xlsx(user: User, filters: CaseFilters, now: datetime, tz: str) -> IO[bytes]:
    """The filtered list as an XLSX workbook."""
    return xlsx_file(_headers(EXPORT_HEADERS, _TIME_COLUMNS, tz),
                     export_rows(user, filters, now, tz), sheet="Cases",
                     time_columns=_TIME_COLUMNS)


def cases_csv(user: User, filters: CaseFilters, now: datetime, tz: str) -> Iterator[str]:
    """The filtered list as CSV lines."""
    return csv_lines(_headers(EXPORT_HEADERS, _TIME_COLUMNS, tz),
                     export_rows(user, filters, now, tz))


AUDIT_HEADERS = (_l("Time"), _l("Actor"), _l("Role"), _l("Source address"), _l("Action"),
                 _l("From"), _l("To"))


def audit_csv(events: Sequence[AuditEvent], tz: str) -> Iterator[str]:
    """A case's audit trail as CSV lines (times in ``tz``)."""
    return csv_lines(_headers(AUDIT_HEADERS, (0,), tz), audit_rows(events, tz))


def audit_rows(events: Sequence[AuditEvent], tz: str) -> Iterator[list[Any]]:
    """A case's audit events as rows of plain values (times in ``tz``)."""
    zone = ZoneInfo(tz)
    for ev in events:
        yield [ev.at.astimezone(zone), ev.actor_label, ev.actor_role, ev.source_address,
               ev.action, ev.from_state, ev.to_state]


# -- the dashboard -------------------------------------------------------------------------

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


def filter_choices(user: User) -> dict[str, list[tuple[str, str]]]:
    """The values each filter offers, in one statement per filter."""
    # Another programme's calls are not offered: for its outsiders they do not exist.
    calls = db.session.execute(visible_calls(user).with_only_columns(
        Call.id, Call.title, Call.eligible_countries).order_by(Call.title)).all()
    # Organisations come from the countries the calls admit: offering those costs nothing,
    # where reading them off the cases grows with every application.
    countries = countries_by_name(reader_locale(), {
        *EU_MEMBER_STATES, *(c for _i, _t, listed in calls for c in listed or ())})
    topics = db.session.scalars(select(Topic).where(Topic.merged_into.is_(None))
                                .order_by(Topic.family.desc(), Topic.label)).all()
    staff = db.session.execute(select(User.id, User.name, User.email).where(
        User.role.in_(("coordinator", "admin")), User.erased_at.is_(None))
        .order_by(User.name)).all()
    regions = sorted({r for (r,) in db.session.execute(select(PartnerCity.region).distinct())}
                     | set(WORLD_REGIONS))
    states: dict[str, str] = {}
    for wf in workflows().values():
        for s in wf.states:
            states.setdefault(s.name, _(s.staff_label))
    return {
        "call": [(str(i), t) for i, t, _countries in calls],
        "state": list(states.items()),
        "region": [(r, region_name(r)) for r in regions],
        "country": countries,
        "topic": [(t.slug, t.label) for t in topics],
        "coordinator": [(UNASSIGNED, _("Unassigned"))]
                       + [(str(i), name or email) for i, name, email in staff],
        "health": [(key, str(label)) for key, label in HEALTH_LABELS.items()],
    }

