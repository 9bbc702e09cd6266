"""Fixtures: the app on SQLite and on PostgreSQL, a clean database per test, a browser-less
client that carries CSRF tokens like a browser does, and people in every role."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from hypothesis import settings
from sqlalchemy import select, text

import webapp
from webapp import create_app
from webapp.db import Base, db, utcnow
from webapp.i18n import compile_catalogues

PG_ADMIN = os.environ.get("CITYPAIR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRE = os.environ.get("CITYPAIR_REQUIRE_SERVICES") == "1" or os.environ.get("CI") == "true"

# Under CI the property tests draw the same examples every run, so a landing never hinges on
# a lucky draw; run them locally (random draws, remembered failures) to go looking for bugs.
settings.register_profile("ci", derandomize=True, print_blob=True)
if REQUIRE:
    settings.load_profile("ci")


def _pg_available() -> bool:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    if not _pg_available():
        if REQUIRE:
            pytest.fail("PostgreSQL is required (CI) but not reachable at 127.0.0.1:5432")
        pytest.skip("PostgreSQL not reachable")
    name = f"citypair_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    db.session.remove()
    if db.engine is not None:
        db.engine.dispose()
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Every test that asks for the app runs on both databases.
    if "backend" in metafunc.fixturenames:
        backends = ["sqlite", "postgresql"]
        marker = metafunc.definition.get_closest_marker("postgres")
        if marker:
            backends = ["postgresql"]
        metafunc.parametrize("backend", backends, scope="session")


def pytest_sessionstart(session: pytest.Session) -> None:
    # Compiled catalogues are built, not committed: a fresh clone still tests every language.
    compile_catalogues(Path(webapp.__file__).parent / "translations")


_apps: dict[str, object] = {}


@pytest.fixture(scope="session")
def app_factory(tmp_path_factory):
    def make(backend: str, url: str):
        if backend not in _apps:
            instance = tmp_path_factory.mktemp(f"instance-{backend}")
            app = create_app({
                "DATABASE_URL": url, "TESTING": True, "INSTANCE_DIR": str(instance),
                "MAIL_SINK_DIR": str(instance / "mail"), "UPLOAD_DIR": str(instance / "up"),
                "RATELIMIT_ENABLED": False, "SECRET_KEY": "test-secret", "SMTP_HOST": "",
                "SERVER_NAME": None, "BASE_URL": "http://localhost",
            })
            from webapp.cli import upgrade_database
            from webapp.operations.setup import load_topics

            with app.app_context():
                upgrade_database(app)
                load_topics()
            _apps[backend] = app
        return _apps[backend]

    return make


@pytest.fixture
def app(request, backend, app_factory, tmp_path_factory):
    """The app on this test's backend, with empty tables (the shipped vocabulary kept)."""
    url = (f"sqlite:///{tmp_path_factory.getbasetemp() / 'citypair.sqlite'}"
           if backend == "sqlite" else request.getfixturevalue("pg_url"))
    application = app_factory(backend, url)
    db.configure(application.config["DATABASE_URL"])
    from webapp.extensions import limiter

    # The limiter is one per process: a command a test runs builds an app that switches it on.
    limiter.enabled = application.config["RATELIMIT_ENABLED"]
    from tasks import bind_celery

    bind_celery(application)
    with application.app_context():
        yield application
        db.session.remove()
        _truncate()


def _truncate() -> None:
    keep = {"topic", "alembic_version"}
    tables = [t for t in reversed(Base.metadata.sorted_tables) if t.name not in keep]
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            # The audit trail refuses TRUNCATE; a superuser may switch its triggers off for
            # one transaction to empty the test database.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(t.delete())
        _restore_vocabulary(conn)


def _restore_vocabulary(conn) -> None:
    """The shipped vocabulary again, as the next test expects it: topics an admin added are
    deleted, renamed, retired or merged ones are as shipped."""
    from workflows.topics import vocabulary

    topic = Base.metadata.tables["topic"]
    shipped = {t.slug: t for t in vocabulary()}
    rows = conn.execute(select(topic.c.slug, topic.c.label, topic.c.labels, topic.c.retired_at,
                               topic.c.merged_into)).all()
    added = [r.slug for r in rows if r.slug not in shipped]
    if added:
        conn.execute(topic.delete().where(topic.c.slug.in_(added)))
    for r in rows:
        if r.slug in shipped and (r.label != shipped[r.slug].label or r.labels
                                  or r.retired_at or r.merged_into):
            conn.execute(topic.update().where(topic.c.slug == r.slug).values(
                label=shipped[r.slug].label, labels={}, retired_at=None, merged_into=None))


@pytest.fixture
def dispatched(app) -> Iterator[list[int]]:
    """Notification ids handed to the workers after each commit (instead of a broker)."""
    from webapp.mail import outbox

    ids: list[int] = []
    outbox.set_dispatcher(ids.extend)
    yield ids
    outbox.set_dispatcher(lambda _ids: None)


class Browser:
    """The Flask test client, carrying the CSRF token from the last page like a browser."""

    TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"'
                       r'|value="([^"]+)"[^>]*name="csrf_token"')

    def __init__(self, client):
        self.client = client
        self.token = None

    @staticmethod
    def _fresh_g():
        # The test holds an app context that requests reuse; a browser must not see another
        # request's cached user or CSRF token.
        from flask import g

        g.__dict__.clear()

    def get(self, url, **kw):
        self._fresh_g()
        resp = self.client.get(url, **kw)
        m = self.TOKEN.search(resp.get_data(as_text=True))
        if m:
            self.token = m.group(1) or m.group(2)
        return resp

    def post(self, url, data=None, token=True, **kw):
        data = dict(data or {})
        if token:
            if self.token is None:
                self.get("/account/login")
            data.setdefault("csrf_token", self.token)
        self._fresh_g()
        resp = self.client.post(url, data=data, **kw)
        m = self.TOKEN.search(resp.get_data(as_text=True))
        if m:
            self.token = m.group(1) or m.group(2)
        return resp

    def login(self, email, password="correct horse battery"):
        self.get("/account/login")
        resp = self.post("/account/login", {"email": email, "password": password})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
        self.get("/")
        return resp


@pytest.fixture
def browser(app) -> Browser:
    return Browser(app.test_client())


@pytest.fixture
def make_browser(app):
    return lambda: Browser(app.test_client())


@pytest.fixture
def world(app):
    """A programme, an open call and people in every role (password 'correct horse battery')."""
    from tests.factories import make_world

    return make_world(now=utcnow())


__all__ = ["timedelta"]
