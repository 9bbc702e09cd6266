"""The plans a cooperation delivers: the city call's Local Action Plan (SPEC §9, seed 003) and
the region call's joint regional innovation roadmap (seeds 001 and 002).

Each is a ``PlanDefinition``: its sections, the sectors its stakeholder tables name, and the
rules that make it complete, declared as data on the sections (required answers, the columns a
row needs, the sectors a table must cover). A plan's content is plain data:
``{section key: {field: text, "rows": [{column: value}]}}``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: the sectors of a Local Action Plan's stakeholder group (the keys are stored in plans)
SECTORS: dict[str, str] = {
    "public_administration": "Public administration",
    "business": "Business",
    "academia": "Research and academia",
    "other_government": "Other level of government",
    "civil_society": "Local community and civil society",
}

#: the frameworks a Local Action Plan's actions contribute to (seed 003): each is answered
FRAMEWORKS: dict[str, str] = {
    "sdgs": "Sustainable Development Goals",
    "new_urban_agenda": "New Urban Agenda",
    "urban_agenda_eu": "Urban Agenda for the EU",
    "sendai": "Sendai Framework for Disaster Risk Reduction",
    "paris": "Paris Agreement",
}

#: who takes part in a joint regional innovation roadmap's projects (seed 001: governments,
#: research institutions, business and private sector organisations)
ROADMAP_SECTORS: dict[str, str] = {
    "research": "University or research centre",
    "business": "Business",
    "cluster": "Cluster or business association",
    "public_authority": "Public authority",
    "civil_society": "Civil society",
}


@dataclass(frozen=True)
class TextField:
    """A free-text answer of a section."""

    key: str
    label: str
    hint: str = ""
    required: bool = True


@dataclass(frozen=True)
class Column:
    """One column of a section's repeating rows."""

    key: str
    label: str
    #: text, longtext, date, amount (whole euros) or sector
    type: str = "text"
    #: a row counts towards completeness only with this filled in
    needed: bool = False


@dataclass(frozen=True)
class Section:
    """One section of a plan, with free-text fields and/or repeating rows.

    Its completeness is declared here: the required text fields, at least ``min_rows`` rows
    with every ``needed`` column filled in, the sectors its sector column must ``cover``,
    every row ``identified_by`` one of those columns, a ``start``/``end`` pair in order, and
    for ``sdg_choice`` at least one Sustainable Development Goal chosen.
    """

    key: str
    title: str
    required: bool
    hint: str = ""
    fields: tuple[TextField, ...] = ()
    columns: tuple[Column, ...] = ()
    row_label: str = ""
    min_rows: int = 0
    covers: tuple[str, ...] = ()
    identified_by: tuple[str, ...] = ()
    sdg_choice: bool = False

    @property
    def has_rows(self) -> bool:
        return bool(self.columns)

    @property
    def needed(self) -> tuple[Column, ...]:
        """The columns a row must fill in to count."""
        return tuple(c for c in self.columns if c.needed)


