"""The dashboard and the workflow definitions as coordinators read them."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from webapp.coordinator.blueprint import bp
from webapp.operations import caselist
from workflows import workflows


@bp.get("/dashboard")
def dashboard():
    """The programme at a glance, counted over the cases the viewer may see."""
    return render_template("coordinator/dashboard.html",
                           figures=caselist.dashboard_figures(current_user))


@bp.get("/workflows")
def workflow_definitions():
    """Each workflow definition: its diagram source, its states and its transitions."""
    return render_template("coordinator/workflows.html", workflows=list(workflows().values()))
