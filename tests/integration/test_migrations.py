"""Upgrading a database that already holds a programme's data keeps every row."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from tests.conftest import PG_ADMIN, _pg_available
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


def _populate_a_paired_case(conn) -> None:
    """A case paired with one partner city, both parties accepted, the partner signed."""
    conn.execute(text("INSERT INTO programme (id, slug, name, targets) "
                      "VALUES (1, 'iuc', 'IUC', '{}')"))
    conn.execute(text(
        "INSERT INTO call (id, programme_id, slug, kind, title, summary, partner_regions, "
        "partner_countries, opens_at, closes_at, timezone, published, archived, "
        "population_threshold, eligible_countries, allowed_org_types, cooperation_months, "
        "report_interval_months, settings, created_at) VALUES (1, 1, 'c2c', "
        "'city-to-city', 'Call', '', '[]', '[]', '2026-01-01', '2026-02-01', "
        "'Europe/Brussels', true, false, 100000, '[]', '[]', 18, 6, '{}', '2026-01-01')"))
    conn.execute(text("INSERT INTO organisation (id, name, kind, country, website, created_at) "
                      "VALUES (1, 'Belfast', 'city', 'GB', '', '2026-01-01')"))
    conn.execute(text("INSERT INTO partner_city (id, name, country, region, "
                      "challenge_statement, contacts, created_at) VALUES (7, 'Medellín', 'CO', "
                      "'Latin America and the Caribbean', '', '[]', '2026-01-01')"))
    conn.execute(text(
        "INSERT INTO \"user\" (id, email, name, role, region_scope, active, locale, timezone, "
        "notification_preference, failed_logins, auth_epoch, created_at, partner_city_id) "
        "VALUES (3, 'mateo@medellin.co', 'Mateo', 'partner', '', true, 'es', 'UTC', "
        "'immediate', 0, 0, '2026-01-01', 7)"))
    conn.execute(text(
        "INSERT INTO \"case\" (id, reference, call_id, organisation_id, workflow, state, version, "
        "state_entered_at, created_at, updated_at, contact_name, contact_title, contact_email, "
        "contact_phone, challenge_statement, partner_region, stakeholders, resources_committed, "
        "commitments, sections_saved, eligibility_summary, flagged_sections, partner_city_id) "
        "VALUES (1, 'IUC-2026-0001', 1, 1, 'city-to-city', 'agreement_pending', 5, "
        "'2026-03-01', '2026-01-02', '2026-03-01', '', '', '', '', '', '', '', '', '{}', '[]', "
        "'pass', '[]', 7)"))
    conn.execute(text("INSERT INTO party_fact (id, case_id, party, fact, user_id, at) VALUES "
                      "(1, 1, 'applicant', 'accepted_pairing', NULL, '2026-02-20'), "
                      "(2, 1, 'partner', 'accepted_pairing', 3, '2026-03-01')"))
    conn.execute(text("INSERT INTO agreement (id, case_id, version, content_hash, html, "
                      "created_at, reason) VALUES (1, 1, 1, 'h', '<p></p>', '2026-03-01', '')"))
    conn.execute(text(
        "INSERT INTO signature (id, agreement_id, case_id, party, user_id, method, full_name, "
        "title, consent, signed_at, source_address, agreement_hash) VALUES (1, 1, 1, 'partner', "
        "3, 'typed', 'Mateo', 'Alcalde', true, '2026-03-02', '', 'h')"))


def _check_the_partner_became_a_party_of_its_own(conn) -> None:
    assert conn.execute(text("SELECT case_id, partner_city_id, position FROM case_partner")
                        ).all() == [(1, 7, 0)]
    assert set(conn.execute(text("SELECT party FROM party_fact")).scalars()) == {
        "applicant", "partner:7"}
    assert conn.execute(text("SELECT party FROM signature")).scalar() == "partner:7"
    assert conn.execute(text("SELECT max_partners_per_case FROM call")).scalar() == 1


def test_the_single_partner_of_existing_cases_becomes_their_lead_partner(tmp_path):
    url = f"sqlite:///{tmp_path / 'paired.sqlite'}"
    cfg = _config(url)
    command.upgrade(cfg, "a1b2c3d4e5f6")
    engine = create_engine(url)
    with engine.begin() as conn:
        _populate_a_paired_case(conn)
    command.upgrade(cfg, "heads")
    with engine.connect() as conn:
        _check_the_partner_became_a_party_of_its_own(conn)
        # The signature table still refuses a party that is neither.
        with pytest.raises(IntegrityError):
            conn.execute(text("UPDATE signature SET party = 'stranger'"))
    engine.dispose()


def test_the_same_on_postgresql():
    if not _pg_available():
        pytest.fail("PostgreSQL is not reachable at 127.0.0.1:5432")
    name = f"citypair_migrate_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    engine = create_engine(url)
    try:
        cfg = _config(url)
        command.upgrade(cfg, "a1b2c3d4e5f6")
        with engine.begin() as conn:
            _populate_a_paired_case(conn)
        command.upgrade(cfg, "heads")
        with engine.connect() as conn:
            _check_the_partner_became_a_party_of_its_own(conn)
    finally:
        engine.dispose()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
