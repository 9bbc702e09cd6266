"""server-side sessions; API token scopes, expiry and why a token ended

Revision ID: 987aecdc9231
Revises: ab1e0c0ffee1
Create Date: 2026-12-03 09:00:00.000000

Tokens made before scopes existed could do everything and never expired: they keep both
scopes and expire 90 days after this upgrade.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '987aecdc9231'
down_revision: str | Sequence[str] | None = 'ab1e0c0ffee1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'user_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'],
                                name=op.f('fk_user_session_user_id_user'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_user_session')),
        sa.UniqueConstraint('secret_hash', name=op.f('uq_user_session_secret_hash')),
    )
    op.create_index(op.f('ix_user_session_user_id'), 'user_session', ['user_id'], unique=False)

    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_reason', sa.String(length=40), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('scopes', sa.String(length=40), nullable=False,
                                      server_default='read write'))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        in_90_days = "now() + interval '90 days'"
    else:
        in_90_days = "strftime('%Y-%m-%d %H:%M:%S', 'now', '+90 days') || '.000000'"
    op.execute(f"UPDATE api_token SET expires_at = {in_90_days}, revoked_reason = "
               "CASE WHEN revoked_at IS NULL THEN '' ELSE 'revoked' END")
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=sa.DateTime(timezone=True),
                              nullable=False)
        batch_op.alter_column('scopes', existing_type=sa.String(length=40), server_default=None)
        batch_op.alter_column('revoked_reason', existing_type=sa.String(length=40),
                              server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
        batch_op.drop_column('scopes')
        batch_op.drop_column('revoked_reason')
    op.drop_index(op.f('ix_user_session_user_id'), table_name='user_session')
    op.drop_table('user_session')
