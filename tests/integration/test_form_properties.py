"""Properties of the forms on arbitrary text: control characters, any unicode outside the
surrogates, very long strings and markup, in every text field of the registration, sign-in,
application step, quick eligibility check, mailing list and activity forms.

Whatever is typed: never a 5xx; a refused form comes back with "There is a problem" and
what was typed, escaped; no script tag of ours comes back as markup; a refused form leaves
the database as it was, and an accepted one keeps exactly what was typed (trimmed).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from argon2 import PasswordHasher
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import func, select

from tests.integration.test_cooperation import cooperating
from webapp.db import db
from webapp.forms import has_control_characters
from webapp.models import (
    Activity,
    AuditEvent,
    Case,
    MailingSubscriber,
    Notification,
    Organisation,
    User,
)
from webapp.operations import accounts, applications
from webapp.operations.cooperation import ACTIVITY_TYPES, DIRECTIONS
from webapp.operations.mailing_list import normalise_email
from workflows.eligibility import EU_MEMBER_STATES, ORGANISATION_TYPES

pytestmark = pytest.mark.integration

PROPERTY = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

#: markup that must only ever come back escaped (each carries a mark of its own)
MARKUP = [
    "<script>alert(31337)</script>",
    '"><img src=x onerror=alert(31337)>',
    "</textarea><script>alert(31338)</script>",
    "'><svg onload=alert(31339)>",
    "<b onmouseover=alert(31340)>bold</b>",
]
ENTITY = "&lt;script&gt;alert(31341)&lt;/script&gt;"  # must come back as typed, not decoded

characters = st.characters(codec="utf-8")  # every code point but the surrogates
short_text = st.text(characters, max_size=60)
controls = st.text(st.characters(codec="utf-8", categories=("Cc", "Cf", "Zs", "Zl", "Zp")),
                   min_size=1, max_size=20)
# Far beyond every Length limit, up to 120,000 characters, without a huge example buffer.
long_text = st.builds(lambda unit, times: unit * times,
                      st.text(characters, min_size=1, max_size=12), st.integers(40, 10_000))
with_markup = st.builds(lambda before, mark, after: before + mark + after,
                        short_text, st.sampled_from([*MARKUP, ENTITY]), short_text)
texts = st.one_of(short_text, controls, long_text, with_markup,
                  st.sampled_from(["", "   ", "Lyon", "Évora – Ville d'art", "a\r\nb"]))
readable = st.text(characters, min_size=1, max_size=60).filter(lambda t: t.strip() and "<" not in t)
emails = st.one_of(texts, st.builds(lambda local, domain: f"{local}@{domain}",
                                    st.text(characters, min_size=1, max_size=30),
                                    st.sampled_from(["city.eu", "exämple.fr", "x", ""])))
whole_numbers = st.one_of(texts, st.integers(-10, 10**12).map(str),
                          st.sampled_from(["150000", " 522000 ", "1_000", "٣٠٠٠٠٠", "1e5"]))
dates = st.one_of(texts, st.sampled_from(["2026-03-01", "2026-02-30", "01/03/2026"]))


# -- what every answer must be -----------------------------------------------------------

def typed_values(form: dict[str, Any]) -> list[str]:
    return [v for value in form.values()
            for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]


def answer(resp, form: dict[str, Any]) -> str:
    """The body, once it passed what any answer to any form must be."""
    body = resp.get_data(as_text=True)
    assert resp.status_code < 500, body[:3000]
    assert resp.status_code in {200, 302, 303, 400, 413, 422}, resp.status_code
    typed = typed_values(form)
    for mark in MARKUP:
        if any(mark in v for v in typed):
            assert mark not in body, f"{mark!r} came back unescaped"
    # The only scripts on a page are the site's own files.
    for tag in re.findall(r"<script\b[^>]*>", body, re.I):
        assert re.fullmatch(r'<script src="/static/[^"]+"( defer)?>', tag), tag
    if any(ENTITY in v for v in typed):
        assert "&lt;script&gt;alert(31341)" not in body, "a typed entity came back decoded"
    return body


def has_nul(form: dict[str, Any]) -> bool:
    return any("\x00" in v for v in typed_values(form))


def refused_for_nul(resp, body: str) -> None:
    # NUL characters never reach a form or the database: the request itself is refused.
    event("refused: NUL character")
    assert resp.status_code == 400, resp.status_code
    assert "Bad request" in body


def shows_again(body: str, value: str, *, trimmed: bool = True) -> None:
    """What was typed in a text field is on the page again, escaped."""
    shown = str(escape(value.strip() if trimmed else value))
    assert shown in body, f"{value[:200]!r} is not shown again (escaped)"


def password_kept_out(body: str, name: str) -> None:
    """A password field comes back empty, whatever was typed in it."""
    field = re.search(rf'<input[^>]*name="{name}"[^>]*>', body).group(0)
    assert re.search(r'value="[^"]', field) is None, f"the {name} was sent back"


def refused(resp, body: str, status: set[int]) -> None:
    event("refused")
    assert resp.status_code in status, resp.status_code
    assert "There is a problem" in body, body[:3000]


def fine(value: str, limit: int, required: bool = True, one_line: bool = False) -> bool:
    """Whether a free-text answer passes its field's checks: present when required, within
    its length once trimmed, not markup, and on one line for a one-line field."""
    text = value.strip()
    return (bool(text) or not required) and len(text) <= limit and not ("<" in text and
                                                                       ">" in text) \
        and not (one_line and has_control_characters(text))


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def cheap_hashes(monkeypatch) -> None:
    """Argon2 at its cheapest: each sign-in or registration hashes, and its cost (a quarter
    of a second) is not what these properties are about."""
    monkeypatch.setattr(accounts, "hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


# -- registration --------------------------------------------------------------------------

@st.composite
def registrations(draw) -> tuple[bool, dict[str, Any]]:
    """Whether all but the free text is right, and the form."""
    honest = draw(st.booleans())
    # With the rest right, readable names too, so that some registrations go through.
    free = st.one_of(readable, texts) if honest else texts
    form = {"name": draw(free), "organisation_name": draw(free)}
    if honest:
        # Everything else right, so whether it is accepted depends on the free text alone.
        form.update(email=f"p{uuid.uuid4().hex[:12]}@city.eu", organisation_kind="city",
                    country="FR", password="long enough pw", confirm="long enough pw",
                    privacy="y")
    else:
        password = draw(texts)
        form.update(email=draw(emails),
                    organisation_kind=draw(st.sampled_from(list(ORGANISATION_TYPES)) | texts),
                    country=draw(st.sampled_from(EU_MEMBER_STATES) | texts),
                    password=password, confirm=draw(st.just(password) | texts),
                    privacy=draw(st.sampled_from(["y", ""]) | texts))
    return honest, form


RIGHT_REST = {"email": "blank.name@city.eu", "organisation_kind": "city", "country": "FR",
              "password": "long enough pw", "confirm": "long enough pw", "privacy": "y"}


@PROPERTY
@given(chosen=registrations())
# Required answers of nothing but spaces once trimmed: they were stored as empty names.
@example(chosen=(True, {"name": "   ", "organisation_name": "Lyon", **RIGHT_REST}))
@example(chosen=(True, {"name": "Anna", "organisation_name": "\u2003\t", **RIGHT_REST}))
# Markup in every field that is shown again, whatever the random draws bring.
@example(chosen=(False, {**RIGHT_REST, "name": MARKUP[0], "organisation_name": MARKUP[1],
                         "email": MARKUP[3], "password": MARKUP[2], "confirm": ENTITY}))
def test_registration_on_arbitrary_text(browser, world, cheap_hashes, chosen):
    honest, form = chosen
    before = (count(User), count(Organisation), count(Notification))
    address = form["email"].strip().lower()
    # PostgreSQL cannot even compare text with a NUL in it; such a request is refused anyway.
    known = 0 if "\x00" in address else count(User, User.email == address)
    browser.get("/account/register")
    resp = browser.post("/account/register", form)
    body = answer(resp, form)
    if has_nul(form):
        refused_for_nul(resp, body)
    elif "Check your e-mail" in body:
        event("accepted")
        assert resp.status_code == 200
        assert fine(form["name"], 200, one_line=True) \
            and fine(form["organisation_name"], 300, one_line=True), \
            "an answer the form should refuse was accepted"
        shows_again(body, form["email"])
        if known:  # the address has an account: it is told so by e-mail, nothing else
            assert count(User) == before[0] and count(Organisation) == before[1]
            return
        person = db.session.scalar(select(User).where(User.email == address))
        assert person is not None, "accepted, but no account"
        assert person.name == form["name"].strip()
        assert person.organisation.name == form["organisation_name"].strip()
        return
    else:
        refused(resp, body, {200, 400, 422})
        for name in ("name", "email", "organisation_name"):
            shows_again(body, form[name])
        for secret in ("password", "confirm"):
            password_kept_out(body, secret)
        if honest:  # all but the free text was right, so the free text must be at fault
            assert not (fine(form["name"], 200, one_line=True)
                        and fine(form["organisation_name"], 300, one_line=True)), \
                "right answers were refused"
    # Nothing of a refused registration is stored: no account, no organisation, no e-mail.
    assert (count(User), count(Organisation), count(Notification)) == before


# -- sign-in -------------------------------------------------------------------------------

@PROPERTY
@given(email=emails | st.sampled_from(["anna@lyon.fr", " ANNA@lyon.fr "]), password=texts)
@example(email=MARKUP[1], password=MARKUP[0])
@example(email=ENTITY, password="x")
def test_sign_in_on_arbitrary_text(browser, world, cheap_hashes, email, password):
    form = {"email": email, "password": password}
    browser.get("/account/login")
    resp = browser.post("/account/login", form)
    body = answer(resp, form)
    if has_nul(form):
        refused_for_nul(resp, body)
    else:
        refused(resp, body, {200, 400, 422})
        shows_again(body, email)
        password_kept_out(body, "password")
        if email.strip() and password:
            assert "The e-mail address or password is not right" in body
    # Refused is refused: nobody is signed in afterwards.
    browser.get("/")
    account = browser.get("/account/")
    assert account.status_code == 302 and "/account/login" in account.headers["Location"]


# -- an application step -------------------------------------------------------------------

SECTIONS = {
    # section: {field: (strategy, length limit or None for a choice/number, required)}
    "organisation": {"name": (texts, 300, True), "website": (texts, 300, False),
                     "population": (whole_numbers, None, False),
                     "kind": (st.sampled_from(["city", "group"]) | texts, None, True),
                     "country": (st.sampled_from(["FR", "NO"]) | texts, None, False)},
    "contact": {"contact_name": (texts, 200, False), "contact_title": (texts, 200, False),
                "contact_email": (emails, None, False), "contact_phone": (texts, 50, False)},
    "resources": {"resources_committed": (texts, 4000, False)},
}
TEXT_FIELDS = {"name", "website", "contact_name", "contact_title", "contact_email",
               "contact_phone", "resources_committed"}
#: one-line fields: a line break or other control character in them is refused
ONE_LINE = {"name", "website", "contact_name", "contact_title", "contact_phone"}


@st.composite
def section_answers(draw) -> tuple[str, dict[str, Any]]:
    section = draw(st.sampled_from(sorted(SECTIONS)))
    return section, {field: draw(strategy)
                     for field, (strategy, _limit, _required) in SECTIONS[section].items()}


def stored(case_id: int) -> dict[str, Any]:
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    org = case.organisation
    return {"version": case.version, "audit": count(AuditEvent, AuditEvent.case_id == case_id),
            "name": org.name, "kind": org.kind, "country": org.country,
            "population": org.population, "website": org.website,
            **{f: getattr(case, f) for f in ("contact_name", "contact_title", "contact_email",
                                             "contact_phone", "resources_committed")}}


@pytest.fixture
def draft(world, browser) -> int:
    case = applications.start_application(world.applicant_a, world.call.id)
    browser.login(world.applicant_a.email)
    return case.id


@PROPERTY
@given(chosen=section_answers())
@example(chosen=("organisation", {"name": MARKUP[0], "website": MARKUP[1],
                                  "population": MARKUP[3], "kind": "city", "country": "FR"}))
@example(chosen=("contact", {"contact_name": MARKUP[2], "contact_title": ENTITY,
                             "contact_email": MARKUP[4], "contact_phone": MARKUP[1]}))
@example(chosen=("resources", {"resources_committed": MARKUP[2]}))
@example(chosen=("resources", {"resources_committed": ENTITY}))  # allowed, kept as typed
@example(chosen=("organisation", {"name": " \u00a0 ", "website": "", "population": "",
                                  "kind": "city", "country": "FR"}))
def test_application_step_on_arbitrary_text(browser, draft, chosen):
    section, form = chosen
    url = f"/my/cases/{draft}/sections/{section}"
    before = stored(draft)
    browser.get(url)
    resp = browser.post(url, {**form, "action": "draft"})
    body = answer(resp, form)
    after = stored(draft)
    if has_nul(form):
        refused_for_nul(resp, body)
    elif resp.status_code == 302:
        event("accepted")
        # Accepted: exactly what was typed is kept, trimmed, and the step shows it again.
        for field in form.keys() & TEXT_FIELDS:
            assert after[field] == form[field].strip(), field
        for field, (_strategy, limit, required) in SECTIONS[section].items():
            if limit:
                assert fine(form[field], limit, required, one_line=field in ONE_LINE), \
                    f"{field} should have been refused"
        if section == "organisation":
            typed = form["population"].strip()
            assert after["population"] == (int(typed) if typed else None)
            assert after["kind"] == form["kind"]
        assert after["version"] > before["version"] and after["audit"] == before["audit"] + 1
        page = answer(browser.get(url), form)
        for field in form.keys() & TEXT_FIELDS:
            shows_again(page, after[field])
        return
    else:
        refused(resp, body, {400})
        for field in form.keys() & TEXT_FIELDS:
            shows_again(body, form[field])
        if section == "organisation":
            shows_again(body, form["population"], trimmed=False)  # numbers are shown as typed
    # A refused step changes nothing, not even the version or the history.
    assert after == before


# -- the quick eligibility check (a GET form: nothing is stored) ----------------------------

@st.composite
def quick_checks(draw) -> tuple[str, dict[str, str]]:
    """Which answers are arbitrary ("name" of a city, "members" of a group, or "all"), and
    the answers."""
    mode = draw(st.sampled_from(["name", "members", "all"]))
    members = texts | st.sampled_from(["Lille, 236000\nRoubaix, 98000", "Lille; 1 000"])
    if mode == "name":
        return mode, {"org_type": "city", "country": "FR", "name": draw(texts),
                      "population": "150000", "members": ""}
    if mode == "members":
        return mode, {"org_type": "group", "country": "BE", "name": "Twin towns",
                      "population": "", "members": draw(members)}
    return mode, {"org_type": draw(st.sampled_from(["city", "group", "region"]) | texts),
                  "country": draw(st.sampled_from(["FR", "NO", ""]) | texts),
                  "name": draw(texts), "population": draw(whole_numbers),
                  "members": draw(members)}


@PROPERTY
@given(chosen=quick_checks())
@example(chosen=("name", {"org_type": "city", "country": "FR", "name": MARKUP[0],
                          "population": "150000", "members": ""}))
@example(chosen=("name", {"org_type": "city", "country": "FR", "name": ENTITY,
                          "population": "150000", "members": ""}))
@example(chosen=("all", {"org_type": MARKUP[1], "country": MARKUP[3], "name": MARKUP[4],
                         "population": MARKUP[0], "members": MARKUP[2]}))
def test_quick_check_on_arbitrary_text(browser, world, chosen):
    mode, form = chosen
    resp = browser.get(f"/calls/{world.call.slug}/check", query_string=form)
    body = answer(resp, form)
    if has_nul(form):
        refused_for_nul(resp, body)
        return
    assert resp.status_code == 200
    answered = "Meets the rule" in body or "Does not meet the rule" in body \
        or "A coordinator checks" in body
    if answered:
        event("accepted")
        assert "There is a problem" not in body
        assert fine(form["name"], 200, required=False, one_line=True), \
            "a name the form should refuse was used"
        shows_again(body, form["name"])
    else:
        refused(resp, body, {200})
        shows_again(body, form["name"])
        shows_again(body, form["members"])
        shows_again(body, form["population"], trimmed=False)
    if mode == "name":  # a city with all but its name right: only the name can be at fault
        assert answered == fine(form["name"], 200, required=False, one_line=True)


# -- the mailing list -----------------------------------------------------------------------

@st.composite
def subscriptions(draw) -> dict[str, Any]:
    email = draw(emails | st.builds(lambda n: f"reader{n}@city.eu", st.integers(0, 10**9)))
    if draw(st.booleans()):  # only the address is arbitrary
        return {"email": email, "language": "en",
                "interests": draw(st.lists(st.sampled_from(["Asia", "North America"]),
                                           max_size=2, unique=True))}
    return {"email": email, "language": draw(st.sampled_from(["en", "fr"]) | texts),
            "interests": draw(st.lists(st.sampled_from(["Asia", "North America"]) | texts,
                                       max_size=3))}


@PROPERTY
@given(form=subscriptions())
@example(form={"email": MARKUP[1], "language": MARKUP[0], "interests": [MARKUP[3]]})
# A NUL in the second value of a repeated field is refused like one in the first.
@example(form={"email": "reader1@city.eu", "language": "en",
               "interests": ["Asia", "North\x00America"]})
def test_mailing_list_on_arbitrary_text(browser, world, form):
    email = form["email"]
    before = (count(MailingSubscriber), count(Notification))
    browser.get("/mailing-list")
    resp = browser.post("/mailing-list", form)
    body = answer(resp, form)
    if has_nul(form):
        refused_for_nul(resp, body)
    elif resp.status_code == 302:
        event("accepted")
        address = normalise_email(email)
        assert count(MailingSubscriber, MailingSubscriber.email == address) == 1
        assert count(MailingSubscriber) in {before[0], before[0] + 1}
        return
    else:
        refused(resp, body, {200, 400, 422})
        shows_again(body, email)
    assert (count(MailingSubscriber), count(Notification)) == before


# -- an activity of the cooperation --------------------------------------------------------

@pytest.fixture
def cooperation(world, browser) -> int:
    case = cooperating(world)
    browser.login(world.applicant_a.email)
    return case.id


@st.composite
def activities(draw) -> tuple[bool, dict[str, Any]]:
    """Whether all but the free text is right, and the form."""
    right = draw(st.booleans())
    return right, {
        "type": "seminar" if right else draw(st.sampled_from(list(ACTIVITY_TYPES)) | texts),
        "direction": "online" if right else draw(st.sampled_from(list(DIRECTIONS)) | texts),
        "starts_on": "2026-03-01" if right else draw(dates),
        "ends_on": draw(st.sampled_from(["", "2026-03-02"])) if right else draw(dates),
        "participants": draw(st.sampled_from(["", "12"])) if right else draw(whole_numbers),
        "title": draw(texts), "place": draw(texts), "stakeholders": draw(texts),
        "description": draw(texts),
    }


@PROPERTY
@given(chosen=activities())
@example(chosen=(True, {"type": "seminar", "direction": "online", "starts_on": "2026-03-01",
                        "ends_on": "", "participants": "", "title": "\n\t ", "place": "",
                        "stakeholders": "", "description": ""}))
@example(chosen=(False, {"type": MARKUP[3], "direction": MARKUP[4], "starts_on": MARKUP[1],
                         "ends_on": ENTITY, "participants": MARKUP[0], "title": MARKUP[0],
                         "place": MARKUP[1], "stakeholders": MARKUP[2],
                         "description": MARKUP[4]}))
@example(chosen=(True, {"type": "seminar", "direction": "online", "starts_on": "2026-03-01",
                        "ends_on": "", "participants": "", "title": ENTITY, "place": "",
                        "stakeholders": "", "description": ENTITY}))
def test_activity_form_on_arbitrary_text(browser, cooperation, chosen):
    right, form = chosen
    url = f"/cooperation/cases/{cooperation}/activities/new"
    before = (count(Activity), count(AuditEvent))
    browser.get(url)
    resp = browser.post(url, form)
    body = answer(resp, form)
    if has_nul(form):
        refused_for_nul(resp, body)
    elif resp.status_code == 303:
        event("accepted")
        db.session.expire_all()
        made = db.session.scalar(select(Activity).where(Activity.case_id == cooperation)
                                 .order_by(Activity.id.desc()))
        for field in ("title", "place", "stakeholders", "description"):
            assert getattr(made, field) == form[field].strip(), field
        assert fine(form["title"], 200, one_line=True) \
            and fine(form["place"], 200, required=False, one_line=True) \
            and fine(form["stakeholders"], 10_000, required=False) \
            and fine(form["description"], 10_000, required=False), "should have been refused"
        assert count(Activity) == before[0] + 1
        return
    else:
        refused(resp, body, {400})
        for field in ("title", "place", "stakeholders", "description"):
            shows_again(body, form[field])
        if right:  # all but the free text was right, so the free text must be at fault
            assert not (fine(form["title"], 200, one_line=True)
                        and fine(form["place"], 200, required=False, one_line=True)
                        and fine(form["stakeholders"], 10_000, required=False)
                        and fine(form["description"], 10_000, required=False)), \
                "right answers were refused"
    assert (count(Activity), count(AuditEvent)) == before
