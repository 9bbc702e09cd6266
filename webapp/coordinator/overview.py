"""The dashboard and the workflow definitions as coordinators read them."""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from webapp.coordinator.blueprint import bp
from webapp.operations import caselist
from workflows import diagram, workflows


@bp.get("/dashboard")
def dashboard():
    """The programme at a glance, counted over the cases the viewer may see."""
    return render_template("coordinator/dashboard.html",
                           figures=caselist.dashboard_figures(current_user))


#: how each role is named in the diagram's labels
ROLE_NAMES = {"applicant": _l("applicant"), "partner": _l("partner"),
              "coordinator": _l("coordinator"), "admin": _l("admin"), "system": _l("system")}


@bp.get("/workflows")
def workflow_definitions():
    """Each workflow definition: its diagram, drawn here, then its states and transitions."""
    def roles(t) -> str:
        return "/".join(str(ROLE_NAMES.get(r.value, r.value)) for r in t.roles)

    defs = list(workflows().values())
    # The drawing escapes every label it writes.
    diagrams = {wf.kind: Markup(diagram.svg(  # noqa: S704
        wf, id_prefix=f"wf-{wf.kind}", gettext=gettext, roles=roles,
        details=f"wf-{wf.kind}-tables")) for wf in defs}
    return render_template("coordinator/workflows.html", workflows=defs, diagrams=diagrams)
