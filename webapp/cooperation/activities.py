"""The cooperation pages: the activities a pair records (study tours, workshops ...)."""

from __future__ import annotations

from flask import (
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from webapp.access import case_or_abort
from webapp.cooperation import forms
from webapp.cooperation.common import (
    _frame,
    _parties_only,
    bp,
)
from webapp.db import db
from webapp.errors import Refused
from webapp.models.party import is_party
from webapp.operations import cooperation as coop
from webapp.operations import documents


@bp.get("/cases/<int:case_id>/activities")
def activities(case_id: int):
    """Every activity of the pair, the most recent first."""
    case = case_or_abort(case_id)
    return render_template("cooperation/activities.html", **_frame(case, "activities"),
                           activities=coop.activities(db.session, case.id),
                           types=coop.ACTIVITY_TYPES, directions=coop.DIRECTIONS,
                           date_range=coop.date_range,
                           can_add=is_party(current_user) and case.cooperation_start)


@bp.route("/cases/<int:case_id>/activities/new", methods=["GET", "POST"])
def new_activity(case_id: int):
    """Log an activity, with its attachments."""
    case = case_or_abort(case_id)
    _parties_only()
    form = forms.ActivityForm()
    if form.validate_on_submit():
        files = [f for f in form.attachments.data or [] if f and f.filename]
        try:
            activity = coop.log_activity(case.id, current_user, form.data,
                                         attachments=[(f.stream, f.filename) for f in files])
        except documents.UploadRefused as exc:
            form.attachments.errors = [exc.message]
        except Refused as exc:
            form.form_errors.extend(exc.reasons or (exc.message,))
        else:
            flash(_("“%(title)s” is added to the activities.", title=activity.title), "success")
            return redirect(url_for(".activities", case_id=case.id), 303)
    status = 400 if request.method == "POST" else 200
    return render_template("cooperation/activity_form.html", **_frame(case, "activities"),
                           form=form), status


