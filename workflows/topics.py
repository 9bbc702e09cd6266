"""The controlled vocabulary of pairing topics, and the mapping of free text onto it (SPEC §6).

The vocabulary (IURC thematic clusters, Urban Agenda partnerships and the 17 SDGs) ships as
``workflows/data/topics.csv``. Free text in English, Spanish, Portuguese, French or Chinese
("smart cities, education", "ciclovías y transporte público", "垃圾分类") is mapped onto
vocabulary slugs with the lexicon ``workflows/data/lexicon.csv``: how city staff name each
topic in each language, matched word by word on Snowball stems with stop words ignored, plus
each topic's own label and slug.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources import files

from workflows.language import LANGUAGES, fold, guess_language, has_cjk, stem, stop_words

FAMILIES = ("theme", "sdg")

# "SDG 11", "SDG11", "sdg-11", "ODS 6", "ODD 13" name one goal.
_GOAL = re.compile(r"\b(?:sdg|ods|odd)[\s\-]?(1[0-7]|[1-9])\b")
_LATIN = re.compile(r"[a-z0-9&]+")
_PREFIX_KEY = 3  # open-ended words are looked up by their first letters
_INFLECTION = 3  # how many letters an inflected form may add to or drop from a word


@dataclass(frozen=True)
class Topic:
    """One entry of the controlled vocabulary."""

    slug: str
    label: str
    family: str  # "theme" (thematic cluster or partnership) or "sdg"


@cache
def vocabulary() -> tuple[Topic, ...]:
    """Every topic of the controlled vocabulary, in the order of the shipped file."""
    text = files("workflows").joinpath("data", "topics.csv").read_text(encoding="utf-8")
    topics = tuple(
        Topic(r["slug"], r["label"], r["family"]) for r in csv.DictReader(text.splitlines())
    )
    unknown = {t.family for t in topics} - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown topic families: {sorted(unknown)}")
    return topics


def topic_labels() -> dict[str, str]:
    """Slug -> human label, for every topic of the vocabulary."""
    return {t.slug: t.label for t in vocabulary()}


def normalize(text: str) -> str:
    """Fold ``text`` and turn everything but letters and digits into single spaces, so
    "Smart/healthy cities" and "smart healthy cities" read the same."""
    return " ".join(re.findall(r"[a-z0-9]+", fold(text)))


@dataclass(frozen=True)
class _Phrase:
    """One lexicon phrase: per word, its stem (or the beginning of an open-ended word)."""

    words: tuple[tuple[str, bool, int], ...]  # (stem or prefix, is_prefix, length of the word)
    targets: tuple[str, ...]


@dataclass
class _Lexicon:
    """A language's phrases, indexed by their first word."""

    exact: dict[str, list[_Phrase]]
    prefixed: dict[str, list[_Phrase]]
    chinese: dict[str, list[str]]


def _phrase_words(phrase: str, lang: str) -> tuple[tuple[str, bool, int], ...]:
    words = [w for w in re.findall(r"[a-z0-9&]+\*?", fold(phrase)) if w.rstrip("*")]
    kept = [w for w in words if w.rstrip("*") not in stop_words()] or words
    return tuple(
        (w[:-1], True, len(w) - 1) if w.endswith("*") else (stem(w, lang), False, len(w))
        for w in kept
    )


@cache
def lexicon() -> dict[str, _Lexicon]:
    """The shipped lexicon and each topic's own label and slug, by language."""
    slugs = {t.slug for t in vocabulary()}
    text = files("workflows").joinpath("data", "lexicon.csv").read_text(encoding="utf-8")
    entries: dict[tuple[str, str], set[str]] = {}
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    for row in rows:
        if row["slug"] not in slugs:
            raise ValueError(f"lexicon names an unknown topic {row['slug']!r}")
        for phrase in row["phrases"].split(";"):
            if phrase.strip():
                entries.setdefault((row["lang"], phrase.strip()), set()).add(row["slug"])
    # A topic's own label and slug always name it, so the lexicon cannot drift from the file.
    for topic in vocabulary():
        for phrase in (topic.label, topic.slug.replace("-", " ")):
            entries.setdefault(("en", normalize(phrase)), set()).add(topic.slug)
    found = {lang: _Lexicon({}, {}, {}) for lang in (*LANGUAGES, "zh")}
    for (lang, phrase), targets in entries.items():
        ordered = tuple(sorted(targets))
        if lang == "zh":
            found[lang].chinese.setdefault(phrase, []).extend(ordered)
            continue
        words = _phrase_words(phrase, lang)
        if not words:
            continue
        key, prefix, _ = words[0]
        index = found[lang].prefixed if prefix else found[lang].exact
        index.setdefault(key[:_PREFIX_KEY] if prefix else key, []).append(
            _Phrase(words, ordered)
        )
    return found


