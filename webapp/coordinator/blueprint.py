"""The back office's blueprint and what every one of its routes checks first."""

from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user, login_required

bp = Blueprint("coordinator", __name__, url_prefix="/office")


@bp.before_request
@login_required
def _staff_only():
    if not current_user.is_staff:
        abort(403)
