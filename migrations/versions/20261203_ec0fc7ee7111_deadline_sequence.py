"""deadline sequence: how many times a deadline's date was changed

Revision ID: ec0fc7ee7111
Revises: 7037adbe94a1
Create Date: 2026-12-03 09:00:00.000000

A calendar event keeps its UID when its deadline moves; its SEQUENCE must grow each time, so a
calendar replaces the event instead of keeping both.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = 'ec0fc7ee7111'
down_revision: str | Sequence[str] | None = '7037adbe94a1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('deadline') as batch:
        batch.add_column(sa.Column('sequence', sa.Integer(), nullable=False,
                                   server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('deadline') as batch:
        batch.drop_column('sequence')
