"""partners are cities or regions; several evaluators score an application, conflicts declared;
an eligibility verdict names the call kind it points to

Revision ID: acc312f7f202
Revises: c0c0a1b2c3d4
Create Date: 2026-12-03 14:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = 'acc312f7f202'
down_revision: str | Sequence[str] | None = 'c0c0a1b2c3d4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('partner_city', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), nullable=False,
                                      server_default='city'))
        batch_op.create_check_constraint(op.f('ck_partner_city_kind'),
                                         "kind IN ('city','region')")
    with op.batch_alter_table('eligibility_result', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refer_to', sa.String(length=40), nullable=False,
                                      server_default=''))
    # One score set per evaluator: the same criterion may now be scored once by each.
    with op.batch_alter_table('score', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('uq_score_case_id'), type_='unique')
        batch_op.create_unique_constraint(op.f('uq_score_case_id'),
                                          ['case_id', 'scored_by_id', 'criterion'])
    op.create_table(
        'conflict_of_interest',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('evaluator_id', sa.Integer(), nullable=True),
        sa.Column('statement', sa.Text(), nullable=False),
        sa.Column('declared_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['case.id'],
                                name=op.f('fk_conflict_of_interest_case_id_case'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['evaluator_id'], ['user.id'],
                                name=op.f('fk_conflict_of_interest_evaluator_id_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_conflict_of_interest')),
        sa.UniqueConstraint('case_id', 'evaluator_id',
                            name=op.f('uq_conflict_of_interest_case_id')),
    )
    op.create_index(op.f('ix_conflict_of_interest_case_id'), 'conflict_of_interest',
                    ['case_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_conflict_of_interest_case_id'), table_name='conflict_of_interest')
    op.drop_table('conflict_of_interest')
    # Keep one score per criterion, the earliest, as the single-scorer schema allows.
    op.execute("DELETE FROM score WHERE id NOT IN (SELECT MIN(id) FROM score "
               "GROUP BY case_id, criterion)")
    with op.batch_alter_table('score', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('uq_score_case_id'), type_='unique')
        batch_op.create_unique_constraint(op.f('uq_score_case_id'),
                                          ['case_id', 'criterion'])
    with op.batch_alter_table('eligibility_result', schema=None) as batch_op:
        batch_op.drop_column('refer_to')
    with op.batch_alter_table('partner_city', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_partner_city_kind'), type_='check')
        batch_op.drop_column('kind')
