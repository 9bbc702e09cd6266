"""The call-wide optimum for cases × partner cities with scores (topics, words and meaning)
and reasons (shared topics, matched words, matched sentences), against the solver alone on a
precomputed matrix of the same size.

Statements are embedded when they are saved and their vectors kept, so the timed part reads
them from memory as a running application does; embedding them is timed apart
(``embed_seconds``: 2,000 statements). Each timed run starts with cold text caches."""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path

from scipy.optimize import linear_sum_assignment

from bench.common import Result, peak_rss_mb, scaled
from workflows import pairing as scoring
from workflows import topics as topic_mapping
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


def cold_caches() -> None:
    """Forget the words and topics of every statement, as a new process would."""
    scoring._terms.cache_clear()
    topic_mapping._mapped.cache_clear()


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
    before = peak_rss_mb()
    ours, bare = [], []
    for _ in range(RUNS):
        cold_caches()
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
        "embed_seconds": embed_s, "peak_rss_mb": peak, "rss_before_mb": before},
        checks={"pairs": len(pairs) > 0 and len(rows) == n})
