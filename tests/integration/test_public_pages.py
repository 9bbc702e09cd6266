"""The public pages over HTTP: open calls with their countdown, the quick eligibility check
(against the engine's own verdicts), the pairings showcase and its chart, and the mailing
list's double opt-in."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from tests.factories import complete_application, user
from webapp.db import db, utcnow
from webapp.mail import delivery
from webapp.models import (
    Call,
    Case,
    CasePartner,
    EligibilityResult,
    GroupMember,
    MailingSubscriber,
    Notification,
    Organisation,
)
from webapp.operations import applications, cases, mailing_list
from webapp.public import closes_in, quick_check, showcase
from workflows.countries import COUNTRY_CODES
from workflows.pairing import read_pairings

pytestmark = pytest.mark.integration

HISTORY = Path(__file__).resolve().parents[2] / "workflows" / "data" / "iuc_2017_pairings.csv"


def text_of(resp) -> str:
    """The page's visible text, tags removed and spaces folded, for plain assertions."""
    html = resp.get_data(as_text=True)
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


# -- open calls and the countdown ---------------------------------------------------------

def test_countdown_words(app):
    now = utcnow()
    with app.test_request_context():
        assert closes_in(now + timedelta(days=3, hours=4, minutes=30), now) \
            == "Closes in 3 days 4 hours."
        assert closes_in(now + timedelta(days=1, seconds=30), now) == "Closes in 1 day."
        assert closes_in(now + timedelta(hours=1, minutes=1), now) \
            == "Closes in 1 hour 1 minute."
        assert closes_in(now + timedelta(minutes=5, seconds=59), now) == "Closes in 5 minutes."
        assert closes_in(now + timedelta(seconds=20), now) == "Closes in less than a minute."
        assert closes_in(now - timedelta(seconds=1), now) == "This call has closed."


def test_call_page_shows_conditions_countdown_and_documents(browser, world):
    world.call.closes_at = utcnow() + timedelta(days=3, hours=4, minutes=30)
    db.session.commit()
    resp = browser.get(f"/calls/{world.call.slug}")
    body = resp.get_data(as_text=True)
    text = text_of(resp)
    assert resp.status_code == 200
    assert "Closes in 3 days 4 hours." in text
    # The script that keeps it live is a file, and the server's words are its fallback.
    assert 'src="/static/js/countdown.js"' in body and "data-countdown" in body
    assert "(Brussels time)" in text
    assert "Open to cities and municipalities and groups of municipalities in the 27 EU " \
           "member states with more than 100,000 inhabitants." in text
    assert "A statement of the staff time and resources you will commit." in text
    assert "signed commitment letter" in text
    assert f'href="/calls/{world.call.slug}/check"' in body


def test_calls_list_shows_each_calls_conditions_and_countdown(browser, world):
    world.call.closes_at = utcnow() + timedelta(hours=5, minutes=30)
    db.session.commit()
    text = text_of(browser.get("/calls"))
    assert "Closes in 5 hours 29 minutes." in text or "Closes in 5 hours 30 minutes." in text
    assert "with more than 100,000 inhabitants" in text
    assert "Open" in text and world.call.title in text


def test_countdown_script_has_no_inline_code_and_respects_reduced_motion():
    script = (Path(__file__).resolve().parents[2] / "static" / "js" / "countdown.js").read_text()
    assert "prefers-reduced-motion" in script
    assert "aria-live" in script and "'polite'" in script


# -- the quick eligibility check ----------------------------------------------------------

def check_url(world, **answers) -> str:
    from urllib.parse import urlencode

    return f"/calls/{world.call.slug}/check?{urlencode(answers)}"


def test_quick_check_eligible_city(browser, world):
    resp = browser.get(check_url(world, org_type="city", country="FR", name="Lyon",
                                 population="522000", members=""))
    text = text_of(resp)
    assert resp.status_code == 200
    assert "Your city is likely to be eligible" in text
    assert "Lyon is in France, an EU member state." in text
    assert "Lyon has 522,000 inhabitants, more than this call's threshold of 100,000." in text
    assert text.count("Meets the rule") == 3
    assert f'href="/calls/{world.call.slug}#apply"' in resp.get_data(as_text=True)


