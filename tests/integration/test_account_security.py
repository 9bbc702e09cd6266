"""Accounts under attack: the lockout engages and expires, sessions end on the server (sign-out,
idle, age, password reset, closed account), registration and reset requests do the same work
for every address, API tokens have scopes and an end, the secret key must be real in
production, and a trusted proxy is believed only when configured."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.factories import PASSWORD
from tests.integration.test_api import PROBLEM, assert_problem, submitted
from webapp import config
from webapp.db import db, utcnow
from webapp.errors import OperationError
from webapp.models import ApiToken, AuditEvent, User, UserSession
from webapp.operations import accounts, tokens

pytestmark = pytest.mark.integration

BAD = "The e-mail address or password is not right, or the account is locked for a while."


def sign_in(browser, email: str, password: str = PASSWORD):
    browser.get("/account/login")
    return browser.post("/account/login", {"email": email, "password": password})


def signed_in(browser) -> bool:
    resp = browser.get("/account/")
    return resp.status_code == 200


# -- lockout --------------------------------------------------------------------------------

def test_the_lockout_engages_after_repeated_failures_and_expires(app, world, browser):
    email = world.applicant_a.email
    lock_after = app.config["LOGIN_LOCK_AFTER"]
    for _ in range(lock_after):
        resp = sign_in(browser, email, "not the password")
        assert resp.status_code == 200 and BAD in resp.get_data(as_text=True)
    db.session.expire_all()
    anna = db.session.get(User, world.applicant_a.id)
    # The refusals were committed although each sign-in was refused.
    assert anna.locked_until is not None and anna.locked_until > utcnow()
    # Locked: even the right password is refused, with the same words as a wrong one and as
    # an address nobody registered.
    locked = sign_in(browser, email)
    assert locked.status_code == 200 and BAD in locked.get_data(as_text=True)
    unknown = sign_in(browser, "nobody@nowhere.eu", "not the password")
    assert BAD in unknown.get_data(as_text=True)
    assert not signed_in(browser)
    # Once the lock has run out, the right password works again.
    later = utcnow() + timedelta(minutes=app.config["LOGIN_LOCK_MINUTES"] + 1)
    assert accounts.authenticate(email, PASSWORD, now=later).id == anna.id
    db.session.expire_all()
    assert db.session.get(User, anna.id).failed_logins == 0


def test_fewer_failures_than_the_limit_do_not_lock(app, world, browser):
    for _ in range(app.config["LOGIN_LOCK_AFTER"] - 1):
        sign_in(browser, world.applicant_a.email, "wrong")
    assert sign_in(browser, world.applicant_a.email).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, world.applicant_a.id).failed_logins == 0


# -- sessions -------------------------------------------------------------------------------

def _cookie(browser) -> str:
    return browser.client.get_cookie("session").value


def _replay(browser, cookie: str) -> None:
    browser.client.set_cookie("session", cookie)


def test_sign_out_ends_the_session_on_the_server(app, world, browser):
    sign_in(browser, world.applicant_a.email)
    assert signed_in(browser)
    stolen = _cookie(browser)
    browser.post("/account/logout")
    assert not signed_in(browser)
    _replay(browser, stolen)  # the cookie as it was before signing out
    resp = browser.get("/my/")
    assert resp.status_code == 302 and "/account/login" in resp.headers["Location"]
    ended = db.session.scalar(select(UserSession).where(
        UserSession.user_id == world.applicant_a.id))
    assert ended.ended_at is not None


@pytest.mark.parametrize("age", ["idle", "absolute"])
def test_an_idle_or_old_session_ends(app, world, browser, age):
    sign_in(browser, world.applicant_a.email)
    assert signed_in(browser)
    now = utcnow()
    idle = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    lifetime = timedelta(hours=app.config["SESSION_LIFETIME_HOURS"])
    # Used a minute ago, but signed in longer ago than the lifetime; or unused past the idle
    # limit. Either way the cookie no longer signs anyone in.
    values = {"idle": {"last_seen_at": now - idle - timedelta(minutes=1)},
              "absolute": {"created_at": now - lifetime - timedelta(minutes=1),
                           "last_seen_at": now - timedelta(minutes=1)}}[age]
    with db.transaction() as session:
        session.execute(update(UserSession).values(**values))
    assert not signed_in(browser)
    assert app.config["PERMANENT_SESSION_LIFETIME"] == lifetime


def test_activity_keeps_a_session_alive_within_its_lifetime(app, world):
    user = world.applicant_a
    now = utcnow()
    secret = accounts.start_session(user, now=now)
    key = user.get_id()
    step = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] - 10)
    assert accounts.session_user(key, secret, now=now + step) is not None
    assert accounts.session_user(key, secret, now=now + 2 * step) is not None  # seen meanwhile
    assert accounts.session_user(key, secret, now=now + 4 * step) is None  # idle too long
    assert accounts.session_user(key, "forged", now=now) is None
    assert accounts.session_user(f"{user.id + 1}:0", secret, now=now) is None


def test_a_password_reset_ends_sessions_and_tokens(app, world, browser):
    anna = world.applicant_a
    sign_in(browser, anna.email)
    assert signed_in(browser)
    reader = tokens.create_token(anna, "report", scopes=("read",))
    accounts.reset_password(accounts.make_token("reset", anna), "a brand new password")
    assert not signed_in(browser)
    resp = app.test_client().get("/api/v1/cases",
                                 headers={"Authorization": f"Bearer {reader.secret}"})
    assert resp.status_code == 401
    db.session.expire_all()
    ended = db.session.get(ApiToken, reader.token.id)
    assert ended.revoked_reason == "password reset" and ended.status() == "revoked"
    assert sign_in(browser, anna.email, "a brand new password").status_code == 302
    page = browser.get("/account/tokens/").get_data(as_text=True)
    assert "Ended at password reset" in page


def test_a_deactivated_account_loses_its_session_and_tokens(app, world, browser):
    coordinator = world.coordinator
    sign_in(browser, coordinator.email)
    assert signed_in(browser)
    secret = tokens.create_token(coordinator, "script").secret
    db.session.get(User, coordinator.id).active = False
    db.session.commit()
    assert not signed_in(browser)
    resp = app.test_client().get("/api/v1/cases", headers={"Authorization": f"Bearer {secret}"})
    assert resp.status_code == 401


# -- the same work for every address --------------------------------------------------------

@pytest.fixture
def hashes(monkeypatch) -> list[str]:
    """Every password hash computed, counted (the real hasher does the work)."""
    counted: list[str] = []
    real = accounts.hasher

    class Counting:
        def hash(self, password: str) -> str:
            counted.append("hash")
            return real.hash(password)

        def __getattr__(self, name: str):
            return getattr(real, name)

    monkeypatch.setattr(accounts, "hasher", Counting())
    return counted


def _register(browser, email: str):
    browser.get("/account/register")
    return browser.post("/account/register", {
        "name": "Some One", "email": email, "organisation_name": "Somewhere",
        "organisation_kind": "city", "country": "FR", "password": "long enough pw",
        "confirm": "long enough pw", "privacy": "y"})


def test_registration_does_the_same_work_and_says_the_same_for_known_addresses(
        app, world, browser, hashes):
    known = _register(browser, world.applicant_a.email)
    work_known = len(hashes)
    new = _register(browser, "new.person@city.eu")
    assert work_known == 1 and len(hashes) == 2
    assert known.status_code == new.status_code == 200

    def page(resp, email):
        text = resp.get_data(as_text=True).replace(email, "ADDRESS")
        return re.sub(r'name="csrf_token"[^>]*>', "", text)

    assert page(known, world.applicant_a.email) == page(new, "new.person@city.eu")


def test_reset_requests_do_the_same_work_for_known_and_unknown_addresses(
        app, world, browser, hashes):
    browser.get("/account/forgot")
    known = browser.post("/account/forgot", {"email": world.applicant_a.email})
    unknown = browser.post("/account/forgot", {"email": "nobody@nowhere.eu"})
    assert hashes == ["hash", "hash"]
    assert known.status_code == unknown.status_code == 200


def test_names_with_line_breaks_are_refused_where_people_type_them(app, world, browser):
    browser.get("/account/register")
    resp = browser.post("/account/register", {
        "name": "Eve\r\nBcc: everyone@city.eu", "email": "eve@city.eu",
        "organisation_name": "Eve\ttown", "organisation_kind": "city", "country": "FR",
        "password": "long enough pw", "confirm": "long enough pw", "privacy": "y"})
    assert resp.status_code == 200
    assert resp.get_data(as_text=True).count("Remove the line breaks") == 4  # summary, field
    assert db.session.scalar(select(User).where(User.email == "eve@city.eu")) is None
    with pytest.raises(OperationError, match="line breaks"):
        accounts.invite_colleague(world.applicant_a, email="c@lyon.fr", name="C\nD")
    sign_in(browser, world.applicant_a.email)
    browser.get("/my/team")
    resp = browser.post("/my/team", {"email": "c@lyon.fr", "name": "Col\rleague"})
    assert resp.status_code in (200, 400) and "Remove the line breaks" in resp.get_data(
        as_text=True)


# -- API tokens: scopes and expiry ----------------------------------------------------------

def test_write_endpoints_need_the_write_scope(app, world):
    case = submitted(world)
    reader = tokens.create_token(world.coordinator, "reader", scopes=("read",)).secret
    writer = tokens.create_token(world.coordinator, "writer", scopes=("read", "write")).secret
    client = app.test_client()
    url = f"/api/v1/cases/{case.id}/transitions/declare_eligible"
    body = {"expected_version": case.version}
    refused = client.post(url, json=body, headers={"Authorization": f"Bearer {reader}"})
    problem = assert_problem(refused, 403, "write scope")
    assert "insufficient_scope" in refused.headers["WWW-Authenticate"]
    assert problem["status"] == 403 and refused.mimetype == PROBLEM
    assert client.get(f"/api/v1/cases/{case.id}",
                      headers={"Authorization": f"Bearer {reader}"}).status_code == 200
    done = client.post(url, json=body, headers={"Authorization": f"Bearer {writer}"})
    assert done.status_code == 200, done.get_data(as_text=True)


def test_a_token_ends_at_its_expiry(app, world):
    now = utcnow()
    made = tokens.create_token(world.applicant_a, "short", days=1, now=now - timedelta(days=2))
    assert made.token.expires_at < now and made.token.status() == "expired"
    resp = app.test_client().get("/api/v1/cases",
                                 headers={"Authorization": f"Bearer {made.secret}"})
    assert resp.status_code == 401 and "expired" in resp.get_json()["detail"]
    longest = app.config["API_TOKEN_MAX_DAYS"]
    with pytest.raises(OperationError, match=f"1 to {longest} days"):
        tokens.create_token(world.applicant_a, "forever", days=longest + 1)
    fresh = tokens.create_token(world.applicant_a, "default")
    assert fresh.token.expires_at - fresh.token.created_at == timedelta(
        days=app.config["API_TOKEN_DAYS"])


def test_the_tokens_page_chooses_scope_and_lifetime_and_shows_them(app, world, browser):
    sign_in(browser, world.coordinator.email)
    page = browser.get("/account/tokens/").get_data(as_text=True)
    assert 'value="read" checked' in page or 'checked value="read"' in page  # least first
    made = browser.post("/account/tokens/", {"name": "Nightly sync", "scope": "write",
                                             "days": "30"})
    assert made.status_code == 200
    row = db.session.scalar(select(ApiToken).where(ApiToken.name == "Nightly sync"))
    assert row.scopes == "read write"
    assert row.expires_at - row.created_at == timedelta(days=30)
    listed = browser.get("/account/tokens/").get_data(as_text=True)
    assert "read and write" in listed and "Expires" in listed
    too_long = browser.post("/account/tokens/", {"name": "x", "scope": "read",
                                                 "days": "99999999999999"})
    assert too_long.status_code == 400 and "A token lasts from 1 to" in too_long.get_data(
        as_text=True)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "create_api_token"))
    assert event.payload["scopes"] == "read write"


def test_the_openapi_document_describes_the_scopes(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert "`read`" in scheme["description"] and "write" in scheme["description"]
    fire = spec["paths"]["/api/v1/cases/{case_id}/transitions/{name}"]["post"]
    assert fire["x-required-scope"] == "write"
    assert "scope" in spec["info"]["description"]
    # Every operation that changes something says so, the calls' and programmes' too.
    writes = [f"{method.upper()} {path}" for path, ops in spec["paths"].items()
              for method, op in ops.items() if method in ("post", "patch", "put", "delete")]
    assert "POST /api/v1/calls/{call_id}/publish" in writes
    unmarked = [w for w in writes if spec["paths"][w.split(" ", 1)[1]][
        w.split(" ", 1)[0].lower()].get("x-required-scope") != "write"]
    assert not unmarked, unmarked


# -- the secret key -------------------------------------------------------------------------

@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("SECRET_KEY", "DATABASE_URL", "CITYPAIR_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CITYPAIR_INSTANCE", str(tmp_path / "instance"))
    return monkeypatch


def test_production_refuses_a_missing_short_or_placeholder_secret_key(clean_env, tmp_path):
    clean_env.setenv("SECRET_KEY", "change-me")
    with pytest.raises(config.ConfigError, match="placeholder"):
        config.load_config()  # refused even on embedded defaults
    clean_env.setenv("CITYPAIR_ENV", "production")
    clean_env.delenv("SECRET_KEY")
    with pytest.raises(config.ConfigError, match="at least 32"):
        config.load_config()
    clean_env.setenv("SECRET_KEY", "short-but-not-a-placeholder")
    with pytest.raises(config.ConfigError, match="at least 32"):
        config.load_config()
    # A database server implies production unless said otherwise.
    clean_env.delenv("CITYPAIR_ENV")
    clean_env.setenv("DATABASE_URL", "postgresql+psycopg://app@db/citypair")
    with pytest.raises(config.ConfigError):
        config.load_config()
    strong = "k" * 48
    clean_env.setenv("SECRET_KEY", strong)
    assert config.load_config()["SECRET_KEY"] == strong
    assert not (tmp_path / "instance" / "secret_key").exists()  # never generated there


def test_embedded_mode_generates_a_private_key_once(clean_env, tmp_path):
    first = config.load_config()["SECRET_KEY"]
    key_file = tmp_path / "instance" / "secret_key"
    assert len(first) >= config.MIN_SECRET_LENGTH and key_file.read_text() == first
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "instance").stat().st_mode & 0o777 == 0o700
    assert config.load_config()["SECRET_KEY"] == first


# -- the client's address behind a proxy ----------------------------------------------------

@pytest.mark.parametrize("hops", [0, 1])
def test_the_forwarded_address_counts_only_behind_a_configured_proxy(app, world, hops):
    from webapp import create_app

    case = submitted(world)
    proxied = create_app({**app.config, "TRUSTED_PROXIES": hops})
    secret = tokens.create_token(world.coordinator, "proxy").secret
    resp = proxied.test_client().post(
        f"/api/v1/cases/{case.id}/transitions/declare_eligible",
        json={"expected_version": case.version},
        headers={"Authorization": f"Bearer {secret}", "X-Forwarded-For": "203.0.113.9"},
        environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    db.session.expire_all()
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "declare_eligible"))
    assert event.source_address == ("203.0.113.9" if hops else "10.0.0.2")
