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
from webapp.models import Case, CasePartner
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
class PairingPartner:
    """One partner city (or region) of a pairing."""

    name: str
    #: ISO 3166-1 alpha-2 code
    country: str
    region: str


@dataclass(frozen=True)
class PairingRow:
    """One pairing as the showcase lists it: an EU city and its partners, the lead first."""

    eu_city: str
    #: ISO 3166-1 alpha-2 code
    eu_country: str
    partners: tuple[PairingPartner, ...]
    topics_text: str
    topic_slugs: frozenset[str]
    #: "current" for a cooperation of this programme, "history" for the 2017 table
    source: str
    since: datetime | None = None

    @property
    def partner_names(self) -> str:
        """Every partner's name, as the 2017 table writes a pairing of two."""
        return " + ".join(p.name for p in self.partners)

    @property
    def partner_countries(self) -> list[str]:
        """The partners' countries, each once, the lead's first."""
        return list(dict.fromkeys(p.country for p in self.partners if p.country))

    @property
    def regions(self) -> list[str]:
        """The partners' world regions, each once, the lead's first."""
        return list(dict.fromkeys(p.region for p in self.partners if p.region))


def current_rows() -> list[PairingRow]:
    """The cases whose cooperation has started, with every partner, in three queries whatever
    their number."""
    cases = db.session.scalars(
        select(Case).where(Case.cooperation_start.is_not(None), Case.state.not_in(_ended()),
                           Case.partner_city_id.is_not(None))
        .options(joinedload(Case.organisation),
                 selectinload(Case.partner_links).joinedload(CasePartner.partner_city),
                 selectinload(Case.topics))
        .order_by(Case.cooperation_start.desc(), Case.id)).all()
    return [PairingRow(c.organisation.name, c.organisation.country,
                       tuple(PairingPartner(p.name, p.country, p.region) for p in c.partners),
                       ", ".join(t.label for t in c.topics), frozenset(t.slug for t in c.topics),
                       "current", c.cooperation_start)
            for c in cases]


def history_rows(history: Iterable[dict[str, str]],
                 survivors: Mapping[str, str] | None = None) -> list[PairingRow]:
    """The rows of the 2017 table, their countries read as codes and their topics mapped onto
    the vocabulary for filtering (a merged topic read as the one it was merged into, given
    ``survivors``)."""
    now = survivors or {}
    return [PairingRow(r["eu_city"], normalise_country(r["eu_country"]),
                       (PairingPartner(r["partner_city"], normalise_country(r["partner_country"]),
                                       r["partner_region"]),), r["topics"],
                       frozenset(now.get(s, s) for s in map_text_to_topics(r["topics"])),
                       "history")
            for r in history]


def narrow(rows: Iterable[PairingRow], topic: str = "", region: str = "",
           country: str = "") -> list[PairingRow]:
    """The rows matching every filter given; the region may be any partner's, the country
    either side's."""
    return [r for r in rows
            if (not topic or topic in r.topic_slugs)
            and (not region or region in r.regions)
            and (not country or country in (r.eu_country, *r.partner_countries))]


def by_region(rows: Iterable[PairingRow]) -> list[tuple[str, int]]:
    """(region, number of pairings), the programme's regions first, each region listed once;
    regions without pairings are left out. A pairing with partners in two regions counts in
    each."""
    counts = Counter(region for r in rows for region in r.regions)
    order = [*WORLD_REGIONS, *sorted(set(counts) - set(WORLD_REGIONS))]
    return [(region, counts[region]) for region in order if counts[region]]


def countries(rows: Iterable[PairingRow]) -> list[str]:
    """Every country code on either side, sorted."""
    return sorted({c for r in rows for c in (r.eu_country, *r.partner_countries) if c})


def topics_in(rows: Iterable[PairingRow], labels: dict[str, str]) -> list[tuple[str, str]]:
    """(slug, label) of the vocabulary topics the rows name, sorted by label."""
    used = {s for r in rows for s in r.topic_slugs}
    return sorted(((s, labels.get(s, s)) for s in used), key=lambda pair: pair[1].casefold())
