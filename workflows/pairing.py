"""Pairing: scoring cases against partner cities, suggestions with reasons, and the call-wide
assignment (SPEC §6).

A score combines the IDF-weighted overlap of the two sides' topics (rare shared topics count
more) with the TF-IDF cosine of their challenge statements. A ``Scorer`` is fitted once on all
profiles of a call, as sparse matrices of their unit vectors. ``Scorer.matrix`` scores every
case against every partner city with one product of those (sparse, or dense over few features);
reasons (shared topics, matched words) are computed only for the pairs shown.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
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
_TIE_SCALE = 10.0**TIE_DECIMALS  # np.round's rule, far cheaper than round(x, n)
_BLOCK_CELLS = 1 << 22  # dense operand cells a product may make (32 MB of float64)
_DENSE_GAIN = 200  # roughly how many BLAS multiply-adds cost one of a sparse product
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
def _term(word: str) -> str:
    # The word as it counts for similarity, "" when it does not count. Light suffix stripping
    # is enough to meet "cities"/"city" and "services"/"service".
    if len(word) <= 1 or word in STOP_WORDS:
        return ""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def terms(text: str) -> list[str]:
    """The statement words of ``text`` that count for similarity: lower-cased, without
    accents, letters only, stop words removed, lightly stemmed."""
    return [t for t in map(_term, _words(text)) if t]


class _Vectors(NamedTuple):
    """A profile's unit vectors: IDF-weighted topics and TF-IDF statement words."""

    topics: dict[str, float]
    text: dict[str, float]


