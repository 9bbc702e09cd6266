"""Running a programme from the browser: administrators manage programmes
(``/office/admin/programmes``); the programme's coordinators and administrators manage its
calls (``/office/calls``): list, create, change, clone for next year, preview, publish, close
early, archive. Another programme's calls do not exist for a coordinator (404)."""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from webapp.calls.forms import (
    CALL_FIELD_ALIASES,
    ActionForm,
    CallForm,
    ProgrammeForm,
    new_call_data,
    show_errors,
)
from webapp.db import db, utcnow
from webapp.errors import Conflict, Invalid, NotFound
from webapp.i18n import country_names, in_zone, region_names
from webapp.models import CallStatus
from webapp.operations import calls as call_ops
from webapp.operations import programmes as programme_ops
from webapp.views import admins_only, refusals_flashed
from workflows import workflows
from workflows.countries import EU_MEMBER_STATES
from workflows.eligibility import ORGANISATION_TYPES

bp = Blueprint("calls", __name__, url_prefix="/office/calls")
programmes_bp = Blueprint("programmes", __name__, url_prefix="/office/admin/programmes")

STATUSES = {"draft": _l("Draft"), "scheduled": _l("Scheduled"), "open": _l("Open"),
            "closed": _l("Closed"), "archived": _l("Archived")}


@bp.before_request
@login_required
def _staff_only():
    if not current_user.is_staff:
        abort(403)


programmes_bp.before_request(admins_only)


# -- what a change changed, in words ---------------------------------------------------------

#: how a history names each parameter of a call or a programme
PARAMETER_NAMES = {
    "programme_id": _l("Programme"), "kind": _l("Kind"), "title": _l("Title"),
    "summary": _l("Introduction"), "conditions": _l("Conditions in full"),
    "partner_regions": _l("Partner regions"), "partner_countries": _l("Partner countries"),
    "opens_at": _l("Opens"), "closes_at": _l("Closes"), "timezone": _l("Time zone"),
    "population_threshold": _l("Population threshold"),
    "eligible_countries": _l("Eligible countries"), "allowed_org_types": _l("Who may apply"),
    "cooperation_months": _l("Length of the cooperation (months)"),
    "report_interval_months": _l("A progress report every (months)"),
    "schedule": _l("Schedule"), "published": _l("Published"), "archived": _l("Archived"),
    "name": _l("Name"), "starts_on": _l("Starts on"), "ends_on": _l("Ends on"),
    "sender_name": _l("Sender's name"), "targets": _l("Targets"),
    "retention_years": _l("Keep unsuccessful applications for (years)"),
}
#: the programme's targets, as people read them
TARGET_NAMES = {"city_partnerships": _l("City partnerships"),
                "regional_partnerships": _l("Regional partnerships")}
COUNTRY_LISTS = ("partner_countries", "eligible_countries")
TEXTS = ("summary", "conditions")


def targets_text(targets: dict[str, Any] | None) -> str:
    """A programme's targets in words: "City partnerships: 10, Regional partnerships: 10"."""
    return ", ".join(f"{TARGET_NAMES.get(k, k)}: {format_decimal(v)}"
                     for k, v in (targets or {}).items() if v is not None)


