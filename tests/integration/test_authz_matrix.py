"""Every route of the app, tried by a person in every role, against ``webapp.authz.MATRIX``.

The world: a case of organisation A paired with Rosario (Latin America), its agreement
issued and signed by A's applicant, plus two applicants (A and B), the partner contact, a
coordinator of Latin America, one of Asia, a coordinator of another programme and an admin.
For the coordinator of another programme, the cases and calls of this one do not exist: every
route that checks the object answers them 404, never 403. A route missing from the matrix fails
with its name; a role the matrix refuses must be refused (anonymous: sent to sign in on pages,
401 on the API; others: 403 or 404), a role it allows must get through (2xx, 3xx, or a 400,
405, 409 or 422 that judges the input, never the person).

When you add a route, add its row to ``webapp/authz.py`` and, if its address has a parameter
this file does not know yet, a way to find a real value in ``PARAMS`` below.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from flask import g
from jinja2 import TemplateNotFound
from sqlalchemy import func, select

from tests.factories import World, complete_application, user
from webapp import authz
from webapp.access import can_view_case, sees_programme
from webapp.db import db
from webapp.models import (
    Activity,
    Agreement,
    Call,
    Case,
    Deliverable,
    Document,
    GroupMember,
    LapVersion,
    Notification,
    Programme,
    Signature,
    User,
    UserRole,
)
from webapp.operations import agreements, applications, cases, tokens
from workflows import lap

pytestmark = pytest.mark.integration

#: the smallest PDF a content check accepts, standing in for a hand-signed agreement
SIGNED_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
              b"2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\n"
              b"trailer<</Root 1 0 R>>\n%%EOF\n")


@dataclass
class MatrixWorld:
    world: World
    case: Case
    region_case: Case
    member: GroupMember
    token: tokens.NewToken
    agreement: Agreement
    signature: Signature
    report: Deliverable
    attachment: Document
    plan_version: LapVersion
    notification: Notification
    outsider: User

    def case_for(self, endpoint: str) -> Case:
        return self.region_case if endpoint in REGION_TO_REGION else self.case


#: routes that exist for region-to-region cases only
REGION_TO_REGION = {"cooperation.scoring", "cooperation.save_scoring",
                    "cooperation.declare_conflict"}
#: routes whose region check is on a partner city, which every programme shares
PARTNER_CITY_REGION = {"pairing.partner_edit"}


def build(world: World) -> MatrixWorld:
    """A case of organisation A cooperating with Rosario (Latin America), with its signed
    agreement, deliverables, an activity with an attachment and a plan version; and a
    region-to-region draft of A preferring Latin America."""
    draft = applications.start_application(world.applicant_a, world.call.id)
    case = complete_application(db.session.get(Case, draft.id))
    cases.fire(case.id, "submit", world.applicant_a)
    cases.fire(case.id, "declare_eligible", world.coordinator)
    cases.fire(case.id, "propose_pairing", world.coordinator,
               {"partner_city_id": world.partner_city.id})
    cases.fire(case.id, "accept_pairing", world.applicant_a)
    cases.fire(case.id, "accept_pairing", world.partner)
    agreement = agreements.current(db.session, case.id)
    assert agreement is not None, "entering agreement_pending issues the agreement"
    signed = agreements.sign_upload(case.id, world.applicant_a,
                                    agreement_hash=agreement.content_hash,
                                    stream=io.BytesIO(SIGNED_PDF), filename="signed.pdf",
                                    full_name="Anna Contact", title="Deputy mayor")
    agreements.sign_typed(case.id, world.partner, agreement_hash=agreement.content_hash,
                          full_name="Rosa Partner", title="Secretary", consent=True)
    signature = db.session.get(Signature, signed.signature_id)
    activity = Activity(case_id=case.id, type="webinar", title="Kick-off webinar",
                        starts_on=date(2026, 1, 10), ends_on=date(2026, 1, 10),
                        direction="online", documents=[signature.document])
    plan_version = LapVersion(case_id=case.id, number=1, purpose="draft", content={},
                              sha256="0" * 64)
    member = GroupMember(organisation_id=world.org_a.id, name="Villeurbanne", population=150_000)
    db.session.add_all([activity, plan_version, member])
    region_call = Call(programme=world.programme, slug="r2r", kind="region-to-region",
                       title="Region-to-region call",
                       partner_regions=list(world.call.partner_regions),
                       opens_at=world.call.opens_at, closes_at=world.call.closes_at)
    db.session.add(region_call)
    db.session.commit()
    region_draft = applications.start_application(world.applicant_a, region_call.id)
    region_case = complete_application(db.session.get(Case, region_draft.id))
    other = Programme(slug="iurc-na", name="IURC North America 2024–2025")
    outsider = user("na-only@iuc.eu", UserRole.COORDINATOR, programmes=[other])
    db.session.commit()
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.state == "cooperation_active"
    report = db.session.scalar(select(Deliverable).where(
        Deliverable.case_id == case.id, Deliverable.kind == "progress_report")
        .order_by(Deliverable.due_at))
    assert report is not None, "cooperation starts with its deliverable schedule"
    notification = db.session.scalar(select(Notification).where(
        Notification.case_id == case.id).order_by(Notification.id))
    return MatrixWorld(world, case, db.session.get(Case, region_case.id), member,
                       tokens.create_token(world.applicant_a, "matrix"), agreement, signature,
                       report, signature.document, plan_version, notification,
                       db.session.get(User, outsider.id))


#: a transition each role may fire on the case now (its act routes then judge the input)
TRANSITION_BY_ROLE = {"applicant": "withdraw", "partner": "decline_pairing",
                      "coordinator": "terminate", "admin": "terminate",
                      "anonymous": "withdraw"}

Param = Callable[[MatrixWorld, "User | None", str], Any]

#: how to fill each address parameter: (world, person asking, endpoint) -> a real value
PARAMS: dict[str, Param] = {
    "case_id": lambda m, u, e: m.case_for(e).id,
    "call_id": lambda m, u, e: m.world.call.id,
    "programme_id": lambda m, u, e: m.world.programme.id,
    "slug": lambda m, u, e: m.world.call.slug,
    "member_id": lambda m, u, e: m.member.id,
    "token_id": lambda m, u, e: m.token.token.id,
    "partner_city_id": lambda m, u, e: m.world.partner_city.id,
    "version": lambda m, u, e: m.agreement.version,
    "signature_id": lambda m, u, e: m.signature.id,
    "deliverable_id": lambda m, u, e: m.report.id,
    "document_id": lambda m, u, e: m.attachment.id,
    "notification_id": lambda m, u, e: m.notification.id,
    "person_id": lambda m, u, e: m.world.applicant_b.id,
    # a coordinator who is none of the people calling: deactivating them changes no caller
    "staff_id": lambda m, u, e: m.world.coordinator.id,
    "topic": lambda m, u, e: "tourism",
    "template": lambda m, u, e: "state_changed",
    "locale": lambda m, u, e: "fr",
    "number": lambda m, u, e: m.plan_version.number,
    "key": lambda m, u, e: lap.LAP.sections[0].key,
    "section": lambda m, u, e: "organisation",
    "transition": lambda m, u, e: TRANSITION_BY_ROLE[authz.role_of(u)],
    "name": lambda m, u, e: TRANSITION_BY_ROLE[authz.role_of(u)],
    # one-time links: a forged one, which each of these pages must turn away politely
    "token": lambda m, u, e: "forged-link",
}

#: what a POST sends besides the CSRF token; a stale version keeps the case as it is
FORMS: dict[str, dict[str, Any]] = {
    "applicant.act": {"version": "1"},
    "coordinator.act": {"version": "1"},
}
API_BODIES: dict[str, dict[str, Any]] = {
    "api.fire_transition": {"expected_version": 1, "payload": {}},
    # A version nobody read: the call stays as it is whoever may act on it.
    **{f"api.{action}_call": {"expected_version": 999}
       for action in ("update", "publish", "close", "archive", "clone")},
}

PERSONAS = ("anonymous", "applicant of organisation A", "applicant of organisation B",
            "partner contact", "coordinator of Latin America", "coordinator of Asia",
            "coordinator of another programme", "admin")
PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def people(m: MatrixWorld) -> dict[str, User | None]:
    w = m.world
    return dict(zip(PERSONAS, (None, w.applicant_a, w.applicant_b, w.partner,
                               w.coordinator_latam, w.coordinator_asia, m.outsider, w.admin),
                    strict=True))


def rules(app):
    # Signing out goes last, so nobody has to sign in again.
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint != "static"),
                  key=lambda r: (r.endpoint == "auth.logout", r.endpoint, r.rule))


def missing_rows(app) -> list[str]:
    """A line per route without a row, ready to paste into the matrix and complete."""
    lines = []
    for rule in rules(app):
        if authz.access_for(rule.endpoint) is None:
            methods = ",".join(sorted(rule.methods - {"HEAD", "OPTIONS"}))
            lines.append(f'    "{rule.endpoint}": Access(<roles>, "<check>"),'
                         f"  # {methods} {rule.rule}")
    return lines


def expected_allowed(access: authz.Access, user: User | None, m: MatrixWorld,
                     endpoint: str) -> bool:
    if not access.allows(authz.role_of(user)):
        return False
    if endpoint in PARTNER_CITY_REGION:
        return user.region_scope in ("", m.world.partner_city.region)
    if access.check in ("own_case", "region", "case"):
        return can_view_case(user, m.case_for(endpoint))
    if access.check == "programme":
        return not user.is_staff or sees_programme(user, m.world.programme.id)
    if access.check == "token":
        return user is not None and user.id == m.token.token.user_id
    return True


def to_login(resp) -> bool:
    # flask-login's redirect carries the page asked for; a plain link to sign in does not.
    return resp.status_code == 302 and "/account/login?next=" in resp.headers.get("Location", "")


def judged(resp, *, allowed: bool, anonymous: bool, api: bool, link: bool,
           hidden: bool = False) -> str | None:
    """None when the response is what the matrix expects, else what is wrong with it.

    ``hidden``: the object is another programme's, so a refusal must be a 404.
    """
    status = resp.status_code
    if link:
        # The address carries a forged link: whoever asks, it is turned away politely.
        if to_login(resp) or status >= 500 or status in (401, 403):
            return f"a forged link answered {status}, not by the link"
        return None
    if allowed:
        if to_login(resp) or status in (401, 403, 404) or status >= 500:
            return f"refused with {status} {resp.headers.get('Location', '')}".strip()
        if 200 <= status < 400 or status in (400, 405, 409, 422):
            return None
        return f"unexpected {status}"
    if anonymous:
        if api and status == 401:
            return None
        if not api and to_login(resp):
            return None
        return f"let in or wrongly refused with {status} (want " \
               f"{'401' if api else 'a redirect to sign in'})"
    if hidden and status != 404:
        return f"refused with {status}, where another programme's object must not exist (404)"
    if status in (403, 404):
        return None
    return f"let in with {status}"


class Caller:
    """One person: a browser session for pages and a bearer token for the API."""

    def __init__(self, app, make_browser, user: User | None):
        self.user = user
        self.browser = make_browser()
        self.secret = tokens.create_token(user, "matrix").secret if user else None
        if user is not None:
            self.browser.login(user.email)

    def call(self, rule, url: str, method: str, endpoint: str):
        # Requests share the test's app context; forget whoever the last request signed in.
        g.__dict__.clear()
        if url.startswith("/api/"):
            headers = {"Authorization": f"Bearer {self.secret}"} if self.secret else {}
            return self.browser.client.open(url, method=method, headers=headers,
                                            json=API_BODIES.get(endpoint) if method != "GET"
                                            else None)
        if method == "GET":
            # The session's CSRF token came with signing in; downloads are not pages.
            return self.browser.client.get(url)
        resp = self.browser.post(url, FORMS.get(endpoint, {}))
        self._stay_signed_in()
        return resp

    def _stay_signed_in(self) -> None:
        if self.user is None:
            return
        with self.browser.client.session_transaction() as session:
            signed_in = "_user_id" in session
        if not signed_in:  # signing out was the route under test
            self.browser.login(self.user.email)


def test_every_route_has_a_row_in_the_matrix(app):
    missing = missing_rows(app)
    assert not missing, ("These routes have no row in webapp/authz.py MATRIX; add one each "
                         "(roles and object check):\n" + "\n".join(missing))


def test_the_matrix_names_only_routes_that_exist(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    stale = sorted(set(authz.MATRIX) - endpoints)
    assert not stale, f"Rows for routes that no longer exist in webapp/authz.py: {stale}"


def test_every_route_refuses_and_admits_exactly_whom_the_matrix_says(app, world,
                                                                     make_browser):
    m = build(world)
    callers = {name: Caller(app, make_browser, user) for name, user in people(m).items()}
    problems: list[str] = []
    missing = missing_rows(app)
    for rule in rules(app):
        access = authz.access_for(rule.endpoint)
        if access is None:
            continue
        methods = rule.methods - {"HEAD", "OPTIONS"}
        method = "GET" if "GET" in methods else "PATCH" if "PATCH" in methods else "POST"
        unknown = [p for p in rule.arguments if p not in PARAMS]
        if unknown:
            problems.append(f"{rule.endpoint}: add a value for {unknown} to PARAMS "
                            f"({rule.rule})")
            continue
        for persona, caller in callers.items():
            values = {p: PARAMS[p](m, caller.user, rule.endpoint) for p in rule.arguments}
            url = PARAMETER.sub(lambda match, v=values: str(v[match.group(1)]), rule.rule)
            allowed = expected_allowed(access, caller.user, m, rule.endpoint)
            try:
                resp = caller.call(rule, url, method, rule.endpoint)
            except TemplateNotFound:
                # The view got past its checks and is rendering a page still being written.
                verdict = None if allowed else "let in (reached rendering)"
            else:
                hidden = (caller.user is m.outsider and not allowed
                          and access.allows(authz.role_of(m.outsider))
                          and access.check in ("region", "case", "programme"))
                verdict = judged(resp, allowed=allowed, anonymous=caller.user is None,
                                 api=url.startswith("/api/"), link=access.check == "link",
                                 hidden=hidden)
                resp.close()
            if verdict:
                want = "allowed" if allowed else "refused"
                problems.append(f"{rule.endpoint} ({method} {url}) as {persona}: matrix says "
                                f"{want} ({sorted(access.roles)}, {access.check}); {verdict}")
    if missing:
        problems.insert(0, "Routes without a row in webapp/authz.py MATRIX:\n" + "\n".join(
            missing))
    assert not problems, f"{len(problems)} disagreements with the matrix:\n" + "\n".join(
        problems)
    db.session.expire_all()
    # Nothing anybody tried moved the case or changed the call.
    assert db.session.get(Case, m.case.id).state == "cooperation_active"
    call = db.session.get(Call, m.world.call.id)
    assert (call.version, call.published, call.archived) == (1, True, False)
    assert db.session.scalar(select(func.count()).select_from(Call)) == 2
    assert db.session.scalar(select(func.count()).select_from(Programme)) == 2
