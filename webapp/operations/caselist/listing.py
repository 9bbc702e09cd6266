"""The coordinators' case list: one filter function for the list and its exports, the
health of each case, the cases picked for a bulk action, and the filters' choices.

Every read here is one SQL statement whatever the page or table size: related rows are joined
or loaded in one extra statement, and health is a SQL expression, never a per-row lookup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, String, func, literal, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import aliased, joinedload, selectinload

from webapp.access import region_clause, visible_calls, visible_cases
from webapp.db import db
from webapp.i18n import reader_locale, region_name
from webapp.models import (
    Call,
    Case,
    CasePartner,
    Organisation,
    PartnerCity,
    Topic,
    User,
)
from webapp.models.programme import WORLD_REGIONS
from webapp.operations.wiring import wiring
from workflows import workflows
from workflows.countries import EU_MEMBER_STATES, countries_by_name, normalise_country

#: the health a case can have, from best to worst, with the label people read
HEALTH_LABELS: dict[str, str] = {"on_track": _l("On track"), "at_risk": _l("At risk"),
                                 "off_track": _l("Off track")}

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


def with_related(q: Select[Any]) -> Select[Any]:
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
    result = db.session.execute(with_related(
        filtered_cases(user, filters, now).where(Case.id.in_(ids)))) if ids else []
    rows = [(c, h) for c, h in result]
    return CasePage(rows=rows, total=total, page=page, page_size=page_size)


def selected_cases(user: User, case_ids: Sequence[int]) -> list[Case]:
    """The cases among ``case_ids`` that ``user`` may see, in reference order."""
    if not case_ids:
        return []
    q = with_related(visible_cases(user).where(Case.id.in_(list(case_ids))))
    return list(db.session.scalars(q.order_by(Case.reference)).unique())


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
