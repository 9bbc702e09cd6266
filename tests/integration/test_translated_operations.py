"""What the operations layer refuses is said in the reader's language on the pages, while the
API keeps an English ``detail`` with a stable ``code``."""

from __future__ import annotations

import pytest

from tests.integration.test_api import token
from tests.integration.test_calls_admin import LATAM, JsonApi
from webapp.db import db
from webapp.errors import OperationError
from webapp.operations import calls as call_ops

pytestmark = pytest.mark.integration

FORM = {"kind": "city-to-city", "title": "Appel IURC 2027", "summary": "Bonjour",
        "partner_regions": [LATAM], "opens_at": "2027-03-01T09:00",
        "closes_at": "2027-02-01T17:00", "timezone": "Europe/Brussels",
        "population_threshold": "0", "eu27": "y", "eligible_countries": ["GB"],
        "allowed_org_types": ["city", "group"], "cooperation_months": "18",
        "report_interval_months": "6", "reminder_days": "-7, -1"}


def test_a_french_admin_reads_the_call_forms_problems_in_french(world, browser):
    world.admin.locale = "fr"
    db.session.commit()
    browser.login(world.admin.email)
    browser.get("/office/calls/new")
    resp = browser.post("/office/calls/new", {**FORM, "programme_id": str(world.programme.id)})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "L’appel doit clore après son ouverture." in page
    assert "Le seuil de population doit être un nombre entier supérieur à 0" in page
    assert "The call must close after it opens." not in page
    assert "The population threshold must be" not in page
    # What was typed stays.
    assert 'value="Appel IURC 2027"' in page


def test_a_refused_call_action_is_flashed_in_french(world, browser):
    world.admin.locale = "fr"
    db.session.commit()
    browser.login(world.admin.email)
    resp = browser.post(f"/office/calls/{world.call.id}/archive",
                        {"version": str(world.call.version)})
    assert resp.status_code in (302, 303)
    page = browser.get(resp.headers["Location"]).get_data(as_text=True)
    assert "clôturez-le avant de l’archiver" in page
    assert "close it before archiving" not in page


def test_the_api_keeps_english_details_with_a_stable_code(app, world):
    world.admin.locale = "fr"
    db.session.commit()
    client = JsonApi(app.test_client(), token(world.admin))
    client.headers["Accept-Language"] = "fr"
    body = {"programme_id": world.programme.id, "kind": "city-to-city", "title": "API 2027",
            "partner_regions": [LATAM], "opens_at": "2027-03-01T09:00:00",
            "closes_at": "2027-02-01T09:00:00", "population_threshold": 0}
    resp = client.post("/api/v1/calls", body)
    problem = resp.get_json()
    assert resp.status_code == 422
    assert problem["errors"]["json"]["closes_at"] == ["The call must close after it opens."]
    resp = client.post(f"/api/v1/calls/{world.call.id}/archive",
                       {"expected_version": world.call.version})
    problem = resp.get_json()
    assert resp.status_code == 400
    assert problem["detail"].startswith("This call is open: close it before archiving it")
    assert problem["code"] == "still_open"


def test_outside_a_request_a_refusal_is_english(app, world):
    with pytest.raises(OperationError) as exc:
        call_ops.archive_call(world.call.id, world.admin, expected_version=world.call.version)
    assert exc.value.message == "This call is open: close it before archiving it."
    assert exc.value.code == "still_open"
