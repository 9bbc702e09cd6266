"""The case list: filters, sorting, pages, the CSV and XLSX exports and the bulk actions."""

from __future__ import annotations

from typing import Any

from flask import (
    Response,
    abort,
    g,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from webapp.coordinator.blueprint import bp
from webapp.coordinator.forms import BulkApplyForm, BulkForm, FilterForm
from webapp.db import db, utcnow
from webapp.forms import choices
from webapp.i18n import select_timezone
from webapp.operations import assessment, backoffice, caselist
from webapp.views import form_payload, transition_form
from workflows import workflows
from workflows.engine import Transition

PAGE_SIZES = (25, 50, 100)
#: the direction a column sorts in when its header is first clicked
FIRST_DIRECTION = {"reference": "asc", "organisation": "asc", "state": "asc",
                   "updated": "desc", "submitted": "desc"}


def _filters() -> tuple[FilterForm, caselist.CaseFilters | None]:
    """The filter form from the query string and, when it is valid, what it asks for."""
    form = FilterForm(formdata=request.args)
    form.offer(caselist.filter_choices(current_user))
    if not form.validate():
        return form, None
    sort = request.args.get("sort", "updated")
    if sort not in caselist.SORTS:
        sort = "updated"
    direction = request.args.get("dir", FIRST_DIRECTION[sort])
    return form, caselist.CaseFilters(
        call_id=int(form.call.data) if form.call.data else None, state=form.state.data,
        region=form.region.data, country=form.country.data, topic=form.topic.data,
        coordinator=form.coordinator.data, health=form.health.data,
        search=(form.q.data or "").strip(), sort=sort, descending=direction != "asc")


def _active(form: FilterForm) -> dict[str, str]:
    return {f.name: f.data for f in form if f.data}


def _sort_links(filters: caselist.CaseFilters, args: dict[str, Any]) -> dict[str, Any]:
    """Per sortable column: its URL, and how the list is sorted by it now (or None)."""
    links = {}
    for key in caselist.SORTS:
        if key == filters.sort:
            now = "descending" if filters.descending else "ascending"
            flip = "asc" if filters.descending else "desc"
            links[key] = (url_for("coordinator.cases", **args, sort=key, dir=flip), now)
        else:
            links[key] = (url_for("coordinator.cases", **args, sort=key,
                                  dir=FIRST_DIRECTION[key]), None)
    return links


@bp.get("/")
def home():
    return redirect(url_for("coordinator.cases"))


@bp.get("/cases")
def cases():
    """The filtered, sorted list of the cases the viewer may see, a page at a time."""
    form, filters = _filters()
    size = request.args.get("size", PAGE_SIZES[0], type=int)
    size = size if size in PAGE_SIZES else PAGE_SIZES[0]
    active = _active(form)
    if filters is None:
        return render_template("coordinator/cases.html", form=form, page=None, active=active,
                               sort_links={}, size=size, sizes=PAGE_SIZES, filters=None,
                               bulk_form=_bulk_form(), workflows=workflows()), 400
    page = caselist.list_page(current_user, filters, utcnow(),
                              page=request.args.get("page", 1, type=int), page_size=size)
    sorting = {"sort": filters.sort, "dir": "desc" if filters.descending else "asc"}
    keep = {**active, **({"size": size} if size != PAGE_SIZES[0] else {})}
    return render_template(
        "coordinator/cases.html", form=form, page=page, active=active, filters=filters,
        assessments=assessment.assessments_for(db.session, [case for case, _ in page.rows]),
        size=size, sizes=PAGE_SIZES, sort_links=_sort_links(filters, keep),
        page_args={**keep, **sorting}, export_args={**active, **sorting},
        bulk_form=_bulk_form(), workflows=workflows(), row_words=row_words())


class _Translated(dict[str, str]):
    """Labels translated on first use: each state's label once per page, not once per row."""

    def __missing__(self, label: str) -> str:
        self[label] = _(label)
        return self[label]


def row_words() -> dict[str, Any]:
    """What every row of the list says, translated once for the page instead of per row;
    "select_row" keeps its placeholder for the row's reference."""
    return {
        "select_row": _("Select %(ref)s"),
        "states": _Translated(),
        "health": {"on_track": (_("On track"), "green"),
                   "at_risk": (_("At risk"), "yellow"),
                   "off_track": (_("Off track"), "red"),
                   None: (_("Unknown"), "grey")},
        "preferred": _("preferred"), "not_chosen": _("Not chosen"),
        "unassigned": _("Unassigned"), "not_yet": _("Not yet"),
        # the case page's address without its id: one url_for per page, not per row
        "case_url": url_for("coordinator.case", case_id=0)[:-1],
    }


@bp.get("/cases/export.csv")
def export_csv():
    """The filtered list as CSV, streamed as it is read."""
    _form, filters = _filters()
    if filters is None:
        abort(400)
    lines = caselist.cases_csv(current_user, filters, utcnow(), select_timezone())
    return Response(stream_with_context(lines), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=cases.csv"})


@bp.get("/cases/export.xlsx")
def export_xlsx():
    """The filtered list as an Excel workbook."""
    _form, filters = _filters()
    if filters is None:
        abort(400)
    book = caselist.cases_xlsx(current_user, filters, utcnow(), select_timezone())
    return send_file(book, as_attachment=True, download_name="cases.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


# -- bulk actions --------------------------------------------------------------------------

def _bulk_transitions() -> dict[str, Transition]:
    return {t.name: t for t in backoffice.bulk_transitions(current_user)}


def _bulk_form() -> BulkForm:
    form = BulkForm(formdata=None)
    form.transition.choices = _bulk_choices()
    return form


def _bulk_choices():
    return choices([("", _("Choose an action")),
                    *((name, _(t.label)) for name, t in _bulk_transitions().items())])


@bp.post("/cases/bulk")
def bulk_confirm():
    """Show the ticked cases: for each, whether the chosen action is possible and why not."""
    form = BulkForm()
    form.transition.choices = _bulk_choices()
    if not form.validate():
        return render_template("coordinator/bulk_confirm.html", form=form, checks=[],
                               transition=None, fields_form=None), 400
    t = _bulk_transitions()[form.transition.data]
    checks = backoffice.bulk_preview(current_user, form.case.data, t.name)
    return _confirmation(t, checks, transition_form(t))


def _confirmation(t: Transition, checks: list[backoffice.BulkCheck], fields_form: Any,
                  status: int = 200):
    apply_form = BulkApplyForm(formdata=None)
    apply_form.transition.choices = _bulk_choices()
    apply_form.transition.data = t.name
    return render_template("coordinator/bulk_confirm.html", form=apply_form, checks=checks,
                           transition=t, fields_form=fields_form,
                           possible=sum(1 for c in checks if c.allowed),
                           workflows=workflows()), status


def _selection(values: list[str]) -> list[tuple[int, int | None]]:
    """"id:version" pairs from the confirmation page; anything else is dropped."""
    pairs = []
    for value in values:
        case_id, _, version = value.partition(":")
        if case_id.isdigit():
            pairs.append((int(case_id), int(version) if version.isdigit() else None))
    return pairs


@bp.post("/cases/bulk/apply")
def bulk_apply():
    """Apply the confirmed action to each case in its own transaction and report on each."""
    form = BulkApplyForm()
    form.transition.choices = _bulk_choices()
    if not form.validate():
        return render_template("coordinator/bulk_confirm.html", form=form, checks=[],
                               transition=None, fields_form=None), 400
    t = _bulk_transitions()[form.transition.data]
    selection = _selection(form.selection.data)
    fields_form = transition_form(t, formdata=request.form)
    payload = form_payload(t, fields_form) if fields_form.validate() else None
    if payload is None:
        checks = backoffice.bulk_preview(current_user, [i for i, _ in selection], t.name)
        return _confirmation(t, checks, fields_form, status=400)
    results = backoffice.bulk_fire(current_user, selection, t.name, payload,
                                   source_address=g.source_address)
    counts = {k: sum(1 for r in results if r.outcome == k)
              for k in ("done", "refused", "conflict")}
    return render_template("coordinator/bulk_report.html", transition=t, results=results,
                           counts=counts)
