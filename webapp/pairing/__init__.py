"""Pairing in the back office: the partner cities registry, suggestions for a case, the
call-wide draft board and the partner contact's invitation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from webapp.access import case_or_abort, sees_programme, visible_calls, visible_cases
from webapp.db import db
from webapp.errors import Conflict, OperationError, Refused
from webapp.i18n import reader_locale
from webapp.models import Call, Case, PartnerCity, partner_party
from webapp.models.organisation import PARTNER_KINDS
from webapp.models.programme import WORLD_REGIONS
from webapp.operations import pairing
from webapp.pairing import forms
from webapp.safety import as_id
from webapp.views import refusals_flashed
from workflows import get_workflow, workflows
from workflows.countries import countries_by_name, normalise_country

bp = Blueprint("pairing", __name__, url_prefix="/office/pairing")
PAGE_SIZE = 25


@bp.before_request
@login_required
def _staff_only():
    if not current_user.is_staff:
        abort(403)




@bp.get("/")
def index():
    """The calls with cases waiting for a partner, and the way to the registry."""
    waiting_states = {kind: set(pairing.proposing_states(wf))
                      for kind, wf in workflows().items()}
    counts: dict[int, int] = {}
    for call_id, kind, state, n in db.session.execute(
            visible_cases(current_user).join(Call, Case.call_id == Call.id)
            .with_only_columns(Case.call_id, Call.kind, Case.state, func.count())
            .group_by(Case.call_id, Call.kind, Case.state)):
        if state in waiting_states.get(kind, ()):
            counts[call_id] = counts.get(call_id, 0) + n
    calls = [c for c in db.session.scalars(visible_calls(current_user)
                                           .order_by(Call.opens_at.desc()))
             if waiting_states.get(c.kind)]
    partners = db.session.scalar(select(func.count()).select_from(
        pairing.partner_cities_query(current_user).subquery()))
    return render_template("pairing/index.html", calls=calls, counts=counts,
                           partners=partners)


# -- the partner cities registry -------------------------------------------------------------

@bp.get("/partners")
def partners():
    """The partner cities, searchable and filtered by world region and country."""
    filters = {"q": request.args.get("q", "").strip(),
               "region": request.args.get("region", "").strip(),
               "country": normalise_country(request.args.get("country", ""))}
    q = pairing.partner_cities_query(current_user, search=filters["q"],
                                     region=filters["region"], country=filters["country"])
    total = db.session.scalar(select(func.count()).select_from(q.subquery()))
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    rows = list(db.session.scalars(q.options(selectinload(PartnerCity.topics))
                                   .order_by(PartnerCity.name, PartnerCity.id)
                                   .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    countries = countries_by_name(reader_locale(), db.session.scalars(
        pairing.partner_cities_query(current_user).with_only_columns(PartnerCity.country)
        .distinct()))
    return render_template("pairing/partners.html", partners=rows, total=total, page=page,
                           pages=pages, filters=filters, countries=countries,
                           regions=pairing.regions_for(current_user), kinds=PARTNER_KINDS)


def _save(form: forms.PartnerCityForm, partner_city_id: int | None):
    try:
        pc = pairing.save_partner_city(current_user, form.data_for_save(), partner_city_id)
    except OperationError as exc:
        if exc.status == 403:
            raise
        form.form_errors.append(exc.message)
        return None
    return pc


@bp.route("/partners/new", methods=["GET", "POST"])
def partner_new():
    """Register a partner city."""
    regions = pairing.regions_for(current_user)
    form = forms.partner_city_form(regions, formdata=request.form if request.method == "POST"
                                   else None)
    if request.method == "POST" and form.validate():
        pc = _save(form, None)
        if pc is not None:
            flash(_("%(name)s is now a partner city.", name=pc.name), "success")
            return redirect(url_for("pairing.partners"))
    status = 400 if request.method == "POST" else 200
    return render_template("pairing/partner_form.html", form=form, partner=None), status


@bp.route("/partners/<int:partner_city_id>/edit", methods=["GET", "POST"])
def partner_edit(partner_city_id: int):
    """Change a partner city."""
    pc = pairing.partner_city_for(current_user, partner_city_id)
    regions = pairing.regions_for(current_user)
    if request.method == "POST":
        form = forms.partner_city_form(regions, formdata=request.form)
        if form.validate():
            saved = _save(form, pc.id)
            if saved is not None:
                flash(_("%(name)s is saved.", name=saved.name), "success")
                return redirect(url_for("pairing.partners"))
        return render_template("pairing/partner_form.html", form=form, partner=pc), 400
    form = forms.partner_city_form(regions, obj=pc)
    return render_template("pairing/partner_form.html", form=form, partner=pc)


@bp.route("/partners/import", methods=["GET", "POST"])
def partner_import():
    """Import partner cities from a CSV file: every row or none."""
    form = forms.ImportForm()
    problems: tuple[str, ...] = ()
    if form.validate_on_submit():
        try:
            count = pairing.import_partner_cities(form.file.data.read(), current_user)
        except pairing.ImportRefused as exc:
            form.form_errors.append(exc.message)
            problems = exc.reasons
        else:
            flash(ngettext("%(num)d partner city imported.", "%(num)d partner cities imported.",
                           count), "success")
            return redirect(url_for("pairing.partners"))
    status = 400 if request.method == "POST" else 200
    return render_template("pairing/import.html", form=form, problems=problems,
                           columns=pairing.IMPORT_COLUMNS, regions=WORLD_REGIONS), status


# -- suggestions for one case -----------------------------------------------------------------

@bp.get("/cases/<int:case_id>")
def case(case_id: int):
    """Partner cities for a case, best first, with their reasons; the current pairing."""
    case = case_or_abort(case_id)
    found = pairing.suggestions_for(case.id, current_user)
    contacts = {p.id: pairing.contacts_of(p) for p in case.partners}
    wf = get_workflow(case.workflow)
    removable = wf.offers(case.state, pairing.REMOVE_PARTNER)
    return render_template("pairing/case.html", case=case, found=found, contacts=contacts,
                           state=wf.state(case.state), form=forms.ProposeForm(),
                           removable=removable, partner_party=partner_party)


def _partner_step(case_id: int, step: Callable[..., Any], done: Callable[[str], str]):
    """Fire one partner step (propose, remove) from the pairing page and say where it led:
    ``done`` words the message for the case's new state."""
    case = case_or_abort(case_id)
    form = forms.ProposeForm()
    partner_city_id = as_id(form.partner_city_id.data)
    if not form.validate_on_submit() or partner_city_id is None:
        abort(400)
    with refusals_flashed(url_for("pairing.case", case_id=case.id), passing=(403, 404)):
        fired = step(case.id, current_user, partner_city_id,
                     expected_version=as_id(form.version.data),
                     source_address=g.source_address)
    label = _(get_workflow(case.workflow).state(fired.target).staff_label).lower()
    flash(done(label), "success")
    return redirect(url_for("pairing.case", case_id=case.id), 303)


