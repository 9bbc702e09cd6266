"""How well the suggester recovers historic pairings, against two baselines (SPEC §6).

A pairings table has one row per historic pairing: ``eu_city``, ``eu_country``,
``partner_city``, ``partner_country``, ``partner_region``, and either ``topics`` (one text for
both sides, as the 2017 programme table has it) or ``eu_topics`` and ``partner_topics`` (each
side's own), plus, optionally, ``eu_statement`` and ``partner_statement``. A topics cell is
free text ("heatwaves, urban greening", "movilidad urbana") or ``;``-separated vocabulary slugs.

For every row the partner cities of the table are ranked for the EU city: those of the
historic partner's country (``pool="country"``) or of its world region (``pool="region"``).
Ties go by name, so a tie never favours the historic partner.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from workflows.embeddings import Embeddings
from workflows.language import fold, stop_words, tokens
from workflows.pairing import TIE_DECIMALS, Profile, Scorer
from workflows.topics import map_text_to_topics, topic_labels

PLACES = ("eu_city", "eu_country", "partner_city", "partner_country", "partner_region")
OPTIONAL = ("eu_statement", "partner_statement")
POOLS = ("country", "region")
BASELINES = ("tfidf", "minilm")


@dataclass(frozen=True)
class Side:
    """One side of a historic pairing as the table gives it."""

    city: str
    country: str
    region: str
    topics: str  # the topics cell, as written
    statement: str


@dataclass(frozen=True)
class Evaluation:
    """How well a scorer recovers a historic pairings table."""

    cities: int  # rows of the table, one per historic pairing
    top1: float  # share of rows whose historic partner is ranked first
    top3: float  # share of rows whose historic partner is in the first three
    misses: tuple[str, ...]  # "EU city → historic partner" for rows outside the top three
    name: str = "suggester"


def read_table(path: str | Path) -> list[tuple[Side, Side]]:
    """The (EU side, partner side) of each row of a pairings table, in either shape."""
    with Path(path).open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = {c.strip().lower(): c for c in reader.fieldnames or ()}
        missing = [c for c in PLACES if c not in columns]
        if "topics" not in columns and not {"eu_topics", "partner_topics"} <= set(columns):
            missing.append("topics (or eu_topics and partner_topics)")
        if missing:
            raise ValueError(f"{path}: missing columns {missing}")
        pairs = []
        for row in reader:
            cell = {c: (row.get(columns[c]) or "").strip() for c in columns}
            shared = cell.get("topics", "")
            eu_topics = cell.get("eu_topics") or shared
            partner_topics = cell.get("partner_topics") or shared
            if not cell["eu_city"] or not cell["partner_city"]:
                continue
            pairs.append((
                Side(cell["eu_city"], cell["eu_country"], "", eu_topics,
                     cell.get("eu_statement", "")),
                Side(cell["partner_city"], cell["partner_country"], cell["partner_region"],
                     partner_topics, cell.get("partner_statement", "")),
            ))
    return pairs


def topics_of(cell: str) -> tuple[frozenset[str], str]:
    """A topics cell as vocabulary slugs and the free text in it: ``;``-separated parts that
    are slugs count as chosen topics; anything else is text mapped onto the vocabulary."""
    labels = topic_labels()
    slugs, text = [], []
    for part in cell.split(";") if ";" in cell else [cell]:
        part = part.strip()
        if part.lower() in labels:
            slugs.append(part.lower())
        elif part:
            text.append(part)
            slugs += map_text_to_topics(part)
    return frozenset(slugs), ". ".join(text)


def profile_of(side: Side, key: object) -> Profile:
    """A side as the scorer sees it: its topics, and its statement after the topics' own
    words (so a side with only a topics text still has something to mean)."""
    slugs, words = topics_of(side.topics)
    text = "\n".join(t for t in (words, side.statement) if t)
    return Profile(key, side.city, slugs, text, side.region, side.country)


def plain_text(side: Side) -> str:
    """A side as the baselines read it: its topics cell and its statement."""
    return "\n".join(t for t in (side.topics.replace(";", ", "), side.statement) if t)


def rank(
    pairs: Sequence[tuple[Side, Side]],
    scores: np.ndarray,
    pool: str = "country",
    name: str = "suggester",
) -> Evaluation:
    """top1/top3 from ``scores`` (EU rows × partner rows of the table)."""
    if pool not in POOLS:
        raise ValueError(f"pool must be one of {POOLS}")
    partners = [p for _, p in pairs]
    top1 = top3 = 0
    misses: list[str] = []
    rounded = np.round(scores, TIE_DECIMALS)
    for i, (eu, historic) in enumerate(pairs):
        field = "country" if pool == "country" else "region"
        # "Brazil" and "brazil " are one country.
        wanted = fold(getattr(historic, field)).strip()
        candidates = [j for j, p in enumerate(partners)
                      if fold(getattr(p, field)).strip() == wanted]
        ranked = sorted(candidates, key=lambda j: (-rounded[i, j], partners[j].city))
        # A partner city listed on several rows is one candidate, at its best rank.
        names = list(dict.fromkeys(partners[j].city for j in ranked))
        top1 += names[0] == historic.city
        if historic.city in names[:3]:
            top3 += 1
        else:
            misses.append(f"{eu.city} → {historic.city}")
    count = len(pairs)
    return Evaluation(count, top1 / count if count else 0.0, top3 / count if count else 0.0,
                      tuple(misses), name)


def suggester_scores(pairs: Sequence[tuple[Side, Side]],
                     embeddings: Embeddings | None = None) -> np.ndarray:
    """The suggester's scores, fitted on every profile of the table."""
    eu = [profile_of(e, ("eu", n)) for n, (e, _) in enumerate(pairs)]
    partners = [profile_of(p, ("partner", n)) for n, (_, p) in enumerate(pairs)]
    scorer = Scorer([*eu, *partners], embeddings=embeddings)
    return scorer.matrix(eu, partners)


