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
    surface: tuple[str, ...] = ()  # the words as the lexicon spells them, folded
    #: a phrase whose meaning rests on a stop word ("sea level", "start up", "sin hogar") is
    #: matched word for word on the text with its stop words, never as its one content word
    literal: bool = False


@dataclass
class _Lexicon:
    """A language's phrases, indexed by their first word."""

    exact: dict[str, list[_Phrase]]
    prefixed: dict[str, list[_Phrase]]
    chinese: dict[str, list[str]]


def _phrase_words(phrase: str, lang: str) -> tuple[tuple[tuple[str, bool, int], ...], bool]:
    """The phrase's words to match, and whether they must be matched with the stop words."""
    words = [w for w in re.findall(r"[a-z0-9&]+\*?", fold(phrase)) if w.rstrip("*")]
    kept = [w for w in words if w.rstrip("*") not in stop_words()]
    literal = len(kept) < len(words) and len(kept) <= 1
    return tuple(
        (w[:-1], True, len(w) - 1) if w.endswith("*") else (stem(w, lang), False, len(w))
        for w in (words if literal else kept)
    ), literal


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
        words, literal = _phrase_words(phrase, lang)
        if not words:
            continue
        key, prefix, _ = words[0]
        index = found[lang].prefixed if prefix else found[lang].exact
        surface = tuple(w for w in re.findall(r"[a-z0-9&]+", fold(phrase))
                        if literal or w not in stop_words())
        index.setdefault(key[:_PREFIX_KEY] if prefix else key, []).append(
            _Phrase(words, ordered, surface, literal)
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


#: how closely a phrase matched: word for word as the lexicon spells it, by stems, or by a
#: word's beginning; on the same words whole words beat beginnings, and within a language the
#: spelling beats a shared stem ("parking" is transport, not "park")
SURFACE, STEMS, PREFIX = 2, 1, 0


def _latin_matches(
    text: str, langs: tuple[str, ...]
) -> Iterator[tuple[int, int, int, str, tuple[str, ...]]]:
    """(start, end, closeness, language, targets) of each lexicon phrase found in folded
    ``text``."""
    every = [(m.start(), m.end(), m.group()) for m in _LATIN.finditer(text)]
    content = [s for s in every if s[2] not in stop_words()]
    for spans, literal in ((content, False), (every, True)):
        words = [w for _, _, w in spans]
        for lang in langs:
            for i, word in enumerate(words):
                for phrase in _starting(word, lang):
                    n = len(phrase.words)
                    if phrase.literal != literal or i + n > len(words) or not all(
                        _word_matches(e, words[i + k], stem(words[i + k], lang))
                        for k, e in enumerate(phrase.words[1:], start=1)
                    ):
                        continue
                    closeness = PREFIX if any(p for _, p, _ in phrase.words) else \
                        SURFACE if tuple(words[i:i + n]) == phrase.surface else STEMS
                    yield spans[i][0], spans[i + n - 1][1], closeness, lang, phrase.targets


def _chinese_matches(text: str) -> Iterator[tuple[int, int, int, str, tuple[str, ...]]]:
    for phrase, targets in lexicon()["zh"].chinese.items():
        start = text.find(phrase)
        while start >= 0:
            yield start, start + len(phrase), SURFACE, "zh", tuple(targets)
            start = text.find(phrase, start + 1)


@lru_cache(maxsize=1 << 14)
def _mapped(text: str) -> tuple[str, ...]:
    plain = fold(text)
    lang = guess_language(text)
    # A language told apart, and English, which staff mix in; all four when it cannot be told.
    langs = LANGUAGES if lang in (None, "zh") else tuple(dict.fromkeys((lang, "en")))
    found = [(m.start(), m.end(), SURFACE, "", (f"sdg-{m.group(1)}",))
             for m in _GOAL.finditer(plain)]
    found += _latin_matches(plain, langs)
    if has_cjk(text):
        found += _chinese_matches(plain)
    matches: dict[tuple[int, int], list[tuple[int, str, tuple[str, ...]]]] = {}
    for start, end, closeness, lang, targets in found:
        matches.setdefault((start, end), []).append((closeness, lang, targets))
    # Same span: the closest matches win, their targets together; overlapping: the longest.
    by_span: dict[tuple[int, int], list[str]] = {}
    for span, candidates in matches.items():
        whole = [c for c in candidates if c[0] > PREFIX] or candidates
        spelled = {lang for closeness, lang, _ in whole if closeness == SURFACE}
        by_span[span] = [slug for closeness, lang, targets in whole
                         if closeness == SURFACE or lang not in spelled for slug in targets]
    taken: list[tuple[int, int, list[str]]] = []
    covered = bytearray(len(plain) + 1)  # 1 where a longer phrase was already taken
    for (start, end), slugs in sorted(by_span.items(), key=lambda s: (s[0][0] - s[0][1],
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
