"""e-mail wording: an admin's subject and text of a notification template per language

Revision ID: a22bf5ebfa3a
Revises: 7037adbe94a1
Create Date: 2026-12-03 12:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = 'a22bf5ebfa3a'
down_revision: str | Sequence[str] | None = '7037adbe94a1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'mail_wording',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('template', sa.String(length=80), nullable=False),
        sa.Column('locale', sa.String(length=10), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['updated_by_id'], ['user.id'],
                                name=op.f('fk_mail_wording_updated_by_id_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_wording')),
        sa.UniqueConstraint('template', 'locale', name=op.f('uq_mail_wording_template')),
    )


def downgrade() -> None:
    op.drop_table('mail_wording')
