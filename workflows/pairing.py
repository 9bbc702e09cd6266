"""Pairing: scoring cases against partner cities, suggestions with reasons, and the call-wide
assignment (SPEC §6).

A score combines the IDF-weighted overlap of the two sides' topics (rare shared topics count
more) with the TF-IDF cosine of their challenge statements. A ``Scorer`` is fitted once on all
profiles of a call. ``Scorer.matrix`` scores every case against every partner city with sparse
products; reasons (shared topics, matched words) are computed only for the pairs shown.
"""

from __future__ import annotations

import csv
import math
import re
from collections import Counter
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy import sparse
from scipy.optimize import linear_sum_assignment

from workflows.topics import fold, map_text_to_topics

PAIRING_COLUMNS = (
    "eu_city",
    "eu_country",
    "partner_city",
    "partner_country",
    "partner_region",
    "topics",
)
MATCHED_TERMS = 5  # how many statement words a suggestion names
TIE_DECIMALS = 12  # scores equal to this many decimals are ties, broken by name
_BLOCK_CELLS = 1 << 22  # dense cells per block of a product (32 MB of float64)
_WORD = re.compile(r"[a-z]+")

# A short English stop-word list: words that say nothing about a city's challenge.
STOP_WORDS = frozenset(
    {
        "a", "about", "across", "all", "also", "an", "and", "any", "are", "as", "at", "be", "been",
        "between", "both", "but", "by", "can", "do", "for", "from", "has", "have", "how", "in",
        "including", "into", "is", "it", "its", "more", "most", "much", "new", "not", "of", "on",
        "or", "other", "our", "over", "per", "such", "than", "that", "the", "their", "them",
        "there", "these", "they", "this", "those", "through", "to", "towards", "under", "up", "us",
        "very", "was", "we", "were", "which", "while", "will", "with", "within", "without"
    }
)


@dataclass(frozen=True)
class Profile:
    """One side of a pairing: a case (the applicant) or a partner city."""

    key: Hashable  # case id or partner city id
    name: str
    topics: frozenset[str]  # vocabulary slugs
    text: str  # challenge statement (free text)
    region: str = ""
    country: str = ""

    def __post_init__(self) -> None:
        # Accept any collection of slugs but keep the profile hashable.
        object.__setattr__(self, "topics", frozenset(self.topics))


@dataclass(frozen=True)
class Suggestion:
    """A scored partner for a case, with the reasons a coordinator is shown."""

    partner: Profile
    score: float  # 0..1
    shared_topics: tuple[str, ...]  # slugs, rarest first
    matched_terms: tuple[str, ...]  # statement words that contributed most, strongest first
    topic_score: float
    text_score: float


@dataclass(frozen=True)
class Assignment:
    """One pair of the call-wide optimum."""

    case: Profile
    partner: Profile
    suggestion: Suggestion


@dataclass(frozen=True)
class Evaluation:
    """How well the suggester recovers a historic pairings table."""

    cities: int  # rows of the table, one per historic pairing
    top1: float  # share of rows whose historic partner is ranked first
    top3: float  # share of rows whose historic partner is in the first three
    misses: tuple[str, ...]  # "EU city → historic partner" for rows outside the top three


@lru_cache(maxsize=1 << 16)
def _stem(word: str) -> str:
    # Light suffix stripping: enough to meet "cities"/"city" and "services"/"service".
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def terms(text: str) -> list[str]:
    """The statement words of ``text`` that count for similarity: lower-cased, without
    accents, letters only, stop words removed, lightly stemmed."""
    return [
        _stem(w) for w in _WORD.findall(fold(text)) if len(w) > 1 and w not in STOP_WORDS
    ]


class _Vectors(NamedTuple):
    """A profile's unit vectors: IDF-weighted topics and TF-IDF statement words."""

    topics: dict[str, float]
    text: dict[str, float]


def _unit(weights: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in weights.values()))
    return {k: w / norm for k, w in weights.items()} if norm else {}