def test_quick_check_ineligible_answers_give_reasons(browser, world):
    text = text_of(browser.get(check_url(world, org_type="region", country="CH",
                                         name="Valais")))
    assert "Your organisation cannot apply to this call" in text
    assert "Switzerland is not an EU member state" in text
    assert "A region cannot apply to this call; Valais should apply to a region-to-region " \
           "call instead." in text
    assert text.count("Does not meet the rule") == 2
    assert "Apply to this call" not in text
    # No region call is open: the page lists the calls of that kind instead.
    assert "See the calls of the kind you can apply to, and when the next ones open" in text


def test_a_smaller_city_is_told_a_coordinator_decides(browser, world):
    text = text_of(browser.get(check_url(world, org_type="city", country="PT",
                                         name="Évora", population="53000")))
    assert "A coordinator will need to check your application" in text
    assert "Évora has 53,000 inhabitants, not more than this call's threshold of 100,000. " \
           "The programme encourages cities of more than 100,000 inhabitants to apply" in text
    assert "Apply to this call" in text
    world.call.settings = {"population_below_threshold": "fail"}
    db.session.commit()
    text = text_of(browser.get(check_url(world, org_type="city", country="PT",
                                         name="Évora", population="53000")))
    assert "Your organisation cannot apply to this call" in text
    assert "this call accepts only cities of more than 100,000 inhabitants" in text


def test_a_metropolitan_body_is_checked_by_a_coordinator(browser, world):
    text = text_of(browser.get(check_url(world, org_type="metropolitan", country="FR",
                                         name="Métropole de Lyon", population="1400000")))
    assert "A coordinator will need to check your application" in text
    assert "a coordinator will check whether Métropole de Lyon can apply" in text


def open_region_call(world) -> Call:
    call = Call(programme=world.programme, slug="r2r", kind="region-to-region",
                title="Regions innovating together", partner_regions=[
                    "Latin America and the Caribbean"], allowed_org_types=["region", "province"],
                population_threshold=0, cooperation_months=12,
                opens_at=utcnow() - timedelta(days=1), closes_at=utcnow() + timedelta(days=30))
    db.session.add(call)
    db.session.commit()
    return call


def test_a_region_is_linked_to_the_open_region_call_and_a_city_to_the_city_call(browser,
                                                                                world):
    region_call = open_region_call(world)
    resp = browser.get(check_url(world, org_type="province", country="IT",
                                 name="Provincia di Torino"))
    body, text = resp.get_data(as_text=True), text_of(resp)
    assert "should apply to a region-to-region call instead." in text
    assert '<a href="/calls/r2r">Apply to the open call “Regions innovating together”</a>' \
        in body
    assert browser.get("/calls/r2r").status_code == 200
    # The region call has its own quick check, in its own words, pointing cities back.
    resp = browser.get(f"/calls/{region_call.slug}/check?org_type=city&country=FR"
                       "&name=Lyon&population=522000")
    text = text_of(resp)
    assert "Check if your region can apply" in text
    assert "A city or municipality cannot apply to this call; Lyon should apply to a " \
           "city-to-city call instead." in text
    assert f'href="/calls/{world.call.slug}">Apply to the open call' in resp.get_data(as_text=True)
    text = text_of(browser.get(f"/calls/{region_call.slug}/check?org_type=region"
                               "&country=PL&name=Silesia&population=4400000"))
    assert text.count("Meets the rule") == 3
    page = text_of(browser.get("/calls/r2r"))
    assert "Develop a joint regional innovation roadmap with the partner region" in page
    assert "Local Action Plan" not in page and "partner city" not in page


def test_the_applicants_status_page_links_the_open_region_call(browser, world):
    region_call = open_region_call(world)
    world.org_a.kind = "region"
    db.session.commit()
    draft = applications.start_application(world.applicant_a, world.call.id)
    complete_application(db.session.get(Case, draft.id))
    cases.fire(draft.id, "submit", world.applicant_a)
    stored = db.session.scalar(select(EligibilityResult).where(
        EligibilityResult.case_id == draft.id, EligibilityResult.rule == "organisation_type"))
    assert stored.verdict == "fail" and stored.refer_to == "region-to-region"
    browser.login(world.applicant_a.email)
    body = browser.get(f"/my/cases/{draft.id}").get_data(as_text=True)
    assert f'<a href="/calls/{region_call.slug}">Apply to the open call ' \
           "“Regions innovating together”</a>" in body


