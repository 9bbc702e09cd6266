"""several partners per case: each partner city of a case in case_partner, each partner a
party of its own (partner:<id>) for acceptances and signatures; a call's per-case maximum for
the call-wide optimum

Revision ID: 9c4e2b7d1a60
Revises: a1b2c3d4e5f6
Create Date: 2026-12-10 09:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '9c4e2b7d1a60'
down_revision: str | Sequence[str] | None = 'a1b2c3d4e5f6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The partner a party fact or signature spoke for: its signer's city, else the case's partner.
_PARTNER_OF = ("COALESCE((SELECT u.partner_city_id FROM \"user\" u WHERE u.id = {t}.user_id), "
               "(SELECT c.partner_city_id FROM \"case\" c WHERE c.id = {t}.case_id))")


def upgrade() -> None:
    op.create_table(
        'case_partner',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('partner_city_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('proposed_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['case.id'],
                                name=op.f('fk_case_partner_case_id_case'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['partner_city_id'], ['partner_city.id'],
                                name=op.f('fk_case_partner_partner_city_id_partner_city'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['proposed_by_id'], ['user.id'],
                                name=op.f('fk_case_partner_proposed_by_id_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_partner')),
        sa.UniqueConstraint('case_id', 'partner_city_id', name=op.f('uq_case_partner_case_id')),
    )
    op.create_index(op.f('ix_case_partner_case_id'), 'case_partner', ['case_id'])
    op.create_index(op.f('ix_case_partner_partner_city_id'), 'case_partner',
                    ['partner_city_id'])
    # Today's single partner becomes the lead, proposed when the pairing was last proposed.
    op.execute(
        "INSERT INTO case_partner (case_id, partner_city_id, position, proposed_at) "
        "SELECT c.id, c.partner_city_id, 0, COALESCE((SELECT MAX(a.at) FROM audit_event a "
        "WHERE a.case_id = c.id AND a.action = 'propose_pairing'), c.state_entered_at) "
        "FROM \"case\" c WHERE c.partner_city_id IS NOT NULL")
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_partners_per_case', sa.Integer(), nullable=False,
                                      server_default='1'))
    with op.batch_alter_table('party_fact', schema=None) as batch_op:
        batch_op.alter_column('party', type_=sa.String(length=40),
                              existing_type=sa.String(length=20), existing_nullable=False)
    with op.batch_alter_table('signature', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_signature_party'), type_='check')
        batch_op.alter_column('party', type_=sa.String(length=40),
                              existing_type=sa.String(length=20), existing_nullable=False)
    # A partner whose city is no longer known cannot be told from another: its facts go.
    op.execute("DELETE FROM party_fact WHERE party = 'partner' AND "
               + _PARTNER_OF.format(t="party_fact") + " IS NULL")
    op.execute("UPDATE party_fact SET party = 'partner:' || "
               + _PARTNER_OF.format(t="party_fact") + " WHERE party = 'partner'")
    op.execute("UPDATE signature SET party = 'partner:' || COALESCE("
               + _PARTNER_OF.format(t="signature") + ", 0) WHERE party = 'partner'")
    with op.batch_alter_table('signature', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_signature_party'),
                                         "party = 'applicant' OR party LIKE 'partner:%'")


def downgrade() -> None:
    # Only the lead partner survives: the others' facts and signatures go with them.
    op.execute("DELETE FROM party_fact WHERE party LIKE 'partner:%' AND party <> 'partner:' || "
               "COALESCE((SELECT c.partner_city_id FROM \"case\" c "
               "WHERE c.id = party_fact.case_id), 0)")
    op.execute("UPDATE party_fact SET party = 'partner' WHERE party LIKE 'partner:%'")
    with op.batch_alter_table('signature', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_signature_party'), type_='check')
    op.execute("DELETE FROM signature WHERE party LIKE 'partner:%' AND party <> 'partner:' || "
               "COALESCE((SELECT c.partner_city_id FROM \"case\" c "
               "WHERE c.id = signature.case_id), 0)")
    op.execute("UPDATE signature SET party = 'partner' WHERE party LIKE 'partner:%'")
    with op.batch_alter_table('signature', schema=None) as batch_op:
        batch_op.alter_column('party', type_=sa.String(length=20),
                              existing_type=sa.String(length=40), existing_nullable=False)
        batch_op.create_check_constraint(op.f('ck_signature_party'),
                                         "party IN ('applicant','partner')")
    with op.batch_alter_table('party_fact', schema=None) as batch_op:
        batch_op.alter_column('party', type_=sa.String(length=20),
                              existing_type=sa.String(length=40), existing_nullable=False)
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.drop_column('max_partners_per_case')
    op.drop_index(op.f('ix_case_partner_partner_city_id'), table_name='case_partner')
    op.drop_index(op.f('ix_case_partner_case_id'), table_name='case_partner')
    op.drop_table('case_partner')
