"""The API's operations: thin views over the same queries and operations the pages use."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from importlib import resources
from typing import Any

from flask import current_app, g, request
from flask_smorest import Blueprint, abort
from sqlalchemy import func, select
from sqlalchemy.orm import aliased, joinedload, selectinload
from werkzeug.exceptions import HTTPException

from webapp import authz
from webapp.access import load_case, visible_calls, visible_cases
from webapp.api import problems
from webapp.api.schemas import (
    AuditListSchema,
    CallChangeSchema,
    CallInSchema,
    CallListSchema,
    CallSchema,
    CaseDetailSchema,
    CaseListArgsSchema,
    CasePageSchema,
    DeliverableListArgsSchema,
    DeliverablePageSchema,
    FiredSchema,
    FireSchema,
    PairingListArgsSchema,
    PairingPageSchema,
    PersonalDataSchema,
    ProgrammeInSchema,
    ProgrammeListSchema,
    ProgrammeSchema,
    PublicPairingArgsSchema,
    PublicPairingListSchema,
    TransitionListSchema,
    VersionSchema,
)
from webapp.db import db, utcnow
from webapp.errors import Forbidden, NotFound, OperationError
from webapp.extensions import limiter
from webapp.models import Call, Case, CasePartner, Deliverable, PartnerCity, Programme, User
from webapp.operations import calls as call_ops
from webapp.operations import caselist, privacy, tokens
from webapp.operations import cases as case_ops
from webapp.operations import programmes as programme_ops
from workflows import get_workflow
from workflows.countries import normalise_country
from workflows.pairing import read_pairings

blp = Blueprint("api", __name__, url_prefix="/api/v1",
                description="Calls, cases, transitions, pairings and deliverables.")
limiter.limit("600 per minute")(blp)

AUTH_HEADER = {"WWW-Authenticate": 'Bearer realm="citypair"'}
#: what a read-only token may call; anything else changes something and needs WRITE_SCOPE
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WRITE_SCOPE = "write"


# -- authentication, authorization and errors ----------------------------------------------

@blp.before_request
def _authenticate():
    """Every operation's roles come from the authorization matrix; a token says who asks."""
    g.api_user = None
    access = authz.access_for(request.endpoint)
    if access is None:
        # A route nobody has given a row is open to nobody.
        return problems.problem(403, "This operation is not open to anyone yet.")
    if access.public:
        return None
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return problems.problem(
            401, "Send your personal API token as 'Authorization: Bearer cp_...'. "
                 "Create one on /account/tokens.", headers=AUTH_HEADER)
    token = tokens.authenticate(raw.strip())
    if token is None:
        return problems.problem(
            401, "This token is not valid: it is unknown, revoked or expired, or its owner's "
                 "account is closed.", headers={"WWW-Authenticate":
                                                'Bearer realm="citypair", error="invalid_token"'})
    user = token.user
    if not access.allows(authz.role_of(user)):
        return problems.problem(403, "Your role does not allow this operation.")
    if request.method not in READ_METHODS and WRITE_SCOPE not in token.scope_set:
        return problems.problem(
            403, "This token may only read. Create a token with the write scope on "
                 "/account/tokens to change anything.",
            headers={"WWW-Authenticate": f'Bearer realm="citypair", error="insufficient_scope", '
                                         f'scope="{WRITE_SCOPE}"'})
    g.api_user = user
    return None


@blp.errorhandler(OperationError)
def _operation_error(exc: OperationError):
    return problems.from_operation_error(exc)


def _http_error(exc: HTTPException):
    return problems.from_http_exception(exc)


# Status-specific handlers, so the app's own page handlers for these codes never answer here.
for _code in (400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500):
    blp.register_error_handler(_code, _http_error)
blp.register_error_handler(HTTPException, _http_error)


