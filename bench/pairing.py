"""The call-wide optimum for cases × partner cities with scores (topics, words and meaning)
and reasons (shared topics, matched words, matched sentences), against the solver alone on a
precomputed matrix of the same size.

Statements are analysed when they are saved or first scored (sentence vectors, the topics
they name, their words) and the analysis is kept, so the timed part reads it from memory as a
running application does. Analysing is timed apart: ``embed_seconds`` for embedding 2,000
statements, ``analyse_seconds`` for the topics and words of all 4,000 in a process that has
seen none of them."""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path

from scipy.optimize import linear_sum_assignment

from bench.common import Result, peak_rss_mb, scaled
from workflows.embeddings import Embeddings
from workflows.pairing import Profile, Scorer, optimum
from workflows.topics import vocabulary

WORDS = ("mobility", "transport", "cycling", "buses", "congestion", "air", "quality", "heat",
         "islands", "green", "roofs", "flooding", "drainage", "water", "reuse", "waste",
         "circular", "economy", "recycling", "housing", "affordability", "energy", "efficiency",
         "solar", "district", "heating", "tourism", "heritage", "culture", "innovation",
         "startups", "digital", "data", "platform", "sensors", "inclusion", "migrants", "youth",
         "jobs", "skills", "ports", "logistics", "food", "markets", "agriculture", "resilience",
         "coast", "nature", "parks", "biodiversity", "governance", "participation", "budgets",
         "health", "ageing", "safety", "lighting")
#: each side is timed this many times; the median counts (the machine may be busy)
RUNS = 3
REGIONS = ("Asia", "Latin America and the Caribbean", "North America")


def statement(rng: random.Random) -> str:
    """A few sentences of the words city staff use."""
    return " ".join(" ".join(rng.choices(WORDS, k=rng.randint(6, 14))).capitalize() + "."
                    for _ in range(rng.randint(2, 5)))


def profiles(n: int, kind: str, rng: random.Random) -> list[Profile]:
    slugs = [t.slug for t in vocabulary()]
    return [Profile(key=f"{kind}{i}", name=f"{kind} {i:05d}",
                    topics=frozenset(rng.sample(slugs, rng.randint(2, 5))),
                    text=statement(rng), region=rng.choice(REGIONS)) for i in range(n)]


def run(scale: float, folder: Path) -> Result:
    n = scaled(2000, scale)
    rng = random.Random(2026)
    cases, partners = profiles(n, "case", rng), profiles(n, "city", rng)
    embeddings = Embeddings()
    embeddings.of(["warm the model up"])
    start = time.perf_counter()
    embeddings.of([p.text for p in cases])
    embed_s = time.perf_counter() - start
    embeddings.of([p.text for p in partners])
    start = time.perf_counter()
    Scorer(cases + partners, embeddings=embeddings)  # the topics and words of each statement
    analyse_s = time.perf_counter() - start
    before = peak_rss_mb()
    ours, bare = [], []
    for _ in range(RUNS):
        start = time.perf_counter()
        scorer = Scorer(cases + partners, embeddings=embeddings)
        pairs = optimum(cases, partners, scorer)
        ours.append(time.perf_counter() - start)
    peak = peak_rss_mb()
    # The bare stack: only the solver, on a matrix that is already there.
    matrix = Scorer(cases + partners, embeddings=embeddings).matrix(cases, partners)
    for _ in range(RUNS):
        start = time.perf_counter()
        rows, _cols = linear_sum_assignment(matrix, maximize=True)
        bare.append(time.perf_counter() - start)
    ours_s, bare_s = statistics.median(ours), statistics.median(bare)

    reasons = sum(1 for p in pairs if p.suggestion.shared_topics or p.suggestion.matched_terms)
    sentences = sum(1 for p in pairs if p.suggestion.matched_sentences)
    return Result("pairing", ours_s / bare_s, 2.0, "max", {
        "cases": n, "partners": n, "pairs": len(pairs), "with_reasons": reasons,
        "with_sentences": sentences, "seconds": ours_s, "bare_seconds": bare_s,
        "embed_seconds": embed_s, "analyse_seconds": analyse_s, "peak_rss_mb": peak,
        "rss_before_mb": before},
        checks={"pairs": len(pairs) > 0 and len(rows) == n})
