"""Pages, the applicant portal and e-mails in English, French, Spanish and Portuguese."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from babel.dates import format_date
from sqlalchemy import select

from webapp.db import db
from webapp.mail import delivery
from webapp.models import Notification, User
from webapp.operations import accounts, applications

pytestmark = pytest.mark.integration

LANGS = ("en", "fr", "es", "pt")
# One string of the layout (the main navigation) and one of each page, per language.
NAV = {"en": "Open calls", "fr": "Appels ouverts", "es": "Convocatorias abiertas",
       "pt": "Chamadas abertas"}
PUBLIC = {
    "/": {"en": "How it works", "fr": "Comment ça marche", "es": "Cómo funciona",
          "pt": "Como funciona"},
    "/calls": {"en": "Calls for applications", "fr": "Appels à candidatures",
               "es": "Convocatorias", "pt": "Chamadas para candidaturas"},
    "/calls/c2c": {"en": "Who can apply", "fr": "Qui peut candidater",
                   "es": "Quién puede presentar una solicitud", "pt": "Quem pode se candidatar"},
    "/pairings": {"en": "City-to-city pairings", "fr": "Jumelages de ville à ville",
                  "es": "Emparejamientos de ciudad a ciudad",
                  "pt": "Pareamentos de cidade para cidade"},
    "/privacy": {"en": "Your rights", "fr": "Vos droits", "es": "Sus derechos",
                 "pt": "Seus direitos"},
    "/accessibility": {"en": "Compliance status", "fr": "État de conformité",
                       "es": "Situación de cumplimiento", "pt": "Situação de conformidade"},
    "/account/login": {"en": "I have forgotten my password", "fr": "J’ai oublié mon mot de passe",
                       "es": "He olvidado mi contraseña", "pt": "Esqueci minha senha"},
    "/account/register": {"en": "Your full name", "fr": "Votre nom complet",
                          "es": "Su nombre completo", "pt": "Seu nome completo"},
}
PORTAL = {
    "/my/": {"en": "Applications of your organisation",
             "fr": "Candidatures de votre organisation",
             "es": "Solicitudes de su organización", "pt": "Candidaturas da sua organização"},
    "/my/cases/{case}": {"en": "About this application", "fr": "À propos de cette candidature",
                         "es": "Sobre esta solicitud", "pt": "Sobre esta candidatura"},
    "/my/cases/{case}/sections/organisation": {
        "en": "Name of your organisation",
        "fr": "Nom de votre organisation",
        "es": "Nombre de su organización",
        "pt": "Nome da sua organização"},
    "/my/cases/{case}/check": {"en": "Check your answers", "fr": "Vérifiez vos réponses",
                               "es": "Revise sus respuestas", "pt": "Revise suas respostas"},
    "/my/team": {"en": "Invite a colleague", "fr": "Inviter un ou une collègue",
                 "es": "Invitar a un colega", "pt": "Convidar um colega"},
    "/account/": {"en": "Your language", "fr": "Votre langue", "es": "Su idioma",
                  "pt": "Seu idioma"},
    "/account/notifications": {"en": "Your deadlines in your calendar",
                               "fr": "Vos échéances dans votre agenda",
                               "es": "Sus plazos en su calendario",
                               "pt": "Seus prazos no seu calendário"},
}


def html_lang(body: str) -> str:
    return re.search(r'<html lang="([^"]*)"', body).group(1)


def choose(browser, lang: str, next_url: str = "/"):
    resp = browser.post("/language", {"lang": lang, "next": next_url})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(next_url)


@pytest.fixture
def published(world):
    world.call.published = True
    db.session.commit()
    return world


@pytest.mark.parametrize("lang", LANGS)
def test_public_pages_speak_the_chosen_language(browser, published, lang):
    browser.get("/")
    choose(browser, lang)
    for url, expected in PUBLIC.items():
        resp = browser.get(url)
        body = resp.get_data(as_text=True)
        assert resp.status_code == 200, url
        assert html_lang(body) == lang, url
        assert expected[lang] in body, f"{url} in {lang}"
        assert NAV[lang] in body, url
        others = {t for code, t in expected.items() if code != lang}
        assert not any(t in body for t in others), f"{url} mixes languages"


@pytest.mark.parametrize("lang", LANGS)
def test_applicant_portal_speaks_the_chosen_language(browser, published, lang):
    case = applications.start_application(published.applicant_a, published.call.id)
    browser.login(published.applicant_a.email)
    choose(browser, lang, "/my/")
    for url, expected in PORTAL.items():
        url = url.format(case=case.id)
        resp = browser.get(url)
        body = resp.get_data(as_text=True)
        assert resp.status_code == 200, url
        assert html_lang(body) == lang, url
        assert expected[lang] in body, f"{url} in {lang}"


def test_a_bad_answer_is_explained_in_the_chosen_language(browser, published):
    case = applications.start_application(published.applicant_a, published.call.id)
    browser.login(published.applicant_a.email)
    choose(browser, "pt")
    url = f"/my/cases/{case.id}/sections/organisation"
    browser.get(url)
    resp = browser.post(url, {"name": "", "kind": "city", "population": "many"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "Há um problema" in body and "Digite o nome da organização." in body
    assert "Digite um número inteiro de habitantes." in body


def test_the_language_switcher_offers_every_language_in_its_own_name(browser, world):
    body = browser.get("/").get_data(as_text=True)
    form = body[body.index('class="language-switcher"'):]
    form = form[:form.index("</form>")]
    for code, name in {"fr": "Français", "es": "Español", "pt": "Português"}.items():
        assert f'name="lang" value="{code}" lang="{code}">{name}</button>' in form
    assert 'aria-current="true">English</span>' in form


def test_an_anonymous_choice_is_kept_in_the_session(make_browser, world):
    visitor, stranger = make_browser(), make_browser()
    visitor.get("/")
    choose(visitor, "es")
    assert html_lang(visitor.get("/calls").get_data(as_text=True)) == "es"
    assert html_lang(visitor.get("/privacy").get_data(as_text=True)) == "es"
    assert html_lang(stranger.get("/").get_data(as_text=True)) == "en"
    # An unknown language changes nothing.
    visitor.post("/language", {"lang": "xx", "next": "/"})
    assert html_lang(visitor.get("/").get_data(as_text=True)) == "es"


def test_the_browser_language_is_the_first_guess(browser, world):
    resp = browser.get("/", headers={"Accept-Language": "pt-BR,pt;q=0.9,en;q=0.5"})
    assert html_lang(resp.get_data(as_text=True)) == "pt"


def test_a_signed_in_choice_is_kept_on_the_account(make_browser, world):
    anna = world.applicant_a
    first = make_browser()
    first.login(anna.email)
    first.get("/account/")
    resp = first.post("/language", {"lang": "fr", "next": "/account/"})
    assert resp.headers["Location"].endswith("/account/")
    db.session.expire_all()
    assert db.session.get(User, anna.id).locale == "fr"
    body = first.get("/account/").get_data(as_text=True)
    assert 'id="lang-fr" name="lang" value="fr" checked' in body and "Français" in body
    # Another device, no earlier choice: the account's language wins over the browser's.
    second = make_browser()
    second.login(anna.email)
    resp = second.get("/my/", headers={"Accept-Language": "es"})
    assert html_lang(resp.get_data(as_text=True)) == "fr"
    # After signing out the pages keep speaking French.
    second.post("/account/logout")
    body = second.get("/").get_data(as_text=True)
    assert html_lang(body) == "fr" and "Vous êtes déconnecté." in body


def test_registering_keeps_the_language_of_the_pages(browser, world):
    browser.get("/")
    choose(browser, "pt", "/account/register")
    browser.get("/account/register")
    browser.post("/account/register", {
        "name": "Joana Silva", "email": "joana@braga.pt", "organisation_name": "Braga",
        "organisation_kind": "city", "country": "PT", "password": "long enough pw",
        "confirm": "long enough pw", "privacy": "y"})
    user = db.session.scalar(select(User).where(User.email == "joana@braga.pt"))
    assert user is not None and user.locale == "pt"


def _delivered(app, template: str):
    n = db.session.scalar(select(Notification).where(Notification.template == template)
                          .order_by(Notification.id.desc()))
    assert delivery.deliver(n.id).status == "sent"
    [eml] = Path(app.config["MAIL_SINK_DIR"]).glob(f"notification-{n.id}@*.eml")
    return message_from_bytes(eml.read_bytes(), policy=policy.default)


def test_an_e_mail_is_written_in_the_recipients_language(app, world):
    world.applicant_b.locale = "es"
    db.session.commit()
    accounts.request_password_reset(world.applicant_b.email)
    mail = _delivered(app, "password_reset")
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert mail["Subject"] == "Restablezca su contraseña de citypair"
    assert "El enlace es válido durante 2 horas." in text
    assert "Este es un mensaje automático de citypair." in text
    assert '<html lang="es">' in html and "Restablezca su contraseña" not in text.split("\n")[0]
    assert "The link is valid" not in text and "The link is valid" not in html


def test_an_e_mail_follows_the_recipient_not_the_sender(app, browser, world):
    # Anna reads French; the colleague she invites gets Anna's language until they choose.
    world.applicant_a.locale = "fr"
    db.session.commit()
    browser.login(world.applicant_a.email)
    browser.get("/my/team")
    browser.post("/my/team", {"name": "Paul Martin", "email": "paul@lyon.fr"})
    mail = _delivered(app, "invitation")
    assert mail["Subject"] == "Anna vous a invité sur citypair"
    assert "vous a invité à rejoindre Lyon sur citypair" in mail.get_body(("plain",)).get_content()
    accounts.set_locale(db.session.scalar(select(User.id).where(User.email == "paul@lyon.fr")),
                        "en")
    accounts.request_password_reset("paul@lyon.fr")
    assert _delivered(app, "password_reset")["Subject"] == "Reset your citypair password"


@pytest.mark.parametrize("lang", LANGS)
def test_dates_are_written_the_way_each_language_writes_them(browser, published, lang):
    closes = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)
    published.call.closes_at = closes
    published.call.opens_at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    db.session.commit()
    browser.get("/")
    choose(browser, lang)
    body = browser.get("/calls/c2c").get_data(as_text=True)
    expected = format_date(closes.date(), "medium", locale=lang)
    assert expected in body
    assert {"en": "Dec 3, 2026", "fr": "3 déc. 2026", "es": "3 dic 2026",
            "pt": "3 de dez. de 2026"}[lang] == expected


def test_e_mail_dates_use_the_recipients_language_and_zone(app, world):
    from webapp.mail.rendering import local_time

    moment = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)
    assert local_time(moment, "Europe/Madrid", "es").startswith("jueves, 3 de diciembre de 2026")
    assert local_time(moment, "Europe/Paris", "fr").startswith("jeudi 3 décembre 2026")
    assert local_time(moment, "America/Sao_Paulo", "pt").startswith(
        "quinta-feira, 3 de dezembro de 2026")
    assert "13:00" in local_time(moment, "America/Sao_Paulo", "pt")


@pytest.mark.parametrize("lang", ["fr", "es", "pt"])
def test_numbers_are_written_the_way_each_language_writes_them(browser, published, lang):
    from babel.numbers import format_decimal

    case = applications.start_application(published.applicant_a, published.call.id)
    browser.login(published.applicant_a.email)
    choose(browser, lang)
    body = browser.get(f"/my/cases/{case.id}/check").get_data(as_text=True)
    expected = format_decimal(522_000, locale=lang)
    assert expected != "522,000" and expected in body


def _paired(world):
    from tests.factories import complete_application
    from webapp.models import Case
    from webapp.operations import cases

    case = complete_application(applications.start_application(world.applicant_a,
                                                               world.call.id))
    cases.fire(case.id, "submit", world.applicant_a)
    cases.fire(case.id, "declare_eligible", world.coordinator)
    cases.fire(case.id, "propose_pairing", world.coordinator,
               {"partner_city_id": world.partner_city.id})
    cases.fire(case.id, "accept_pairing", world.applicant_a)
    cases.fire(case.id, "accept_pairing", world.partner)
    db.session.expire_all()
    return db.session.get(Case, case.id)


def test_agreement_and_cooperation_pages_and_workflow_labels_are_translated(browser, world):
    from tests.factories import sign_agreement

    case = _paired(world)
    browser.login(world.applicant_a.email)
    choose(browser, "es")
    body = browser.get(f"/agreements/{case.id}").get_data(as_text=True)
    assert html_lang(body) == "es"
    assert "Firmar electrónicamente" in body
    # The state's label comes from the workflow definition, translated when shown.
    assert "Firmar el Acuerdo de Asociación" in body
    body = browser.get(f"/my/cases/{case.id}").get_data(as_text=True)
    assert "Aceptar el emparejamiento" in body  # a transition in the history
    assert "Admisibilidad</span>" in body and "Emparejamiento</span>" in body  # progress bar
    assert "Accept the pairing" not in body and "Eligibility</span>" not in body
    sign_agreement(case.id, world.applicant_a)
    sign_agreement(case.id, world.partner)
    choose(browser, "fr")
    body = browser.get(f"/cooperation/cases/{case.id}").get_data(as_text=True)
    assert html_lang(body) == "fr"
    assert "Coopération et livrables" in body and "Coopération en cours" in body
    body = browser.get(f"/cooperation/cases/{case.id}/activities/new").get_data(as_text=True)
    assert "Voyage d’étude" in body and "De l’UE vers le partenaire" in body


def test_code_without_a_visitor_uses_the_default_language(app, world):
    # Workers and commands have an application but no request: no visitor to ask.
    from flask import has_request_context
    from flask_babel import gettext

    assert not has_request_context()
    case = applications.start_application(world.applicant_a, world.call.id)
    assert gettext("Sign in") == "Sign in"
    assert applications.section_problems(case, "topics") == [
        "one to five priority topics", "a challenge statement of at least 50 characters"]


def test_a_refused_sign_in_is_explained_in_the_chosen_language(browser, world):
    browser.get("/")
    choose(browser, "fr", "/account/login")
    browser.get("/account/login")
    resp = browser.post("/account/login", {"email": world.applicant_a.email,
                                           "password": "not the password"})
    body = resp.get_data(as_text=True)
    assert "L’adresse e-mail ou le mot de passe n’est pas correct" in body
    assert "<title>Erreur :" in body
