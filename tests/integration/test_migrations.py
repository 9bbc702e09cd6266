"""Upgrading a database that already holds a programme's data keeps every row."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from webapp import ROOT

INITIAL = "7037adbe94a1"


def _config(url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"), attributes={"quiet": True})
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def test_upgrading_a_populated_sqlite_database_keeps_its_rows(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    cfg = _config(url)
    command.upgrade(cfg, INITIAL)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO programme (id, slug, name, targets) "
                          "VALUES (1, 'iuc', 'IUC', '{}')"))
        conn.execute(text(
            "INSERT INTO call (id, programme_id, slug, kind, title, summary, partner_regions, "
            "partner_countries, opens_at, closes_at, timezone, published, archived, "
            "population_threshold, eligible_countries, allowed_org_types, cooperation_months, "
            "report_interval_months, settings, created_at) VALUES (1, 1, 'c2c', "
            "'city-to-city', 'Call', '', '[]', '[]', '2026-01-01', '2026-02-01', "
            "'Europe/Brussels', 1, 0, 100000, '[]', '[]', 18, 6, '{}', '2026-01-01')"))
    command.upgrade(cfg, "heads")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM call WHERE programme_id = 1")).scalar() == 1
        assert conn.execute(text("SELECT timezone FROM programme")).scalar() == "Europe/Brussels"
    engine.dispose()
