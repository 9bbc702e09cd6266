"""The data migration that turns stored country names into ISO 3166-1 codes, on a database of
its own at the schema the names were written under, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from tests.conftest import PG_ADMIN
from webapp.db import make_engine

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BEFORE = "7037adbe94a1"  # the initial schema, where countries were names
MIGRATION = "188b66bb4235"


@pytest.fixture
def scratch_url(backend, tmp_path, pg_url) -> Iterator[str]:
    """An empty database of this test's own (``pg_url`` only proves PostgreSQL is there)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'migration.sqlite'}"
        return
    name = f"citypair_migration_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _alembic(url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["quiet"] = True
    return cfg


def _rows(engine, table: str, *columns: str) -> list[tuple]:
    meta = sa.MetaData()
    t = sa.Table(table, meta, autoload_with=engine)
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            sa.select(*(t.c[c] for c in columns)).order_by(t.c.id))]


def test_names_become_codes_and_the_unknown_stay_and_are_reported(scratch_url, caplog):
    cfg = _alembic(scratch_url)
    command.upgrade(cfg, BEFORE)
    engine = make_engine(scratch_url)
    meta = sa.MetaData()
    meta.reflect(engine, only=["programme", "call", "organisation", "partner_city"])
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(meta.tables["programme"].insert(), {"id": 1, "slug": "iuc",
                                                         "name": "IUC", "targets": {}})
        conn.execute(meta.tables["call"].insert(), {
            "id": 1, "programme_id": 1, "slug": "iuc-2017", "kind": "city-to-city",
            "title": "2017", "summary": "", "partner_regions": ["Asia"],
            "partner_countries": ["China", "Japan", "Atlantis"], "opens_at": now,
            "closes_at": now, "timezone": "Europe/Brussels", "published": True,
            "archived": False, "population_threshold": 100_000,
            "eligible_countries": ["France", "Czech Republic", "united kingdom", "France"],
            "allowed_org_types": ["city"], "cooperation_months": 18,
            "report_interval_months": 6, "settings": {}, "created_at": now})
        conn.execute(meta.tables["organisation"].insert(), [
            {"id": i, "name": name, "kind": "city", "country": country, "website": "",
             "created_at": now}
            for i, (name, country) in enumerate([("Lyon", "France"), ("Brno", "Czech Republic"),
                                                 ("Basel", "Other"), ("Nowhere", ""),
                                                 ("Porto", "PT")], start=1)])
        conn.execute(meta.tables["partner_city"].insert(), [
            {"id": i, "name": name, "country": country, "region": region,
             "challenge_statement": "", "contacts": [], "created_at": now}
            for i, (name, country, region) in enumerate([
                ("Austin", "USA", "North America"), ("Rosario", "Argentina", "Latin America"),
                ("Atlantis City", "Atlantis", "Asia")], start=1)])

    with caplog.at_level(logging.WARNING):
        command.upgrade(cfg, MIGRATION)

    assert _rows(engine, "organisation", "name", "country") == [
        ("Lyon", "FR"), ("Brno", "CZ"), ("Basel", "Other"), ("Nowhere", ""), ("Porto", "PT")]
    assert _rows(engine, "partner_city", "name", "country") == [
        ("Austin", "US"), ("Rosario", "AR"), ("Atlantis City", "Atlantis")]
    [(eligible, partners)] = _rows(engine, "call", "eligible_countries", "partner_countries")
    assert eligible == ["FR", "CZ", "GB"]  # the repeated France is kept once
    assert partners == ["CN", "JP", "Atlantis"]
    report = caplog.text
    assert "3 stored countries name no country" in report
    assert "organisation 3 (Basel): 'Other'" in report
    assert "partner city 3 (Atlantis City): 'Atlantis'" in report
    assert "call 1 (iuc-2017) partner_countries: 'Atlantis'" in report
    assert "Nowhere" not in report  # an empty country is not a problem to report

    # Going back gives English names, and running forward again the same codes.
    command.downgrade(cfg, BEFORE)
    assert _rows(engine, "organisation", "country")[:2] == [("France",), ("Czechia",)]
    command.upgrade(cfg, MIGRATION)
    assert _rows(engine, "organisation", "country")[:2] == [("FR",), ("CZ",)]
    engine.dispose()
