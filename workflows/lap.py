"""The Local Action Plan (SPEC §9): its sections, what makes it complete, and its fingerprint.

A plan's content is plain data: ``{section key: {field: text, "rows": [{column: value}]}}``.
The same structure serves the region-to-region call's joint regional innovation roadmap.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SECTORS: dict[str, str] = {
    "public_administration": "Public administration",
    "academia": "Academia",
    "business": "Business",
    "civil_society": "Civil society",
    "other_government": "Other level of government",
}

#: the frameworks a plan aligns with; the SDGs are required, the others welcome
FRAMEWORKS: dict[str, str] = {
    "sdgs": "Sustainable Development Goals",
    "new_urban_agenda": "New Urban Agenda",
    "urban_agenda_eu": "Urban Agenda for the EU",
    "sendai": "Sendai Framework for Disaster Risk Reduction",
    "paris": "Paris Agreement",
}

#: at least this many different sectors in the local stakeholder group
MIN_SECTORS = 3


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
    """One section of the plan, with free-text fields and/or repeating rows."""

    key: str
    title: str
    required: bool
    hint: str = ""
    fields: tuple[TextField, ...] = ()
    columns: tuple[Column, ...] = ()
    row_label: str = ""

    @property
    def has_rows(self) -> bool:
        return bool(self.columns)


SECTIONS: tuple[Section, ...] = (
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
    Section("stakeholders", "Local stakeholder group", True,
            hint="The people and organisations who shaped the plan. Include at least three "
                 "sectors.",
            columns=(Column("member", "Member"), Column("organisation", "Organisation"),
                     Column("sector", "Sector", "sector", needed=True)),
            row_label="member"),
    Section("actions", "Actions", True,
            columns=(Column("title", "Title", needed=True),
                     Column("objective", "Objective", "longtext", needed=True),
                     Column("lead", "Lead", needed=True), Column("partners", "Partners"),
                     Column("start", "Start", "date"), Column("end", "End", "date"),
                     Column("cost", "Cost (EUR)", "amount"),
                     Column("funding_source", "Funding source")),
            row_label="action"),
    Section("pilots", "Pilot projects", True,
            hint="Short-term and economically viable projects that test the plan.",
            columns=(Column("title", "Title", needed=True),
                     Column("budget", "Budget (EUR)", "amount", needed=True),
                     Column("funding_sources", "Funding sources", needed=True),
                     Column("financing_model", "Financing model", "longtext"),
                     Column("expected_results", "Expected results", "longtext")),
            row_label="pilot project"),
    Section("funding", "Funding plan", False,
            fields=(TextField("funding_plan", "Funding plan", required=False),)),
    Section("governance", "Governance", False,
            fields=(TextField("governance", "Governance", "Who steers and implements the plan.",
                              required=False),)),
    Section("risks", "Risks and mitigation", False,
            fields=(TextField("risks", "Risks and how you will mitigate them",
                              required=False),)),
    Section("indicators", "Monitoring indicators", True,
            columns=(Column("name", "Indicator", needed=True),
                     Column("baseline", "Baseline", needed=True),
                     Column("target", "Target", needed=True), Column("source", "Source"),
                     Column("frequency", "Frequency")),
            row_label="indicator"),
    Section("alignment", "Alignment with global and EU agendas", True,
            hint="How the plan contributes to each framework. The SDGs are required.",
            fields=tuple(TextField(k, label, required=(k == "sdgs"))
                         for k, label in FRAMEWORKS.items())),
    Section("learned", "What we learned from our partner", True,
            fields=(TextField("learned", "What we learned from our partner",
                              "Practices, tools and ideas the cooperation brought you."),)),
)
SECTION_BY_KEY = {s.key: s for s in SECTIONS}


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def rows(content: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    """The rows of a section that say something (empty rows are not rows)."""
    found = (content.get(key) or {}).get("rows") or []
    return [r for r in found if isinstance(r, Mapping) and any(_text(v) for v in r.values())]


def sdg_choices(content: Mapping[str, Any]) -> list[str]:
    """The SDG topics the plan names in its alignment section."""
    return [s for s in (content.get("alignment") or {}).get("sdg_topics") or [] if s]


def section_problems(content: Mapping[str, Any], key: str) -> list[str]:
    """What a section still lacks, as sentences; empty when it is complete (or optional)."""
    section = SECTION_BY_KEY[key]
    values = content.get(key) or {}
    problems = [f"Fill in “{f.label}”."
                for f in section.fields if f.required and not _text(values.get(f.key))]
    if key == "stakeholders":
        members = rows(content, key)
        sectors = {r.get("sector") for r in members if r.get("sector") in SECTORS}
        if len(sectors) < MIN_SECTORS:
            have = ", ".join(SECTORS[s].lower() for s in SECTORS if s in sectors) or "none"
            problems.append(f"Name stakeholders from at least {MIN_SECTORS} sectors "
                            f"(so far: {have}).")
        if any(not (_text(r.get("member")) or _text(r.get("organisation"))) for r in members):
            problems.append("Give the name or organisation of every stakeholder.")
    elif key == "actions":
        actions = rows(content, key)
        if not any(_text(r.get("title")) and _text(r.get("objective")) and _text(r.get("lead"))
                   for r in actions):
            problems.append("Describe at least one action with its title, objective and lead.")
        late = [_text(r.get("title")) or "an action" for r in actions
                if _text(r.get("start")) and _text(r.get("end"))
                and _text(r.get("end")) < _text(r.get("start"))]
        problems += [f"The end of {t} is before its start." for t in late]
    elif key == "pilots":
        if not any(_text(r.get("title")) and _amount(r.get("budget")) is not None
                   and _text(r.get("funding_sources")) for r in rows(content, key)):
            problems.append("Describe at least one pilot project with its budget and funding "
                            "sources.")
    elif key == "indicators":
        if not any(_text(r.get("name")) and _text(r.get("baseline")) and _text(r.get("target"))
                   for r in rows(content, key)):
            problems.append("Give at least one monitoring indicator with its baseline and "
                            "target.")
    elif key == "alignment" and not sdg_choices(content):
        problems.append("Choose at least one Sustainable Development Goal the plan serves.")
    return problems


def problems(content: Mapping[str, Any]) -> list[str]:
    """Everything that keeps the plan from being submitted, as sentences; empty when complete."""
    found: list[str] = []
    for section in SECTIONS:
        found += [f"{section.title}: {p}" for p in section_problems(content, section.key)]
    return found


def missing_sections(content: Mapping[str, Any]) -> list[str]:
    """The titles of the required sections that are not complete."""
    return [s.title for s in SECTIONS if s.required and section_problems(content, s.key)]


def clean_section(key: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """A section's answers as stored: known fields only, text stripped, dates as ISO text,
    amounts as whole numbers, rows that say nothing (or are marked for removal) dropped."""
    section = SECTION_BY_KEY[key]
    clean: dict[str, Any] = {f.key: _text(values.get(f.key)) for f in section.fields}
    if key == "alignment":
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
