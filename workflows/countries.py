"""Countries as ISO 3166-1 alpha-2 codes, named in any language from Babel's CLDR data.

Everything citypair stores about a country is its code ("FR", "GB", "US"); names are for
people and come from CLDR in the reader's language. ``to_code`` reads what people type in
free-text imports — a code, an alpha-3 code, or a name in English, French, Spanish,
Portuguese or the country's own language, accents and case ignored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache

from babel import Locale, UnknownLocaleError
from babel.core import get_global

#: CLDR territories with a two-letter id that are not ISO 3166-1 countries: exceptional
#: reservations (Ascension, Clipperton, Sark, Diego Garcia, Ceuta and Melilla, the Canary
#: Islands, Tristan da Cunha), groupings (EU, euro area, UN, Outlying Oceania), the
#: pseudo-locales, Kosovo's user-assigned code and "unknown"
_NOT_COUNTRIES = frozenset({"AC", "CP", "CQ", "DG", "EA", "IC", "TA", "EU", "EZ", "UN", "QO",
                            "XA", "XB", "XK", "ZZ"})

#: every ISO 3166-1 alpha-2 code
COUNTRY_CODES: frozenset[str] = frozenset(
    code for code in Locale("en").territories
    if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES)

#: the 27 member states of the European Union (Greece is GR in ISO 3166-1, EL in EU usage)
EU_MEMBER_STATES: tuple[str, ...] = (
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
)

#: the languages whose country names an import understands, besides each country's own
NAME_LANGUAGES = ("en", "fr", "es", "pt")

# Names people use that CLDR does not list as the country's name in any of those languages.
_ALIASES = {
    "czech republic": "CZ", "republique tcheque": "CZ", "republica checa": "CZ",
    "republica tcheca": "CZ", "holland": "NL", "hollande": "NL", "holanda": "NL",
    "great britain": "GB", "britain": "GB", "grande bretagne": "GB", "gran bretana": "GB",
    "gra bretanha": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
    "northern ireland": "GB", "united states of america": "US", "etats unis d amerique": "US",
    "estados unidos de america": "US", "estados unidos da america": "US",
    "republic of ireland": "IE", "slovak republic": "SK", "hellas": "GR",
}
_ARTICLE = re.compile(r"^(?:the|l|la|le|les|el|los|las|o|os|a|as) ")


def _plain(text: str) -> str:
    """The text without accents, case or punctuation."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text)
                    if not unicodedata.combining(c))
    return " ".join(re.sub(r"[\W_]+", " ", plain.casefold()).split())


def _key(text: str) -> str:
    """What two spellings of one name share: no accents, case, punctuation or article."""
    return _ARTICLE.sub("", _plain(text))


@cache
def _lookup() -> dict[str, str]:
    """Every name and alias a code is known by, keyed by ``_key``; the first wins."""
    found: dict[str, str] = {}
    for lang in NAME_LANGUAGES:
        for code, name in Locale(lang).territories.items():
            if code in COUNTRY_CODES:
                found.setdefault(_key(name), code)
    # Each country in its own official languages: Deutschland, España, Česko, Ελλάδα ...
    for code, languages in get_global("territory_languages").items():
        if code not in COUNTRY_CODES:
            continue
        for lang, info in languages.items():
            if info.get("official_status") not in ("official", "de_facto_official"):
                continue
            try:
                name = Locale.parse(lang).territories.get(code)
            except (UnknownLocaleError, ValueError):
                continue
            if name:
                found.setdefault(_key(name), code)
    for alias, targets in get_global("territory_aliases").items():
        # Alpha-3 codes (FRA, USA) and retired two-letter ones (UK); not the numeric ones.
        if alias.isalpha() and len(targets) == 1 and targets[0] in COUNTRY_CODES:
            found.setdefault(_key(alias), targets[0])
    for alias, code in _ALIASES.items():
        found.setdefault(alias, code)
    return found


def to_code(text: str | None) -> str | None:
    """The ISO 3166-1 alpha-2 code of what someone typed, or None when it names no country.

    "de", "DEU", "Germany", "Allemagne", "Alemania", "Alemanha" and "Deutschland" give "DE";
    "UK", "Great Britain" and "Royaume-Uni" give "GB".
    """
    tidy = " ".join((text or "").split())
    if not tidy:
        return None
    if len(tidy) == 2 and tidy.upper() in COUNTRY_CODES:
        return tidy.upper()
    return _lookup().get(_key(tidy))


def normalise_country(text: str) -> str:
    """The code of a country named or coded in ``text``; anything unknown comes back tidied.

    Values that name no country (an old "Other", a typo) are kept, never guessed.
    """
    return to_code(text) or " ".join((text or "").split())


def normalise_countries(values: Iterable[str]) -> tuple[list[str], list[str]]:
    """(codes in the order given, without repeats; the values that name no country)."""
    codes: list[str] = []
    unknown: list[str] = []
    for value in values:
        code = to_code(value)
        if code is None:
            unknown.append(value)
        elif code not in codes:
            codes.append(code)
    return codes, unknown


@cache
def _names(locale: str) -> dict[str, str]:
    try:
        territories = Locale.parse(locale).territories
    except (UnknownLocaleError, ValueError):
        territories = Locale("en").territories
    return {code: territories.get(code, code) for code in COUNTRY_CODES}


def country_name(code: str | None, locale: str = "en") -> str:
    """The country's name in ``locale``; a value that is not a code is shown as it is."""
    if not code:
        return ""
    return _names(locale).get(code, code)


def sort_key(name: str) -> str:
    """An order for names in any language: accents and case do not move a name."""
    return _plain(name)


def countries_by_name(locale: str = "en",
                      codes: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(code, name in ``locale``) of ``codes`` (every country when None), by name."""
    names = _names(locale)
    wanted = COUNTRY_CODES if codes is None else [c for c in codes if c in names]
    return sorted(((c, names[c]) for c in wanted), key=lambda pair: sort_key(pair[1]))
