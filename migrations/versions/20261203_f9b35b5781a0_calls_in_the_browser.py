"""calls administered in the browser: their conditions text, a version against lost
updates, and audit events that name the call they concern

Revision ID: f9b35b5781a0
Revises: 7037adbe94a1
Create Date: 2026-12-03 13:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = 'f9b35b5781a0'
down_revision: str | Sequence[str] | None = '7037adbe94a1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.add_column(sa.Column('conditions', sa.Text(), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False,
                                      server_default='1'))
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('call_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_audit_event_call_id_call'), 'call', ['call_id'],
                                    ['id'], ondelete='RESTRICT')
        batch_op.create_index('ix_audit_event_call_at', ['call_id', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_call_at')
        batch_op.drop_constraint(op.f('fk_audit_event_call_id_call'), type_='foreignkey')
        batch_op.drop_column('call_id')
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.drop_column('version')
        batch_op.drop_column('conditions')