def test_the_quick_check_sends_a_region_to_the_open_region_to_region_call(browser, world):
    from webapp.models import Call

    answers = dict(org_type="region", country="FR", name="Occitanie", population="6000000")
    # No region-to-region call is open: the calls of that kind are listed.
    body = browser.get(check_url(world, **answers)).get_data(as_text=True)
    assert '<a href="/calls?kind=region-to-region">See the calls of the kind you can apply ' \
           'to, and when the next ones open</a>' in body
    listed = text_of(browser.get("/calls?kind=region-to-region"))
    assert world.call.title not in listed
    assert world.call.title in text_of(browser.get("/calls?kind=city-to-city"))
    regional = Call(programme=world.programme, slug="r2r", kind="region-to-region",
                    title="Regional innovation call", partner_regions=["Asia"],
                    allowed_org_types=["region"], opens_at=world.call.opens_at,
                    closes_at=world.call.closes_at)
    db.session.add(regional)
    db.session.commit()
    body = browser.get(check_url(world, **answers)).get_data(as_text=True)
    assert ('<a href="/calls/r2r">Apply to the open call “Regional innovation call”</a>'
            in body)
    assert "Regional innovation call" in text_of(browser.get("/calls?kind=region-to-region"))


def test_quick_check_bad_input_rerenders_with_error_summary(browser, world):
    resp = browser.get(check_url(world, country="", population="lots", name="Lyon"))
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "There is a problem" in body and "<title>Error:" in body
    assert "Choose the type of organisation." in body
    assert "Choose the country of your organisation." in body
    assert "Enter the number of inhabitants as a whole number" in body
    assert 'value="lots"' in body and 'value="Lyon"' in body
    assert "Meets the rule" not in body
    # A group whose members cannot be read says which line is wrong.
    body = browser.get(check_url(world, org_type="group", country="FR",
                                 members="Lille, 236000\nRoubaix")).get_data(as_text=True)
    assert "Line 2: write the municipality" in body
    # The empty form is not an error.
    assert "There is a problem" not in browser.get(check_url(world)).get_data(as_text=True)


SCENARIOS = [
    # (organisation, quick-check answers)
    (dict(name="Lyon", kind="city", country="FR", population=522_000),
     dict(org_type="city", country="FR", population="522000")),
    (dict(name="Évora", kind="city", country="PT", population=53_000),
     dict(org_type="city", country="PT", population="53000")),
    (dict(name="Basel", kind="city", country="CH", population=180_000),
     dict(org_type="city", country="CH", population="180000")),
    (dict(name="Valais", kind="region", country="CH", population=350_000),
     dict(org_type="region", country="CH", population="350000")),
    (dict(name="Twin towns", kind="group", country="BE", population=None),
     dict(org_type="group", country="BE",
          members="Lead town, 70000\nSecond town, 40 000")),
]


@pytest.mark.parametrize("org_fields, answers", SCENARIOS,
                         ids=[s[0]["name"] for s in SCENARIOS])
def test_quick_check_agrees_with_the_engine(browser, world, org_fields, answers):
    org = Organisation(**org_fields)
    db.session.add(org)
    if org.kind == "group":
        org.members = [GroupMember(name="Lead town", population=70_000, is_lead=True),
                       GroupMember(name="Second town", population=40_000,
                                   commitment_declared=True)]
    person = user(f"staff{abs(hash(org.name))}@example.eu", organisation=org)
    db.session.commit()
    draft = applications.start_application(person, world.call.id)
    complete_application(db.session.get(Case, draft.id))
    cases.fire(draft.id, "submit", person)
    stored = {r.rule: r for r in db.session.scalars(
        select(EligibilityResult).where(EligibilityResult.case_id == draft.id))}
    assert set(quick_check.QUICK) <= set(stored)

    body = browser.get(check_url(world, name=org.name, **answers)).get_data(as_text=True)
    labels = {"pass": "Meets the rule", "fail": "Does not meet the rule",
              "needs_review": "A coordinator checks"}
    for slug in quick_check.QUICK:
        engine = stored[slug]
        # The same verdict and the same reason, word for word, as the engine stored.
        row = re.search(r'<dd class="summary-list__value">(.*?)</dd>',
                        body.split(f">{escape(engine.title)}</dt>", 1)[1], re.S).group(1)
        assert labels[engine.verdict] in row, (slug, engine.verdict, row)
        assert str(escape(engine.message)) in row, (slug, engine.message, row)