def errors(*codes: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Document the problem responses an operation may give."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        for code in codes:
            fn = blp.alt_response(code, response=HTTPStatus(code).name)(fn)
        return fn

    return decorate


def _user() -> User:
    return g.api_user


def _case(case_id: int) -> Case:
    """A case the caller may see; parties are told other cases do not exist."""
    return load_case(case_id, _user())


def _state_label(case: Case, user: User | None) -> str:
    state = get_workflow(case.workflow).state(case.state)
    return state.staff_label if user is not None and user.is_staff else state.applicant_label


def _organisation(case: Case) -> dict[str, Any]:
    org = case.organisation
    return {"id": org.id, "name": org.name, "kind": org.kind, "country": org.country}


def _partner(partner: PartnerCity | None) -> dict[str, Any] | None:
    if partner is None:
        return None
    return {"id": partner.id, "name": partner.name, "country": partner.country,
            "region": partner.region}


def _summary(case: Case, user: User, health: str | None = None) -> dict[str, Any]:
    return {
        "id": case.id, "reference": case.reference, "call_id": case.call_id,
        "workflow": case.workflow, "state": case.state,
        "state_label": _state_label(case, user), "version": case.version,
        "organisation": _organisation(case), "partner_region": case.partner_region,
        "partner_city": _partner(case.partner_city),
        "partners": [_partner(p) for p in case.partners], "topics": [t.slug for t in case.topics],
        "health": health, "submitted_at": case.submitted_at, "updated_at": case.updated_at,
    }


def _page(items: list[Any], page: int, page_size: int, total: int) -> dict[str, Any]:
    return {"items": items, "page": page, "page_size": page_size, "total": total,
            "pages": max((total + page_size - 1) // page_size, 1)}


# -- calls ---------------------------------------------------------------------------------

def _calls_for(user: User):
    """Published calls for everyone; staff also see the drafts and archived calls of the
    programmes they work on (another programme's calls do not exist for them)."""
    if user.is_staff:
        return visible_calls(user)
    return select(Call).where(Call.published.is_(True))


def _call(call: Call) -> dict[str, Any]:
    data = {name: getattr(call, name) for name in CallSchema().fields
            if name not in ("status", "schedule")}
    data["status"] = call.status(utcnow()).value
    data["schedule"] = dict((call.settings or {}).get("schedule") or {})
    return data


@blp.route("/calls")
@blp.response(200, CallListSchema)
@errors(401)
def calls():
    """The calls: published ones, and for staff also the drafts and archived calls of their
    programmes."""
    rows = db.session.scalars(_calls_for(_user()).order_by(Call.opens_at.desc(), Call.id))
    return {"items": [_call(c) for c in rows]}


@blp.route("/calls/<int:call_id>")
@blp.response(200, CallSchema)
@errors(401, 404)
def call(call_id: int):
    """One call with its conditions and dates."""
    found = db.session.scalar(_calls_for(_user()).where(Call.id == call_id))
    if found is None:
        raise NotFound("There is no such call.")
    return _call(found)


def _call_data(body: dict[str, Any], start: call_ops.CallData) -> call_ops.CallData:
    """``start`` with the values sent; the schedule is replaced only when one is sent."""
    for key, value in body.items():
        if key == "schedule":
            value = {k: v for k, v in value.items() if v is not None}
        if key != "expected_version":
            setattr(start, key, value)
    return start


@blp.route("/calls", methods=["POST"])
@blp.arguments(CallInSchema)
@blp.response(201, CallSchema)
@blp.doc(**{"x-required-scope": WRITE_SCOPE})
@errors(400, 401, 403, 422)
def create_call(body: dict[str, Any]):
    """Create a call of one of your programmes, as a draft (publish it when it is ready).

    Invalid values are a 422 whose ``errors.json`` names each field with the same messages
    as the back office's form.
    """
    data = _call_data(body, call_ops.CallData(programme_id=None, kind="", title=""))
    return _call(call_ops.create_call(_user(), data, source_address=request.remote_addr or ""))


@blp.route("/calls/<int:call_id>", methods=["PATCH"])
@blp.arguments(CallChangeSchema)
@blp.response(200, CallSchema)
@blp.doc(**{"x-required-scope": WRITE_SCOPE})
@errors(400, 401, 403, 404, 409, 422)
def update_call(body: dict[str, Any], call_id: int):
    """Change some of a call's parameters, on the version you read (a stale one is a 409).

    Changing who may apply once applications were submitted judges the applications still
    in review again, and the call's history records it.
    """
    user = _user()
    found = call_ops.call_for(db.session, user, call_id)
    data = _call_data(body, call_ops.call_data(found))
    return _call(call_ops.update_call(found.id, user, data,
                                      expected_version=body["expected_version"],
                                      source_address=request.remote_addr or ""))


def _call_action(name: str, action: Callable[..., Call], summary: str, status: int = 200):
    def view(body: dict[str, Any], call_id: int):
        return _call(action(call_id, _user(), expected_version=body["expected_version"],
                            source_address=request.remote_addr or ""))

    view.__name__ = name
    view.__doc__ = summary
    route = blp.route(f"/calls/<int:call_id>/{name.removesuffix('_call')}", methods=["POST"])
    return route(blp.arguments(VersionSchema)(blp.response(status, CallSchema)(
        blp.doc(**{"x-required-scope": WRITE_SCOPE})(
            errors(400, 401, 403, 404, 409, 422)(view)))))


publish_call = _call_action("publish_call", call_ops.publish_call,
                            "Publish a draft call: it opens and closes by its dates.")
close_call = _call_action("close_call", call_ops.close_call,
                          "Close an open call now: drafts can no longer be submitted.")
archive_call = _call_action("archive_call", call_ops.archive_call,
                            "Archive a closed call: it leaves the public lists.")
clone_call = _call_action("clone_call", call_ops.clone_call,
                          "Next year's call from this one: every parameter copied, the dates "
                          "and the years in its title and address a year later, unpublished. "
                          "Answers the new call.", status=201)


# -- programmes ------------------------------------------------------------------------------

def _programme(programme: Programme) -> dict[str, Any]:
    return {name: getattr(programme, name) for name in ProgrammeSchema().fields}


def _programme_data(body: dict[str, Any], start: programme_ops.ProgrammeData
                    ) -> programme_ops.ProgrammeData:
    for key, value in body.items():
        setattr(start, key, value)
    return start


@blp.route("/programmes")
@blp.response(200, ProgrammeListSchema)
@errors(401, 403)
def programmes():
    """The programmes you work on (administrators: every programme)."""
    return {"items": [_programme(p) for p in programme_ops.programmes_for(_user())]}


@blp.route("/programmes/<int:programme_id>")
@blp.response(200, ProgrammeSchema)
@errors(401, 403, 404)
def programme(programme_id: int):
    """One programme you work on."""
    return _programme(programme_ops.programme_for(_user(), programme_id))


@blp.route("/programmes", methods=["POST"])
@blp.arguments(ProgrammeInSchema)
@blp.doc(**{"x-required-scope": WRITE_SCOPE})
@blp.response(201, ProgrammeSchema)
@errors(400, 401, 403, 422)
def create_programme(body: dict[str, Any]):
    """Create a programme (administrators). Invalid values are a 422 naming each field with
    the same messages as the administrators' form."""
    data = _programme_data(body, programme_ops.ProgrammeData(name="", slug=""))
    return _programme(programme_ops.create_programme(_user(), data,
                                                     source_address=request.remote_addr or ""))


@blp.route("/programmes/<int:programme_id>", methods=["PATCH"])
@blp.arguments(ProgrammeInSchema)
@blp.doc(**{"x-required-scope": WRITE_SCOPE})
@blp.response(200, ProgrammeSchema)
@errors(400, 401, 403, 404, 422)
def update_programme(body: dict[str, Any], programme_id: int):
    """Change some of a programme's values (administrators); absent ones stay as they are."""
    user = _user()
    found = programme_ops.programme_for(user, programme_id)
    data = _programme_data(body, programme_ops.programme_data(found))
    return _programme(programme_ops.update_programme(found.id, user, data,
                                                     source_address=request.remote_addr or ""))


@blp.route("/me/data")
@blp.response(200, PersonalDataSchema)
@errors(401)
def my_data():
    """Everything citypair holds about you, as the account page's download gives it."""
    return privacy.export_person(_user().id)


# -- cases ---------------------------------------------------------------------------------

@blp.route("/cases")
@blp.arguments(CaseListArgsSchema, location="query")
@blp.response(200, CasePageSchema)
@errors(401)
def cases(args: dict[str, Any]):
    """The cases you may see, filtered like the back office's list, a page at a time."""
    user = _user()
    filters = caselist.CaseFilters(
        call_id=args.get("call"), state=args.get("state", ""), region=args.get("region", ""),
        country=args.get("country", ""), topic=args.get("topic", ""),
        search=args.get("q", "").strip())
    result = caselist.list_page(user, filters, utcnow(), page=args["page"],
                                page_size=args["page_size"])
    items = [_summary(c, user, health) for c, health in result.rows]
    return _page(items, result.page, result.page_size, result.total)


@blp.route("/cases/<int:case_id>")
@blp.response(200, CaseDetailSchema)
@errors(401, 403, 404)
def case(case_id: int):
    """A case: its state and version, application and eligibility results."""
    user = _user()
    found = _case(case_id)
    party_facts: dict[str, list[str]] = {}
    for pf in found.party_facts:
        party_facts.setdefault(pf.party, []).append(pf.fact)
    return {
        **_summary(found, user),
        "state_entered_at": found.state_entered_at, "created_at": found.created_at,
        "challenge_statement": found.challenge_statement, "stakeholders": found.stakeholders,
        "resources_committed": found.resources_committed, "contact_name": found.contact_name,
        "contact_email": found.contact_email, "eligibility_summary": found.eligibility_summary,
        "eligibility_results": found.eligibility_results,
        "cooperation_start": found.cooperation_start,
        "cooperation_ends_at": found.cooperation_ends_at,
        "party_facts": {k: sorted(v) for k, v in party_facts.items()},
    }


@blp.route("/cases/<int:case_id>/transitions")
@blp.response(200, TransitionListSchema)
@errors(401, 403, 404)
def case_transitions(case_id: int):
    """What you can do on the case now: each transition allowed, or refused with reasons."""
    found = _case(case_id)
    options = case_ops.options(found, _user())
    return {
        "case_id": found.id, "state": found.state, "version": found.version,
        "transitions": [{
            "name": o.transition.name, "label": o.transition.label,
            "target": o.transition.target, "allowed": o.allowed,
            "reasons": [r.english for r in o.reasons],
            "refusals": problems.refusal_documents(o.reasons),
            "fields_": [{"name": f.name, "label": f.label, "type": f.type,
                         "required": f.required, "hint": f.hint,
                         **({"choices": [name for name, _label in
                                         case_ops.field_choices(f.name, found)]}
                            if f.type == "choices" else {})}
                        for f in o.transition.request_fields],
            "each_party": bool(o.transition.each_party), "style": o.transition.style,
        } for o in options],
    }


@blp.route("/cases/<int:case_id>/transitions/<name>", methods=["POST"])
@blp.arguments(FireSchema)
@blp.response(200, FiredSchema)
@blp.doc(**{"x-required-scope": WRITE_SCOPE})
@errors(400, 401, 403, 404, 409)
def fire_transition(body: dict[str, Any], case_id: int, name: str):
    """Fire a transition on the version of the case you saw (needs a token with the
    ``write`` scope).

    A stale ``expected_version`` is a 409; a refused transition is a 422 whose ``reasons``
    name every unmet condition.
    """
    user = _user()
    found = _case(case_id)
    wf = get_workflow(found.workflow)
    if not wf.has_transition(name):
        raise NotFound("This case has no transition by that name; GET its transitions to "
                       "see which it has.")
    t = wf.transition(name)
    if case_ops.actor(user).role not in t.roles:
        raise Forbidden(f"Your role does not allow “{t.label}”.")
    try:
        payload = case_ops.parse_payload(t, body["payload"], strict=True)
    except case_ops.PayloadError as exc:
        abort(422, message="Some fields of the payload are not valid: see errors.",
              errors={"json": {"payload": exc.errors}})
    return case_ops.fire(found.id, name, user, payload,
                         expected_version=body["expected_version"],
                         source_address=request.remote_addr or "")


@blp.route("/cases/<int:case_id>/audit")
@blp.response(200, AuditListSchema)
@errors(401, 403, 404)
def case_audit(case_id: int):
    """The case's audit trail, oldest first (staff only)."""
    found = _case(case_id)
    return {"case_id": found.id, "reference": found.reference,
            "items": case_ops.audit_trail(found.id)}


# -- pairings and deliverables -------------------------------------------------------------

@blp.route("/pairings")
@blp.arguments(PairingListArgsSchema, location="query")
@blp.response(200, PairingPageSchema)
@errors(401)
def pairings(args: dict[str, Any]):
    """The cases with a partner city that you may see."""
    user = _user()
    partner = aliased(PartnerCity)
    q = (visible_cases(user).join(partner, Case.partner_city_id == partner.id))
    if args.get("call"):
        q = q.where(Case.call_id == args["call"])
    if args.get("region"):
        q = q.where(partner.region == args["region"])
    total = db.session.scalar(select(func.count()).select_from(
        q.with_only_columns(Case.id).subquery())) or 0
    page, size = args["page"], args["page_size"]
    rows = db.session.scalars(
        q.options(joinedload(Case.organisation), joinedload(Case.partner_city),
                  selectinload(Case.topics),
                  selectinload(Case.partner_links).joinedload(CasePartner.partner_city))
        .order_by(Case.reference, Case.id).limit(size).offset((page - 1) * size)).unique()
    items = [{
        "case_id": c.id, "reference": c.reference, "call_id": c.call_id, "state": c.state,
        "state_label": _state_label(c, user), "organisation": _organisation(c),
        "partner_city": _partner(c.partner_city),
        "partners": [_partner(p) for p in c.partners], "topics": [t.slug for t in c.topics],
        "cooperation_start": c.cooperation_start, "cooperation_ends_at": c.cooperation_ends_at,
    } for c in rows]
    return _page(items, page, size, total)


@blp.route("/deliverables")
@blp.arguments(DeliverableListArgsSchema, location="query")
@blp.response(200, DeliverablePageSchema)
@errors(401)
def deliverables(args: dict[str, Any]):
    """The deliverables of the cases you may see, soonest due first."""
    user = _user()
    visible_ids = visible_cases(user).with_only_columns(Case.id)
    q = (select(Deliverable, Case.reference).join(Case, Deliverable.case_id == Case.id)
         .where(Deliverable.case_id.in_(visible_ids)))
    if args.get("case"):
        q = q.where(Deliverable.case_id == args["case"])
    if args.get("status"):
        q = q.where(Deliverable.status == args["status"])
    total = db.session.scalar(select(func.count()).select_from(q.subquery())) or 0
    page, size = args["page"], args["page_size"]
    now = utcnow()
    rows = db.session.execute(q.order_by(Deliverable.due_at, Deliverable.id)
                              .limit(size).offset((page - 1) * size)).all()
    items = [{
        "id": d.id, "case_id": d.case_id, "reference": reference, "kind": d.kind,
        "sequence": d.sequence, "title": d.title, "status": d.status, "opens_at": d.opens_at,
        "due_at": d.due_at, "submitted_at": d.submitted_at, "accepted_at": d.accepted_at,
        "overdue": d.status in ("scheduled", "revision_requested") and d.due_at < now,
    } for d, reference in rows]
    return _page(items, page, size, total)


# -- public --------------------------------------------------------------------------------

def _history_file() -> str:
    return current_app.config.get("PAIRINGS_HISTORY_FILE") or str(
        resources.files("workflows") / "data" / "iuc_2017_pairings.csv")


@blp.route("/public/pairings")
@blp.arguments(PublicPairingArgsSchema, location="query")
@blp.response(200, PublicPairingListSchema)
@blp.doc(security=[])
def public_pairings(args: dict[str, Any]):
    """The programme's pairings for everyone: the 2017 history and the cooperations under
    way. No token needed."""
    items: list[dict[str, Any]] = []
    for row in read_pairings(_history_file()):
        lead = {"name": row["partner_city"], "country": normalise_country(row["partner_country"]),
                "region": row["partner_region"]}
        items.append({
            "source": "history", "eu_city": row["eu_city"],
            "eu_country": normalise_country(row["eu_country"]), "partner_city": lead["name"],
            "partner_country": lead["country"], "partner_region": lead["region"],
            "partners": [lead],
            "topics": [t.strip() for t in row["topics"].split(",") if t.strip()],
            "cooperation_start": None})
    current = db.session.scalars(
        select(Case).where(Case.cooperation_start.is_not(None), Case.partner_city_id.is_not(None))
        .options(joinedload(Case.organisation), joinedload(Case.partner_city),
                 selectinload(Case.partner_links).joinedload(CasePartner.partner_city),
                 selectinload(Case.topics))
        .order_by(Case.cooperation_start, Case.id)).unique()
    items += [{
        "source": "current", "eu_city": c.organisation.name, "eu_country": c.organisation.country,
        "partner_city": c.partner_city.name, "partner_country": c.partner_city.country,
        "partner_region": c.partner_city.region,
        "partners": [{"name": p.name, "country": p.country, "region": p.region}
                     for p in c.partners],
        "topics": [t.label for t in c.topics],
        "cooperation_start": c.cooperation_start.date() if c.cooperation_start else None,
    } for c in current]
    region = args.get("region", "").strip()
    topic = args.get("topic", "").strip().lower()
    if region:
        # A pairing is in the region of any of its partners.
        items = [i for i in items if any(p["region"] == region for p in i["partners"])]
    if topic:
        items = [i for i in items if any(topic in t.lower() for t in i["topics"])]
    return {"items": items, "total": len(items)}
