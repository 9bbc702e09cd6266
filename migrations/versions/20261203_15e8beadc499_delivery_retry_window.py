"""notification: how long transient failures are retried, and when the sweep hands a row over

Revision ID: 15e8beadc499
Revises: 7037adbe94a1
Create Date: 2026-12-03 09:00:00.000000

``retry_until`` is set at a notification's first transient failure: it is tried again, backing
off, until then. ``requeue_after`` tells the sweep that the row is already on its way to a
worker until that moment, so it is not handed over again and again.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '15e8beadc499'
down_revision: str | Sequence[str] | None = '7037adbe94a1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retry_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('requeue_after', sa.DateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_column('requeue_after')
        batch_op.drop_column('retry_until')
