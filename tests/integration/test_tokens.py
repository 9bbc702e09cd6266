"""The API tokens page: create (shown once), list, revoke; forms carry CSRF tokens."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from webapp.db import db
from webapp.models import ApiToken, AuditEvent
from webapp.operations import tokens

pytestmark = pytest.mark.integration

SECRET = re.compile(r'value="(cp_[\w-]+)"')


def test_a_new_token_is_shown_once_then_only_its_prefix(app, browser, world):
    browser.login(world.coordinator.email)
    page = browser.get("/account/tokens/")
    assert page.status_code == 200 and "You have no tokens yet." in page.get_data(as_text=True)
    resp = browser.post("/account/tokens/", {"name": "Monthly report script"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    secret = SECRET.search(body).group(1)
    row = db.session.scalar(select(ApiToken))
    assert row.token_hash == tokens.token_hash(secret) and row.name == "Monthly report script"
    later = browser.get("/account/tokens/").get_data(as_text=True)
    assert secret not in later and f"{secret[:8]}…" in later and "Monthly report script" in later
    # It works on the API as its owner.
    resp = app.test_client().get("/api/v1/cases", headers={"Authorization": f"Bearer {secret}"})
    assert resp.status_code == 200
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.case_id.is_(None))) == \
        "create_api_token"


def test_revoking_stops_the_token_at_once(app, browser, world):
    new = tokens.create_token(world.applicant_a, "laptop")
    browser.login(world.applicant_a.email)
    browser.get("/account/tokens/")
    resp = browser.post(f"/account/tokens/{new.token.id}/revoke")
    assert resp.status_code == 302
    page = browser.get("/account/tokens/").get_data(as_text=True)
    assert "is revoked" in page and "Revoked" in page
    resp = app.test_client().get("/api/v1/cases",
                                 headers={"Authorization": f"Bearer {new.secret}"})
    assert resp.status_code == 401


def test_nobody_revokes_someone_else_s_token(browser, world):
    theirs = tokens.create_token(world.applicant_b, "their script")
    browser.login(world.applicant_a.email)
    browser.get("/account/tokens/")
    assert browser.post(f"/account/tokens/{theirs.token.id}/revoke").status_code == 404
    db.session.expire_all()
    assert db.session.get(ApiToken, theirs.token.id).revoked_at is None


def test_forms_need_their_csrf_token_and_a_name(browser, world):
    browser.login(world.applicant_a.email)
    browser.get("/account/tokens/")
    assert browser.post("/account/tokens/", {"name": "x"}, token=False).status_code == 400
    resp = browser.post("/account/tokens/", {"name": "  "})
    assert resp.status_code == 400
    assert "Give the token a name" in resp.get_data(as_text=True)
    resp = browser.post("/account/tokens/", {"name": "<b>bold</b>"})
    assert resp.status_code == 400 and "angle brackets" in resp.get_data(as_text=True)
    assert db.session.scalar(select(ApiToken)) is None


def test_there_is_a_limit_to_active_tokens(browser, world):
    for n in range(tokens.MAX_ACTIVE_TOKENS):
        tokens.create_token(world.applicant_a, f"script {n}")
    browser.login(world.applicant_a.email)
    browser.get("/account/tokens/")
    resp = browser.post("/account/tokens/", {"name": "one too many"})
    assert resp.status_code == 400 and "Revoke one you no longer use" in resp.get_data(
        as_text=True)


def test_signing_in_is_needed(browser, world):
    resp = browser.get("/account/tokens/")
    assert resp.status_code == 302 and "/account/login" in resp.headers["Location"]
