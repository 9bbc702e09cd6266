"""The coordinators' case list and what is read beside it: the filtered, sorted list with the
health of each case (``listing``), its exports and the audit trail's (``exports``), and the
dashboard's figures (``dashboard``).

Every read here is one SQL statement whatever the page or table size: related rows are joined
or loaded in one extra statement, and health is a SQL expression, never a per-row lookup.
"""

from webapp.operations.caselist.dashboard import (
    DUE_SOON,
    TARGET_LABELS,
    Figures,
    Target,
    dashboard_figures,
    deliverable_figures,
    eligibility_decisions,
    target_kinds,
)
from webapp.operations.caselist.exports import (
    AUDIT_HEADERS,
    EXPORT_HEADERS,
    audit_csv,
    audit_rows,
    cases_csv,
    cases_xlsx,
    csv_lines,
    export_rows,
    spreadsheet_safe,
    xlsx_file,
)
from webapp.operations.caselist.listing import (
    HEALTH_LABELS,
    SORTS,
    UNASSIGNED,
    CaseFilters,
    CasePage,
    count_cases,
    filter_choices,
    filtered_cases,
    health_expression,
    list_page,
    selected_cases,
    state_order,
)

__all__ = [
    "AUDIT_HEADERS", "DUE_SOON", "EXPORT_HEADERS", "HEALTH_LABELS", "SORTS", "TARGET_LABELS",
    "UNASSIGNED", "CaseFilters", "CasePage", "Figures", "Target", "audit_csv", "audit_rows",
    "cases_csv", "cases_xlsx", "count_cases", "csv_lines", "dashboard_figures",
    "deliverable_figures", "eligibility_decisions", "export_rows", "filter_choices",
    "filtered_cases", "health_expression", "list_page", "selected_cases", "spreadsheet_safe",
    "state_order", "target_kinds", "xlsx_file",
]
