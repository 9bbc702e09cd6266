"""Cooperation: deliverables, activities, reports, Local Action Plans and scores

Revision ID: c0c0a1b2c3d4
Revises: 7037adbe94a1
Create Date: 2026-11-26 10:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'c0c0a1b2c3d4'
down_revision: Union[str, Sequence[str], None] = '7037adbe94a1'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _user_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], ['user.id'], name=op.f(f'fk_{table}_{column}_user'),
                                   ondelete='SET NULL')


def _case_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f(f'fk_{table}_case_id_case'),
                                   ondelete='CASCADE')


def upgrade() -> None:
    """Create the cooperation tables."""
    op.create_table('deliverable',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opens_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('periodic', sa.Boolean(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('review_comments', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('scheduled','submitted','accepted','revision_requested')",
                       name=op.f('ck_deliverable_status')),
    sa.CheckConstraint("status = 'scheduled' OR submitted_at IS NOT NULL",
                       name=op.f('ck_deliverable_submitted')),
    sa.CheckConstraint("status <> 'accepted' OR accepted_at IS NOT NULL",
                       name=op.f('ck_deliverable_accepted')),
    _case_fk('deliverable'),
    _user_fk('deliverable', 'submitted_by_id'),
    _user_fk('deliverable', 'reviewed_by_id'),
    sa.ForeignKeyConstraint(['document_id'], ['document.id'],
                            name=op.f('fk_deliverable_document_id_document'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliverable')),
    sa.UniqueConstraint('case_id', 'kind', 'sequence', name=op.f('uq_deliverable_case_id'))
    )
    op.create_index('ix_deliverable_case_status', 'deliverable', ['case_id', 'status'])
    op.create_index('ix_deliverable_status_due', 'deliverable', ['status', 'due_at'])

    op.create_table('activity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=30), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('direction', sa.String(length=20), nullable=False),
    sa.Column('participants', sa.Integer(), nullable=False),
    sa.Column('stakeholders', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_activity_dates')),
    sa.CheckConstraint('participants >= 0', name=op.f('ck_activity_participants')),
    _case_fk('activity'),
    _user_fk('activity', 'created_by_id'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity'))
    )
    op.create_index('ix_activity_case_starts', 'activity', ['case_id', 'starts_on'])

    op.create_table('activity_document',
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['activity.id'],
                            name=op.f('fk_activity_document_activity_id_activity'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['document_id'], ['document.id'],
                            name=op.f('fk_activity_document_document_id_document'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('activity_id', 'document_id', name=op.f('pk_activity_document'))
    )

    op.create_table('report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('deliverable_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('achievements', sa.Text(), nullable=False),
    sa.Column('difficulties', sa.Text(), nullable=False),
    sa.Column('next_steps', sa.Text(), nullable=False),
    sa.Column('lap_progress', sa.Text(), nullable=False),
    sa.Column('indicators', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    _case_fk('report'),
    sa.ForeignKeyConstraint(['deliverable_id'], ['deliverable.id'],
                            name=op.f('fk_report_deliverable_id_deliverable'), ondelete='CASCADE'),
    _user_fk('report', 'updated_by_id'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report')),
    sa.UniqueConstraint('deliverable_id', name=op.f('uq_report_deliverable_id'))
    )
    op.create_index(op.f('ix_report_case_id'), 'report', ['case_id'])

    op.create_table('report_activity',
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'],
                            name=op.f('fk_report_activity_report_id_report'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['activity_id'], ['activity.id'],
                            name=op.f('fk_report_activity_activity_id_activity'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('report_id', 'activity_id', name=op.f('pk_report_activity'))
    )

    op.create_table('local_action_plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('revisions', sa.JSON(), nullable=False),
    sa.Column('draft_number', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    _case_fk('local_action_plan'),
    _user_fk('local_action_plan', 'updated_by_id'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_local_action_plan')),
    sa.UniqueConstraint('case_id', name=op.f('uq_local_action_plan_case_id'))
    )

    op.create_table('lap_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=10), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('deliverable_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("purpose IN ('draft','final')", name=op.f('ck_lap_version_purpose')),
    _case_fk('lap_version'),
    sa.ForeignKeyConstraint(['deliverable_id'], ['deliverable.id'],
                            name=op.f('fk_lap_version_deliverable_id_deliverable'),
                            ondelete='SET NULL'),
    _user_fk('lap_version', 'submitted_by_id'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lap_version')),
    sa.UniqueConstraint('case_id', 'number', name=op.f('uq_lap_version_case_id'))
    )
    op.create_index(op.f('ix_lap_version_case_id'), 'lap_version', ['case_id'])

    op.create_table('score',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('criterion', sa.String(length=40), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('scored_by_id', sa.Integer(), nullable=True),
    sa.Column('scored_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('score BETWEEN 0 AND 5', name=op.f('ck_score_range')),
    _case_fk('score'),
    _user_fk('score', 'scored_by_id'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_score')),
    sa.UniqueConstraint('case_id', 'criterion', name=op.f('uq_score_case_id'))
    )


def downgrade() -> None:
    """Drop the cooperation tables."""
    op.drop_table('score')
    op.drop_index(op.f('ix_lap_version_case_id'), table_name='lap_version')
    op.drop_table('lap_version')
    op.drop_table('local_action_plan')
    op.drop_table('report_activity')
    op.drop_index(op.f('ix_report_case_id'), table_name='report')
    op.drop_table('report')
    op.drop_table('activity_document')
    op.drop_index('ix_activity_case_starts', table_name='activity')
    op.drop_table('activity')
    op.drop_index('ix_deliverable_status_due', table_name='deliverable')
    op.drop_index('ix_deliverable_case_status', table_name='deliverable')
    op.drop_table('deliverable')
