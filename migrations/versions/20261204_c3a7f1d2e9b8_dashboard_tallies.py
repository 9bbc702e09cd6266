"""dashboard tallies: counts kept by the transactions that change cases, built from the data

Revision ID: c3a7f1d2e9b8
Revises: every head before it (the tallies count rows of all of them)
Create Date: 2026-12-04 09:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

# revision identifiers, used by Alembic.
revision: str = 'c3a7f1d2e9b8'
down_revision: str | Sequence[str] | None = ('5ab5c41be7a1','9c4e2b7d1a60','b3e7c5a9d2f1','15e8beadc499','188b66bb4235','42ea69a48a8f','4f1c2a9e7b30','56a6d481468e','987aecdc9231','a22bf5ebfa3a','acc312f7f202','ec0fc7ee7111','f521b0d707e7','c7d1e2f3a4b5')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'tally',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('call_id', sa.Integer(), nullable=False),
        sa.Column('region', sa.String(length=100), nullable=False),
        sa.Column('workflow', sa.String(length=40), nullable=False),
        sa.Column('state', sa.String(length=40), nullable=False),
        sa.Column('paired', sa.Boolean(), nullable=False),
        sa.Column('cooperating', sa.Boolean(), nullable=False),
        sa.Column('decision', sa.String(length=60), nullable=False),
        sa.Column('topic', sa.String(length=80), nullable=False),
        sa.Column('bucket', sa.String(length=20), nullable=False),
        sa.Column('due_on', sa.String(length=10), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['call_id'], ['call.id'], name=op.f('fk_tally_call_id_call'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tally')),
        sa.UniqueConstraint('kind', 'call_id', 'region', 'workflow', 'state', 'paired',
                            'cooperating', 'decision', 'topic', 'bucket', 'due_on',
                            name=op.f('uq_tally_key')),
    )
    # The cases already there are counted once, as `citypair tallies check --fix` would.
    from webapp.operations import tallies

    session = Session(bind=op.get_bind())
    tallies.rebuild(session)
    session.flush()


def downgrade() -> None:
    op.drop_table('tally')
