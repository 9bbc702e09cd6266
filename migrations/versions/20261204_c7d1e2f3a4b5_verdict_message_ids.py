"""eligibility verdicts keep their sentence as a message id with its values

Revision ID: c7d1e2f3a4b5
Revises: febd845b391c
Create Date: 2026-12-04 10:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = 'c7d1e2f3a4b5'
down_revision: str | Sequence[str] | None = 'febd845b391c'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Verdicts recorded before keep only their English sentence; pages fall back to it.
    with op.batch_alter_table('eligibility_result', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('eligibility_result', schema=None) as batch_op:
        batch_op.drop_column('reason')
