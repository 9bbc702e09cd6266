"""Each person's time zone: chosen on the account page, proposed at registration and on an
invitation, and used by every page, e-mail and calendar file they get; people nobody knows
see a call's times in the call's zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from babel.dates import format_datetime
from sqlalchemy import select

from tests.integration.test_cooperation import by_kind, cooperating
from tests.integration.test_pairing_board import waiting_case
from webapp.db import db, utcnow
from webapp.i18n import guess_timezone, in_zone, timezone_choices, timezone_names, utc_offset
from webapp.mail import delivery
from webapp.models import MailingSubscriber, Notification, User
from webapp.operations import accounts, cases, mailing_list, pairing
from webapp.operations import reminders as sweeper

pytestmark = pytest.mark.integration

CORDOBA = "America/Argentina/Cordoba"
DAY = timedelta(days=1)


def set_zone(person: User, zone: str, locale: str | None = None) -> None:
    with db.transaction() as session:
        user = session.get(User, person.id)
        user.timezone = zone
        if locale:
            user.locale = locale


def shown(moment: datetime, zone: str, label: str) -> str:
    """How a page writes ``moment`` for a reader in ``zone`` (English, medium format)."""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{format_datetime(local.replace(tzinfo=None), 'medium', locale='en')} ({label})"


def delivered(app, n: Notification):
    assert delivery.deliver(n.id).status == "sent"
    [eml] = Path(app.config["MAIL_SINK_DIR"]).glob(f"notification-{n.id}@*.eml")
    return message_from_bytes(eml.read_bytes(), policy=policy.default)


def calendar_event(msg):
    [ics] = [p for p in msg.iter_attachments() if p.get_content_type() == "text/calendar"]
    body = ics.get_content()
    [event] = icalendar.Calendar.from_ical(body).walk("VEVENT")
    return body, event.decoded("dtstart")


# -- the choice ----------------------------------------------------------------------------

def test_the_zones_offered_are_the_canonical_places_grouped_by_area():
    names = timezone_names()
    assert CORDOBA in names and "Europe/Brussels" in names and names[-1] == "UTC"
    # Old aliases and administrative names are not offered.
    assert not {"US/Eastern", "Europe/Kiev", "Etc/GMT+3", "America/Buenos_Aires"} & set(names)
    winter = datetime(2027, 1, 15, 12, tzinfo=UTC)
    groups = timezone_choices(winter)
    assert list(groups)[:2] == ["Africa", "America"] and list(groups)[-1] == "UTC"
    assert (CORDOBA, "Argentina / Cordoba (UTC\u221203:00)") in groups["America"]
    assert ("Europe/Brussels", "Brussels (UTC+01:00)") in groups["Europe"]
    assert utc_offset("Europe/Brussels", winter + 180 * DAY) == "UTC+02:00"
    # A person keeps an old alias they already have.
    assert ("Europe/Kiev", "Kiev (UTC+02:00)") in timezone_choices(winter, "Europe/Kiev")["Europe"]


def test_a_zone_is_guessed_from_a_country_that_keeps_one_time():
    now = datetime(2027, 1, 15, 12, tzinfo=UTC)
    assert guess_timezone("Argentina", now) == "America/Argentina/Buenos_Aires"
    assert guess_timezone("AR", now) == "America/Argentina/Buenos_Aires"
    assert guess_timezone("Portugal", now) is None  # Lisbon and the Azores differ
    assert guess_timezone("France", now) == "Europe/Paris"
    assert guess_timezone("Brazil", now) is None and guess_timezone("Other", now) is None


def test_the_account_page_saves_the_language_and_time_zone(browser, world):
    anna = world.applicant_a
    browser.login(anna.email)
    page = browser.get("/account/").get_data(as_text=True)
    assert '<optgroup label="America">' in page and 'selected value="Europe/Brussels"' in page
    assert "Argentina / Cordoba (UTC\u221203:00)" in page
    resp = browser.post("/account/", {"lang": "es", "timezone": CORDOBA})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/account/")
    db.session.expire_all()
    saved = db.session.get(User, anna.id)
    assert (saved.locale, saved.timezone) == ("es", CORDOBA)
    page = browser.get("/account/").get_data(as_text=True)
    assert '<html lang="es"' in page and "Se han guardado su idioma y su zona horaria." in page
    assert f'selected value="{CORDOBA}"' in page and f"{CORDOBA} (UTC\u221203:00)" in page


@pytest.mark.parametrize("form", [{"lang": "en", "timezone": "Mars/Olympus_Mons"},
                                  {"lang": "xx", "timezone": CORDOBA},
                                  {"lang": "en", "timezone": ""}])
def test_an_unknown_language_or_zone_is_refused_and_nothing_changes(browser, world, form):
    browser.login(world.applicant_a.email)
    resp = browser.post("/account/", form)
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert "There is a problem" in body
    assert 'class="error-message"' in body
    db.session.expire_all()
    kept = db.session.get(User, world.applicant_a.id)
    assert (kept.locale, kept.timezone) == ("en", "Europe/Brussels")


def test_registration_proposes_the_countrys_zone_or_takes_the_one_chosen(browser, world):
    form = browser.get("/account/register").get_data(as_text=True)
    # The first choice, the one a browser shows, lets the country decide.
    assert '<select aria-describedby="timezone-hint" class="select" id="timezone" ' \
           'name="timezone"><optgroup label="Suggested"><option value="">The time zone of my ' \
           'country</option></optgroup>' in form
    base = {"organisation_kind": "city", "password": "long enough pw",
            "confirm": "long enough pw", "privacy": "y"}
    for email, country, zone in (("ana@lyon.fr", "FR", ""),
                                 ("joao@braga.pt", "PT", ""),
                                 ("eva@graz.at", "AT", "Europe/Vienna")):
        browser.post("/account/register", {**base, "name": email, "email": email,
                                           "organisation_name": country, "country": country,
                                           "timezone": zone})
    zones = dict(db.session.execute(select(User.email, User.timezone)).all())
    # France keeps one time; Portugal has two (the Azores), so the programme's zone is used.
    assert zones["ana@lyon.fr"] == "Europe/Paris"
    assert zones["joao@braga.pt"] == world.programme.timezone == "Europe/Brussels"
    assert zones["eva@graz.at"] == "Europe/Vienna"


def test_an_invitation_proposes_the_partners_zone_and_the_browsers_language(browser, world):
    case = waiting_case(world, world.applicant_a)
    cases.fire(case.id, "propose_pairing", world.coordinator,
               {"partner_city_id": world.partner_city.id})
    world.partner_city.contacts = [{"name": "Luis", "email": "luis@rosario.gob.ar"}]
    db.session.commit()
    person = pairing.invite_partner_contact(case.id, world.coordinator, "luis@rosario.gob.ar")
    assert person.timezone == "America/Argentina/Buenos_Aires"  # from Rosario's country
    token = accounts.make_token("invite", person)
    page = browser.get(f"/account/reset/{token}", headers={"Accept-Language": "es-AR,es;q=0.9"})
    body = page.get_data(as_text=True)
    assert re.search(r'value="es"\s+checked', body)
    assert 'selected value="America/Argentina/Buenos_Aires"' in body
    resp = browser.post(f"/account/reset/{token}", {"password": "a long password",
                                                    "confirm": "a long password",
                                                    "lang": "es", "timezone": CORDOBA})
    assert resp.status_code == 302
    db.session.expire_all()
    joined = db.session.get(User, person.id)
    assert (joined.locale, joined.timezone) == ("es", CORDOBA)


def test_a_password_reset_asks_nothing_about_language_or_zone(browser, world):
    token = accounts.make_token("reset", world.applicant_a)
    body = browser.get(f"/account/reset/{token}").get_data(as_text=True)
    assert 'name="password"' in body and 'name="timezone"' not in body


# -- every page, e-mail and calendar ---------------------------------------------------------

def test_each_person_sees_a_deadline_in_their_own_zone(browser, make_browser, world):
    case = cooperating(world, datetime(2030, 10, 1, 9, tzinfo=UTC))
    work_plan = by_kind(case.id)["work_plan", 1]
    due = work_plan.due_at
    set_zone(world.partner, CORDOBA)
    url = f"/cooperation/cases/{case.id}/deliverables/{work_plan.id}"
    browser.login(world.partner.email)
    partner_page = browser.get(url).get_data(as_text=True)
    coordinator = make_browser()
    coordinator.login(world.coordinator.email)
    office_page = coordinator.get(url).get_data(as_text=True)
    # Due at the end of 1 December in Brussels: 23:59 CET is 19:59 in Córdoba.
    assert shown(due, "Europe/Brussels", "CET").startswith("Dec 1, 2030, 11:59:00")
    assert shown(due, CORDOBA, "UTC-03") in partner_page
    assert shown(due, "Europe/Brussels", "CET") in office_page
    assert shown(due, "Europe/Brussels", "CET") not in partner_page

    # The partner moves to Madrid on the account page: the same page follows.
    browser.post("/account/", {"lang": "en", "timezone": "Europe/Madrid"})
    assert shown(due, "Europe/Madrid", "CET") in browser.get(url).get_data(as_text=True)


def test_people_nobody_knows_see_a_calls_times_in_the_calls_zone(browser, make_browser, world):
    world.programme.timezone = "Asia/Tokyo"
    world.call.timezone = CORDOBA
    world.call.closes_at = datetime(2031, 3, 14, 15, tzinfo=UTC)
    db.session.commit()
    closes = world.call.closes_at
    call_page = browser.get("/calls/c2c").get_data(as_text=True)
    assert shown(closes, CORDOBA, "UTC-03") in call_page
    assert "In your time zone" not in call_page
    # The home page names the call's zone, and the programme's for the visitor.
    home = browser.get("/").get_data(as_text=True)
    assert shown(closes, CORDOBA, "UTC-03") in home and shown(closes, "Asia/Tokyo", "JST") in home
    # A signed-in coordinator in Brussels is shown their own time too.
    coordinator = make_browser()
    coordinator.login(world.coordinator.email)
    signed_in = coordinator.get("/calls/c2c").get_data(as_text=True)
    assert "In your time zone: " + shown(closes, "Europe/Brussels", "CET") in signed_in


def test_a_deadline_e_mail_and_its_calendar_file_are_in_each_recipients_zone(app, browser,
                                                                            world):
    start = datetime(2030, 10, 1, 9, tzinfo=UTC)
    case = cooperating(world, start)
    due = by_kind(case.id)["work_plan", 1].due_at
    set_zone(world.partner, CORDOBA, locale="es")
    sweeper.sweep(now=due - 14 * DAY + timedelta(minutes=1))
    reminded = {n.user_id: n for n in db.session.scalars(
        select(Notification).where(Notification.template == "reminder_deliverable"))}
    to_partner, to_applicant = reminded[world.partner.id], reminded[world.applicant_a.id]
    assert (to_partner.timezone, to_applicant.timezone) == (CORDOBA, "Europe/Brussels")

    partner_mail = delivered(app, to_partner)
    text = partner_mail.get_body(("plain",)).get_content()
    assert "domingo, 1 de diciembre de 2030, 19:59 UTC-03" in text
    body, start_at = calendar_event(partner_mail)
    assert f"DTSTART;TZID={CORDOBA}:20301201T195900" in body and start_at == due

    applicant_mail = delivered(app, to_applicant)
    assert "Sunday, December 1, 2030, 11:59\u202fPM CET" in \
        applicant_mail.get_body(("plain",)).get_content()
    body, start_at = calendar_event(applicant_mail)
    assert "DTSTART;TZID=Europe/Brussels:20301201T235900" in body and start_at == due

    # A coordinator in Brussels reading the partner's e-mail in the outbox reads it as sent.
    browser.login(world.coordinator.email)
    preview = browser.get(f"/office/outbox/{to_partner.id}").get_data(as_text=True)
    assert "19:59 UTC-03" in preview and "23:59 CET" not in preview


def test_the_private_calendar_feed_is_in_the_persons_zone(browser, world):
    from webapp.operations import preferences

    case = cooperating(world, datetime(2030, 10, 1, 9, tzinfo=UTC))
    due = by_kind(case.id)["work_plan", 1].due_at
    set_zone(world.partner, CORDOBA)
    db.session.expire_all()
    token = preferences.calendar_token(db.session.get(User, world.partner.id))
    feed = browser.get(f"/calendar/{token}.ics").get_data(as_text=True)
    cal = icalendar.Calendar.from_ical(feed)
    assert cal["X-WR-TIMEZONE"] == CORDOBA
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == [CORDOBA]
    starts = [e.decoded("dtstart") for e in cal.walk("VEVENT")]
    assert due in starts and f"DTSTART;TZID={CORDOBA}:20301201T195900" in feed


def test_someone_without_an_account_gets_a_calls_times_in_its_zone(app, world):
    world.call.timezone = "America/Sao_Paulo"
    world.call.closes_at = datetime(2031, 3, 14, 15, tzinfo=UTC)
    db.session.add(MailingSubscriber(email="news@example.org", locale="pt", interests=[],
                                     secret="s" * 32, created_at=utcnow(),
                                     confirmed_at=utcnow()))
    db.session.commit()
    assert mailing_list.announce_call(world.call.id) == 1
    n = db.session.scalar(select(Notification).where(Notification.template == "mailing_new_call"))
    assert n.timezone == "America/Sao_Paulo"
    text = delivered(app, n).get_body(("plain",)).get_content()
    assert "sexta-feira, 14 de março de 2031, 12:00 BRT" in text or "12:00 UTC-03" in text


def test_pages_name_a_zone_without_an_abbreviation_by_its_offset(app, world):
    moment = datetime(2031, 3, 14, 15, tzinfo=UTC)
    assert in_zone(moment, CORDOBA).endswith("12:00:00\u202fPM (UTC-03)") or \
        in_zone(moment, CORDOBA).endswith("12:00:00 PM (UTC-03)")