def tfidf_scores(pairs: Sequence[tuple[Side, Side]]) -> np.ndarray:
    """The plain TF-IDF baseline: cosine of word counts weighted by smooth IDF, English stop
    words removed, no stemming (what a general-purpose vectoriser does)."""
    docs = [[w for w in tokens(plain_text(s)) if w not in stop_words("en") and len(w) > 1]
            for pair in pairs for s in pair]
    vocabulary = {w: i for i, w in enumerate(dict.fromkeys(w for d in docs for w in d))}
    rows, cols, values = [], [], []
    for r, doc in enumerate(docs):
        for word, count in Counter(doc).items():
            rows.append(r)
            cols.append(vocabulary[word])
            values.append(count)
    counts = sparse.csr_array((values, (rows, cols)), shape=(len(docs), len(vocabulary)))
    df = np.bincount(counts.indices, minlength=len(vocabulary))
    idf = np.log((1 + len(docs)) / (1 + df)) + 1
    weighted = (counts * idf).toarray()
    norms = np.linalg.norm(weighted, axis=1, keepdims=True)
    unit = weighted / np.where(norms > 0, norms, 1)
    return unit[0::2] @ unit[1::2].T


def minilm_scores(pairs: Sequence[tuple[Side, Side]]) -> np.ndarray:
    """The off-the-shelf sentence-embedding baseline: the cosine of all-MiniLM-L6-v2
    embeddings of each side's topics and statement."""
    from workflows.minilm import minilm

    vectors = minilm().encode([plain_text(s) for pair in pairs for s in pair])
    return vectors[0::2] @ vectors[1::2].T


SCORERS: dict[str, Callable[[Sequence[tuple[Side, Side]]], np.ndarray]] = {
    "tfidf": tfidf_scores,
    "minilm": minilm_scores,
}


def evaluate(path: str | Path, pool: str = "country",
             baselines: Sequence[str] = ()) -> list[Evaluation]:
    """The suggester's evaluation on a pairings table, after those of the named baselines
    measured in the same run."""
    pairs = read_table(path)
    found = [rank(pairs, SCORERS[b](pairs), pool, b) for b in baselines]
    return [*found, rank(pairs, suggester_scores(pairs), pool)]


def evaluate_pairings(path: str | Path, pool: str = "country") -> Evaluation:
    """The suggester's evaluation on a pairings table (see ``evaluate``)."""
    return evaluate(path, pool)[-1]

