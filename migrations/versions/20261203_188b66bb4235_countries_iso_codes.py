"""countries are ISO 3166-1 alpha-2 codes: names stored so far become codes

Organisations, partner cities and calls' eligible and partner countries held country names
("France", "Czech Republic", "USA"); they now hold codes ("FR", "CZ", "US"). A value that
names no country is left as it is and reported, for someone to correct by hand.

Revision ID: 188b66bb4235
Revises: 7037adbe94a1
Create Date: 2026-12-03 12:00:00.000000
"""
import logging
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from workflows.countries import COUNTRY_CODES, country_name, to_code

# revision identifiers, used by Alembic.
revision: str = '188b66bb4235'
down_revision: str | Sequence[str] | None = '7037adbe94a1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

organisation = sa.table('organisation', sa.column('id', sa.Integer),
                        sa.column('name', sa.String), sa.column('country', sa.String))
partner_city = sa.table('partner_city', sa.column('id', sa.Integer),
                        sa.column('name', sa.String), sa.column('country', sa.String))
call = sa.table('call', sa.column('id', sa.Integer), sa.column('slug', sa.String),
                sa.column('eligible_countries', sa.JSON),
                sa.column('partner_countries', sa.JSON))


def _convert(convert: Callable[[str], str | None]) -> list[str]:
    """Rewrite every stored country with ``convert``; returns what it could not convert."""
    bind = op.get_bind()
    unknown: list[str] = []
    for table, label in ((organisation, "organisation"), (partner_city, "partner city")):
        for row in bind.execute(sa.select(table.c.id, table.c.name, table.c.country)):
            value = row.country or ""
            new = convert(value) if value.strip() else ""
            if new is None:
                unknown.append(f"{label} {row.id} ({row.name}): {value!r}")
            elif new != value:
                bind.execute(table.update().where(table.c.id == row.id).values(country=new))
    for row in bind.execute(sa.select(call.c.id, call.c.slug, call.c.eligible_countries,
                                      call.c.partner_countries)):
        changes = {}
        for column in ('eligible_countries', 'partner_countries'):
            values = list(getattr(row, column) or [])
            converted = []
            for value in values:
                new = convert(value)
                if new is None:
                    unknown.append(f"call {row.id} ({row.slug}) {column}: {value!r}")
                    new = value
                if new not in converted:
                    converted.append(new)
            if converted != values:
                changes[column] = converted
        if changes:
            bind.execute(call.update().where(call.c.id == row.id).values(**changes))
    return unknown


def upgrade() -> None:
    unknown = _convert(to_code)
    if unknown:
        log.warning("%d stored countries name no country and were left as they are; correct "
                    "them by hand:\n  %s", len(unknown), "\n  ".join(unknown))


def downgrade() -> None:
    _convert(lambda value: country_name(value) if value in COUNTRY_CODES else value)