def _shown(name: str, value: Any) -> str:
    """One recorded value as people read it, times in the reader's zone."""
    if value is None or value in ("", [], {}):
        return "–"
    if name in ("opens_at", "closes_at") and isinstance(value, str):
        return in_zone(datetime.fromisoformat(value))
    if name in COUNTRY_LISTS:
        return country_names(value)
    if name == "allowed_org_types":
        return ", ".join(_(ORGANISATION_TYPES.get(t, t)) for t in value)
    if name == "targets":
        return targets_text(value)
    if name in TEXTS:
        text = " ".join(html.unescape(re.sub(r"<[^>]*>", " ", str(value))).split())
        return text if len(text) <= 120 else text[:119] + "…"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, int):
        return format_decimal(value)
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')}: {_shown(k, v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def describe_changes(changes: dict[str, Any] | None, names: dict[str, Any] | None = None
                     ) -> list[dict[str, str]]:
    """Each recorded change as a line to read: its name and the values before and after,
    or for a list (countries, regions, types) what was added and removed."""
    lines = []
    for key, pair in (changes or {}).items():
        before, after = pair if isinstance(pair, (list, tuple)) and len(pair) == 2 \
            else (None, pair)
        label = str((names or {}).get(key) or PARAMETER_NAMES.get(key) or key.replace("_", " "))
        if isinstance(before, list) and isinstance(after, list):
            added = [v for v in after if v not in before]
            removed = [v for v in before if v not in after]
            lines.append({"label": label, "added": _shown(key, added) if added else "",
                          "removed": _shown(key, removed) if removed else ""})
        elif _shown(key, before) != _shown(key, after):
            lines.append({"label": label, "before": _shown(key, before),
                          "after": _shown(key, after)})
    return lines



# -- programmes -----------------------------------------------------------------------------

@programmes_bp.get("/", endpoint="index")
def programme_index():
    """Every programme, with its period, zone and targets."""
    return render_template("calls/programmes.html",
                           programmes=programme_ops.programmes_for(current_user),
                           targets_text=targets_text)


def _save_programme(programme_id: int | None):
    programme = None
    if programme_id is not None:
        try:
            programme = programme_ops.programme_for(current_user, programme_id)
        except NotFound:
            abort(404)
    form = ProgrammeForm.for_programme(
        programme, request.form if request.method == "POST" else None)
    if request.method == "POST" and not form.validate():
        # Every problem at once: the values that could be read are checked too.
        show_errors(form, programme_ops.check_programme(
            db.session, form.to_data(), programme.id if programme else None))
    elif request.method == "POST":
        try:
            if programme is None:
                saved = programme_ops.create_programme(current_user, form.to_data(),
                                                       source_address=g.source_address)
            else:
                saved = programme_ops.update_programme(programme.id, current_user,
                                                       form.to_data(),
                                                       source_address=g.source_address)
        except Invalid as exc:
            show_errors(form, exc.errors)
        else:
            flash(_("The programme %(name)s is saved.", name=saved.name), "success")
            return redirect(url_for("programmes.index"))
    history = programme_ops.audit_history(programme.id) if programme else []
    status = 400 if request.method == "POST" else 200
    return render_template("calls/programme_form.html", form=form, programme=programme,
                           history=history, describe=describe_changes,
                           names={"slug": _("Short name")}), status


@programmes_bp.route("/new", methods=["GET", "POST"], endpoint="new")
def programme_new():
    """Create a programme."""
    return _save_programme(None)


@programmes_bp.route("/<int:programme_id>/edit", methods=["GET", "POST"], endpoint="edit")
def programme_edit(programme_id: int):
    """Change a programme."""
    return _save_programme(programme_id)


# -- calls ----------------------------------------------------------------------------------

def _call(call_id: int):
    try:
        return call_ops.call_for(db.session, current_user, call_id)
    except NotFound:
        abort(404)


@bp.get("/")
def index():
    """The calls of the programmes the viewer works on, by programme and status."""
    programmes = programme_ops.programmes_for(current_user)
    wanted = request.args.get("programme", "")
    programme_id = int(wanted) if wanted.isdigit() and int(wanted) in {
        p.id for p in programmes} else None
    status = request.args.get("status", "")
    status = status if status in STATUSES else ""
    rows = call_ops.calls_for(current_user, programme_id=programme_id, status=status)
    return render_template("calls/index.html", rows=rows, programmes=programmes,
                           programme_id=programme_id, status=status, statuses=STATUSES)