@bp.post("/cases/<int:case_id>/propose")
def propose(case_id: int):
    """Propose one partner city for the case (the propose_pairing transition)."""
    return _partner_step(case_id, pairing.propose,
                         lambda state: _("Partner proposed: the case is now %(state)s.",
                                                       state=state))


@bp.post("/cases/<int:case_id>/remove")
def remove(case_id: int):
    """Take one partner out of a proposed pairing (the remove_partner transition)."""
    return _partner_step(case_id, pairing.remove_partner,
                         lambda state: _("Partner removed: the case is %(state)s.",
                                                       state=state))


@bp.post("/cases/<int:case_id>/invite")
def invite(case_id: int):
    """Give a contact of the proposed partner city an account to answer the pairing."""
    case = case_or_abort(case_id)
    form = forms.InviteForm()
    if not form.validate_on_submit():
        abort(400)
    back = url_for("pairing.case", case_id=case.id)
    with refusals_flashed(back, passing=(403, 404)):
        person = pairing.invite_partner_contact(case.id, current_user, form.email.data or "")
    flash(_("We have sent an invitation to %(email)s.", email=person.email), "success")
    return redirect(back, 303)


# -- the call-wide draft board ------------------------------------------------------------------

def _call(call_id: int) -> Call:
    call = db.session.get(Call, call_id)
    if call is None or not sees_programme(current_user, call.programme_id):
        abort(404)  # another programme's call does not exist for its outsiders
    return call


