"""The controlled vocabulary of pairing topics, and the mapping of free text onto it (SPEC §6).

The vocabulary (IURC thematic clusters, Urban Agenda partnerships and the 17 SDGs) ships as
``workflows/data/topics.csv``. Free text such as an imported programme table's "smart cities,
education, jobs and skills" is mapped onto vocabulary slugs with a table of keywords and
synonyms, plus each topic's own label and slug.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

FAMILIES = ("theme", "sdg")

# Phrase -> topic slugs. Words match their plural too ("city" also matches "cities"), a word
# ending in "*" matches any ending, and where phrases overlap the longest one wins, so
# "climate change adaptation" is adaptation and not the generic "climate change".
SYNONYMS: dict[str, tuple[str, ...]] = {
    # Mobility and digital
    "mobility": ("urban-mobility",),
    "transport*": ("urban-mobility",),
    "traffic": ("urban-mobility",),
    "public transit": ("urban-mobility",),
    "cycling": ("urban-mobility",),
    "smart": ("smart-city",),
    "digital*": ("smart-city",),
    "e government": ("smart-city", "governance"),
    "innovation": ("innovation",),
    "innovative": ("innovation",),
    "research": ("innovation",),
    "biotechnology": ("innovation",),
    "start up": ("innovation",),
    # Environment
    "circular economy": ("circular-economy",),
    "recycling": ("circular-economy", "waste"),
    "waste": ("waste",),
    "water": ("water",),
    "wastewater": ("water",),
    "sanitation": ("water",),
    "flood*": ("flood-risk",),
    "energy": ("energy-transition",),
    "renewable*": ("energy-transition",),
    "clean technology": ("energy-transition",),
    "cleantech": ("energy-transition",),
    "energy efficiency": ("energy-transition",),
    "climate": ("sdg-13",),
    "climate change": ("sdg-13",),
    "climate action": ("sdg-13",),
    "climate adaptation": ("climate-adaptation",),
    "climate change adaptation": ("climate-adaptation",),
    "adaptation to climate change": ("climate-adaptation",),
    "climate mitigation": ("climate-mitigation",),
    "climate change mitigation": ("climate-mitigation",),
    "decarboni*": ("climate-mitigation",),
    "low carbon": ("climate-mitigation",),
    "carbon neutral*": ("climate-mitigation",),
    "nature based": ("nature-based-solutions",),
    "green infrastructure": ("nature-based-solutions",),
    "land use": ("nature-based-solutions",),
    "use of land": ("nature-based-solutions",),
    "biodiversity": ("nature-based-solutions",),
    "green space": ("nature-based-solutions",),
    "air quality": ("air-quality",),
    "air pollution": ("air-quality",),
    # Urban development and society
    "regeneration": ("urban-regeneration",),
    "renewal": ("urban-regeneration",),
    "revitali*": ("urban-regeneration",),
    "brownfield": ("urban-regeneration",),
    "urban development": ("sdg-11",),
    "sustainable development": ("sdg-11",),
    "sustainable city": ("sdg-11",),
    "housing": ("housing",),
    "affordable home": ("housing",),
    "poverty": ("urban-poverty",),
    "slum": ("urban-poverty",),
    "informal settlement": ("urban-poverty",),
    "social inclusion": ("social-inclusion",),
    "inclusion": ("social-inclusion",),
    "inclusive": ("social-inclusion",),
    "social cohesion": ("social-inclusion",),
    "inequality": ("sdg-10",),
    "migrant": ("migrants",),
    "migration": ("migrants",),
    "refugee": ("migrants",),
    "gender": ("gender",),
    "women": ("gender",),
    "elderly": ("ageing",),
    "ageing": ("ageing",),
    "aging": ("ageing",),
    "older people": ("ageing",),
    "health": ("health",),
    "healthy": ("health",),
    "healthcare": ("health",),
    "public health": ("health",),
    "medtech": ("health",),
    "medical": ("health",),
    "well being": ("health",),
    "wellbeing": ("health",),
    "safety": ("public-space-security",),
    "security": ("public-space-security",),
    # Economy
    "job": ("jobs-skills",),
    "skill": ("jobs-skills",),
    "employment": ("jobs-skills",),
    "unemployment": ("jobs-skills",),
    "decent work": ("jobs-skills", "sdg-8"),
    "economic growth": ("economic-development",),
    "economic development": ("economic-development",),
    "local economy": ("economic-development",),
    "entrepreneurship": ("economic-development",),
    "sme": ("economic-development",),
    "trade": ("economic-development",),
    "investment": ("economic-development",),
    "education": ("education",),
    "school": ("education",),
    "training": ("education",),
    "university": ("education",),
    "tourism": ("tourism",),
    "tourist": ("tourism",),
    "culture": ("culture-heritage",),
    "cultural": ("culture-heritage",),
    "heritage": ("culture-heritage",),
    "creative industry": ("culture-heritage",),
    "port": ("port-logistics",),
    "logistic*": ("port-logistics",),
    "harbour": ("port-logistics",),
    "maritime": ("port-logistics",),
    "freight": ("port-logistics",),
    "smart production": ("smart-production",),
    "manufacturing": ("smart-production",),
    "industry": ("smart-production",),
    "industrial": ("smart-production",),
    "production and consumption": ("sdg-12",),
    "consumption and production": ("sdg-12",),
    "agricultur*": ("agriculture-food",),
    "farming": ("agriculture-food",),
    "food": ("agriculture-food",),
    "urban rural": ("agriculture-food",),
    "rural urban": ("agriculture-food",),
    # Governance and resilience
    "governance": ("governance",),
    "participation": ("governance",),
    "participatory": ("governance",),
    "citizen engagement": ("governance",),
    "procurement": ("public-procurement",),
    "resilience": ("resilience",),
    "resilient": ("resilience",),
    "disaster": ("resilience",),
    "post conflict": ("post-conflict",),
    "conflict": ("post-conflict",),
    "peacebuilding": ("post-conflict",),
    "reconciliation": ("post-conflict",),
    # The goals as a whole: localising them is about sustainable cities and partnerships
    "sdg": ("sdg-11", "sdg-17"),
    "sustainable development goal": ("sdg-11", "sdg-17"),
    "global goal": ("sdg-11", "sdg-17"),
    "zero hunger": ("sdg-2",),
    "hunger": ("sdg-2",),
    "life below water": ("sdg-14",),
    "life on land": ("sdg-15",),
}

# "SDG 11", "SDG11", "sdg-11" name one goal.
_GOAL = re.compile(r"\bsdg ?(1[0-7]|[1-9])\b")
_COMBINING = re.compile("[\u0300-\u036f]")  # the accents NFKD splits off Latin letters


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


def fold(text: str) -> str:
    """Lower-case ``text`` and strip its accents ("Málaga" -> "malaga")."""
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text.casefold()))


def normalize(text: str) -> str:
    """Fold ``text`` and turn everything but letters and digits into single spaces, so
    "Smart/healthy cities" and "smart healthy cities" read the same."""
    return " ".join(re.findall(r"[a-z0-9]+", fold(text)))


def _word_pattern(word: str) -> str:
    if word.endswith("*"):
        return re.escape(word[:-1]) + "[a-z0-9]*"
    if len(word) > 2 and word.endswith("y") and word[-2] not in "aeiou":
        return re.escape(word[:-1]) + "(?:y|ies)"
    return re.escape(word) + "(?:s|es)?"


@cache
def _patterns() -> tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]:
    slugs = {t.slug for t in vocabulary()}
    phrases: dict[str, list[str]] = {}
    for phrase, targets in SYNONYMS.items():
        unknown = set(targets) - slugs
        if unknown:
            raise ValueError(f"synonym {phrase!r} maps to unknown topics {sorted(unknown)}")
        # Keep the "*" that marks an open ending, which normalize() would drop.
        words = re.findall(r"[a-z0-9]+\*?", fold(phrase))
        phrases.setdefault(" ".join(words), []).extend(targets)
    # A topic's own label and slug always name it, so the table cannot drift from the file.
    for topic in vocabulary():
        for phrase in (topic.label, topic.slug.replace("-", " ")):
            phrases.setdefault(normalize(phrase), []).append(topic.slug)
    return tuple(
        (
            re.compile(r"\b" + " ".join(_word_pattern(w) for w in phrase.split()) + r"\b"),
            tuple(dict.fromkeys(targets)),
        )
        for phrase, targets in phrases.items()
        if phrase
    )


def map_text_to_topics(text: str) -> list[str]:
    """Vocabulary slugs named by free ``text``, in order of appearance, each once.

    Case-, accent- and punctuation-insensitive and word-boundary aware; overlapping phrases
    resolve to the longest ("smart production" is not also "smart").
    """
    plain = normalize(text)
    found: list[tuple[int, int, tuple[str, ...]]] = [
        (m.start(), m.end(), (f"sdg-{m.group(1)}",)) for m in _GOAL.finditer(plain)
    ]
    found += [
        (m.start(), m.end(), targets)
        for pattern, targets in _patterns()
        for m in pattern.finditer(plain)
    ]
    taken: list[tuple[int, int, tuple[str, ...]]] = []
    for start, end, targets in sorted(found, key=lambda f: (f[0] - f[1], f[0])):
        if all(end <= s or start >= e for s, e, _ in taken):
            taken.append((start, end, targets))
    ordered = (slug for _, _, targets in sorted(taken) for slug in targets)
    return list(dict.fromkeys(ordered))
