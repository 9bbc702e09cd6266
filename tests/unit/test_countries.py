"""Countries as ISO 3166-1 alpha-2 codes: what people type, and names in each language."""

from __future__ import annotations

import pytest

from workflows.countries import (
    COUNTRY_CODES,
    EU_MEMBER_STATES,
    countries_by_name,
    country_name,
    normalise_countries,
    to_code,
)

pytestmark = pytest.mark.unit


def test_every_iso_3166_country_and_nothing_else():
    assert len(COUNTRY_CODES) == 249
    assert {"FR", "GB", "US", "AR", "CN", "AQ"} <= COUNTRY_CODES
    # CLDR's groupings, reservations and pseudo-regions are not countries.
    assert not {"EU", "UN", "ZZ", "XK", "EA", "IC", "QO"} & COUNTRY_CODES
    assert set(EU_MEMBER_STATES) <= COUNTRY_CODES


@pytest.mark.parametrize(("typed", "code"), [
    ("FR", "FR"), ("fr", "FR"), (" FRA ", "FR"),
    ("Germany", "DE"), ("Allemagne", "DE"), ("Alemania", "DE"), ("Alemanha", "DE"),
    ("Deutschland", "DE"), ("ALLEMAGNE", "DE"),
    ("Spain", "ES"), ("Espagne", "ES"), ("España", "ES"), ("espana", "ES"), ("Espanha", "ES"),
    ("United Kingdom", "GB"), ("UK", "GB"), ("Royaume-Uni", "GB"), ("Reino Unido", "GB"),
    ("Great Britain", "GB"),
    ("USA", "US"), ("United States", "US"), ("États-Unis", "US"), ("Estados Unidos", "US"),
    ("Czech Republic", "CZ"), ("Czechia", "CZ"), ("Tchéquie", "CZ"), ("Česko", "CZ"),
    ("the Netherlands", "NL"), ("les Pays-Bas", "NL"), ("Países Bajos", "NL"),
    ("Holland", "NL"), ("Nederland", "NL"),
    ("Brazil", "BR"), ("Brésil", "BR"), ("Brasil", "BR"),
    ("Côte d’Ivoire", "CI"), ("Cote d'Ivoire", "CI"), ("Ελλάδα", "GR"), ("Greece", "GR"),
])
def test_names_and_codes_people_type_become_codes(typed, code):
    assert to_code(typed) == code


@pytest.mark.parametrize("typed", ["", "   ", "Other", "Atlantis", "Country 3", "EU", "ZZ",
                                   "Europe", None])
def test_what_names_no_country_is_not_guessed(typed):
    assert to_code(typed) is None


def test_normalising_a_list_keeps_its_order_and_reports_the_unknown():
    assert normalise_countries(["France", "fr", "Spain", "Atlantis", "UK"]) == (
        ["FR", "ES", "GB"], ["Atlantis"])


def test_names_follow_the_readers_language():
    assert [country_name("DE", lang) for lang in ("en", "fr", "es", "pt")] == [
        "Germany", "Allemagne", "Alemania", "Alemanha"]
    # A value that is not a code (left by the migration) is shown as it is.
    assert country_name("Atlantis") == "Atlantis" and country_name("") == ""


def test_lists_are_sorted_by_the_localised_name_ignoring_accents():
    french = [name for _code, name in countries_by_name("fr")]
    assert french.index("Égypte") < french.index("Équateur") < french.index("Érythrée")
    assert french.index("Estonie") < french.index("États-Unis") < french.index("Fidji")
    spanish = [name for _code, name in countries_by_name("es")]
    # An article is part of the name for sorting, as directories print it.
    assert spanish.index("Egipto") < spanish.index("El Salvador") < spanish.index("Eritrea")
    eu = countries_by_name("es", EU_MEMBER_STATES)
    assert len(eu) == 27 and eu[0] == ("DE", "Alemania")