class Scorer:
    """Fitted once on all profiles of a call (both sides) so rare topics and words count more."""

    def __init__(
        self,
        profiles: Iterable[Profile],
        topic_weight: float = 0.7,
        text_weight: float = 0.3,
    ) -> None:
        if topic_weight < 0 or text_weight < 0 or topic_weight + text_weight <= 0:
            raise ValueError("weights must be non-negative and not both zero")
        total = topic_weight + text_weight
        self.topic_weight = topic_weight / total
        self.text_weight = text_weight / total
        fitted = list(profiles)
        self._fitted = len(fitted)
        counts = {p: Counter(terms(p.text)) for p in fitted}
        topic_df = Counter(t for p in fitted for t in p.topics)
        term_df = Counter(w for p in fitted for w in counts[p])
        self._topic_idf = {t: self._idf(n) for t, n in topic_df.items()}
        self._term_idf = {w: self._idf(n) for w, n in term_df.items()}
        # The call's own profiles are scored again and again: vectorise them once.
        self._vectors = {p: self._vectorise(p, c) for p, c in counts.items()}

    def _idf(self, df: int) -> float:
        # Smooth idf: a topic or word never seen in the call counts as the rarest.
        return math.log((1 + self._fitted) / (1 + df)) + 1

    def topic_idf(self, slug: str) -> float:
        """The weight of one shared topic: higher when fewer profiles of the call chose it."""
        return self._topic_idf.get(slug, self._idf(0))

    def _vectorise(self, profile: Profile, counts: Counter[str]) -> _Vectors:
        unseen = self._idf(0)
        return _Vectors(
            topics=_unit({t: self.topic_idf(t) for t in sorted(profile.topics)}),
            text=_unit(
                {w: n * self._term_idf.get(w, unseen) for w, n in sorted(counts.items())}
            ),
        )

    def _vectors_of(self, profile: Profile) -> _Vectors:
        known = self._vectors.get(profile)
        if known is None:
            return self._vectorise(profile, Counter(terms(profile.text)))
        return known

    def score(self, a: Profile, b: Profile) -> Suggestion:
        """Score case ``a`` against partner ``b`` and say why."""
        va, vb = self._vectors_of(a), self._vectors_of(b)
        shared = [t for t in va.topics if t in vb.topics]
        topic = sum((va.topics[t] * vb.topics[t] for t in shared), 0.0)
        contributions = {w: va.text[w] * vb.text[w] for w in va.text if w in vb.text}
        text = sum(contributions.values(), 0.0)
        return Suggestion(
            partner=b,
            score=min(1.0, max(0.0, self.topic_weight * topic + self.text_weight * text)),
            shared_topics=tuple(sorted(shared, key=lambda t: (-self.topic_idf(t), t))),
            matched_terms=tuple(
                sorted(contributions, key=lambda w: (-contributions[w], w))[:MATCHED_TERMS]
            ),
            topic_score=topic,
            text_score=text,
        )

    def explain(self, a: Profile, b: Profile) -> Suggestion:
        """The reasons for one pair; the same as ``score``."""
        return self.score(a, b)

    def matrix(self, cases: Sequence[Profile], partners: Sequence[Profile]) -> np.ndarray:
        """Scores of every case (rows) against every partner (columns), as ``score`` gives."""
        rows = [self._vectors_of(p) for p in cases]
        cols = [self._vectors_of(p) for p in partners]
        topic = _products([v.topics for v in rows], [v.topics for v in cols])
        text = _products([v.text for v in rows], [v.text for v in cols])
        return np.clip(self.topic_weight * topic + self.text_weight * text, 0.0, 1.0)


def _stack(vectors: list[dict[str, float]], index: dict[str, int]) -> sparse.csr_array:
    """Sparse vectors as the rows of a CSR matrix over ``index``."""
    indptr = np.zeros(len(vectors) + 1, dtype=np.int64)
    np.cumsum([len(v) for v in vectors], out=indptr[1:])
    size = int(indptr[-1])
    indices = np.fromiter(
        map(index.__getitem__, chain.from_iterable(vectors)), dtype=np.int64, count=size
    )
    data = np.fromiter(chain.from_iterable(v.values() for v in vectors), dtype=float, count=size)
    return sparse.csr_array((data, indices, indptr), shape=(len(vectors), len(index)))


