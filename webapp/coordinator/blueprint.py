"""The back office's blueprint and what every one of its routes checks first."""

from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user, login_required

from webapp.access import refusal
from webapp.db import db
from webapp.models import Case

bp = Blueprint("coordinator", __name__, url_prefix="/office")


@bp.before_request
@login_required
def _staff_only():
    if not current_user.is_staff:
        abort(403)


def case_or_abort(case_id: int) -> Case:
    """The case, 404 when there is none or it is another programme's, 403 when it is outside
    the viewer's region."""
    case = db.session.get(Case, case_id)
    if case is None:
        abort(404)
    status = refusal(current_user, case)
    if status:
        abort(status)
    return case