@dataclass(frozen=True)
class PlanDefinition:
    """What one call kind's plan is made of, and when it is complete."""

    key: str
    sections: tuple[Section, ...]
    #: the choices of a sector column, by stored key
    sectors: Mapping[str, str]
    #: one plan written together by both parties, rather than each city its own
    joint: bool = False
    _by_key: dict[str, Section] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {s.key: s for s in self.sections})

    def section(self, key: str) -> Section | None:
        """The section called ``key``, or None."""
        return self._by_key.get(key)

    def keys(self) -> list[str]:
        """The section keys in the order the plan shows them."""
        return [s.key for s in self.sections]

    def section_problems(self, content: Mapping[str, Any], key: str) -> list[str]:
        """What a section still lacks, as sentences; empty when it is complete."""
        section = self._by_key[key]
        values = content.get(key) or {}
        found = [f"Fill in “{f.label}”."
                 for f in section.fields if f.required and not _text(values.get(f.key))]
        present = rows(content, key)
        if section.min_rows and sum(1 for r in present if _complete(section, r)) \
                < section.min_rows:
            found.append(_rows_needed(section))
        if section.covers:
            column = next(c.key for c in section.columns if c.type == "sector")
            have = {r.get(column) for r in present}
            missing = [self.sectors[s] for s in section.covers if s not in have]
            if missing:
                wanted = "; ".join(self.sectors[s] for s in section.covers)
                still = "" if len(missing) == len(section.covers) else \
                    f" (still missing: {'; '.join(missing)})"
                found.append(f"Include each of these sectors: {wanted}{still}.")
        if section.identified_by and any(
                not any(_text(r.get(k)) for k in section.identified_by) for r in present):
            labels = [c.label.lower() for c in section.columns if c.key in section.identified_by]
            found.append(f"Give the {' or '.join(labels)} of every {section.row_label}.")
        if {"start", "end"} <= {c.key for c in section.columns}:
            found += [f"The end of {_text(r.get(section.columns[0].key)) or 'a row'} is before "
                      "its start." for r in present
                      if _text(r.get("start")) and _text(r.get("end"))
                      and _text(r.get("end")) < _text(r.get("start"))]
        if section.sdg_choice and not sdg_choices(content, key):
            found.append("Choose at least one Sustainable Development Goal the plan serves.")
        return found

    def problems(self, content: Mapping[str, Any]) -> list[str]:
        """Everything that keeps the plan from being submitted; empty when complete."""
        return [f"{s.title}: {p}" for s in self.sections
                for p in self.section_problems(content, s.key)]

    def missing_sections(self, content: Mapping[str, Any]) -> list[str]:
        """The titles of the required sections that are not complete."""
        return [s.title for s in self.sections
                if s.required and self.section_problems(content, s.key)]

    def clean_section(self, key: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """A section's answers as stored: known fields only, text stripped, dates as ISO
        text, amounts as whole numbers, rows that say nothing (or are marked for removal)
        dropped."""
        section = self._by_key[key]
        clean: dict[str, Any] = {f.key: _text(values.get(f.key)) for f in section.fields}
        if section.sdg_choice:
            clean["sdg_topics"] = [str(s) for s in values.get("sdg_topics") or [] if s]
        if section.has_rows:
            kept = []
            for row in values.get("rows") or []:
                if row.get("remove"):
                    continue
                cells = {c.key: _cell(c, row.get(c.key)) for c in section.columns}
                if any(v not in (None, "") for v in cells.values()):
                    kept.append(cells)
            clean["rows"] = kept
        return clean


def _complete(section: Section, row: Mapping[str, Any]) -> bool:
    return all(_amount(row.get(c.key)) is not None if c.type == "amount"
               else bool(_text(row.get(c.key))) for c in section.needed)


def _rows_needed(section: Section) -> str:
    # "Budget (EUR)" reads as "budget" in a sentence.
    labels = [c.label.split(" (")[0].lower() for c in section.needed]
    listing = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
    count = "one" if section.min_rows == 1 else str(section.min_rows)
    return f"Describe at least {count} {section.row_label} with its {listing}."


def _stakeholders(hint: str, sectors: tuple[str, ...], title: str) -> Section:
    return Section("stakeholders", title, True, hint=hint,
                   columns=(Column("member", "Member"), Column("organisation", "Organisation"),
                            Column("sector", "Sector", "sector", needed=True)),
                   row_label="stakeholder", covers=sectors,
                   identified_by=("member", "organisation"))


def _indicators() -> Section:
    return Section("indicators", "Monitoring indicators", True,
                   columns=(Column("name", "Name", needed=True),
                            Column("baseline", "Baseline", needed=True),
                            Column("target", "Target", needed=True), Column("source", "Source"),
                            Column("frequency", "Frequency")),
                   row_label="monitoring indicator", min_rows=1)


LAP = PlanDefinition("lap", sectors=SECTORS, sections=(
    Section("summary", "Summary and knowledge-sharing priority", True,
            fields=(TextField("summary", "Summary of the plan"),
                    TextField("priority", "Knowledge-sharing priority",
                              "The topic you chose to work on with your partner, and why."))),
    Section("context", "Context and baseline", True,
            fields=(TextField("context", "Local context"),
                    TextField("baseline", "Baseline",
                              "Where things stand today, with figures where you have them."))),
    Section("vision", "Vision and objectives", True,
            fields=(TextField("vision", "Vision"),
                    TextField("objectives", "Objectives",
                              "Specific, measurable objectives the actions serve."))),
    _stakeholders("The people and organisations who shaped the plan. The programme asks for "
                  "the involvement of businesses, research, other levels of government and "
                  "the local community: include each of them.",
                  ("business", "academia", "other_government", "civil_society"),
                  "Local stakeholder group"),
    Section("actions", "Actions", True,
            columns=(Column("title", "Title", needed=True),
                     Column("objective", "Objective", "longtext", needed=True),
                     Column("lead", "Lead", needed=True), Column("partners", "Partners"),
                     Column("start", "Start", "date"), Column("end", "End", "date"),
                     Column("cost", "Cost (EUR)", "amount"),
                     Column("funding_source", "Funding source")),
            row_label="action", min_rows=1),
    Section("pilots", "Pilot projects", True,
            hint="Economically viable projects that can be carried out in the short term and "
                 "open market opportunities.",
            columns=(Column("title", "Title", needed=True),
                     Column("timeframe", "Short-term timeframe", needed=True),
                     Column("budget", "Budget (EUR)", "amount", needed=True),
                     Column("funding_sources", "Funding sources", needed=True),
                     Column("financing_model", "Financing model", "longtext", needed=True),
                     Column("expected_results", "Expected results", "longtext", needed=True)),
            row_label="pilot project", min_rows=1),
    Section("funding", "Funding plan", False,
            fields=(TextField("funding_plan", "Funding plan", required=False),)),
    Section("governance", "Governance", False,
            fields=(TextField("governance", "Governance", "Who steers and implements the plan.",
                              required=False),)),
    Section("risks", "Risks and mitigation", False,
            fields=(TextField("risks", "Risks and how you will mitigate them",
                              required=False),)),
    _indicators(),
    Section("alignment", "Alignment with global and EU agendas", True,
            hint="How the plan contributes to each of these frameworks.",
            fields=tuple(TextField(k, label) for k, label in FRAMEWORKS.items()),
            sdg_choice=True),
    Section("learned", "What we learned from our partner", True,
            fields=(TextField("learned", "What we learned from our partner",
                              "Practices, tools and ideas the cooperation brought you."),)),
))

ROADMAP = PlanDefinition("roadmap", sectors=ROADMAP_SECTORS, joint=True, sections=(
    Section("summary", "Summary and shared innovation priority", True,
            fields=(TextField("summary", "Summary of the roadmap"),
                    TextField("priority", "Shared innovation priority",
                              "The field of innovation both regions chose to work on, and "
                              "why."))),
    Section("specialisation", "Smart-specialisation priorities", True,
            hint="Where the two regions' innovation strategies meet.",
            fields=(TextField("eu_priorities", "The EU region's smart-specialisation priorities",
                              "The priorities of its research and innovation strategy for "
                              "smart specialisation (RIS3) that the roadmap serves."),
                    TextField("partner_priorities", "The partner region's innovation priorities"),
                    TextField("shared", "Where the priorities meet"))),
    Section("projects", "Joint innovation projects", True,
            hint="Projects the two regions carry out together, with their universities, "
                 "businesses and clusters.",
            columns=(Column("title", "Title", needed=True),
                     Column("objective", "Objective", "longtext", needed=True),
                     Column("partners", "Partners (universities, businesses, clusters)",
                            needed=True),
                     Column("lead", "Lead"), Column("start", "Start", "date"),
                     Column("end", "End", "date"), Column("cost", "Cost (EUR)", "amount"),
                     Column("funding_source", "Funding source")),
            row_label="joint project", min_rows=1),
    Section("ecosystem", "Innovation partners", True,
            hint="The universities, research centres, businesses and clusters of both regions "
                 "that take part in the projects.",
            columns=(Column("organisation", "Organisation", needed=True),
                     Column("region", "Region"),
                     Column("sector", "Type", "sector", needed=True)),
            row_label="partner", covers=("research", "business", "cluster"),
            identified_by=("organisation",)),
    Section("opportunities", "Business and investment opportunities", True,
            columns=(Column("title", "Title", needed=True),
                     Column("description", "Description", "longtext", needed=True),
                     Column("market", "Sector or market"),
                     Column("investment", "Investment sought (EUR)", "amount")),
            row_label="opportunity", min_rows=1),
    Section("funding", "Funding", True,
            fields=(TextField("funding_plan", "How the projects will be funded",
                              "Regional, national and EU programmes, and private investment."),)),
    Section("governance", "Governance", True,
            fields=(TextField("governance", "Governance",
                              "Who steers the roadmap in each region and how the partners "
                              "meet."),)),
    _indicators(),
    Section("learned", "What the regions learned from each other", False,
            fields=(TextField("learned", "What the regions learned from each other",
                              required=False),)),
))


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def rows(content: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    """The rows of a section that say something (empty rows are not rows)."""
    found = (content.get(key) or {}).get("rows") or []
    return [r for r in found if isinstance(r, Mapping) and any(_text(v) for v in r.values())]


def sdg_choices(content: Mapping[str, Any], key: str = "alignment") -> list[str]:
    """The SDG topics the plan names in its section ``key``."""
    return [s for s in (content.get(key) or {}).get("sdg_topics") or [] if s]


def _cell(column: Column, value: Any) -> Any:
    if column.type == "amount":
        return _amount(value)
    if column.type == "date" and hasattr(value, "isoformat"):
        return value.isoformat()
    return _text(value)


def canonical(content: Mapping[str, Any]) -> str:
    """The content as one canonical JSON text: the same plan always gives the same text."""
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def content_hash(content: Mapping[str, Any]) -> str:
    """The SHA-256 of the canonical content: the fingerprint of a frozen version."""
    return hashlib.sha256(canonical(content).encode("utf-8")).hexdigest()


def total(values: Iterable[Any]) -> int:
    """The sum of the amounts given (costs, budgets); blanks count as nothing."""
    return sum(a for a in (_amount(v) for v in values) if a is not None)


def _amount(value: Any) -> int | None:
    if value is None or _text(value) == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
