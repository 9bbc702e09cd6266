"""Statement embeddings."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from webapp.db import db, utcnow
from webapp.models import (
    StatementEmbedding,
)
from webapp.operations.pairing.common import (
    STATEMENTS_IN_MEMORY,
)
from workflows.embeddings import MODEL_ID, Embeddings


class StoredVectors:
    """The ``statement_embedding`` table as the scorer's store of statement vectors."""

    def load(self, keys: Collection[str]) -> dict[str, bytes]:
        """The stored vectors of ``keys``, read in the request's session."""
        found: dict[str, bytes] = {}
        wanted = list(keys)
        for start in range(0, len(wanted), 500):
            found.update((key, vectors) for key, vectors in db.session.execute(
                select(StatementEmbedding.key, StatementEmbedding.vectors)
                .where(StatementEmbedding.key.in_(wanted[start:start + 500]))))
        return found

    def save(self, vectors: Mapping[str, bytes]) -> None:
        """Keep new vectors in a transaction of their own, so reading a page that embeds a new
        statement never commits the page's own work; a key someone else just stored is kept."""
        if not vectors:
            return
        insert = pg_insert if db.dialect == "postgresql" else sqlite_insert
        now = utcnow()
        rows = [{"key": k, "model": MODEL_ID, "vectors": v, "created_at": now}
                for k, v in vectors.items()]
        with Session(db.engine) as session, session.begin():
            session.execute(insert(StatementEmbedding).on_conflict_do_nothing(), rows)


_EMBEDDINGS = Embeddings(store=StoredVectors(), memory=STATEMENTS_IN_MEMORY)


def statement_embeddings() -> Embeddings:
    """The process's statement vectors: in memory, else in the database, else embedded."""
    return _EMBEDDINGS


