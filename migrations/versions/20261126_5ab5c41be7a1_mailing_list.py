"""mailing list subscribers

Revision ID: 5ab5c41be7a1
Revises: 7037adbe94a1
Create Date: 2026-11-26 10:30:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '5ab5c41be7a1'
down_revision: Union[str, Sequence[str], None] = '7037adbe94a1'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Create the mailing_subscriber table of the public mailing list."""
    op.create_table(
        'mailing_subscriber',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('locale', sa.String(length=10), nullable=False),
        sa.Column('interests', sa.JSON(), nullable=False),
        sa.Column('secret', sa.String(length=32), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mailing_subscriber')),
        sa.UniqueConstraint('email', name=op.f('uq_mailing_subscriber_email')),
    )


def downgrade() -> None:
    """Drop the mailing_subscriber table."""
    op.drop_table('mailing_subscriber')