def _call_form(call=None, programme=None):
    form = CallForm(formdata=request.form if request.method == "POST" else None)
    form.offer(current_user, new=call is None)
    if request.method == "GET":
        form.fill(call_ops.call_data(call) if call else new_call_data(programme),
                  call.version if call else None)
    return form


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Create a call: a draft until it is published."""
    programmes = programme_ops.programmes_for(current_user)
    wanted = request.args.get("programme", "")
    programme = next((p for p in programmes if str(p.id) == wanted),
                     programmes[0] if len(programmes) == 1 else None)
    form = _call_form(programme=programme)
    if request.method == "POST" and _readable(form, None):
        try:
            call = call_ops.create_call(current_user, form.to_data(),
                                        source_address=g.source_address)
        except Invalid as exc:
            show_errors(form, exc.errors, CALL_FIELD_ALIASES)
        else:
            flash(_("The call is saved as a draft. Preview it, then publish it."), "success")
            return redirect(url_for("calls.detail", call_id=call.id))
    return _form_page(form, None)


def _readable(form: CallForm, call) -> bool:
    """Whether every field could be read; if not, the readable values are checked as well, so
    the page lists every problem at once."""
    if form.validate():
        return True
    show_errors(form, call_ops.check_call(db.session, current_user, form.to_data(), call),
                CALL_FIELD_ALIASES)
    return False


def _form_page(form: CallForm, call):
    kind = form.kind.data if form.kind.data in workflows() else call_ops.DEFAULT_KIND
    months = form.cooperation_months.data or 18
    interval = form.report_interval_months.data or 6
    defaults = call_ops.schedule_defaults(kind, max(months, 1), max(interval, 1))
    status = 400 if request.method == "POST" else 200
    return render_template("calls/call_form.html", form=form, call=call,
                           defaults=defaults), status


@bp.route("/<int:call_id>/edit", methods=["GET", "POST"])
def edit(call_id: int):
    """Change a call's parameters."""
    call = _call(call_id)
    form = _call_form(call=call)
    if request.method == "POST" and _readable(form, call):
        try:
            saved = call_ops.update_call(call.id, current_user, form.to_data(),
                                         expected_version=int(form.version.data or 0),
                                         source_address=g.source_address)
        except Invalid as exc:
            show_errors(form, exc.errors, CALL_FIELD_ALIASES)
        except Conflict as exc:
            # The call as it is now, with the reason: nothing typed silently wins over it.
            db.session.expire_all()
            call = _call(call_id)
            form = CallForm(formdata=None)
            form.offer(current_user)
            form.fill(call_ops.call_data(call), call.version)
            form.form_errors.append(exc.message)
            page, _status = _form_page(form, call)
            return page, 409
        else:
            flash(_("Your changes to the call are saved."), "success")
            return redirect(url_for("calls.detail", call_id=saved.id))
    return _form_page(form, call)


@bp.get("/<int:call_id>")
def detail(call_id: int):
    """A call: its status and parameters, what can be done with it now, and its history."""
    call = _call(call_id)
    return render_template("calls/detail.html", call=call, status=call.status(utcnow()).value,
                           history=call_ops.history(call.id), statuses=STATUSES,
                           parameters=_parameters(call), actions=ACTIONS,
                           describe=describe_changes, names={"slug": _("Web address")})


#: how the call's history names each kind of event
ACTIONS = {"create_call": _l("Created"), "update_call": _l("Changed"),
           "clone_call": _l("Cloned"), "publish_call": _l("Published"),
           "close_call": _l("Closed early"), "archive_call": _l("Archived")}


def _both_zones(moment: datetime, zone: str) -> str:
    """A time as the call announces it, and in the reader's own zone when that differs."""
    announced, own = in_zone(moment, zone), in_zone(moment)
    return announced if own == announced else _("%(announced)s; your time: %(own)s",
                                                 announced=announced, own=own)


