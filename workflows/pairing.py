"""Pairing: scoring cases against partner cities, suggestions with reasons, and the call-wide
assignment (SPEC §6).

A score adds up three parts, each from 0 to 1:

- meaning: the cosine of the two challenge statements' sentence embeddings (multilingual, so a
  Portuguese statement meets an English one on the same challenge; ``workflows.embeddings``),
  from ``SEMANTIC_FLOOR`` (unrelated statements) up;
- topics: the IDF-weighted overlap of the two sides' topics (rare shared topics count more):
  those each side chose, and at half weight those its statement names
  (``workflows.topics``);
- words: the TF-IDF cosine of the statements' words, stemmed per language, without stop words
  and generic words ("want", "residents").

A ``Scorer`` is fitted once on all profiles of a call, as sparse matrices of their topic and
word vectors and a dense matrix of their statement vectors. ``Scorer.matrix`` scores every case
against every partner city with two products; reasons (shared topics, matched words, the
sentence pairs that match best) are computed only for the pairs shown.
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import chain
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy import sparse
from scipy.optimize import linear_sum_assignment

from workflows.embeddings import Embeddings, Statement, shared_embeddings
from workflows.language import spelled_terms
from workflows.topics import map_text_to_topics, topic_labels

PAIRING_COLUMNS = (
    "eu_city",
    "eu_country",
    "partner_city",
    "partner_country",
    "partner_region",
    "topics",
)
MATCHED_TERMS = 5  # how many statement words a suggestion names
MATCHED_SENTENCES = 2  # how many sentence pairs a suggestion quotes
SENTENCE_MATCH = 0.45  # the cosine from which two sentences are quoted as saying the same
SEMANTIC_FLOOR = 0.2  # statements' cosine at or below which they count as unrelated
DETECTED_TOPIC = 0.5  # weight of a topic a statement names but its side did not choose
TIE_DECIMALS = 12  # scores equal to this many decimals are ties, broken by name
_TIE_SCALE = 10.0**TIE_DECIMALS  # np.round's rule, far cheaper than round(x, n)
_BLOCK_CELLS = 1 << 22  # dense operand cells a product may make (32 MB of float64)
_DENSE_GAIN = 200  # roughly how many BLAS multiply-adds cost one of a sparse product


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


class SentencePair(NamedTuple):
    """A sentence of the case's statement and one of the partner's that say much the same,
    each in its own language."""

    mine: str
    theirs: str
    similarity: float  # cosine of their embeddings


@dataclass(frozen=True)
class Suggestion:
    """A scored partner for a case, with the reasons a coordinator is shown."""

    partner: Profile
    score: float  # 0..1
    shared_topics: tuple[str, ...]  # slugs, rarest first
    matched_terms: tuple[str, ...]  # statement words that contributed most, strongest first
    topic_score: float
    text_score: float
    semantic_score: float = 0.0  # 0..1: the statements' cosine above SEMANTIC_FLOOR
    matched_sentences: tuple[SentencePair, ...] = ()  # best first


@dataclass(frozen=True)
class Assignment:
    """One pair of the call-wide optimum."""

    case: Profile
    partner: Profile
    suggestion: Suggestion


def semantic_text(profile: Profile) -> str:
    """What is embedded for a profile: its statement, or its topics' names when it has none."""
    if profile.text.strip():
        return profile.text
    labels = topic_labels()
    return ". ".join(labels.get(t, t) for t in sorted(profile.topics))


def profile_topics(profile: Profile) -> dict[str, float]:
    """A profile's topics and their weights: 1 for those chosen, ``DETECTED_TOPIC`` for those
    only its statement names."""
    found = dict.fromkeys(map_text_to_topics(profile.text), DETECTED_TOPIC)
    return found | dict.fromkeys(profile.topics, 1.0)


class _Vectors(NamedTuple):
    """A profile's unit vectors: IDF-weighted topics, TF-IDF statement words, meaning."""

    topics: dict[str, float]
    text: dict[str, float]
    meaning: np.ndarray


