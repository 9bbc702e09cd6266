"""statement embeddings

Revision ID: 42ea69a48a8f
Revises: 7037adbe94a1
Create Date: 2026-12-03 11:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '42ea69a48a8f'
down_revision: Union[str, Sequence[str], None] = '7037adbe94a1'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Create the statement_embedding table: sentence vectors keyed by model and text."""
    op.create_table(
        'statement_embedding',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('model', sa.String(length=80), nullable=False),
        sa.Column('vectors', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_statement_embedding')),
    )


def downgrade() -> None:
    """Drop the statement_embedding table."""
    op.drop_table('statement_embedding')