def _parameters(call) -> list[tuple[str, str]]:
    """Every parameter of the call in words, for its page."""
    rules = call_ops.schedule_defaults(call.kind, call.cooperation_months,
                                       call.report_interval_months)
    schedule = {**vars(rules), **((call.settings or {}).get("schedule") or {})}
    eu = set(EU_MEMBER_STATES)
    if eu <= set(call.eligible_countries):
        extra = [c for c in call.eligible_countries if c not in eu]
        eligible = _("The 27 EU member states") + (
            _(", and %(more)s", more=country_names(extra)) if extra else "")
    else:
        eligible = country_names(call.eligible_countries)
    return [
        (_("Kind"), _(workflows()[call.kind].title) if call.kind in workflows() else call.kind),
        (_("Public address"), url_for("public.call", slug=call.slug)),
        (_("Opens"), _both_zones(call.opens_at, call.timezone)),
        (_("Closes"), _both_zones(call.closes_at, call.timezone)),
        (_("Partner regions"), region_names(call.partner_regions)),
        (_("Partner countries"), country_names(call.partner_countries)
         or _("Any country of those regions")),
        (_("Partners per case"), _("One partner each") if call.max_partners_per_case == 1
         else _("Up to %(n)s partners each", n=call.max_partners_per_case)),
        (_("Who may apply"), ", ".join(_(ORGANISATION_TYPES.get(t, t))
                                       for t in call.allowed_org_types)),
        (_("Population threshold"), format_decimal(call.population_threshold)),
        (_("Eligible countries"), eligible),
        (_("Cooperation"), _("%(n)s months, a progress report every %(m)s months",
                             n=call.cooperation_months, m=call.report_interval_months)),
        (_("Schedule"), _("work plan in month %(w)s; draft plan in month %(d)s; follow-up "
                          "report %(f)s months after completion; deliverables open %(o)s days "
                          "before they are due", w=schedule["work_plan_month"] or "–",
                          d=schedule["draft_plan_month"] or "–",
                          f=schedule["follow_up_months"], o=schedule["opens_days_before"])),
        (_("Reminders"), _("%(days)s days from each due date; the coordinator is told %(e)s "
                           "days after", days=", ".join(str(d) for d in
                                                        schedule["reminder_days"]),
                           e=schedule["escalation_days"])),
    ]


@bp.get("/<int:call_id>/preview")
def preview(call_id: int):
    """The public page of the call as it will look once published, marked as a preview."""
    call = _call(call_id)
    now = utcnow()
    if call.status(now) in (CallStatus.DRAFT, CallStatus.ARCHIVED):
        shown = (CallStatus.SCHEDULED if now < call.opens_at else
                 CallStatus.OPEN if now <= call.closes_at else CallStatus.CLOSED).value
    else:
        shown = call.status(now).value
    return render_template("public/call.html", call=call, now=now, preview=True,
                           shown_status=shown)


def _act(call_id: int, action, done: str):
    call = _call(call_id)
    form = ActionForm()
    if not form.validate():
        flash(" ".join(e for errors in form.errors.values() for e in errors), "error")
        return redirect(url_for("calls.detail", call_id=call.id)), 303
    with refusals_flashed(url_for("calls.detail", call_id=call.id), passing=(404,)):
        result = action(call.id, current_user, expected_version=int(form.version.data),
                        source_address=g.source_address)
    flash(done, "success")
    return redirect(url_for("calls.detail", call_id=result.id))


@bp.post("/<int:call_id>/publish")
def publish(call_id: int):
    """Publish a draft call."""
    return _act(call_id, call_ops.publish_call,
                _("The call is published: it appears on the public calls page."))


@bp.post("/<int:call_id>/close")
def close(call_id: int):
    """Close an open call now."""
    return _act(call_id, call_ops.close_call,
                _("The call is closed: applications can no longer be submitted."))


@bp.post("/<int:call_id>/archive")
def archive(call_id: int):
    """Archive a closed call."""
    return _act(call_id, call_ops.archive_call,
                _("The call is archived: it no longer appears in the public lists."))


@bp.post("/<int:call_id>/clone")
def clone(call_id: int):
    """Next year's call from this one, as a draft."""
    return _act(call_id, call_ops.clone_call,
                _("Next year's call is ready as a draft, its dates a year later. Check it, "
                  "then publish it."))