class _Rows(NamedTuple):
    """Some profiles' unit vectors as the rows of two CSR matrices (with their columns' names)
    and of a dense matrix of statement embeddings."""

    topics: sparse.csr_array
    text: sparse.csr_array
    topic_names: list[str]
    term_names: list[str]
    meaning: np.ndarray


class Scorer:
    """Fitted once on all profiles of a call (both sides) so rare topics and words count more."""

    def __init__(
        self,
        profiles: Iterable[Profile],
        topic_weight: float = 0.35,
        text_weight: float = 0.15,
        semantic_weight: float = 0.5,
        embeddings: Embeddings | None = None,
    ) -> None:
        weights = (topic_weight, text_weight, semantic_weight)
        if min(weights) < 0 or sum(weights) <= 0:
            raise ValueError("weights must be non-negative and not all zero")
        total = sum(weights)
        self.topic_weight = topic_weight / total
        self.text_weight = text_weight / total
        self.semantic_weight = semantic_weight / total
        # Without a semantic part no statement needs embedding.
        self.embeddings = None if semantic_weight == 0 else embeddings or shared_embeddings()
        fitted = list(profiles)
        self._fitted = len(fitted)
        self._row = {p: i for i, p in enumerate(fitted)}
        topics, words = _Features(), _Features()
        topic_counts = _counts([profile_topics(p) for p in fitted], topics)
        term_counts = _counts([_terms(p.text) for p in fitted], words)
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
            self._meaning(fitted),
        )

    def _meaning(self, profiles: Sequence[Profile]) -> np.ndarray:
        """The statement vectors of ``profiles`` as rows (none without a semantic part)."""
        if self.embeddings is None:
            return np.zeros((len(profiles), 0))
        return self.embeddings.matrix([semantic_text(p) for p in profiles]).astype(np.float64)

    def statements(self, a: Profile, b: Profile) -> tuple[Statement, Statement] | None:
        """The embedded statements of two profiles (None without a semantic part)."""
        if self.embeddings is None:
            return None
        mine, theirs = self.embeddings.of([semantic_text(a), semantic_text(b)])
        return mine, theirs

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
            np.vstack([fit.meaning[rows[seen]], new.meaning]),
        )
        # Stacked as the fitted ones, then the new ones: this finds each where it went.
        return stacked, np.argsort(np.concatenate([seen, unseen]))

    def _encode_new(self, profiles: Sequence[Profile]) -> _Rows:
        """The unit vectors of profiles that were not in the fit; the topics and words the call
        never saw come after its own and count as the rarest."""
        topics, words = _Features(self._topic_index), _Features(self._term_index)
        topic_counts = _counts([profile_topics(p) for p in profiles], topics)
        term_counts = _counts([_terms(p.text) for p in profiles], words)
        topic_idf = np.concatenate([self._topic_idf, np.full(len(topics.new), self._unseen_idf)])
        term_idf = np.concatenate([self._term_idf, np.full(len(words.new), self._unseen_idf)])
        return _Rows(
            _unit_rows(topic_counts, topic_idf),
            _unit_rows(term_counts, term_idf),
            self._fit.topic_names + list(topics.new),
            self._fit.term_names + list(words.new),
            self._meaning(profiles),
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
            return _Vectors(topics[row], text[row], self._fit.meaning[row])
        rows = self._encode_new([profile])
        return _Vectors(
            _RowDicts(rows.topics, rows.topic_names)[0],
            _RowDicts(rows.text, rows.term_names)[0],
            rows.meaning[0],
        )

    def score(self, a: Profile, b: Profile) -> Suggestion:
        """Score case ``a`` against partner ``b`` and say why."""
        va, vb = self._vectors_of(a), self._vectors_of(b)
        shared = [t for t in va.topics if t in vb.topics]
        words = [w for w in va.text if w in vb.text]
        return self._suggestion(
            a,
            b,
            shared,
            words,
            [va.text[w] * vb.text[w] for w in words],
            sum((va.topics[t] * vb.topics[t] for t in shared), 0.0),
            float(va.meaning @ vb.meaning),
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
        cosines = np.einsum("ij,ij->i", source.meaning[left], source.meaning[right]).tolist()
        topic_bounds = np.searchsorted(topic_pairs, np.arange(n + 1)).tolist()
        word_bounds = np.searchsorted(word_pairs, np.arange(n + 1)).tolist()
        shared = [source.topic_names[c] for c in topic_columns.tolist()]
        words = [source.term_names[c] for c in word_columns.tolist()]
        values = contributions.tolist()
        suggestions = []
        for k, (case, partner) in enumerate(pairs):
            start, end = word_bounds[k], word_bounds[k + 1]
            suggestions.append(
                self._suggestion(
                    case,
                    partner,
                    shared[topic_bounds[k] : topic_bounds[k + 1]],
                    words[start:end],
                    values[start:end],
                    topic_scores[k],
                    cosines[k],
                )
            )
        return suggestions

    def _suggestion(
        self,
        case: Profile,
        partner: Profile,
        shared: list[str],
        words: list[str],
        contributions: list[float],
        topic: float,
        cosine: float,
    ) -> Suggestion:
        """A partner's score and reasons from what the two sides share (topics, and words with
        their contributions, in column order), the topic score and the statements' cosine."""
        text = sum(contributions, 0.0)
        semantic = _semantic(cosine)
        # Words that tie (to rounding noise) go by spelling, as partners tie by name.
        ranked = sorted(zip([-round(c * _TIE_SCALE) for c in contributions], words, strict=True))
        statements = self.statements(case, partner) if case.text and partner.text else None
        return Suggestion(
            partner=partner,
            score=min(1.0, max(0.0, self.topic_weight * topic + self.text_weight * text
                               + self.semantic_weight * semantic)),
            shared_topics=tuple(sorted(shared, key=lambda t: (-self.topic_idf(t), t))),
            matched_terms=_spelled(case.text, [w for _, w in ranked[:MATCHED_TERMS]]),
            topic_score=topic,
            text_score=text,
            semantic_score=semantic,
            matched_sentences=best_sentence_pairs(*statements) if statements else (),
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
        if self.semantic_weight:
            meaning = _semantic(source.meaning[mine] @ source.meaning[theirs].T)
            meaning *= self.semantic_weight
            scores += meaning
        return np.clip(scores, 0.0, 1.0, out=scores)


def _semantic(cosine: np.ndarray | float) -> np.ndarray | float:
    """Statements' cosine as a part of the score: 0 at or below ``SEMANTIC_FLOOR``, 1 at 1."""
    if isinstance(cosine, np.ndarray):
        cosine -= SEMANTIC_FLOOR  # in place: the matrix is the size of the call
        cosine *= 1 / (1 - SEMANTIC_FLOOR)
        return np.clip(cosine, 0.0, 1.0, out=cosine)
    return min(1.0, max(0.0, (cosine - SEMANTIC_FLOOR) * (1 / (1 - SEMANTIC_FLOOR))))


def best_sentence_pairs(
    mine: Statement, theirs: Statement, limit: int = MATCHED_SENTENCES
) -> tuple[SentencePair, ...]:
    """The pairs of sentences, one from each statement and each used once, that say the most
    nearly the same (cosine at least ``SENTENCE_MATCH``), best first."""
    if not len(mine.vectors) or not len(theirs.vectors):
        return ()
    similarity = mine.vectors @ theirs.vectors.T
    found: list[SentencePair] = []
    while len(found) < limit:
        i, j = divmod(int(similarity.argmax()), similarity.shape[1])
        value = float(similarity[i, j])
        if value < SENTENCE_MATCH:
            break
        found.append(SentencePair(mine.sentences[i], theirs.sentences[j], value))
        # Each sentence is quoted once: its row and column are out of the running.
        similarity[i, :] = similarity[:, j] = -np.inf
    return tuple(found)


@lru_cache(maxsize=1 << 15)
def _analysed(text: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """A statement's terms, and for each term the first word that wrote it."""
    pairs = spelled_terms(text)
    spelling: dict[str, str] = {}
    for word, term in pairs:
        spelling.setdefault(term, word)
    return tuple(term for _, term in pairs), spelling


def _terms(text: str) -> tuple[str, ...]:
    return _analysed(text)[0]


def _spelled(text: str, stems: list[str]) -> tuple[str, ...]:
    """Matched word stems as a person reads them: the first word of ``text`` with that stem
    ("cycling" for "cycl"), or the stem itself."""
    if not stems:
        return ()
    spelling = _analysed(text)[1]
    return tuple(spelling.get(s, s) for s in stems)


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
    documents: Sequence[Collection[str] | Mapping[str, float]], features: _Features
) -> sparse.csr_array:
    """How often each document holds each feature (or, for a mapping, the feature's weight),
    as the rows of a CSR matrix with a column for each of ``features`` (new ones are added)."""
    lengths = np.fromiter(map(len, documents), dtype=np.intp, count=len(documents))
    names = list(chain.from_iterable(documents))
    weights = np.fromiter(
        chain.from_iterable(
            d.values() if isinstance(d, Mapping) else [1.0] * len(d) for d in documents
        ),
        dtype=np.float64,
        count=len(names),
    )
    # Each distinct feature is numbered once, however often it occurs.
    column = {name: features.column(name) for name in dict.fromkeys(names)}
    columns = np.fromiter(map(column.__getitem__, names), dtype=np.intp, count=len(names))
    rows = np.repeat(np.arange(len(documents)), lengths)
    counts = sparse.coo_array(
        (weights, (rows, columns)), shape=(len(documents), len(features))
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
    ties broken by name; partners with nothing in common (score 0) come last, not never."""
    candidates = [p for p in partners if regions is None or p.region in regions]
    if not candidates or limit <= 0:
        return []
    scores = scorer.matrix([case], candidates)[0]
    best = _ranked(scores, candidates)[:limit]
    return scorer.explain_all([(case, candidates[j]) for j in best])


#: a further partner of one case is proposed only when it scores at least this share of the
#: case's best partner: a weak second partner is worse than none
EXTRA_PARTNER_SHARE = 0.75
#: what a further partner of one case counts in the total: a partner city another case would
#: take as its first partner goes to that case unless the second pairing is worth twice as much
EXTRA_PARTNER_WEIGHT = 0.5


def optimum(
    cases: Sequence[Profile],
    partners: Sequence[Profile],
    scorer: Scorer,
    forbidden: Collection[tuple[Hashable, Hashable]] = (),
    regions_of: Mapping[Hashable, Collection[str]] | None = None,
    min_score: float = 0.0,
    max_per_case: int = 1,
) -> list[Assignment]:
    """The pairing of ``cases`` with ``partners`` (each partner used at most once, each case
    given up to ``max_per_case``) that maximises the total score, in case order and, within a
    case, best first (its lead partner).

    A pair is never proposed when it is in ``forbidden`` (as ``(case.key, partner.key)``), when
    ``regions_of[case.key]`` is given and the partner's region is not in it, or when its score
    is at most ``min_score`` (and never at 0); cases left without a partner are simply absent.
    A case's further partners must score at least ``EXTRA_PARTNER_SHARE`` of its best one and
    count ``EXTRA_PARTNER_WEIGHT`` of their score, so every case gets its first partner before
    any case gets a second one it does not clearly deserve.
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
    copies = max(1, max_per_case)
    if copies == 1:
        pairs = assign(scores, allowed)
    else:
        # Each case is a row once per partner it may get; the rows after its first are its
        # further partners, which only good pairs may fill and which count less.
        best = np.where(allowed, scores, 0.0).max(axis=1, keepdims=True)
        extra = allowed & (scores >= EXTRA_PARTNER_SHARE * best)
        stacked = assign(np.vstack([scores] + [scores * EXTRA_PARTNER_WEIGHT] * (copies - 1)),
                         np.vstack([allowed] + [extra] * (copies - 1)))
        pairs = sorted(((i % len(cases), j) for i, j in stacked),
                       key=lambda ij: (ij[0], -scores[ij]))
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