class _Rows(NamedTuple):
    """Some profiles' unit vectors as the rows of two CSR matrices, and their columns' names."""

    topics: sparse.csr_array
    text: sparse.csr_array
    topic_names: list[str]
    term_names: list[str]


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
        self._row = {p: i for i, p in enumerate(fitted)}
        topics, words = _Features(), _Features()
        topic_counts = _counts([p.topics for p in fitted], topics)
        term_counts = _counts([_words(p.text) for p in fitted], words, _term)
        self._topic_index, self._term_index = topics.new, words.new
        self._topic_idf = self._idf(_document_frequencies(topic_counts))
        self._term_idf = self._idf(_document_frequencies(term_counts))
        self._unseen_idf = float(self._idf(0))
        self._topic_idf_of = dict(zip(self._topic_index, self._topic_idf.tolist(), strict=True))
        # The call's own profiles are scored again and again: vectorise them all at once.
        self._fit = _Rows(
            _unit_rows(topic_counts, self._topic_idf),
            _unit_rows(term_counts, self._term_idf),
            list(self._topic_index),
            list(self._term_index),
        )

    def _idf(self, df: np.ndarray | int) -> np.ndarray | float:
        # Smooth idf: a topic or word never seen in the call counts as the rarest.
        return np.log((1 + self._fitted) / (1 + df)) + 1

    def topic_idf(self, slug: str) -> float:
        """The weight of one shared topic: higher when fewer profiles of the call chose it."""
        return self._topic_idf_of.get(slug, self._unseen_idf)

    def _locate(self, profiles: Sequence[Profile]) -> tuple[_Rows, np.ndarray]:
        """Vectors that hold those of ``profiles``, and the row of each: the fit itself when all
        were fitted, else the fitted ones asked for and then the new ones."""
        rows = np.fromiter(
            (self._row.get(p, -1) for p in profiles), dtype=np.intp, count=len(profiles)
        )
        fit = self._fit
        unseen = np.flatnonzero(rows < 0)
        if not unseen.size:
            return fit, rows
        seen = np.flatnonzero(rows >= 0)
        new = self._encode_new([profiles[i] for i in unseen.tolist()])
        stacked = _Rows(
            _stack(fit.topics[rows[seen]], new.topics),
            _stack(fit.text[rows[seen]], new.text),
            new.topic_names,
            new.term_names,
        )
        # Stacked as the fitted ones, then the new ones: this finds each where it went.
        return stacked, np.argsort(np.concatenate([seen, unseen]))

    def _encode_new(self, profiles: Sequence[Profile]) -> _Rows:
        """The unit vectors of profiles that were not in the fit; the topics and words the call
        never saw come after its own and count as the rarest."""
        topics, words = _Features(self._topic_index), _Features(self._term_index)
        topic_counts = _counts([p.topics for p in profiles], topics)
        term_counts = _counts([_words(p.text) for p in profiles], words, _term)
        topic_idf = np.concatenate([self._topic_idf, np.full(len(topics.new), self._unseen_idf)])
        term_idf = np.concatenate([self._term_idf, np.full(len(words.new), self._unseen_idf)])
        return _Rows(
            _unit_rows(topic_counts, topic_idf),
            _unit_rows(term_counts, term_idf),
            self._fit.topic_names + list(topics.new),
            self._fit.term_names + list(words.new),
        )

    @cached_property
    def _fit_dicts(self) -> tuple[_RowDicts, _RowDicts]:
        # Made once, when the first reason is asked for: a row as a dict is then cheap.
        fit = self._fit
        return _RowDicts(fit.topics, fit.topic_names), _RowDicts(fit.text, fit.term_names)

    def _vectors_of(self, profile: Profile) -> _Vectors:
        row = self._row.get(profile)
        if row is not None:
            topics, text = self._fit_dicts
            return _Vectors(topics[row], text[row])
        rows = self._encode_new([profile])
        return _Vectors(
            _RowDicts(rows.topics, rows.topic_names)[0], _RowDicts(rows.text, rows.term_names)[0]
        )

    def score(self, a: Profile, b: Profile) -> Suggestion:
        """Score case ``a`` against partner ``b`` and say why."""
        va, vb = self._vectors_of(a), self._vectors_of(b)
        shared = [t for t in va.topics if t in vb.topics]
        words = [w for w in va.text if w in vb.text]
        return self._suggestion(
            b,
            shared,
            words,
            [va.text[w] * vb.text[w] for w in words],
            sum((va.topics[t] * vb.topics[t] for t in shared), 0.0),
        )

    def explain(self, a: Profile, b: Profile) -> Suggestion:
        """The reasons for one pair; the same as ``score``."""
        return self.score(a, b)

    def explain_all(self, pairs: Sequence[tuple[Profile, Profile]]) -> list[Suggestion]:
        """``score`` for each (case, partner) of ``pairs``, found for all of them at once."""
        n = len(pairs)
        source, rows = self._locate([p for pair in pairs for p in pair])
        left, right = rows[0::2], rows[1::2]
        topic_pairs, topic_columns, topic_products = _common(source.topics, left, right)
        word_pairs, word_columns, contributions = _common(source.text, left, right)
        topic_scores = np.bincount(topic_pairs, weights=topic_products, minlength=n).tolist()
        topic_bounds = np.searchsorted(topic_pairs, np.arange(n + 1)).tolist()
        word_bounds = np.searchsorted(word_pairs, np.arange(n + 1)).tolist()
        shared = [source.topic_names[c] for c in topic_columns.tolist()]
        words = [source.term_names[c] for c in word_columns.tolist()]
        values = contributions.tolist()
        suggestions = []
        for k, (_, partner) in enumerate(pairs):
            start, end = word_bounds[k], word_bounds[k + 1]
            suggestions.append(
                self._suggestion(
                    partner,
                    shared[topic_bounds[k] : topic_bounds[k + 1]],
                    words[start:end],
                    values[start:end],
                    topic_scores[k],
                )
            )
        return suggestions

    def _suggestion(
        self,
        partner: Profile,
        shared: list[str],
        words: list[str],
        contributions: list[float],
        topic: float,
    ) -> Suggestion:
        """A partner's score and reasons from what the two sides share (topics, and words with
        their contributions, in column order) and the topic score."""
        text = sum(contributions, 0.0)
        # Words that tie (to rounding noise) go by spelling, as partners tie by name.
        ranked = sorted(zip([-round(c * _TIE_SCALE) for c in contributions], words, strict=True))
        return Suggestion(
            partner=partner,
            score=min(1.0, max(0.0, self.topic_weight * topic + self.text_weight * text)),
            shared_topics=tuple(sorted(shared, key=lambda t: (-self.topic_idf(t), t))),
            matched_terms=tuple(w for _, w in ranked[:MATCHED_TERMS]),
            topic_score=topic,
            text_score=text,
        )

    def matrix(self, cases: Sequence[Profile], partners: Sequence[Profile]) -> np.ndarray:
        """Scores of every case (rows) against every partner (columns), as ``score`` gives."""
        source, rows = self._locate([*cases, *partners])
        mine, theirs = rows[: len(cases)], rows[len(cases) :]
        # Topics and words side by side, the weights on one side: one product gives the score.
        left = sparse.hstack(
            [self.topic_weight * source.topics[mine], self.text_weight * source.text[mine]],
            format="csr",
        )
        right = sparse.hstack([source.topics[theirs], source.text[theirs]], format="csr")
        scores = _products(left, right)
        return np.clip(scores, 0.0, 1.0, out=scores)


class _Features:
    """Feature names numbered as columns: those of the fit first, then new ones as they come."""

    def __init__(self, fitted: Mapping[str, int] | None = None) -> None:
        self.fitted = fitted or {}
        self.new: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.fitted) + len(self.new)

    def column(self, name: str) -> int:
        """The column of feature ``name``, numbering it on when it is new."""
        known = self.fitted.get(name)
        return self.new.setdefault(name, len(self)) if known is None else known


