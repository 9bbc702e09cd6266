"""Sentence embeddings of challenge statements, kept so an unchanged statement is never
embedded twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base, utcnow


class StatementEmbedding(Base):
    """The sentence vectors of one statement text under one model."""

    __tablename__ = "statement_embedding"

    #: hex SHA-256 of the model id and the statement text (``workflows.embeddings``)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: the model and sentence cutting that made the vectors, e.g. "use-multilingual-v3/…"
    model: Mapped[str] = mapped_column(String(80))
    #: one float16 row of 512 per sentence
    vectors: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
