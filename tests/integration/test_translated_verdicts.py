"""Eligibility verdicts are said in the reader's language: recorded as a message id with its
values, shown translated on the case pages and the public quick check, while the API and
verdicts recorded before keep their English sentence."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlencode

import pytest
from babel.numbers import format_decimal

from tests.factories import complete_application
from tests.integration.test_api import Api, token
from tests.integration.test_languages import choose
from webapp.db import db
from webapp.models import Case
from webapp.operations import applications, cases

pytestmark = pytest.mark.integration

ENGLISH_COUNTRY = "Lyon is in France, an EU member state."
ENGLISH_POPULATION = "Lyon has 522,000 inhabitants, more than this call's threshold of 100,000."


def text_of(resp) -> str:
    return spaced(unescape(re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True))))


def spaced(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def submitted(world) -> Case:
    case = applications.start_application(world.applicant_a, world.call.id)
    complete_application(db.session.get(Case, case.id))
    cases.fire(case.id, "submit", world.applicant_a)
    db.session.expire_all()
    return db.session.get(Case, case.id)


def french_population(n: int, threshold: int) -> str:
    """The sentence with French digit grouping (a narrow space, read here as a space)."""
    said = (f"Lyon compte {format_decimal(n, locale='fr')} habitants, plus que le seuil de "
            f"{format_decimal(threshold, locale='fr')} de cet appel.")
    assert "522 000" not in said  # the grouping is not an ordinary space
    return spaced(said)


def test_the_verdict_is_recorded_as_a_message_id_beside_its_english(world):
    case = submitted(world)
    country = next(r for r in case.eligibility_results if r.rule == "country")
    assert country.message == ENGLISH_COUNTRY
    assert country.reason["msgid"] == "%(name)s is in %(country)s, an EU member state."
    assert country.reason["params"] == {"name": "Lyon", "country": {"country": "FR"}}


def test_a_french_applicant_reads_the_verdicts_in_french(browser, world):
    case = submitted(world)
    browser.login(world.applicant_a.email)
    choose(browser, "fr", "/my/")
    text = text_of(browser.get(f"/my/cases/{case.id}"))
    assert "Pays de Lyon : France, État membre de l’UE." in text
    assert french_population(522_000, 100_000) in text
    # The partner region stored in English is named in French inside the sentence.
    assert ("C’est la seule candidature de Lyon pour la région « Amérique latine et "
            "Caraïbes » dans cet appel.") in text
    assert ENGLISH_COUNTRY not in text and "inhabitants" not in text


def test_a_french_coordinator_reads_the_verdicts_in_french(browser, world):
    case = submitted(world)
    world.coordinator.locale = "fr"
    db.session.commit()
    browser.login(world.coordinator.email)
    text = text_of(browser.get(f"/office/cases/{case.id}"))
    assert "Pays de Lyon : France, État membre de l’UE." in text
    assert french_population(522_000, 100_000) in text
    assert "Envoyée le " in text and "Submitted on" not in text
    assert "Amérique latine et Caraïbes" in text
    assert "Latin America and the Caribbean" not in text


def test_a_verdict_recorded_before_message_ids_shows_its_english(browser, world):
    case = submitted(world)
    for r in case.eligibility_results:
        r.reason = None
    db.session.commit()
    world.coordinator.locale = "fr"
    db.session.commit()
    browser.login(world.coordinator.email)
    text = text_of(browser.get(f"/office/cases/{case.id}"))
    assert ENGLISH_COUNTRY in text and ENGLISH_POPULATION in text


def test_the_public_quick_check_answers_in_the_visitors_language(browser, world):
    world.call.published = True
    db.session.commit()
    url = f"/calls/{world.call.slug}/check?" + urlencode(
        {"org_type": "region", "country": "CH", "name": "Vaud", "population": "800000",
         "members": ""})
    browser.get("/")
    choose(browser, "es", "/")
    text = text_of(browser.get(url))
    assert "Suiza no es un Estado miembro de la UE" in text
    assert "Una organización de tipo «región» no puede presentarse a esta convocatoria" in text
    assert "not an EU member state" not in text


def test_the_api_keeps_the_english_sentence_for_a_french_reader(app, world):
    case = submitted(world)
    world.applicant_a.locale = "fr"
    db.session.commit()
    api = Api(app.test_client(), token(world.applicant_a))
    api.headers["Accept-Language"] = "fr"
    body = api.get(f"/api/v1/cases/{case.id}").get_json()
    messages = {r["rule"]: r["message"] for r in body["eligibility_results"]}
    assert messages["country"] == ENGLISH_COUNTRY
    assert messages["population"] == ENGLISH_POPULATION
