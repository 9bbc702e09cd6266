"""audit trail: the sanctioned paths for erasure and retention

Revision ID: e7a5e0f1d2c3
Revises: 7037adbe94a1
Create Date: 2026-11-26 10:30:00.000000

The audit trail stays append-only, with two exceptions the application asks for inside one
transaction: erasing a person may rewrite the personal columns (actor_label, source_address,
payload) when ``citypair.erasure`` is on, and the retention rule may delete the events of a
case it deletes when ``citypair.retention`` is on. Both settings are transaction-local
(``set_config(..., true)``), so they end with the transaction that set them.
"""
from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = 'e7a5e0f1d2c3'
down_revision: str | Sequence[str] | None = '7037adbe94a1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no such trigger; the operations layer is the only writer there
    op.execute("""
        CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'UPDATE' AND current_setting('citypair.erasure', true) = 'on' THEN
                -- Only who did it and from where may change; what happened stays as it was.
                IF NEW.id = OLD.id
                   AND NEW.case_id IS NOT DISTINCT FROM OLD.case_id
                   AND NEW.at = OLD.at
                   AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id
                   AND NEW.actor_role = OLD.actor_role
                   AND NEW.action = OLD.action
                   AND NEW.from_state = OLD.from_state
                   AND NEW.to_state = OLD.to_state THEN
                    RETURN NEW;
                END IF;
                RAISE EXCEPTION 'erasure may change only the personal columns of audit_event';
            END IF;
            IF TG_OP = 'DELETE' AND current_setting('citypair.retention', true) = 'on'
               AND OLD.case_id IS NOT NULL THEN
                RETURN OLD;
            END IF;
            RAISE EXCEPTION 'audit_event is append-only';
        END;
        $$ LANGUAGE plpgsql;
    """)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'audit_event is append-only';
        END;
        $$ LANGUAGE plpgsql;
    """)