@bp.get("/calls/<int:call_id>/board")
def board(call_id: int):
    """The call-wide optimum as a draft board the coordinator can change."""
    call = _call(call_id)
    ruled_out = forms.parse_pairs(request.args.get("ruled_out"))
    drawn = pairing.board_for(call.id, current_user, ruled_out=ruled_out)
    form = forms.board_form(drawn.rows, forms.format_pairs(ruled_out))
    return render_template("pairing/board.html", board=drawn, form=form, errors={},
                           chosen={r.case.id: r.optimum_id for r in drawn.rows})


@bp.post("/calls/<int:call_id>/board")
def board_submit(call_id: int):
    """Create every proposal of the board in one transaction, or recompute without the
    pairs the coordinator ruled out."""
    call = _call(call_id)
    case_ids = forms.parse_ids(request.form.get("case_ids"))
    ruled_out = forms.parse_pairs(request.form.get("ruled_out_pairs"))
    # A choice that is no id at all (out of range, other digits) is an error on the form.
    typed = {cid: request.form.get(f"partner_{cid}", "").strip() for cid in case_ids}
    chosen = {cid: as_id(v) for cid, v in typed.items()}
    unreadable = [cid for cid, v in typed.items() if v and chosen[cid] is None]
    drawn = pairing.board_for(call.id, current_user, ruled_out=ruled_out, case_ids=case_ids,
                              chosen=chosen)
    form = forms.board_form(drawn.rows, forms.format_pairs(ruled_out), formdata=request.form)
    errors: dict[int, list[str]] = {}

    def again(status: int):
        return render_template("pairing/board.html", board=drawn, form=form, errors=errors,
                               chosen=chosen, has_errors=True), status

    if unreadable:
        errors = {cid: [_("Choose one of the partner cities offered for this case.")]
                  for cid in unreadable}
        form.form_errors.append(_("Some choices are not partner cities on this board."))
    if not form.validate() or unreadable:
        return again(400)
    rows = [r.case.id for r in drawn.rows]
    if request.form.get("action") == "recompute":
        more = {(cid, pid) for cid in rows if (pid := chosen.get(cid))
                and form[f"rule_out_{cid}"].data}
        return redirect(url_for("pairing.board", call_id=call.id,
                                ruled_out=forms.format_pairs(ruled_out | more) or None), 303)
    choices = [pairing.BoardChoice(cid, pid, as_id(request.form.get(f"version_{cid}")))
               for cid in rows if (pid := chosen.get(cid))]
    # Further partners join a case the board also proposes a first partner for.
    choices += [pairing.BoardChoice(cid, pid, None) for row in drawn.rows
                if chosen.get(cid := row.case.id)
                for n in range(1, len(row.extra_ids) + 1)
                if (pid := as_id(request.form.get(f"also_{cid}_{n}", "")))]
    try:
        count = pairing.propose_board(call.id, current_user, choices,
                                      source_address=g.source_address)
    except pairing.BoardRefused as exc:
        errors = exc.errors
        form.form_errors.append(exc.message)
        return again(400)
    except Conflict as exc:
        form.form_errors.append(exc.message)
        return again(409)
    except Refused as exc:
        form.form_errors.append(exc.message)
        return again(400)
    flash(ngettext("%(num)d pairing proposed. The parties have been told.",
                   "%(num)d pairings proposed. The parties have been told.", count), "success")
    return redirect(url_for("pairing.board", call_id=call.id), 303)