def _word_matches(element: tuple[str, bool, int], word: str, stemmed: str) -> bool:
    key, prefix, length = element
    if prefix:
        return word.startswith(key)
    # A stem shared by words of very different length is another word: "urbanisme" is not
    # "urban", though French stems both so.
    return stemmed == key and abs(len(word) - length) <= _INFLECTION


@lru_cache(maxsize=1 << 16)
def _starting(word: str, lang: str) -> tuple[_Phrase, ...]:
    """The phrases of ``lang`` whose first word is ``word``: most words start none."""
    lex = lexicon()[lang]
    stemmed = stem(word, lang)
    return tuple(
        phrase
        for phrase in (*lex.exact.get(stemmed, ()), *lex.prefixed.get(word[:_PREFIX_KEY], ()))
        if _word_matches(phrase.words[0], word, stemmed)
    )


def _latin_matches(
    text: str, langs: tuple[str, ...]
) -> Iterator[tuple[int, int, bool, tuple[str, ...]]]:
    """(start, end, exact, targets) of each lexicon phrase found in folded ``text``."""
    spans = [(m.start(), m.end(), m.group()) for m in _LATIN.finditer(text)]
    spans = [s for s in spans if s[2] not in stop_words()]
    words = [w for _, _, w in spans]
    for lang in langs:
        for i, word in enumerate(words):
            for phrase in _starting(word, lang):
                n = len(phrase.words)
                if i + n <= len(words) and all(
                    _word_matches(e, words[i + k], stem(words[i + k], lang))
                    for k, e in enumerate(phrase.words[1:], start=1)
                ):
                    exact = not any(prefix for _, prefix, _ in phrase.words)
                    yield spans[i][0], spans[i + n - 1][1], exact, phrase.targets


def _chinese_matches(text: str) -> Iterator[tuple[int, int, bool, tuple[str, ...]]]:
    for phrase, targets in lexicon()["zh"].chinese.items():
        start = text.find(phrase)
        while start >= 0:
            yield start, start + len(phrase), True, tuple(targets)
            start = text.find(phrase, start + 1)


@lru_cache(maxsize=1 << 14)
def _mapped(text: str) -> tuple[str, ...]:
    plain = fold(text)
    lang = guess_language(text)
    # A language told apart, and English, which staff mix in; all four when it cannot be told.
    langs = LANGUAGES if lang in (None, "zh") else tuple(dict.fromkeys((lang, "en")))
    found = [(m.start(), m.end(), True, (f"sdg-{m.group(1)}",)) for m in _GOAL.finditer(plain)]
    found += _latin_matches(plain, langs)
    if has_cjk(text):
        found += _chinese_matches(plain)
    # Same span: exact words beat open endings; overlapping spans: the longest wins.
    by_span: dict[tuple[int, int], tuple[bool, list[str]]] = {}
    for start, end, exact, targets in found:
        was_exact, slugs = by_span.get((start, end), (False, []))
        if exact and not was_exact:
            slugs = []
        if exact or not was_exact:
            by_span[(start, end)] = (exact or was_exact, [*slugs, *targets])
    taken: list[tuple[int, int, list[str]]] = []
    covered = bytearray(len(plain) + 1)  # 1 where a longer phrase was already taken
    for (start, end), (_, slugs) in sorted(by_span.items(), key=lambda s: (s[0][0] - s[0][1],
                                                                           s[0][0])):
        if covered.find(1, start, end) < 0:
            taken.append((start, end, slugs))
            covered[start:end] = b"\x01" * (end - start)
    ordered = (slug for _, _, slugs in sorted(taken) for slug in slugs)
    return tuple(dict.fromkeys(ordered))


def map_text_to_topics(text: str) -> list[str]:
    """Vocabulary slugs named by free ``text``, in order of appearance, each once.

    Any of English, Spanish, Portuguese, French (stemmed, accents and case ignored) and
    Chinese; where phrases overlap the longest wins, so "smart specialisation" is innovation
    and not smart city, and "climate change adaptation" is adaptation, not climate action.
    """
    return list(_mapped(text)) if text.strip() else []