def _counts(
    documents: Sequence[Collection[str]],
    features: _Features,
    feature: Callable[[str], str] | None = None,
) -> sparse.csr_array:
    """How often each document holds each feature, as the rows of a CSR matrix with a column
    for each of ``features`` (new ones are added). ``feature`` names a token's feature ("" for
    none; the token itself when not given)."""
    lengths = np.fromiter(map(len, documents), dtype=np.intp, count=len(documents))
    tokens = list(chain.from_iterable(documents))
    column: dict[str, int] = {}
    # Each distinct token is named once, however often it occurs.
    for token in dict.fromkeys(tokens):
        name = token if feature is None else feature(token)
        column[token] = features.column(name) if name else -1
    columns = np.fromiter(map(column.__getitem__, tokens), dtype=np.intp, count=len(tokens))
    rows = np.repeat(np.arange(len(documents)), lengths)
    kept = columns >= 0
    counts = sparse.coo_array(
        (np.ones(int(kept.sum())), (rows[kept], columns[kept])),
        shape=(len(documents), len(features)),
    ).tocsr()
    counts.sum_duplicates()
    return counts


def _stack(fitted: sparse.csr_array, new: sparse.csr_array) -> sparse.csr_array:
    """The rows of ``fitted``, then those of ``new``, whose extra columns ``fitted`` lacks."""
    wider = sparse.csr_array(
        (fitted.data, fitted.indices, fitted.indptr), shape=(fitted.shape[0], new.shape[1])
    )
    return sparse.vstack([wider, new], format="csr")


def _common(
    matrix: sparse.csr_array, left: np.ndarray, right: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each pair ``k`` of rows ``left[k]`` and ``right[k]`` of ``matrix`` (canonical), the
    columns both rows hold and the products of their values there, by pair then column."""
    width = matrix.shape[1]
    left_pairs, left_columns, left_values = _entries(matrix, left)
    right_pairs, right_columns, right_values = _entries(matrix, right)
    keys, mine, theirs = np.intersect1d(
        left_pairs * width + left_columns,
        right_pairs * width + right_columns,
        assume_unique=True,
        return_indices=True,
    )
    return keys // width, keys % width, left_values[mine] * right_values[theirs]


def _entries(
    matrix: sparse.csr_array, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The stored entries of ``rows`` of ``matrix``: the place in ``rows``, column and value."""
    starts = matrix.indptr[rows]
    lengths = matrix.indptr[rows + 1] - starts
    owners = np.repeat(np.arange(rows.size), lengths)
    # An entry's position: its row's start plus how far it is into its row.
    positions = np.arange(owners.size) + np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return owners, matrix.indices[positions], matrix.data[positions]


def _document_frequencies(counts: sparse.csr_array) -> np.ndarray:
    """How many rows of ``counts`` (canonical: no repeated column in a row) hold each column."""
    return np.bincount(counts.indices, minlength=counts.shape[1])


def _unit_rows(counts: sparse.csr_array, idf: np.ndarray) -> sparse.csr_array:
    """The rows of ``counts`` weighted by ``idf`` and scaled to unit length."""
    weights = counts.data * idf[counts.indices]
    row = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
    norms = np.sqrt(np.bincount(row, weights=weights * weights, minlength=counts.shape[0]))
    # Every stored weight is positive (idf >= 1), so a row with entries has a norm above 0.
    return sparse.csr_array((weights / norms[row], counts.indices, counts.indptr), counts.shape)


class _RowDicts:
    """The rows of a CSR matrix as dicts from column names to values, each made when asked for."""

    def __init__(self, matrix: sparse.csr_array, names: list[str]) -> None:
        # Python lists: slicing them is much cheaper than slicing numpy arrays, row by row.
        self._indptr = matrix.indptr.tolist()
        self._names = [names[c] for c in matrix.indices.tolist()]
        self._values = matrix.data.tolist()

    def __getitem__(self, row: int) -> dict[str, float]:
        start, end = self._indptr[row], self._indptr[row + 1]
        return dict(zip(self._names[start:end], self._values[start:end], strict=True))


def _products(left: sparse.csr_array, right: sparse.csr_array) -> np.ndarray:
    """Dot products of the rows of ``left`` with the rows of ``right``, as a dense matrix."""
    width = left.shape[1]
    pairs = left.shape[0] * right.shape[0]
    # What a sparse product multiplies: for each column, its entries on one side by the other's.
    multiplications = int(
        np.bincount(left.indices, minlength=width) @ np.bincount(right.indices, minlength=width)
    )
    # Over a few features a dense product is much faster (BLAS) and its operands are small.
    if pairs * width <= _DENSE_GAIN * multiplications and (
        (left.shape[0] + right.shape[0]) * width <= _BLOCK_CELLS
    ):
        return left.toarray() @ right.toarray().T
    return (left @ right.T).toarray()


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
    return scorer.explain_all([(case, candidates[j]) for j in best])


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
    pairs = assign(scores, allowed)
    suggestions = scorer.explain_all([(cases[i], partners[j]) for i, j in pairs])
    return [
        Assignment(cases[i], partners[j], suggestion)
        for (i, j), suggestion in zip(pairs, suggestions, strict=True)
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