def test_eligibility_check_start_goes_to_the_only_open_call(browser, world):
    resp = browser.get("/eligibility-check")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/calls/{world.call.slug}/check")


# -- the pairings showcase ----------------------------------------------------------------

def start_cooperation(world) -> Case:
    """A case of Lyon cooperating with Rosario (set directly: only the showcase reads it)."""
    draft = applications.start_application(world.applicant_a, world.call.id)
    case = complete_application(db.session.get(Case, draft.id))
    case.partner_city_id = world.partner_city.id
    case.partner_links = [CasePartner(partner_city_id=world.partner_city.id)]
    case.state = "cooperation_active"
    case.cooperation_start = utcnow() - timedelta(days=30)
    db.session.commit()
    return case


def test_pairings_show_current_and_history_with_a_chart(browser, world):
    start_cooperation(world)
    resp = browser.get("/pairings")
    text = text_of(resp)
    body = resp.get_data(as_text=True)
    history = read_pairings(HISTORY)
    assert resp.status_code == 200
    assert "Lyon" in text and "Rosario" in text
    assert f"{len(history) + 1} pairings." in text
    # The chart's figures add up to the rows shown and are also a table.
    chart = re.search(r'<div class="visually-hidden">\s*<table>(.*?)</table>', body, re.S)
    values = [int(v) for v in re.findall(r"<td>(\d+)</td>", chart.group(1))]
    assert sum(values) == len(history) + 1
    assert "<th scope=\"row\">Asia</th>" in chart.group(1)


def test_pairing_filters_narrow_the_rows(browser, world):
    start_cooperation(world)
    history = read_pairings(HISTORY)
    north_america = sum(r["partner_region"] == "North America" for r in history)
    text = text_of(browser.get("/pairings?region=North+America"))
    assert f"{north_america} pairings match your filters" in text
    assert "Austin, Texas" in text and "Rosario" not in text and "Zhengzhou" not in text

    text = text_of(browser.get("/pairings?country=AR"))
    assert "Rosario" in text and "Lyon" in text
    # A link made when countries were names filters the same.
    assert text_of(browser.get("/pairings?country=Argentina")) == text
    spanish = sum("Argentina" in (r["eu_country"], r["partner_country"]) for r in history)
    assert f"{spanish + 1} pairings match your filters" in text

    text = text_of(browser.get("/pairings?topic=smart-city&region=Latin+America+and+the+Caribbean"))
    match = re.search(r"(\d+) pairings? match", text)
    narrowed = int(match.group(1))
    assert 1 <= narrowed < len(history)
    assert "Zhengzhou" not in text
    # An unknown value filters nothing rather than failing.
    resp = browser.get("/pairings?region=Atlantis")
    assert resp.status_code == 200 and f"{len(history) + 1} pairings." in text_of(resp)
    assert "<title>Error:" not in resp.get_data(as_text=True)


def test_showcase_counts_follow_the_rows():
    rows = showcase.history_rows(read_pairings(HISTORY))
    counts = dict(showcase.by_region(rows))
    assert sum(counts.values()) == len(rows)
    assert list(counts)[:3] == ["Asia", "Latin America and the Caribbean", "North America"]
    narrowed = showcase.narrow(rows, region="Asia", country="CN")
    assert narrowed and all(r.partner_countries == ["CN"] for r in narrowed)
    # The table's names ("USA", "Czech Republic") are read as codes.
    assert {r.eu_country for r in rows} | set(showcase.countries(rows)) <= COUNTRY_CODES
    assert sum(dict(showcase.by_region(narrowed)).values()) == len(narrowed)


# -- the mailing list: double opt-in ------------------------------------------------------

