"""topic vocabulary: labels per language, retired and merged topics

Revision ID: 56a6d481468e
Revises: 7037adbe94a1
Create Date: 2026-12-03 12:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '56a6d481468e'
down_revision: str | Sequence[str] | None = '7037adbe94a1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Never recreate "topic" on SQLite: dropping it would cascade to every case's topics.
    with op.batch_alter_table('topic', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('labels', sa.JSON(), nullable=False,
                                      server_default=sa.text("'{}'")))
        batch_op.add_column(sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('merged_into', sa.String(length=60), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('topic', schema=None) as batch_op:
        for name in ('merged_into', 'retired_at', 'labels'):
            batch_op.drop_column(name)