def _products(rows: list[dict[str, float]], cols: list[dict[str, float]]) -> np.ndarray:
    """Dot products of two lists of sparse unit vectors, as a dense matrix."""
    features = dict.fromkeys(chain.from_iterable(chain(rows, cols)))
    index = dict(zip(features, range(len(features)), strict=True))
    left = _stack(rows, index)
    right = _stack(cols, index).T.tocsc()
    out = np.empty((len(rows), len(cols)))
    width = max(1, _BLOCK_CELLS // max(1, len(index)))
    # The result is dense anyway: sparse-times-dense by blocks of columns is faster than a
    # sparse product and keeps memory bounded whatever the size of the vocabulary.
    for start in range(0, len(cols), width):
        out[:, start : start + width] = left @ right[:, start : start + width].toarray()
    return out


def _ranked(scores: np.ndarray, profiles: Sequence[Profile]) -> list[int]:
    """Indices of ``profiles`` best first; ties go by name, never by position."""
    rounded = np.round(scores, TIE_DECIMALS)
    return sorted(range(len(profiles)), key=lambda j: (-rounded[j], profiles[j].name))


def suggest(
    case: Profile,
    partners: Sequence[Profile],
    scorer: Scorer,
    limit: int = 10,
    regions: Collection[str] | None = None,
) -> list[Suggestion]:
    """The best partners for ``case`` among those in ``regions`` (all when None), best first,
    ties broken by name; partners with nothing in common (score 0) are left out."""
    candidates = [p for p in partners if regions is None or p.region in regions]
    if not candidates or limit <= 0:
        return []
    scores = scorer.matrix([case], candidates)[0]
    best = [j for j in _ranked(scores, candidates) if scores[j] > 0][:limit]
    return [scorer.explain(case, candidates[j]) for j in best]


def optimum(
    cases: Sequence[Profile],
    partners: Sequence[Profile],
    scorer: Scorer,
    forbidden: Collection[tuple[Hashable, Hashable]] = (),
    regions_of: Mapping[Hashable, Collection[str]] | None = None,
    min_score: float = 0.0,
) -> list[Assignment]:
    """The pairing of ``cases`` with ``partners`` (each used at most once) that maximises the
    total score, in case order.

    A pair is never proposed when it is in ``forbidden`` (as ``(case.key, partner.key)``), when
    ``regions_of[case.key]`` is given and the partner's region is not in it, or when its score
    is at most ``min_score`` (and never at 0); cases left without a partner are simply absent.
    """
    if not cases or not partners:
        return []
    scores = scorer.matrix(cases, partners)
    allowed = scores > min_score
    if regions_of is not None:
        partner_regions = np.array([p.region for p in partners], dtype=object)
        for i, case in enumerate(cases):
            if case.key in regions_of:
                allowed[i] &= np.isin(partner_regions, list(regions_of[case.key]))
    row_of = {c.key: i for i, c in enumerate(cases)}
    col_of = {p.key: j for j, p in enumerate(partners)}
    for case_key, partner_key in forbidden:
        if case_key in row_of and partner_key in col_of:
            allowed[row_of[case_key], col_of[partner_key]] = False
    return [
        Assignment(cases[i], partners[j], scorer.explain(cases[i], partners[j]))
        for i, j in assign(scores, allowed)
    ]


def assign(scores: np.ndarray, allowed: np.ndarray | None = None) -> list[tuple[int, int]]:
    """The (row, column) pairs, each row and column used at most once, that maximise the total
    of ``scores``, in row order; cells not ``allowed`` or not positive are never returned."""
    keep = scores > 0 if allowed is None else allowed & (scores > 0)
    # A cell that is never returned is worth exactly what leaving both unpaired is worth (0):
    # the solver must fill min(shape) slots, and a negative value would make it prefer a worse
    # set of real pairs to leaving a slot on a pair that is then dropped.
    rows, cols = linear_sum_assignment(np.where(keep, scores, 0.0), maximize=True)
    return [(i, j) for i, j in zip(rows.tolist(), cols.tolist(), strict=True) if keep[i, j]]


def read_pairings(path: str | Path) -> list[dict[str, str]]:
    """The rows of a pairings table with the columns of the shipped 2017 table."""
    with Path(path).open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = set(PAIRING_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing columns {sorted(missing)}")
        return [{c: (row[c] or "").strip() for c in PAIRING_COLUMNS} for row in reader]


def evaluate_pairings(path: str | Path) -> Evaluation:
    """Rank, for every row (EU city), the partner cities of the historic partner's country,
    and measure how often the historic partner comes first and in the first three.

    Each side's profile is its row's topics text, mapped onto the vocabulary and kept as the
    statement. Ties are broken by partner name, so a tie never favours the historic partner.
    """
    rows = read_pairings(path)
    eu = [
        Profile(("eu", n), r["eu_city"], _topics(r["topics"]), r["topics"], "", r["eu_country"])
        for n, r in enumerate(rows)
    ]
    partners = [
        Profile(
            ("partner", n),
            r["partner_city"],
            _topics(r["topics"]),
            r["topics"],
            r["partner_region"],
            r["partner_country"],
        )
        for n, r in enumerate(rows)
    ]
    scorer = Scorer([*eu, *partners])
    top1 = top3 = 0
    misses: list[str] = []
    for case, historic in zip(eu, partners, strict=True):
        candidates = [p for p in partners if p.country == historic.country]
        scores = scorer.matrix([case], candidates)[0]
        # A partner city listed on several rows is one candidate, at its best rank.
        names = list(dict.fromkeys(candidates[j].name for j in _ranked(scores, candidates)))
        top1 += names[0] == historic.name
        if historic.name in names[:3]:
            top3 += 1
        else:
            misses.append(f"{case.name} → {historic.name}")
    count = len(rows)
    return Evaluation(
        cities=count,
        top1=top1 / count if count else 0.0,
        top3=top3 / count if count else 0.0,
        misses=tuple(misses),
    )


def _topics(text: str) -> frozenset[str]:
    return frozenset(map_text_to_topics(text))