def subscribe(browser, email="Reader@Example.org", **more):
    browser.get("/mailing-list")
    return browser.post("/mailing-list", {"email": email, "language": "en", **more})


def last_mail(template: str) -> Notification:
    n = db.session.scalar(select(Notification).where(Notification.template == template)
                          .order_by(Notification.id.desc()))
    assert n is not None, f"no {template} mail"
    return n


def test_subscribing_sends_a_link_and_confirms_nothing(browser, app, world):
    resp = subscribe(browser, interests=["Asia"])
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/mailing-list/check-your-email")
    sub = db.session.scalar(select(MailingSubscriber))
    assert sub.email == "reader@example.org" and sub.interests == ["Asia"]
    assert sub.confirmed_at is None
    n = last_mail("mailing_confirm")
    assert n.to_email == "reader@example.org" and n.user_id is None
    message = delivery.compose(n)
    text = message.get_body(("plain",)).get_content()
    link = re.search(r"http://localhost(/mailing-list/confirm/[\w.\-]+)", text).group(1)
    # Opening the link (as a mail scanner would) only shows the button.
    page = browser.get(link)
    assert page.status_code == 200 and "Confirm my subscription" in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(MailingSubscriber, sub.id).confirmed_at is None
    resp = browser.post(link)
    assert resp.status_code == 200 and "Subscription confirmed" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(MailingSubscriber, sub.id).confirmed_at is not None


def test_bad_and_expired_links_are_refused_with_a_message(browser, world, monkeypatch):
    subscribe(browser)
    sub = db.session.scalar(select(MailingSubscriber))
    resp = browser.get("/mailing-list/confirm/forged-link")
    assert resp.status_code == 400 and "This link is not valid" in resp.get_data(as_text=True)
    assert browser.post("/mailing-list/confirm/forged-link").status_code == 400
    token = mailing_list.confirm_token(sub)
    monkeypatch.setattr(mailing_list, "CONFIRM_MAX_AGE", -1)
    resp = browser.post(f"/mailing-list/confirm/{token}")
    assert resp.status_code == 400
    assert "This confirmation link has expired" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(MailingSubscriber, sub.id).confirmed_at is None
    assert browser.get("/mailing-list/unsubscribe/forged-link").status_code == 400


def test_subscribing_again_reveals_nothing(browser, make_browser, world):
    subscribe(browser, "known@example.org")
    sub = db.session.scalar(select(MailingSubscriber))
    mailing_list.confirm(mailing_list.confirm_token(sub))
    known = subscribe(make_browser(), "known@example.org")
    unknown = subscribe(make_browser(), "new@example.org")
    assert (known.status_code, known.headers["Location"]) \
        == (unknown.status_code, unknown.headers["Location"])
    # Only the mailbox's owner learns the address was on the list, and nothing changed.
    again = last_mail("mailing_already_subscribed")
    assert again.to_email == "known@example.org"
    message = delivery.compose(again)
    assert "/mailing-list/unsubscribe/" in message["List-Unsubscribe"]
    assert "/mailing-list/unsubscribe/" in message.get_body(("html",)).get_content()
    db.session.expire_all()
    assert db.session.get(MailingSubscriber, sub.id).confirmed_at is not None
    # Sending the form again within the hour sends no second e-mail.
    before = db.session.scalar(select(func.count(Notification.id)))
    subscribe(make_browser(), "new@example.org")
    assert db.session.scalar(select(func.count(Notification.id))) == before


def test_announce_call_command(app, world, monkeypatch):
    from click.testing import CliRunner

    from webapp import cli

    monkeypatch.setattr(cli, "_app", lambda: app)
    mailing_list.subscribe("reader@example.org")
    sub = db.session.scalar(select(MailingSubscriber))
    mailing_list.confirm(mailing_list.confirm_token(sub))
    result = CliRunner().invoke(cli.main, ["announce-call", world.call.slug])
    assert result.exit_code == 0 and "1 e-mail queued" in result.output
    again = CliRunner().invoke(cli.main, ["announce-call", world.call.slug])
    assert again.exit_code == 0 and "0 e-mails queued" in again.output
    unknown = CliRunner().invoke(cli.main, ["announce-call", "no-such-call"])
    assert unknown.exit_code == 2 and "no such published call" in unknown.output


