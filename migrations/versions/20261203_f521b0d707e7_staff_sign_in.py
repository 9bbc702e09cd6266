"""staff: the last time a person signed in

Revision ID: f521b0d707e7
Revises: 7037adbe94a1
Create Date: 2026-12-03 12:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = 'f521b0d707e7'
down_revision: str | Sequence[str] | None = '7037adbe94a1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Never recreate "user" on SQLite: dropping it would set every reference to it to NULL.
    with op.batch_alter_table('user', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('last_sign_in_at', sa.DateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('last_sign_in_at')
