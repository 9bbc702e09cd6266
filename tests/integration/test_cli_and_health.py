"""The command line and the health check."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from webapp.cli import main

pytestmark = pytest.mark.integration


def test_workflow_check_passes_and_names_each_definition():
    result = CliRunner().invoke(main, ["workflow", "check"])
    assert result.exit_code == 0, result.output
    assert "city-to-city:" in result.output and "ok" in result.output


def test_workflow_diagram_prints_every_state():
    result = CliRunner().invoke(main, ["workflow", "diagram", "city-to-city"])
    assert result.exit_code == 0
    for state in ("draft", "eligibility_review", "information_requested", "awaiting_pairing",
                  "pairing_proposed", "agreement_pending", "cooperation_active",
                  "lap_submission", "lap_review", "completed", "ineligible", "withdrawn",
                  "terminated"):
        assert f" as {state}" in result.output
    bad = CliRunner().invoke(main, ["workflow", "diagram", "nonsense"])
    assert bad.exit_code != 0 and "unknown kind" in bad.output


def test_workflow_diagram_draws_svg_on_request():
    result = CliRunner().invoke(main, ["workflow", "diagram", "region-to-region", "--svg"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("<svg ") and result.output.rstrip().endswith("</svg>")
    assert 'role="img"' in result.output and ">Scoring</text>" in result.output


def test_healthz_reports_database_and_broker(app):
    resp = app.test_client().get("/healthz")
    data = json.loads(resp.data)
    assert data["database"]["ok"] is True
    assert data["database"]["dialect"] in ("sqlite", "postgresql")
    assert "ok" in data["broker"]
    assert resp.status_code == (200 if data["broker"]["ok"] else 503)


def test_security_headers_on_every_page(app):
    resp = app.test_client().get("/")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"


def test_demo_loads_twice_without_duplicates(app, monkeypatch):
    from sqlalchemy import func, select

    from webapp.db import db
    from webapp.models import Call, PartnerCity, User
    from webapp.operations.setup import load_demo

    list(load_demo())
    counts = [db.session.scalar(select(func.count(m.id))) for m in (Call, PartnerCity, User)]
    list(load_demo())
    assert [db.session.scalar(select(func.count(m.id))) for m in (Call, PartnerCity, User)] \
        == counts
    assert counts[1] >= 50  # the partner cities of the 2017 pairings


@pytest.mark.parametrize(("host", "port", "url"), [
    ("127.0.0.1", 5123, "http://127.0.0.1:5123"),
    ("0.0.0.0", 8080, "http://127.0.0.1:8080"),
    ("::", 8080, "http://127.0.0.1:8080"),
    ("::1", 8081, "http://[::1]:8081"),
    ("citypair.example.org", 80, "http://citypair.example.org:80"),
])
def test_links_in_e_mails_follow_the_host_and_port_run_serves_on(host, port, url):
    from webapp.config import served_base_url

    assert served_base_url(host, port) == url