def test_unconfirmed_addresses_are_forgotten_once_their_link_expired(world):
    long_ago = utcnow() - timedelta(days=8)
    mailing_list.subscribe("forgot@example.org", now=long_ago)
    mailing_list.subscribe("kept@example.org", now=long_ago)
    kept = db.session.scalar(select(MailingSubscriber)
                             .where(MailingSubscriber.email == "kept@example.org"))
    mailing_list.confirm(mailing_list.confirm_token(kept))
    mailing_list.subscribe("someone@example.org")
    assert sorted(db.session.scalars(select(MailingSubscriber.email))) \
        == ["kept@example.org", "someone@example.org"]


def test_subscribe_form_bad_input_rerenders(browser, world):
    resp = subscribe(browser, "not an address")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "There is a problem" in body
    assert "correct format" in body and 'value="not an address"' in body
    assert db.session.scalar(select(func.count(MailingSubscriber.id))) == 0


def test_new_call_mail_goes_to_confirmed_subscribers_with_an_unsubscribe_link(browser, world):
    for email, regions in (("asia@example.org", ["Asia"]), ("all@example.org", []),
                           ("africa@example.org", ["Australasia"])):
        mailing_list.subscribe(email, "fr" if email.startswith("all") else "en", regions)
        sub = db.session.scalar(select(MailingSubscriber)
                                .where(MailingSubscriber.email == email))
        mailing_list.confirm(mailing_list.confirm_token(sub))
    mailing_list.subscribe("pending@example.org")
    assert mailing_list.announce_call(world.call.id) == 2
    assert mailing_list.announce_call(world.call.id) == 0  # announcing twice sends nothing
    mails = list(db.session.scalars(select(Notification)
                                    .where(Notification.template == "mailing_new_call")))
    assert sorted(n.to_email for n in mails) == ["all@example.org", "asia@example.org"]
    assert {n.to_email: n.locale for n in mails}["all@example.org"] == "fr"
    english = next(n for n in mails if n.to_email == "asia@example.org")
    message = delivery.compose(english)
    unsubscribe = message["List-Unsubscribe"].strip("<>")
    assert "/mailing-list/unsubscribe/" in unsubscribe
    assert unsubscribe in message.get_body(("plain",)).get_content()
    assert world.call.title in message["Subject"]

    path = unsubscribe.removeprefix("http://localhost")
    assert "Unsubscribe" in browser.get(path).get_data(as_text=True)
    # One-click unsubscribe: mail clients post without a form token.
    resp = browser.post(path, token=False)
    assert resp.status_code == 200 and "You are unsubscribed" in resp.get_data(as_text=True)
    assert db.session.scalar(select(MailingSubscriber)
                             .where(MailingSubscriber.email == "asia@example.org")) is None
    # The link used again says the same, not an error.
    assert browser.post(path, token=False).status_code == 200


def test_accessibility_statement_says_how_it_was_checked(browser, app, world, monkeypatch):
    monkeypatch.setitem(app.config, "ACCESSIBILITY_CONTACT", "access@iuc.example")
    text = text_of(browser.get("/accessibility"))
    assert "partially conformant with the Web Content Accessibility Guidelines (WCAG) 2.1 at " \
           "level AA" in text
    assert "axe-core" in text and "not yet been tested by users of screen readers" in text
    assert "This statement was prepared on 25 November 2026." in text
    assert "access@iuc.example" in text and "Enforcement procedure" in text


# -- working without JavaScript -----------------------------------------------------------

@pytest.mark.parametrize("path", ["/calls", "/calls/c2c", "/calls/c2c/check", "/pairings",
                                  "/mailing-list", "/accessibility"])
def test_public_pages_need_no_inline_script(browser, world, path):
    body = browser.get(path).get_data(as_text=True)
    # Every script is a file (the CSP forbids inline code) and every form is a plain form.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body)
    assert not re.search(r"<[^>]+\son[a-z]+=", body)
    for form in re.findall(r"<form\b[^>]*>", body):
        assert re.search(r'method="(get|post)"', form) and "action=" in form
