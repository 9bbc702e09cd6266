"""programmes: period, time zone, sender, retention; coordinators scoped to programmes

Revision ID: 4f1c2a9e7b30
Revises: 7037adbe94a1
Create Date: 2026-12-03 11:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '4f1c2a9e7b30'
down_revision: str | Sequence[str] | None = '7037adbe94a1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('programme', schema=None) as batch_op:
        batch_op.add_column(sa.Column('starts_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('ends_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=False,
                                      server_default='Europe/Brussels'))
        batch_op.add_column(sa.Column('sender_name', sa.String(length=200), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('retention_years', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('created_at', sa.DateTime(timezone=True),
                                      nullable=False, server_default=sa.func.current_timestamp()))
    op.create_table(
        'staff_programme',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('programme_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['programme_id'], ['programme.id'],
                                name=op.f('fk_staff_programme_programme_id_programme'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'],
                                name=op.f('fk_staff_programme_user_id_user'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'programme_id', name=op.f('pk_staff_programme')),
    )


def downgrade() -> None:
    op.drop_table('staff_programme')
    with op.batch_alter_table('programme', schema=None) as batch_op:
        for name in ('created_at', 'retention_years', 'sender_name', 'timezone', 'ends_on',
                     'starts_on'):
            batch_op.drop_column(name)
