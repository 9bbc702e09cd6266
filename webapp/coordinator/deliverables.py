"""The deliverables across cases: due in the next 30 days, overdue and awaiting review."""

from __future__ import annotations

from flask import render_template, request, url_for
from flask_login import current_user

from webapp.coordinator.blueprint import bp
from webapp.coordinator.case_list import PAGE_SIZES
from webapp.coordinator.forms import DeliverableFilterForm
from webapp.db import utcnow
from webapp.operations import caselist, deliverable_list
from webapp.operations.deliverable_list import NEED_LABELS, DeliverableFilters


@bp.get("/deliverables")
def deliverables():
    """The deliverables of the cases the viewer may see that need attention, by due date."""
    form = DeliverableFilterForm(formdata=request.args)
    offered = caselist.filter_choices(current_user)
    form.offer({"need": list(NEED_LABELS.items()), "call": offered["call"],
                "region": offered["region"], "coordinator": offered["coordinator"]})
    size = request.args.get("size", PAGE_SIZES[0], type=int)
    size = size if size in PAGE_SIZES else PAGE_SIZES[0]
    active = {f.name: f.data for f in form if f.data}
    if not form.validate():
        return render_template("coordinator/deliverables.html", form=form, page=None,
                               active=active, size=size, sizes=PAGE_SIZES), 400
    descending = request.args.get("dir") == "desc"
    filters = DeliverableFilters(
        call_id=int(form.call.data) if form.call.data else None, region=form.region.data,
        coordinator=form.coordinator.data, need=form.need.data, descending=descending)
    now = utcnow()
    page = deliverable_list.list_page(current_user, filters, now,
                                      page=request.args.get("page", 1, type=int),
                                      page_size=size)
    keep = {**active, **({"size": size} if size != PAGE_SIZES[0] else {})}
    flip = url_for("coordinator.deliverables", **keep, dir="asc" if descending else "desc")
    return render_template(
        "coordinator/deliverables.html", form=form, page=page, active=active, size=size,
        sizes=PAGE_SIZES, descending=descending, sort_url=flip, now=now,
        page_args={**keep, **({"dir": "desc"} if descending else {})})
