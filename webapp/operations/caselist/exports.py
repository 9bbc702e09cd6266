"""The case list and an audit trail as CSV and XLSX files, in the reader's language and zone,
with nothing a spreadsheet would run.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

import xlsxwriter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp.db import db
from webapp.i18n import country_name
from webapp.models import (
    AuditEvent,
    User,
)
from webapp.operations.caselist.listing import (
    HEALTH_LABELS,
    CaseFilters,
    filtered_cases,
    with_related,
)
from workflows import workflows

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
    q = with_related(filtered_cases(user, filters, now)).execution_options(yield_per=500)
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
