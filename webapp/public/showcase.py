"""The pairings showcase: current pairings and the programme's history as one list of rows,
their filters and the count per partner region the chart shows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from webapp.db import db
from webapp.models import Case
from webapp.models.programme import WORLD_REGIONS
from workflows import workflows
from workflows.countries import normalise_country
from workflows.engine import Purpose
from workflows.topics import map_text_to_topics


def _ended() -> list[str]:
    """States of cases that are no longer pairings anyone should show: withdrawn, ended."""
    return sorted({s for wf in workflows().values()
                   for s in wf.targets_of(Purpose.WITHDRAW, Purpose.TERMINATE)})


@dataclass(frozen=True)
class PairingRow:
    """One pairing as the showcase lists it."""

    eu_city: str
    #: ISO 3166-1 alpha-2 codes
    eu_country: str
    partner_city: str
    partner_country: str
    region: str
    topics_text: str
    topic_slugs: frozenset[str]
    #: "current" for a cooperation of this programme, "history" for the 2017 table
    source: str
    since: datetime | None = None


def current_rows() -> list[PairingRow]:
    """The cases whose cooperation has started, in two queries whatever their number."""
    cases = db.session.scalars(
        select(Case).where(Case.cooperation_start.is_not(None), Case.state.not_in(_ended()),
                           Case.partner_city_id.is_not(None))
        .options(joinedload(Case.organisation), joinedload(Case.partner_city),
                 selectinload(Case.topics))
        .order_by(Case.cooperation_start.desc(), Case.id)).all()
    return [PairingRow(c.organisation.name, c.organisation.country, c.partner_city.name,
                       c.partner_city.country, c.partner_city.region,
                       ", ".join(t.label for t in c.topics), frozenset(t.slug for t in c.topics),
                       "current", c.cooperation_start)
            for c in cases]


def history_rows(history: Iterable[dict[str, str]],
                 survivors: Mapping[str, str] | None = None) -> list[PairingRow]:
    """The rows of the 2017 table, their countries read as codes and their topics mapped onto
    the vocabulary for filtering (a merged topic read as the one it was merged into, given
    ``survivors``)."""
    now = survivors or {}
    return [PairingRow(r["eu_city"], normalise_country(r["eu_country"]), r["partner_city"],
                       normalise_country(r["partner_country"]), r["partner_region"], r["topics"],
                       frozenset(now.get(s, s) for s in map_text_to_topics(r["topics"])),
                       "history")
            for r in history]


def narrow(rows: Iterable[PairingRow], topic: str = "", region: str = "",
           country: str = "") -> list[PairingRow]:
    """The rows matching every filter given; the country may be either side's."""
    return [r for r in rows
            if (not topic or topic in r.topic_slugs)
            and (not region or r.region == region)
            and (not country or country in (r.eu_country, r.partner_country))]


def by_region(rows: Iterable[PairingRow]) -> list[tuple[str, int]]:
    """(region, number of pairings), the programme's regions first, each region listed once;
    regions without pairings are left out."""
    counts = Counter(r.region for r in rows)
    order = [*WORLD_REGIONS, *sorted(set(counts) - set(WORLD_REGIONS))]
    return [(region, counts[region]) for region in order if counts[region]]


def countries(rows: Iterable[PairingRow]) -> list[str]:
    """Every country code on either side, sorted."""
    return sorted({c for r in rows for c in (r.eu_country, r.partner_country) if c})


def topics_in(rows: Iterable[PairingRow], labels: dict[str, str]) -> list[tuple[str, str]]:
    """(slug, label) of the vocabulary topics the rows name, sorted by label."""
    used = {s for r in rows for s in r.topic_slugs}
    return sorted(((s, labels.get(s, s)) for s in used), key=lambda pair: pair[1].casefold())
