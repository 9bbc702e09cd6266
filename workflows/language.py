"""The words of challenge statements as pairing reads them, in English, Spanish, Portuguese and
French (and Chinese characters): folding, tokens, stop words, generic words, stemming and a
rough guess of the language.

Stop words (articles, pronouns, auxiliaries) and generic words (what every application says:
"want", "need", "residents", "city", "project") never count as a match nor show as a reason.
Both lists ship as ``workflows/data/stopwords.csv`` and ``workflows/data/generic_words.csv``.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from functools import cache, lru_cache
from importlib.resources import files

import snowballstemmer

LANGUAGES = ("en", "es", "pt", "fr")
_SNOWBALL = {"en": "english", "es": "spanish", "pt": "portuguese", "fr": "french"}
_COMBINING = re.compile("[\u0300-\u036f]")  # the accents NFKD splits off Latin letters
_TOKEN = re.compile(r"[a-z0-9]+|[\u3400-\u4dbf\u4e00-\u9fff]+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[a-z]+")


def fold(text: str) -> str:
    """Lower-case ``text`` and strip its accents ("Málaga" -> "malaga")."""
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text.casefold()))


def tokens(text: str) -> list[str]:
    """Folded words of ``text``: runs of Latin letters and digits, and runs of Chinese
    characters (which have no spaces between words)."""
    return _TOKEN.findall(fold(text))


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds Chinese characters."""
    return _CJK.search(text) is not None


def _word_lists(name: str) -> dict[str, frozenset[str]]:
    text = files("workflows").joinpath("data", name).read_text(encoding="utf-8")
    found: dict[str, set[str]] = {}
    for row in csv.DictReader(line for line in text.splitlines() if not line.startswith("#")):
        found.setdefault(row["lang"], set()).update(fold(row["words"]).split())
    return {lang: frozenset(words) for lang, words in found.items()}


@cache
def stop_words(lang: str | None = None) -> frozenset[str]:
    """Folded stop words of ``lang``, or of every language when None."""
    lists = _word_lists("stopwords.csv")
    return lists.get(lang, frozenset()) if lang else frozenset().union(*lists.values())


@cache
def generic_words() -> frozenset[str]:
    """Folded words of every language that any application uses ("want", "need", "city",
    "residents"): never a match, never a reason. Given as words, kept as their stems too."""
    words = frozenset().union(*_word_lists("generic_words.csv").values())
    return words | {stem(w, lang) for w in words for lang in LANGUAGES}


@lru_cache(maxsize=1 << 16)
def stem(word: str, lang: str) -> str:
    """The Snowball stem of a folded word in ``lang`` (en, es, pt, fr)."""
    return _stemmer(lang).stemWord(word)


@cache
def _stemmer(lang: str):  # noqa: ANN202 - snowballstemmer has no type hints
    return snowballstemmer.stemmer(_SNOWBALL[lang])


@lru_cache(maxsize=1 << 14)
def guess_language(text: str) -> str | None:
    """The language (en, es, pt, fr) whose stop words ``text`` uses most, "zh" for Chinese,
    or None when the text is too short to tell (a list of topics, say)."""
    if has_cjk(text) and len(_CJK.findall(text)) * 2 >= len(_LATIN_WORD.findall(fold(text))):
        return "zh"
    words = _LATIN_WORD.findall(fold(text))
    counts = {lang: sum(w in stop_words(lang) for w in words) for lang in LANGUAGES}
    # Letters only one of the languages writes.
    lowered = text.casefold()
    counts["pt"] += 2 * sum(lowered.count(c) for c in "ãõ")
    counts["es"] += 2 * sum(lowered.count(c) for c in "ñ¿¡")
    counts["fr"] += 2 * sum(lowered.count(c) for c in "èùœ")
    best = max(counts, key=lambda lang: (counts[lang], lang == "en"))
    ranked = sorted(counts.values(), reverse=True)
    # A few stop words and a lead: "water and waste" is not enough to tell.
    if ranked[0] >= 2 and ranked[0] > ranked[1]:
        return best
    return None


@lru_cache(maxsize=1 << 16)
def _term(word: str, lang: str) -> str:
    if len(word) <= 2 or word in stop_words() or word in generic_words() or word.isdigit():
        return ""
    stemmed = stem(word, lang)
    return "" if stemmed in generic_words() else stemmed


def spelled_terms(text: str, lang: str | None = None) -> list[tuple[str, str]]:
    """Each word of ``text`` that counts for similarity, as (word as written but folded, term):
    stop words and generic words removed, stemmed in ``lang`` (guessed when None; English
    when it cannot be told), and Chinese as overlapping pairs of characters."""
    lang = lang or guess_language(text)
    stemming = lang if lang in LANGUAGES else "en"
    found: list[tuple[str, str]] = []
    for token in tokens(text):
        if _CJK.match(token):
            pairs = [token[i : i + 2] for i in range(max(1, len(token) - 1))]
            found += [(pair, pair) for pair in pairs]
        else:
            term = _term(token, stemming)
            if term:
                found.append((token, term))
    return found


def terms(text: str, lang: str | None = None) -> list[str]:
    """The terms of ``spelled_terms``: what two statements must share to match by words."""
    return [term for _, term in spelled_terms(text, lang)]
